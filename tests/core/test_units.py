"""Tests for core.units: parsing lab values as staff type them, conversions."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.messages import RuleError
from core.units import (
    DEFAULT_RANGES,
    Analyte,
    CastKind,
    InexactConversionError,
    Quantity,
    Range,
    Unit,
    align,
    canonical,
    compare,
    parse_casts,
    parse_quantity,
    to_unit,
)

A = Analyte
U = Unit


def D(text: str) -> Decimal:
    return Decimal(text)


# --- accepted input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "text", "value", "unit"),
    [
        # the forms named in the requirements
        (A.SERUM_CREATININE, "69umol/L", "69", U.UMOL_PER_L),
        (A.SERUM_CREATININE, "0.78 mg/dL", "0.78", U.MG_PER_DL),
        (A.SERUM_ALBUMIN, "39g/L", "39", U.G_PER_L),
        (A.SERUM_ALBUMIN, "3.9 g/dL", "3.9", U.G_PER_DL),
        (A.URINE_PROTEIN_24H, "390mg/24h", "390", U.MG_PER_24H),
        (A.URINE_PROTEIN_24H, "0.39 g/24h", "0.39", U.G_PER_24H),
        (A.URINE_RBC, "2/hpf", "2", U.PER_HPF),
        (A.URINE_RBC, "150/uL", "150", U.PER_UL),
        # spelling and case variants
        (A.SERUM_CREATININE, "69 µmol/L", "69", U.UMOL_PER_L),  # micro sign U+00B5
        (A.SERUM_CREATININE, "69 μmol/L", "69", U.UMOL_PER_L),  # Greek mu U+03BC
        (A.SERUM_CREATININE, "69 umol/l", "69", U.UMOL_PER_L),
        (A.SERUM_CREATININE, "69 UMOL/L", "69", U.UMOL_PER_L),
        (A.SERUM_CREATININE, "  0.78mg/dl  ", "0.78", U.MG_PER_DL),
        (A.SERUM_CREATININE, "0.78 mg / dL", "0.78", U.MG_PER_DL),
        (A.SERUM_ALBUMIN, "35 G/L", "35", U.G_PER_L),
        (A.URINE_PROTEIN_24H, "0.39 g/24 h", "0.39", U.G_PER_24H),
        (A.URINE_PROTEIN_24H, "0.39 g/d", "0.39", U.G_PER_24H),
        (A.URINE_PROTEIN_24H, "0.39 g/day", "0.39", U.G_PER_24H),
        (A.URINE_PROTEIN_24H, "390 mg/d", "390", U.MG_PER_24H),
        (A.URINE_PROTEIN_24H, ".5 g/24h", "0.5", U.G_PER_24H),
        (A.URINE_RBC, "2/HP", "2", U.PER_HPF),
        (A.URINE_RBC, "2 /hpf", "2", U.PER_HPF),
        (A.URINE_RBC, "2个/HP", "2", U.PER_HPF),
        (A.URINE_RBC, "150/µL", "150", U.PER_UL),
        (A.URINE_RBC, "150/μl", "150", U.PER_UL),
        (A.URINE_RBC, "150/ul", "150", U.PER_UL),
        (A.URINE_RBC, "１５０ 个/μL", "150", U.PER_UL),  # full-width digits from a Chinese IME
        (A.URINE_WBC, "12/hpf", "12", U.PER_HPF),
        (A.CD20, "150/uL", "150", U.PER_UL),
        (A.CD20, "4.5%", "4.5", U.PERCENT),
        (A.WEIGHT, "62 kg", "62", U.KG),
        (A.WEIGHT, "62.5KG", "62.5", U.KG),
        (A.URINE_PROTEIN_24H, "+0.39 g/24h", "0.39", U.G_PER_24H),
        (A.URINE_RBC, "-0/hpf", "0", U.PER_HPF),
    ],
)
def test_parse_accepts_what_staff_type(analyte: Analyte, text: str, value: str, unit: Unit) -> None:
    q = parse_quantity(analyte, text)
    assert q.unit is unit
    assert q.value == D(value)


@pytest.mark.parametrize(
    ("analyte", "text", "exponent"),
    [
        (A.URINE_PROTEIN_24H, "0.40 g/24h", -2),
        (A.URINE_PROTEIN_24H, "0.4 g/24h", -1),
        (A.SERUM_CREATININE, "0.90 mg/dL", -2),
        (A.SERUM_CREATININE, "69 umol/L", 0),
    ],
)
def test_value_is_kept_exactly_as_typed(analyte: Analyte, text: str, exponent: int) -> None:
    q = parse_quantity(analyte, text)
    assert isinstance(q.value, Decimal)
    assert q.value.as_tuple().exponent == exponent


@pytest.mark.parametrize(
    ("analyte", "text", "shown"),
    [
        (A.SERUM_CREATININE, "69umol/L", "69 µmol/L"),
        (A.SERUM_CREATININE, "0.78 MG/DL", "0.78 mg/dL"),
        (A.URINE_PROTEIN_24H, "0.40 g/24 h", "0.40 g/24h"),
        (A.URINE_PROTEIN_24H, "390mg/d", "390 mg/24h"),
        (A.URINE_RBC, "2 /HP", "2/hpf"),
        (A.URINE_RBC, "150/ul", "150/µL"),
        (A.CD20, "4.5 %", "4.5%"),
        (A.SERUM_ALBUMIN, "3.9g/dl", "3.9 g/dL"),
    ],
)
def test_text_normalises_the_unit(analyte: Analyte, text: str, shown: str) -> None:
    q = parse_quantity(analyte, text)
    assert q.text == shown
    assert str(q) == shown


@pytest.mark.parametrize(
    ("analyte", "text"),
    [
        # inclusive bounds of the default ranges
        (A.SERUM_CREATININE, "3000 umol/L"),
        (A.SERUM_CREATININE, "10 umol/L"),
        (A.SERUM_CREATININE, "33.9 mg/dL"),
        (A.SERUM_CREATININE, "0.11 mg/dL"),
        (A.SERUM_ALBUMIN, "60 g/L"),
        (A.SERUM_ALBUMIN, "5 g/L"),
        (A.SERUM_ALBUMIN, "6 g/dL"),
        (A.SERUM_ALBUMIN, "0.5 g/dL"),
        (A.URINE_PROTEIN_24H, "0 g/24h"),
        (A.URINE_PROTEIN_24H, "30 g/24h"),
        (A.URINE_PROTEIN_24H, "30000 mg/24h"),
        (A.URINE_RBC, "1000/hpf"),
        (A.URINE_RBC, "100000/uL"),
        (A.URINE_WBC, "0/hpf"),
        (A.URINE_WBC, "1000/hpf"),
        (A.CD20, "5000/uL"),
        (A.CD20, "100%"),
        (A.WEIGHT, "25 kg"),
        (A.WEIGHT, "250 kg"),
    ],
)
def test_range_bounds_are_inclusive(analyte: Analyte, text: str) -> None:
    parse_quantity(analyte, text)


# --- refusals ---------------------------------------------------------------


def _refusal(analyte: Analyte, text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_quantity(analyte, text)
    error = info.value
    # The message must be the msgid filled with its own params: that is what
    # the bot does after translating the msgid.
    assert str(error) == error.msgid.format(**error.params)
    return error


@pytest.mark.parametrize(
    ("analyte", "text", "low", "high", "unit"),
    [
        (A.SERUM_CREATININE, "3001 umol/L", "10", "3000", "µmol/L"),
        (A.SERUM_CREATININE, "3000.1 µmol/L", "10", "3000", "µmol/L"),
        (A.SERUM_CREATININE, "9 umol/L", "10", "3000", "µmol/L"),
        (A.SERUM_CREATININE, "34 mg/dL", "0.11", "33.9", "mg/dL"),
        (A.SERUM_ALBUMIN, "60.1 g/L", "5", "60", "g/L"),
        (A.SERUM_ALBUMIN, "39 g/dL", "0.5", "6", "g/dL"),  # g/L value typed with g/dL
        (A.SERUM_ALBUMIN, "-3 g/L", "5", "60", "g/L"),
        (A.URINE_PROTEIN_24H, "-0.1 g/24h", "0", "30", "g/24h"),
        (A.URINE_PROTEIN_24H, "−1 g/24h", "0", "30", "g/24h"),  # Unicode minus
        (A.URINE_PROTEIN_24H, "31 g/24h", "0", "30", "g/24h"),
        (A.URINE_PROTEIN_24H, "30001 mg/24h", "0", "30000", "mg/24h"),
        (A.URINE_RBC, "1001/hpf", "0", "1000", "/hpf"),
        (A.URINE_RBC, "-2/hpf", "0", "1000", "/hpf"),
        (A.URINE_RBC, "100001/uL", "0", "100000", "/µL"),
        (A.CD20, "101%", "0", "100", "%"),
        (A.WEIGHT, "24.9 kg", "25", "250", "kg"),
        (A.WEIGHT, "620 kg", "25", "250", "kg"),
    ],
)
def test_out_of_range_is_refused_naming_unit_and_range(
    analyte: Analyte, text: str, low: str, high: str, unit: str
) -> None:
    error = _refusal(analyte, text)
    assert error.params["low"] == D(low)
    assert error.params["high"] == D(high)
    assert error.params["unit"] == unit
    message = str(error)
    assert f"between {low} and {high} {unit}" in message


def test_creatinine_refusal_names_both_units_ranges() -> None:
    message = str(_refusal(A.SERUM_CREATININE, "3001 umol/L"))
    assert "Serum creatinine must be between 10 and 3000 µmol/L" in message
    assert "0.11–33.9 mg/dL" in message


@pytest.mark.parametrize(
    ("analyte", "text", "units"),
    [
        (A.SERUM_CREATININE, "69", "µmol/L, mg/dL"),
        (A.SERUM_CREATININE, " 0.78 ", "µmol/L, mg/dL"),
        (A.SERUM_ALBUMIN, "39", "g/L, g/dL"),
        (A.URINE_PROTEIN_24H, "0.39", "g/24h, mg/24h"),
        (A.URINE_RBC, "2", "/hpf, /µL"),
        (A.URINE_WBC, "12", "/hpf"),
        (A.WEIGHT, "62", "kg"),
    ],
)
def test_missing_unit_is_refused_naming_accepted_units(
    analyte: Analyte, text: str, units: str
) -> None:
    error = _refusal(analyte, text)
    assert error.params["units"] == units
    assert "needs a unit" in str(error)


@pytest.mark.parametrize(
    ("analyte", "text", "units"),
    [
        # WBC has a threshold only per hpf: a count per µL is refused (a choice).
        (A.URINE_WBC, "12/uL", "/hpf"),
        (A.URINE_WBC, "12/µL", "/hpf"),
        (A.SERUM_CREATININE, "0.069 mmol/L", "µmol/L, mg/dL"),
        (A.SERUM_CREATININE, "69 g/L", "µmol/L, mg/dL"),
        (A.SERUM_ALBUMIN, "39 mg/dL", "g/L, g/dL"),
        (A.SERUM_ALBUMIN, "39 umol/L", "g/L, g/dL"),
        (A.URINE_PROTEIN_24H, "0.39 g", "g/24h, mg/24h"),
        (A.URINE_PROTEIN_24H, "0.39 g/L", "g/24h, mg/24h"),
        (A.URINE_RBC, "2 cells", "/hpf, /µL"),
        (A.WEIGHT, "62 lb", "kg"),
        (A.SERUM_ALBUMIN, "1e3 g/L", "g/L, g/dL"),
    ],
)
def test_wrong_unit_is_refused_naming_accepted_units(
    analyte: Analyte, text: str, units: str
) -> None:
    error = _refusal(analyte, text)
    assert error.params["units"] == units
    assert f"Accepted units: {units}." in str(error)


def test_wbc_per_ul_refusal_names_hpf() -> None:
    message = str(_refusal(A.URINE_WBC, "12/uL"))
    assert '"/µL"' in message
    assert "/hpf" in message


@pytest.mark.parametrize(
    ("analyte", "text", "fragment"),
    [
        (A.SERUM_ALBUMIN, "nan g/L", "is not a number"),
        (A.SERUM_ALBUMIN, "NaN", "is not a number"),
        (A.SERUM_ALBUMIN, "inf g/L", "is not a number"),
        (A.SERUM_ALBUMIN, "Infinity", "is not a number"),
        (A.SERUM_ALBUMIN, "", "is not a number"),
        (A.SERUM_ALBUMIN, "   ", "is not a number"),
        (A.SERUM_ALBUMIN, "g/L", "is not a number"),
        (A.SERUM_ALBUMIN, "about 39 g/L", "is not a number"),
        (A.SERUM_ALBUMIN, "3..9 g/dL", "is not a number"),
        (A.SERUM_ALBUMIN, "3.9.1 g/dL", "is not a number"),
        (A.SERUM_ALBUMIN, ". g/L", "is not a number"),
        (A.SERUM_ALBUMIN, "3,5 g/dL", "comma"),
        (A.SERUM_ALBUMIN, "3，5 g/dL", "comma"),  # full-width comma
        (A.URINE_PROTEIN_24H, "1,500 mg/24h", "comma"),
        (A.URINE_RBC, "3-5/hpf", "not a single measured value"),
        (A.URINE_RBC, "3 ~ 5 /HP", "not a single measured value"),
        (A.URINE_RBC, "0–2/hpf", "not a single measured value"),
        (A.URINE_PROTEIN_24H, "<0.1 g/24h", "not a single measured value"),
        (A.URINE_PROTEIN_24H, "> 30 g/24h", "not a single measured value"),
        (A.URINE_PROTEIN_24H, "≤0.1 g/24h", "not a single measured value"),
        (A.URINE_PROTEIN_24H, "0.1234567890123456 g/24h", "too many digits"),
    ],
)
def test_non_numbers_are_refused(analyte: Analyte, text: str, fragment: str) -> None:
    assert fragment in str(_refusal(analyte, text))


def test_ranges_are_a_parameter() -> None:
    with_wbc_per_ul: Mapping[Analyte, Mapping[Unit, Range]] = MappingProxyType(
        {
            **DEFAULT_RANGES,
            A.URINE_WBC: {U.PER_HPF: Range(D("0"), D("1000")), U.PER_UL: Range(D("0"), D("9"))},
        }
    )
    assert parse_quantity(A.URINE_WBC, "8/uL", with_wbc_per_ul) == Quantity(D("8"), U.PER_UL)
    with pytest.raises(RuleError, match="between 0 and 9 /µL"):
        parse_quantity(A.URINE_WBC, "10/uL", with_wbc_per_ul)


def test_quantity_rejects_non_finite_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        Quantity(Decimal("NaN"), U.G_PER_L)
    with pytest.raises(ValueError, match="finite"):
        Quantity(Decimal("Infinity"), U.G_PER_L)


# --- casts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("none", set()),
        ("None", set()),
        (" NONE ", set()),
        ("no", set()),
        ("negative", set()),
        ("无", set()),
        ("阴性", set()),
        ("rbc", {CastKind.RBC}),
        ("RBC", {CastKind.RBC}),
        ("rbc casts", {CastKind.RBC}),
        ("red cell casts", {CastKind.RBC}),
        ("红细胞管型", {CastKind.RBC}),
        ("wbc", {CastKind.WBC}),
        ("白细胞管型", {CastKind.WBC}),
        ("rbc+wbc", {CastKind.RBC, CastKind.WBC}),
        ("wbc + rbc", {CastKind.RBC, CastKind.WBC}),
        ("rbc, wbc", {CastKind.RBC, CastKind.WBC}),
        ("rbc and wbc", {CastKind.RBC, CastKind.WBC}),
        ("红细胞管型+白细胞管型", {CastKind.RBC, CastKind.WBC}),
        ("红细胞管型、白细胞管型", {CastKind.RBC, CastKind.WBC}),
        ("红细胞管型和白细胞管型", {CastKind.RBC, CastKind.WBC}),
    ],
)
def test_parse_casts(text: str, kinds: set[CastKind]) -> None:
    assert parse_casts(text) == frozenset(kinds)


@pytest.mark.parametrize(
    "text",
    ["", "  ", "granular", "hyaline", "rbc+granular", "none+rbc", "无+红细胞管型", "yes", "+"],
)
def test_parse_casts_refuses_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_casts(text)
    message = str(info.value)
    assert "none, rbc, wbc or rbc+wbc" in message
    assert "红细胞管型" in message


# --- conversions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "text", "unit", "expected"),
    [
        (A.SERUM_CREATININE, "0.78 mg/dL", U.UMOL_PER_L, "68.952"),
        (A.SERUM_CREATININE, "1.17 mg/dL", U.UMOL_PER_L, "103.428"),
        (A.SERUM_CREATININE, "1 mg/dL", U.UMOL_PER_L, "88.4"),
        (A.SERUM_CREATININE, "884 umol/L", U.MG_PER_DL, "10"),
        (A.SERUM_CREATININE, "68.952 umol/L", U.MG_PER_DL, "0.78"),
        (A.SERUM_ALBUMIN, "3.9 g/dL", U.G_PER_L, "39"),
        (A.SERUM_ALBUMIN, "3.5 g/dL", U.G_PER_L, "35"),
        (A.SERUM_ALBUMIN, "35.1 g/L", U.G_PER_DL, "3.51"),
        (A.URINE_PROTEIN_24H, "390 mg/24h", U.G_PER_24H, "0.39"),
        (A.URINE_PROTEIN_24H, "0.39 g/24h", U.MG_PER_24H, "390"),
        (A.URINE_PROTEIN_24H, "1 mg/24h", U.G_PER_24H, "0.001"),
        (A.URINE_PROTEIN_24H, "0.39 g/24h", U.G_PER_24H, "0.39"),
    ],
)
def test_to_unit_is_exact(analyte: Analyte, text: str, unit: Unit, expected: str) -> None:
    converted = to_unit(parse_quantity(analyte, text), unit)
    assert converted.unit is unit
    assert converted.value == D(expected)


def test_float_would_get_the_creatinine_conversion_wrong() -> None:
    # Why Decimal: in binary floats 1.3 mg/dL x 88.4 is not 114.92, so a value
    # typed as 114.92 µmol/L would compare unequal to it.
    assert 1.3 * 88.4 != 114.92
    assert to_unit(Quantity(D("1.3"), U.MG_PER_DL), U.UMOL_PER_L).value == D("114.92")


def test_inexact_reverse_creatinine_conversion_is_refused_unless_asked() -> None:
    q = parse_quantity(A.SERUM_CREATININE, "69 umol/L")
    with pytest.raises(InexactConversionError):
        to_unit(q, U.MG_PER_DL)
    shown = to_unit(q, U.MG_PER_DL, exact=False)
    assert shown.unit is U.MG_PER_DL
    assert shown.value.quantize(D("0.001")) == D("0.781")


@pytest.mark.parametrize(("source", "target"), [(U.PER_UL, U.PER_HPF), (U.PER_HPF, U.PER_UL)])
def test_never_convert_between_per_ul_and_per_hpf(source: Unit, target: Unit) -> None:
    with pytest.raises(RuleError, match="high-power field"):
        to_unit(Quantity(D("150"), source), target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (U.G_PER_L, U.UMOL_PER_L),
        (U.MG_PER_DL, U.G_PER_DL),
        (U.G_PER_24H, U.G_PER_L),
        (U.KG, U.G),
        (U.PERCENT, U.PER_UL),
    ],
)
def test_unrelated_units_do_not_convert(source: Unit, target: Unit) -> None:
    with pytest.raises(ValueError, match="no conversion"):
        to_unit(Quantity(D("1"), source), target)


@pytest.mark.parametrize(
    ("text", "analyte", "value", "unit"),
    [
        ("0.78 mg/dL", A.SERUM_CREATININE, "68.952", U.UMOL_PER_L),
        ("69 umol/L", A.SERUM_CREATININE, "69", U.UMOL_PER_L),
        ("3.5 g/dL", A.SERUM_ALBUMIN, "35", U.G_PER_L),
        ("390 mg/24h", A.URINE_PROTEIN_24H, "0.39", U.G_PER_24H),
        ("2/hpf", A.URINE_RBC, "2", U.PER_HPF),
        ("150/uL", A.URINE_RBC, "150", U.PER_UL),
    ],
)
def test_canonical(text: str, analyte: Analyte, value: str, unit: Unit) -> None:
    c = canonical(parse_quantity(analyte, text))
    assert (c.value, c.unit) == (D(value), unit)


def test_align_leaves_same_unit_values_untouched() -> None:
    a = parse_quantity(A.SERUM_CREATININE, "0.90 mg/dL")
    b = parse_quantity(A.SERUM_CREATININE, "1.17 mg/dL")
    assert align(a, b) == (a, b)
    assert align(a, b)[0].unit is U.MG_PER_DL


def test_align_converts_both_toward_the_comparison_unit_when_units_differ() -> None:
    a = parse_quantity(A.SERUM_CREATININE, "80 umol/L")
    b = parse_quantity(A.SERUM_CREATININE, "1.17 mg/dL")
    assert align(a, b) == (a, Quantity(D("103.428"), U.UMOL_PER_L))
    assert align(b, a) == (Quantity(D("103.428"), U.UMOL_PER_L), a)


@pytest.mark.parametrize(
    ("analyte", "left", "right", "sign"),
    [
        (A.URINE_PROTEIN_24H, "390 mg/24h", "0.39 g/24h", 0),
        (A.URINE_PROTEIN_24H, "400 mg/24h", "0.4 g/24h", 0),
        (A.URINE_PROTEIN_24H, "0.40 g/24h", "0.4 g/24h", 0),
        (A.URINE_PROTEIN_24H, "399 mg/24h", "0.4 g/24h", -1),
        (A.SERUM_ALBUMIN, "35 g/L", "3.5 g/dL", 0),
        (A.SERUM_ALBUMIN, "35.1 g/L", "3.5 g/dL", 1),
        (A.SERUM_ALBUMIN, "3.51 g/dL", "35 g/L", 1),
        (A.SERUM_CREATININE, "0.78 mg/dL", "69 umol/L", -1),
        (A.SERUM_CREATININE, "1.3 mg/dL", "114.92 umol/L", 0),
        (A.URINE_RBC, "6/hpf", "5/hpf", 1),
    ],
)
def test_compare(analyte: Analyte, left: str, right: str, sign: int) -> None:
    a, b = parse_quantity(analyte, left), parse_quantity(analyte, right)
    assert compare(a, b) == sign
    assert compare(b, a) == -sign


def test_compare_refuses_per_ul_against_per_hpf() -> None:
    with pytest.raises(RuleError):
        compare(Quantity(D("150"), U.PER_UL), Quantity(D("5"), U.PER_HPF))


def test_compare_refuses_different_quantities() -> None:
    with pytest.raises(ValueError, match="cannot compare"):
        compare(Quantity(D("35"), U.G_PER_L), Quantity(D("69"), U.UMOL_PER_L))


# --- properties -------------------------------------------------------------

_ANALYTE_UNITS = [(a, u) for a, units in DEFAULT_RANGES.items() for u in units]


@st.composite
def _in_range(draw: st.DrawFn) -> tuple[Analyte, Quantity]:
    analyte, unit = draw(st.sampled_from(_ANALYTE_UNITS))
    plausible = DEFAULT_RANGES[analyte][unit]
    places = draw(st.integers(0, 3))
    low = int(plausible.low.scaleb(places).to_integral_value(rounding="ROUND_CEILING"))
    high = int(plausible.high.scaleb(places).to_integral_value(rounding="ROUND_FLOOR"))
    value = Decimal(draw(st.integers(low, high))).scaleb(-places)
    return analyte, Quantity(value, unit)


@given(_in_range())
def test_text_parses_back_to_the_same_quantity(item: tuple[Analyte, Quantity]) -> None:
    analyte, q = item
    again = parse_quantity(analyte, q.text)
    assert again == q
    assert again.value.as_tuple() == q.value.as_tuple()


@given(st.integers(11, 3390), st.integers(11, 3390))
def test_creatinine_compare_agrees_across_units(a: int, b: int) -> None:
    # a, b in hundredths of mg/dL; the µmol/L equivalent is exact (x 88.4).
    mg_a, mg_b = (
        Quantity(Decimal(a).scaleb(-2), U.MG_PER_DL),
        Quantity(Decimal(b).scaleb(-2), U.MG_PER_DL),
    )
    umol_b = to_unit(mg_b, U.UMOL_PER_L)
    expected = (a > b) - (a < b)
    assert compare(mg_a, mg_b) == expected
    assert compare(mg_a, umol_b) == expected
    assert to_unit(umol_b, U.MG_PER_DL) == mg_b


@given(st.integers(0, 30000), st.integers(0, 30000))
def test_protein_compare_agrees_across_units(a: int, b: int) -> None:
    # a, b in mg/24h; the g/24h form is the same number of thousandths.
    g_a = Quantity(Decimal(a).scaleb(-3), U.G_PER_24H)
    mg_b = Quantity(Decimal(b), U.MG_PER_24H)
    assert compare(g_a, mg_b) == (a > b) - (a < b)
