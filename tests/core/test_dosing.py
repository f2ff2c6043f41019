"""Dose arithmetic (docs/clinical-facts.md §2, docs/registry-record.txt)."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import dosing
from core.dosing import (
    BELIMUMAB_PREPARATION,
    DailyRange,
    Dose,
    Drug,
    MassUnit,
    RangePolicy,
    RangeStatus,
    UnitFamily,
    belimumab_plan,
    check_daily_total,
    choose_vials,
    mp_cumulative,
    parse_dose,
)
from core.messages import RuleError

D = Decimal


# ----------------------------------------------------------------- belimumab


def test_the_62_kg_example() -> None:
    plan = belimumab_plan(D("62"))
    assert plan.dose_mg == D("620")
    assert plan.vials == (400, 120, 120)
    assert plan.vial_counts == ((400, 1), (120, 2))
    assert plan.total_mg == D("640")
    assert plan.waste_mg == D("20")
    assert plan.volume_ml == D("7.75")
    assert str(plan.volume_ml_display) == "7.75"


def test_61_5_kg() -> None:
    # 615 mg. By hand: 400+120+120 = 640 (waste 25); 6x120 = 720 (105);
    # 2x400 = 800 (185); 5x120 = 600 does not cover. Volume 615/80 = 7.6875 mL.
    plan = belimumab_plan(D("61.5"))
    assert plan.dose_mg == D("615")
    assert plan.vials == (400, 120, 120)
    assert plan.waste_mg == D("25")
    assert plan.volume_ml == D("7.6875")
    assert str(plan.volume_ml_display) == "7.69"


@pytest.mark.parametrize(
    ("weight", "vials", "waste", "volume"),
    [
        # Exact multiple of the big vial: one vial, nothing wasted.
        ("40", (400,), "0", "5"),
        # Least waste beats fewest vials: 4x120 = 480 (waste 0) over 400+120 (waste 40).
        ("48", (120, 120, 120, 120), "0", "6"),
        # Equal waste (0): 3x400 beats 10x120 on vial count.
        ("120", (400, 400, 400), "0", "15"),
        # 250 mg: 3x120 = 360 (waste 110) beats one 400 (waste 150).
        ("25", (120, 120, 120), "110", "3.125"),
        # 2500 mg: 10a + 3b >= 62.5 -> 2520 mg, waste 20, reached by (6, 1), (3, 11)
        # and (0, 21); the fewest vials is 6x400 + 1x120.
        ("250", (400,) * 6 + (120,), "20", "31.25"),
    ],
)
def test_vial_plans(weight: str, vials: tuple[int, ...], waste: str, volume: str) -> None:
    plan = belimumab_plan(D(weight))
    assert plan.vials == vials
    assert plan.total_mg == sum(vials)
    assert plan.waste_mg == D(waste)
    assert plan.volume_ml == D(volume)


def test_24_kg_with_a_lower_weight_floor() -> None:
    # 24 kg is below the default 25 kg floor; a site that lowers it gets 240 mg = 2x120.
    plan = belimumab_plan(D("24"), min_weight_kg=D("20"))
    assert plan.dose_mg == D("240")
    assert plan.vials == (120, 120)
    assert plan.waste_mg == 0
    assert plan.volume_ml == D("3")


def test_choose_vials_240_mg() -> None:
    assert choose_vials(D("240"), (400, 120)) == (120, 120)


def test_remaining_tie_goes_to_larger_vials() -> None:
    # 4 mg from vials of 3, 2 and 1: 3+1 and 2+2 both waste 0 with 2 vials.
    assert choose_vials(D(4), (1, 2, 3)) == (3, 1)


def test_volume_display_rounds_half_up() -> None:
    # 61.55 kg -> 615.5 mg -> 7.69375 mL -> 7.69.
    assert belimumab_plan(D("61.55")).volume_ml == D("7.69375")
    assert str(belimumab_plan(D("61.55")).volume_ml_display) == "7.69"
    # 61.96 kg -> 619.6 mg -> 7.745 mL, an exact half: half-up gives 7.75 where
    # half-even (Decimal's default) would give 7.74.
    assert belimumab_plan(D("61.96")).volume_ml == D("7.745")
    assert str(belimumab_plan(D("61.96")).volume_ml_display) == "7.75"


def test_dose_is_exact_not_rounded() -> None:
    plan = belimumab_plan(D("61.57"))
    assert plan.dose_mg == D("615.7")
    assert plan.waste_mg == D("24.3")


def test_other_dose_and_concentration_are_parameters() -> None:
    plan = belimumab_plan(
        D("50"), mg_per_kg=D("5"), vial_sizes=(100,), concentration_mg_per_ml=D("50")
    )
    assert plan.dose_mg == D("250")
    assert plan.vials == (100, 100, 100)
    assert plan.volume_ml == D("5")


@pytest.mark.parametrize(
    ("weight", "msgid"),
    [
        ("12", dosing.WEIGHT_OUT_OF_RANGE),
        ("24.99", dosing.WEIGHT_OUT_OF_RANGE),
        ("250.01", dosing.WEIGHT_OUT_OF_RANGE),
        ("620", dosing.WEIGHT_OUT_OF_RANGE),
        ("0", dosing.WEIGHT_NOT_POSITIVE),
        ("-62", dosing.WEIGHT_NOT_POSITIVE),
        ("NaN", dosing.WEIGHT_NOT_A_NUMBER),
        ("Infinity", dosing.WEIGHT_NOT_A_NUMBER),
    ],
)
def test_weight_refused(weight: str, msgid: str) -> None:
    with pytest.raises(RuleError) as caught:
        belimumab_plan(D(weight))
    assert caught.value.msgid == msgid
    assert "kg" in str(caught.value)


def test_out_of_range_message_names_range_and_unit() -> None:
    with pytest.raises(RuleError) as caught:
        belimumab_plan(D("12"))
    assert caught.value.params == {"weight": "12", "low": "25", "high": "250"}
    assert "25 to 250 kg" in str(caught.value)


@pytest.mark.parametrize("weight", ["25", "250"])
def test_weight_range_is_inclusive(weight: str) -> None:
    assert belimumab_plan(D(weight)).weight_kg == D(weight)


def test_weight_range_is_a_parameter() -> None:
    with pytest.raises(RuleError) as caught:
        belimumab_plan(D("62"), max_weight_kg=D("60"))
    assert caught.value.params["high"] == "60"


def test_preparation_facts() -> None:
    text = " ".join(BELIMUMAB_PREPARATION)
    for fact in ("sodium chloride 0.9%", "250 mL", "dextrose 5%", "1 hour", "8 hours"):
        assert fact in text
    assert all(sentence.endswith(".") for sentence in BELIMUMAB_PREPARATION)
    assert "Never" in next(s for s in BELIMUMAB_PREPARATION if "dextrose" in s)


def test_no_message_looks_like_a_percent_format() -> None:
    # pybabel flags "0.9% s" or "5% d" as python-format, and the catalog check then
    # demands the same %-specs in the translation.
    from babel.messages.catalog import PYTHON_FORMAT

    messages = [*BELIMUMAB_PREPARATION]
    messages += [v for k, v in vars(dosing).items() if k.isupper() and isinstance(v, str)]
    for message in messages:
        assert not PYTHON_FORMAT.search(message), message


def brute_force_best(dose: Decimal, sizes: tuple[int, ...]) -> tuple[Decimal, int]:
    """Least (waste, vial count) over every combination that covers the dose."""
    ranges = [range(math.ceil(dose / size) + 2) for size in sizes]
    best: tuple[Decimal, int] | None = None
    for counts in itertools.product(*ranges):
        total = sum(c * s for c, s in zip(counts, sizes, strict=True))
        if total < dose:
            continue
        key = (total - dose, sum(counts))
        if best is None or key < best:
            best = key
    assert best is not None
    return best


@given(st.decimals(min_value=D(25), max_value=D(250), places=2))
def test_plan_is_optimal_for_any_weight(weight: Decimal) -> None:
    plan = belimumab_plan(weight)
    assert plan.dose_mg == weight * 10
    assert plan.total_mg >= plan.dose_mg
    assert plan.waste_mg == plan.total_mg - plan.dose_mg
    assert list(plan.vials) == sorted(plan.vials, reverse=True)
    assert (plan.waste_mg, len(plan.vials)) == brute_force_best(plan.dose_mg, (400, 120))
    assert plan.volume_ml * 80 == plan.dose_mg


@given(
    # Bounded so the brute force stays small: at most ~32 counts per size.
    st.decimals(min_value=D("0.1"), max_value=D(600), places=1),
    st.lists(st.integers(min_value=20, max_value=300), min_size=1, max_size=3, unique=True),
)
def test_choose_vials_is_optimal_for_any_sizes(dose: Decimal, sizes: list[int]) -> None:
    vials = choose_vials(dose, sizes)
    assert sum(vials) >= dose
    assert set(vials) <= set(sizes)
    assert (sum(vials) - dose, len(vials)) == brute_force_best(dose, tuple(sizes))


# -------------------------------------------------------- methylprednisolone


@pytest.mark.parametrize(
    ("doses", "total", "status"),
    [
        (["1000", "499"], "1499", RangeStatus.BELOW),
        (["1000", "500"], "1500", RangeStatus.WITHIN),
        (["500", "500", "500"], "1500", RangeStatus.WITHIN),
        (["1000", "1000", "1000"], "3000", RangeStatus.WITHIN),
        (["1000", "1000", "1000", "1"], "3001", RangeStatus.ABOVE),
        (["1000", "1000", "999.5", "0.5"], "3000", RangeStatus.WITHIN),
        ([], "0", RangeStatus.BELOW),
    ],
)
def test_mp_cumulative(doses: list[str], total: str, status: RangeStatus) -> None:
    result = mp_cumulative([D(dose) for dose in doses])
    assert result.total_mg == D(total)
    assert result.status is status


def test_mp_outside_warns_with_a_message() -> None:
    below = mp_cumulative([D(1000), D(499)])
    assert below.warning == dosing.MP_TOTAL_BELOW
    assert below.warning.format(**below.warning_params) == (
        "The cumulative methylprednisolone pulse dose is 1499 mg, below the protocol range"
        " of 1500 to 3000 mg."
    )
    above = mp_cumulative([D(1000)] * 3 + [D(1)])
    assert above.warning == dosing.MP_TOTAL_ABOVE
    assert mp_cumulative([D(1000)] * 2).warning is None


def test_mp_range_is_a_parameter() -> None:
    assert mp_cumulative([D(1000)], low=D(1000)).status is RangeStatus.WITHIN
    assert mp_cumulative([D(1000)] * 2, high=D(1999)).status is RangeStatus.ABOVE


@pytest.mark.parametrize(
    ("dose", "msgid"),
    [
        ("0", dosing.MP_DOSE_NOT_POSITIVE),
        ("-500", dosing.MP_DOSE_NOT_POSITIVE),
        ("NaN", dosing.MP_DOSE_NOT_POSITIVE),
        ("1000.1", dosing.MP_DOSE_TOO_HIGH),
        ("5000", dosing.MP_DOSE_TOO_HIGH),
    ],
)
def test_mp_single_dose_refused(dose: str, msgid: str) -> None:
    with pytest.raises(RuleError) as caught:
        mp_cumulative([D(500), D(dose)])
    assert caught.value.msgid == msgid


def test_mp_single_dose_limit_is_inclusive_and_a_parameter() -> None:
    assert mp_cumulative([D(1000)]).total_mg == 1000
    assert mp_cumulative([D(1500)], max_single_dose_mg=D(1500)).total_mg == 1500
    with pytest.raises(RuleError) as caught:
        mp_cumulative([D(600)], max_single_dose_mg=D(500))
    assert caught.value.params == {"dose": "600", "limit": "500"}


# --------------------------------------------------------------- parse_dose


@pytest.mark.parametrize(
    ("text", "family", "amount", "unit", "mg"),
    [
        ("500mg", UnitFamily.G_OR_MG, "500", MassUnit.MG, "500"),
        ("500 mg", UnitFamily.G_OR_MG, "500", MassUnit.MG, "500"),
        ("0.5g", UnitFamily.G_OR_MG, "0.5", MassUnit.G, "500"),
        (".75 g", UnitFamily.G_OR_MG, "0.75", MassUnit.G, "750"),
        ("1G", UnitFamily.G_OR_MG, "1", MassUnit.G, "1000"),
        ("1克", UnitFamily.G_OR_MG, "1", MassUnit.G, "1000"),
        ("250毫克", UnitFamily.G_OR_MG, "250", MassUnit.MG, "250"),
        ("５００ｍｇ", UnitFamily.G_OR_MG, "500", MassUnit.MG, "500"),
        ("1mg", UnitFamily.MG, "1", MassUnit.MG, "1"),
        ("0.5 mg", UnitFamily.MG, "0.5", MassUnit.MG, "0.5"),
        # Tacrolimus has one unit, so a bare number is read in mg.
        ("1.5", UnitFamily.MG, "1.5", MassUnit.MG, "1.5"),
    ],
)
def test_parse_dose(text: str, family: UnitFamily, amount: str, unit: MassUnit, mg: str) -> None:
    dose = parse_dose(text, family)
    assert dose.amount == D(amount)
    assert dose.unit is unit
    assert dose.mg == D(mg)


@pytest.mark.parametrize(
    ("text", "family", "msgid"),
    [
        ("500", UnitFamily.G_OR_MG, dosing.DOSE_UNIT_MISSING),
        ("1g", UnitFamily.MG, dosing.DOSE_UNIT_NOT_ACCEPTED),
        ("500mcg", UnitFamily.G_OR_MG, dosing.DOSE_UNIT_NOT_ACCEPTED),
        ("2 tablets", UnitFamily.MG, dosing.DOSE_UNIT_NOT_ACCEPTED),
        ("abc", UnitFamily.MG, dosing.DOSE_UNREADABLE),
        ("", UnitFamily.MG, dosing.DOSE_UNREADABLE),
        ("1,5g", UnitFamily.G_OR_MG, dosing.DOSE_UNIT_NOT_ACCEPTED),
        ("0mg", UnitFamily.MG, dosing.DOSE_NOT_POSITIVE),
        ("-1mg", UnitFamily.MG, dosing.DOSE_NOT_POSITIVE),
    ],
)
def test_parse_dose_refusals(text: str, family: UnitFamily, msgid: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_dose(text, family)
    assert caught.value.msgid == msgid


def test_unit_refusal_names_accepted_units() -> None:
    with pytest.raises(RuleError) as caught:
        parse_dose("1g", UnitFamily.MG)
    assert caught.value.params == {"unit": "g", "accepted": "mg"}


# ------------------------------------------------------------ daily totals

MMF_CASES = [
    (["1g"], "1", RangeStatus.WITHIN),
    (["500mg", "500mg"], "1.0", RangeStatus.WITHIN),
    (["0.5g", "500mg"], "1.0", RangeStatus.WITHIN),
    (["750mg", "750mg"], "1.5", RangeStatus.WITHIN),
    (["0.75g", "0.75g"], "1.5", RangeStatus.WITHIN),
    (["500mg", "499mg"], "0.999", RangeStatus.BELOW),
    (["750mg", "751mg"], "1.501", RangeStatus.ABOVE),
    (["1g", "1g"], "2", RangeStatus.ABOVE),
]
TACROLIMUS_CASES = [
    (["1mg", "1mg"], "2", RangeStatus.WITHIN),
    (["2mg", "2mg"], "4", RangeStatus.WITHIN),
    (["1.5mg", "1mg"], "2.5", RangeStatus.WITHIN),
    (["1mg", "0.5mg"], "1.5", RangeStatus.BELOW),
    (["1mg", "0.99mg"], "1.99", RangeStatus.BELOW),
    (["2mg", "2.01mg"], "4.01", RangeStatus.ABOVE),
]
CASES = [(Drug.MMF, *case) for case in MMF_CASES] + [
    (Drug.TACROLIMUS, *case) for case in TACROLIMUS_CASES
]


@pytest.mark.parametrize(("drug", "doses", "total", "status"), CASES)
def test_daily_total_flag_policy(
    drug: Drug, doses: list[str], total: str, status: RangeStatus
) -> None:
    check = check_daily_total(drug, doses)
    assert check.total == D(total)
    assert check.status is status
    assert check.flagged is (status is not RangeStatus.WITHIN)
    assert (check.warning is None) is (status is RangeStatus.WITHIN)


@pytest.mark.parametrize(("drug", "doses", "total", "status"), CASES)
def test_daily_total_refuse_policy(
    drug: Drug, doses: list[str], total: str, status: RangeStatus
) -> None:
    if status is RangeStatus.WITHIN:
        check = check_daily_total(drug, doses, policy=RangePolicy.REFUSE)
        assert check.total == D(total)
        assert not check.flagged
        return
    with pytest.raises(RuleError) as caught:
        check_daily_total(drug, doses, policy=RangePolicy.REFUSE)
    text = str(caught.value)
    assert drug.name_en in text
    assert D(caught.value.params["total"]) == D(total)  # type: ignore[arg-type]


def test_refusal_message_names_drug_total_and_range() -> None:
    with pytest.raises(RuleError) as caught:
        check_daily_total(Drug.MMF, ["1g", "1g"], policy=RangePolicy.REFUSE)
    assert str(caught.value) == (
        "The mycophenolate mofetil daily total of 2 g is outside the protocol range of 1 to 1.5 g."
    )
    with pytest.raises(RuleError) as caught:
        check_daily_total(Drug.TACROLIMUS, ["3mg", "2mg"], policy=RangePolicy.REFUSE)
    assert str(caught.value) == (
        "The tacrolimus daily total of 5 mg is outside the protocol range of 2 to 4 mg."
    )


def test_daily_total_accepts_dose_values() -> None:
    check = check_daily_total(Drug.MMF, [Dose(D("0.5"), MassUnit.G), Dose(D(750), MassUnit.MG)])
    assert check.total == D("1.25")
    assert check.unit is MassUnit.G


def test_tacrolimus_refuses_grams() -> None:
    with pytest.raises(RuleError) as caught:
        check_daily_total(Drug.TACROLIMUS, [Dose(D("0.002"), MassUnit.G)])
    assert caught.value.msgid == dosing.DOSE_UNIT_NOT_ACCEPTED
    with pytest.raises(RuleError):
        check_daily_total(Drug.TACROLIMUS, ["0.002g"])


def test_daily_range_is_a_parameter() -> None:
    wider = DailyRange(D("0.5"), D("2"), MassUnit.G)
    assert check_daily_total(Drug.MMF, ["500mg"], daily_range=wider).status is RangeStatus.WITHIN
    assert check_daily_total(Drug.MMF, ["500mg"]).status is RangeStatus.BELOW


def test_dose_refuses_non_positive_amount() -> None:
    with pytest.raises(RuleError) as caught:
        Dose(D(0), MassUnit.MG)
    assert caught.value.msgid == dosing.DOSE_NOT_POSITIVE


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=2000), st.sampled_from(["mg", "g"])),
        min_size=1,
        max_size=4,
    )
)
def test_mmf_total_is_exact_sum_in_grams(entries: list[tuple[int, str]]) -> None:
    # Each entry is n mg, written either as "n mg" or as "n/1000 g".
    texts = [f"{D(n) / 1000}g" if unit == "g" else f"{n}mg" for n, unit in entries]
    expected_g = D(sum(n for n, _ in entries)) / 1000
    check = check_daily_total(Drug.MMF, texts)
    assert check.total == expected_g
    assert check.flagged is not (D("1.0") <= expected_g <= D("1.5"))
