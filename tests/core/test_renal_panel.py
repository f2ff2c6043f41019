"""A renal panel from stored lab rows: completeness, corrections, casts, UTI, and the response."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.renal_panel import (
    RENAL_ANALYTES,
    StoredResult,
    casts_from_row,
    casts_row,
    is_complete,
    missing_analytes,
    panel_from_results,
)
from core.response import ResponseClass, Sex, classify
from core.units import CastKind, Quantity, Unit


def row(analyte: str, value: str, unit: str, **extra: object) -> StoredResult:
    return StoredResult(analyte, value, unit, **extra)  # type: ignore[arg-type]


# docs/clinical-facts.md §3's worked example: the baseline, then the week-24 /labs command example.
BASELINE = [
    row("urine_protein_24h", "4.2", "g/24h"),
    row("urine_rbc", "40", "/hpf"),
    row("urine_wbc", "12", "/hpf"),
    row("urine_casts", "1", "rbc"),
    row("serum_albumin", "24", "g/L"),
    row("serum_creatinine", "0.90", "mg/dL"),
]
WEEK24 = [
    row("urine_protein_24h", "0.25", "g/24h"),
    row("urine_rbc", "2", "/hpf"),
    row("urine_wbc", "3", "/hpf"),
    row("urine_casts", "0", "none"),
    row("serum_albumin", "39", "g/L"),
    row("serum_creatinine", "69", "umol/L"),
]


def test_the_worked_example_from_stored_rows_is_a_complete_response() -> None:
    assessment = classify(panel_from_results(BASELINE), panel_from_results(WEEK24), Sex.F)
    assert assessment.cls is ResponseClass.CR
    assert all(c.met for c in assessment.cr_clauses)


def test_values_come_back_exactly_as_stored() -> None:
    panel = panel_from_results(BASELINE)
    assert panel.creatinine == Quantity(Decimal("0.90"), Unit.MG_PER_DL)
    assert str(panel.creatinine.value) == "0.90"
    assert panel.albumin == Quantity(Decimal("24"), Unit.G_PER_L)
    assert panel.casts == frozenset({CastKind.RBC})


@pytest.mark.parametrize("dropped", range(6))
def test_a_panel_missing_any_one_analyte_is_not_complete(dropped: int) -> None:
    rows = WEEK24[:dropped] + WEEK24[dropped + 1 :]
    assert not is_complete(rows)
    assert missing_analytes(rows) == (WEEK24[dropped].analyte,)


def test_complete_needs_all_six_and_lists_what_is_missing_in_order() -> None:
    assert is_complete(WEEK24)
    assert missing_analytes([]) == RENAL_ANALYTES
    assert missing_analytes([row("serum_creatinine", "69", "umol/L")]) == RENAL_ANALYTES[:5]


def test_a_later_row_corrects_an_earlier_one() -> None:
    rows = [*WEEK24, row("serum_albumin", "30", "g/L")]
    assert panel_from_results(rows).albumin == Quantity(Decimal("30"), Unit.G_PER_L)
    # ... which changes the class: albumin 30 g/L is not > 35 g/L.
    assessment = classify(panel_from_results(BASELINE), panel_from_results(rows), Sex.F)
    assert assessment.cls is not ResponseClass.CR


def test_the_creatinine_upper_limit_stored_with_the_result_is_used() -> None:
    rows = [r for r in WEEK24 if r.analyte != "serum_creatinine"]
    rows.append(row("serum_creatinine", "80", "umol/L", ref_high="84", ref_unit="umol/L"))
    panel = panel_from_results(rows)
    assert panel.creatinine_uln == Quantity(Decimal("84"), Unit.UMOL_PER_L)
    # 80 is above the female default (73) but at or below the result's own 84: normal.
    assert classify(panel_from_results(BASELINE), panel, Sex.F).cls is ResponseClass.CR
    without = panel_from_results([*rows, row("serum_creatinine", "80", "umol/L")])
    assert without.creatinine_uln is None


def test_a_uti_with_a_urine_result_applies_to_the_sediment() -> None:
    rows = [*WEEK24[:2], row("urine_wbc", "20", "/hpf", uti=True), *WEEK24[3:]]
    panel = panel_from_results(rows)
    assert panel.uti
    # WBC 20/hpf would make the sediment active, but not with a UTI recorded.
    assert classify(panel_from_results(BASELINE), panel, Sex.F).cls is ResponseClass.CR
    assert not panel_from_results(WEEK24).uti


@pytest.mark.parametrize(
    "kinds",
    [frozenset(), frozenset({CastKind.RBC}), frozenset({CastKind.WBC}), frozenset(CastKind)],
)
def test_casts_round_trip(kinds: frozenset[CastKind]) -> None:
    value, unit = casts_row(kinds)
    assert Decimal(value) == len(kinds)
    assert casts_from_row(value, unit) == kinds


@pytest.mark.parametrize(("value", "unit"), [("1", "none"), ("0", "rbc"), ("1", "granular")])
def test_a_casts_row_that_disagrees_with_itself_is_refused(value: str, unit: str) -> None:
    with pytest.raises(ValueError, match="not a casts row"):
        casts_from_row(value, unit)


@given(st.permutations(WEEK24))
def test_the_order_of_different_analytes_does_not_matter(rows: list[StoredResult]) -> None:
    assert panel_from_results(rows) == panel_from_results(WEEK24)
    assert is_complete(rows)
