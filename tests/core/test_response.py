"""Tests for core.response: CR / PR / NR per docs/registry-record.txt (docs/clinical-facts.md §3).

Every number is typed as staff would type it and read with parse_quantity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.response import (
    Assessment,
    Clause,
    ClauseKey,
    MissingWeek0,
    RbcBaselineInactive,
    RenalPanel,
    ResponseClass,
    ResponseOptions,
    SedimentComponent,
    Sex,
    WbcCastsWithUti,
    active_sediment,
    assess_weeks,
    baseline_week,
    classify,
    week24_and_cumulative,
)
from core.units import Analyte, Quantity, Unit, parse_casts, parse_quantity

A = Analyte
K = ClauseKey
RC = ResponseClass
LITERAL = RbcBaselineInactive.LITERAL
MET_IF = RbcBaselineInactive.MET_IF_WEEK_INACTIVE

_FIELDS: Mapping[str, Analyte] = {
    "protein": A.URINE_PROTEIN_24H,
    "rbc": A.URINE_RBC,
    "wbc": A.URINE_WBC,
    "albumin": A.SERUM_ALBUMIN,
    "creatinine": A.SERUM_CREATININE,
    "creatinine_uln": A.SERUM_CREATININE,
}


def with_(panel: RenalPanel, **typed: str | bool | None) -> RenalPanel:
    """``panel`` with fields replaced by values typed as staff type them."""
    changes: dict[str, object] = {}
    for name, text in typed.items():
        if name == "uti" or text is None:
            changes[name] = text
        elif name == "casts":
            assert isinstance(text, str)
            changes[name] = parse_casts(text)
        else:
            assert isinstance(text, str)
            changes[name] = parse_quantity(_FIELDS[name], text)
    return dataclasses.replace(panel, **changes)  # type: ignore[arg-type]


EMPTY = RenalPanel()

# docs/clinical-facts.md §3 worked example: F, baseline protein 4.2 g, RBC 40/hpf,
# WBC 12/hpf, RBC casts, albumin 2.4 g/dL, SCr 0.90 mg/dL.
BASELINE = with_(
    EMPTY,
    protein="4.2 g/24h",
    rbc="40/hpf",
    wbc="12/hpf",
    casts="rbc",
    albumin="2.4 g/dL",
    creatinine="0.90 mg/dL",
)
# week 24: 0.25 g, RBC 2, WBC 3, no casts, 3.9 g/dL, 0.78 mg/dL -> CR.
CR_WEEK = with_(
    EMPTY,
    protein="0.25 g/24h",
    rbc="2/hpf",
    wbc="3/hpf",
    casts="none",
    albumin="3.9 g/dL",
    creatinine="0.78 mg/dL",
)


def _all_clauses(a: Assessment) -> Iterator[Clause]:
    for c in a.clauses:
        yield c
        yield from c.parts
        if c.alternative is not None:
            yield c.alternative


# --- docs/clinical-facts.md §3 worked examples --------------------------------------


def test_worked_example_complete_response() -> None:
    a = classify(BASELINE, CR_WEEK, Sex.F)
    assert a.cls is RC.CR
    assert [c.met for c in a.cr_clauses] == [True, True, True, True]
    assert [c.key for c in a.cr_clauses] == [
        K.CR_PROTEIN,
        K.CR_SEDIMENT,
        K.CR_ALBUMIN,
        K.CR_CREATININE,
    ]
    # PR clauses are evaluated and kept even when CR is reached.
    assert [c.key for c in a.pr_clauses] == [
        K.PR_PROTEIN_FALL,
        K.PR_PROTEIN_LEVEL,
        K.PR_RBC_FALL,
        K.PR_CREATININE,
    ]
    assert [c.met for c in a.pr_clauses] == [True, True, True, True]


def test_worked_example_albumin_exactly_3_5_is_partial_response() -> None:
    week = with_(CR_WEEK, albumin="3.5 g/dL", protein="0.30 g/24h", rbc="4/hpf")
    a = classify(BASELINE, week, Sex.F)
    assert a.cls is RC.PR
    assert a.clause(K.CR_ALBUMIN).met is False
    assert [c.met for c in a.cr_clauses if c.key is not K.CR_ALBUMIN] == [True, True, True]
    assert a.pr_met is True


@pytest.mark.parametrize(
    ("week_protein", "fall_met", "cls"),
    [
        ("1.5 g/24h", False, RC.NR),  # exactly 50%: not "more than 50%"
        ("1.50 g/24h", False, RC.NR),
        ("1500 mg/24h", False, RC.NR),
        ("1.49 g/24h", True, RC.PR),
        ("1499 mg/24h", True, RC.PR),
    ],
)
def test_worked_example_protein_falling_exactly_half_fails_partial_response(
    week_protein: str, fall_met: bool, cls: ResponseClass
) -> None:
    baseline = with_(BASELINE, protein="3.0 g/24h")
    a = classify(baseline, with_(CR_WEEK, protein=week_protein), Sex.F)
    assert a.clause(K.PR_PROTEIN_FALL).met is fall_met
    assert [c.met for c in a.pr_clauses if c.key is not K.PR_PROTEIN_FALL] == [True] * 3
    assert a.cls is cls


# --- CR clauses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("protein", "met"),
    [
        ("0.40 g/24h", False),  # 0.40 g is not < 0.4
        ("0.4 g/24h", False),
        ("400 mg/24h", False),
        ("0.39 g/24h", True),
        ("390 mg/24h", True),
        ("0.399 g/24h", True),
        ("399.9 mg/24h", True),
        ("0 g/24h", True),
    ],
)
def test_cr_protein_is_strictly_below_0_4_g(protein: str, met: bool) -> None:
    a = classify(BASELINE, with_(CR_WEEK, protein=protein), Sex.F)
    assert a.clause(K.CR_PROTEIN).met is met
    assert a.cls is (RC.CR if met else RC.PR)


def test_protein_in_mg_and_g_compare_the_same() -> None:
    in_mg = classify(BASELINE, with_(CR_WEEK, protein="390 mg/24h"), Sex.F)
    in_g = classify(BASELINE, with_(CR_WEEK, protein="0.39 g/24h"), Sex.F)
    assert in_mg.clause(K.CR_PROTEIN).value == in_g.clause(K.CR_PROTEIN).value
    assert in_mg.clause(K.CR_PROTEIN).value == Quantity(Decimal("0.39"), Unit.G_PER_24H)
    assert in_mg.clause(K.CR_PROTEIN).english() == "Urine protein 0.390 g/24h < 0.4 g/24h: met"
    assert in_g.clause(K.CR_PROTEIN).english() == "Urine protein 0.39 g/24h < 0.4 g/24h: met"


@pytest.mark.parametrize(
    ("albumin", "met", "compared_in"),
    [
        ("3.5 g/dL", False, Unit.G_PER_DL),  # 3.5 g/dL is not > 3.5
        ("35 g/L", False, Unit.G_PER_L),
        ("35.0 g/L", False, Unit.G_PER_L),
        ("35.1 g/L", True, Unit.G_PER_L),
        ("3.51 g/dL", True, Unit.G_PER_DL),
        ("3.49 g/dL", False, Unit.G_PER_DL),
        ("34.9 g/L", False, Unit.G_PER_L),
        ("39 g/L", True, Unit.G_PER_L),
    ],
)
def test_cr_albumin_is_strictly_above_3_5_g_per_dl(
    albumin: str, met: bool, compared_in: Unit
) -> None:
    a = classify(BASELINE, with_(CR_WEEK, albumin=albumin), Sex.F)
    clause = a.clause(K.CR_ALBUMIN)
    assert clause.met is met
    # g/dL is compared as entered; only a g/L value makes a conversion (of the threshold).
    assert clause.value is not None
    assert clause.threshold is not None
    assert clause.value.unit is compared_in
    assert clause.threshold.unit is compared_in
    assert a.cls is (RC.CR if met else RC.PR)


def test_albumin_clause_reads_in_english() -> None:
    clause = classify(BASELINE, with_(CR_WEEK, albumin="35 g/L"), Sex.F).clause(K.CR_ALBUMIN)
    assert clause.english() == "Serum albumin 35 g/L > 35.0 g/L: not met"


@pytest.mark.parametrize(
    ("creatinine", "sex", "normal"),
    [
        ("80 umol/L", Sex.M, True),  # male default ULN 97 µmol/L
        ("80 umol/L", Sex.F, False),  # female default ULN 73 µmol/L
        ("73 umol/L", Sex.F, True),  # at the limit is normal
        ("73.1 umol/L", Sex.F, False),
        ("97 umol/L", Sex.M, True),
        ("97.1 umol/L", Sex.M, False),
        ("0.82 mg/dL", Sex.F, True),  # 72.488 µmol/L
        ("0.83 mg/dL", Sex.F, False),  # 73.372 µmol/L
        ("1.09 mg/dL", Sex.M, True),  # 96.356 µmol/L
        ("1.10 mg/dL", Sex.M, False),  # 97.240 µmol/L
    ],
)
def test_creatinine_normal_against_sex_default_without_own_uln(
    creatinine: str, sex: Sex, normal: bool
) -> None:
    a = classify(BASELINE, with_(CR_WEEK, creatinine=creatinine), sex)
    clause = a.clause(K.CR_CREATININE)
    assert clause.met is normal
    assert ("women" if sex is Sex.F else "men") in clause.english()


@pytest.mark.parametrize(
    ("creatinine", "uln", "sex", "normal"),
    [
        ("80 umol/L", "84 umol/L", Sex.F, True),  # own limit beats the female default
        ("70 umol/L", "62 umol/L", Sex.M, False),  # own limit beats the male default
        ("80 umol/L", "0.95 mg/dL", Sex.F, True),  # 83.98 µmol/L
        ("1.17 mg/dL", "1.2 mg/dL", Sex.F, True),
        ("1.2 mg/dL", "1.2 mg/dL", Sex.F, True),
        ("1.21 mg/dL", "1.2 mg/dL", Sex.M, False),
    ],
)
def test_creatinine_normal_against_the_results_own_uln(
    creatinine: str, uln: str, sex: Sex, normal: bool
) -> None:
    a = classify(BASELINE, with_(CR_WEEK, creatinine=creatinine, creatinine_uln=uln), sex)
    clause = a.clause(K.CR_CREATININE)
    assert clause.met is normal
    assert "reported with the result" in clause.english()


# --- active sediment --------------------------------------------------------

S = SedimentComponent


@pytest.mark.parametrize(
    ("rbc", "wbc", "casts", "uti", "active", "components"),
    [
        ("2/hpf", "12/hpf", "none", False, True, {S.WBC}),
        ("2/hpf", "12/hpf", "none", True, False, set()),  # UTI: white cells don't count
        ("2/hpf", "3/hpf", "wbc", False, True, {S.CASTS}),
        ("2/hpf", "3/hpf", "wbc", True, True, {S.CASTS}),  # UTI: WBC casts still count
        ("2/hpf", "3/hpf", "rbc+wbc", True, True, {S.CASTS}),  # RBC casts still count
        ("2/hpf", "12/hpf", "rbc", True, True, {S.CASTS}),
        ("150/uL", "3/hpf", "none", False, True, {S.RBC}),
        ("101/uL", "3/hpf", "none", False, True, {S.RBC}),
        ("100/uL", "3/hpf", "none", False, False, set()),  # not > 100/µL
        ("6/hpf", "3/hpf", "none", False, True, {S.RBC}),
        ("5/hpf", "5/hpf", "none", False, False, set()),  # not > 5/hpf
        ("2/hpf", "6/hpf", "none", False, True, {S.WBC}),
        ("40/hpf", "12/hpf", "rbc", False, True, {S.RBC, S.WBC, S.CASTS}),
        # missing data: unknown only when nothing known is active
        (None, "3/hpf", "none", False, None, set()),
        (None, "12/hpf", "none", False, True, {S.WBC}),
        ("2/hpf", None, "none", False, None, set()),
        ("2/hpf", None, "none", True, False, set()),  # WBC irrelevant with a UTI
        ("2/hpf", "3/hpf", None, False, None, set()),
        ("150/uL", "3/hpf", None, False, True, {S.RBC}),
    ],
)
def test_active_sediment(
    rbc: str | None,
    wbc: str | None,
    casts: str | None,
    uti: bool,
    active: bool | None,
    components: set[SedimentComponent],
) -> None:
    result = active_sediment(with_(EMPTY, rbc=rbc, wbc=wbc, casts=casts, uti=uti))
    assert result.active is active
    assert set(result.active_components) == components
    assert result.wbc.ignored is uti


def test_uti_note_is_in_the_wbc_finding() -> None:
    result = active_sediment(with_(EMPTY, rbc="2/hpf", wbc="12/hpf", casts="wbc", uti=True))
    assert "urinary tract infection" in result.wbc.english()
    assert result.casts.english() == (
        "White-cell casts, which count even with the urinary tract infection recorded: active"
    )
    assert not result.casts.ignored


@pytest.mark.parametrize(
    ("casts", "option", "active", "text"),
    [
        ("wbc", WbcCastsWithUti.COUNT, True, "White-cell casts, which count even with the"),
        ("wbc", WbcCastsWithUti.IGNORE, False, "White-cell casts, not counted because"),
        ("rbc+wbc", WbcCastsWithUti.COUNT, True, "Red-cell and white-cell casts; white-cell"),
        ("rbc+wbc", WbcCastsWithUti.IGNORE, True, "Red-cell casts, and white-cell casts not"),
    ],
)
def test_white_cell_casts_with_a_uti_count_unless_the_protocol_ignores_them(
    casts: str, option: WbcCastsWithUti, active: bool, text: str
) -> None:
    options = ResponseOptions(wbc_casts_with_uti=option)
    panel = with_(CR_WEEK, casts=casts, uti=True)
    result = active_sediment(panel, options)
    assert result.active is active
    assert result.casts.ignored is (option is WbcCastsWithUti.IGNORE)
    assert result.casts.english().startswith(text)
    # Red cells are fine and white cells are discounted: the casts alone decide CR.
    a = classify(BASELINE, panel, Sex.F, options)
    assert (a.cls is RC.CR) is not active


def test_a_protein_below_the_detection_limit_is_below_it() -> None:
    """A protein of "<0.1 g/24h" is below 0.4 (CR) and 3.5, and below half of 4.2 g."""
    week = dataclasses.replace(CR_WEEK, protein_below_limit=True)
    week = with_(week, protein="0.1 g/24h")
    a = classify(BASELINE, week, Sex.F)
    assert a.cls is RC.CR
    assert a.clause(K.CR_PROTEIN).english() == (
        "Urine protein <0.1 g/24h (below the detection limit) < 0.4 g/24h: met"
    )
    assert a.clause(K.PR_PROTEIN_FALL).met is True
    assert "<0.1 g/24h now (below the detection limit)" in a.clause(K.PR_PROTEIN_FALL).english()
    assert a.clause(K.PR_PROTEIN_LEVEL).met is True


def test_a_detection_limit_above_the_threshold_cannot_tell() -> None:
    # "<0.5 g/24h" may or may not be below 0.4: not evaluable, never met or failed.
    week = with_(dataclasses.replace(CR_WEEK, protein_below_limit=True), protein="0.5 g/24h")
    a = classify(with_(BASELINE, protein="0.8 g/24h"), week, Sex.F)
    assert a.clause(K.CR_PROTEIN).met is None
    assert a.clause(K.PR_PROTEIN_FALL).met is None  # half of 0.8 is 0.4, under the limit
    assert a.clause(K.PR_PROTEIN_LEVEL).met is True
    assert a.cls is RC.NE
    # Below the limit at baseline: a fall cannot be measured.
    base = with_(dataclasses.replace(BASELINE, protein_below_limit=True), protein="0.1 g/24h")
    fall = classify(base, CR_WEEK, Sex.F).clause(K.PR_PROTEIN_FALL)
    assert fall.met is None
    assert "below the detection limit (0.1 g/24h) at baseline" in fall.english()


def test_baseline_is_week0_else_the_latest_screening_week_under_the_option() -> None:
    panels = {-2: BASELINE, -1: with_(BASELINE, protein="5.0 g/24h"), 24: CR_WEEK}
    assert baseline_week(panels, ResponseOptions()) == -1
    assert baseline_week({0: BASELINE, **panels}, ResponseOptions()) == 0
    none = ResponseOptions(baseline_when_week0_missing=MissingWeek0.NONE)
    assert baseline_week(panels, none) is None
    assessed = assess_weeks(panels, Sex.F, ResponseOptions())
    assert list(assessed) == [24]  # screening weeks are never assessed themselves
    fall = assessed[24].clause(K.PR_PROTEIN_FALL)
    assert fall.baseline == Quantity(Decimal("5.0"), Unit.G_PER_24H)
    assert assess_weeks(panels, Sex.F, none)[24].clause(K.PR_PROTEIN_FALL).met is None


@pytest.mark.parametrize(("uti", "cls"), [(True, RC.CR), (False, RC.PR)])
def test_uti_decides_whether_12_wbc_per_hpf_blocks_complete_response(
    uti: bool, cls: ResponseClass
) -> None:
    week = with_(CR_WEEK, wbc="12/hpf", uti=uti)
    a = classify(BASELINE, week, Sex.F)
    assert a.clause(K.CR_SEDIMENT).met is uti
    assert a.cls is cls


# --- PR clauses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "week", "met"),
    [
        ("3.0 g/24h", "1.5 g/24h", False),
        ("3.0 g/24h", "1.49 g/24h", True),
        ("3000 mg/24h", "1.5 g/24h", False),
        ("3000 mg/24h", "1.49 g/24h", True),
        ("3.0 g/24h", "1500 mg/24h", False),
        ("3.0 g/24h", "1499 mg/24h", True),
        ("4.2 g/24h", "2.1 g/24h", False),
        ("4.2 g/24h", "2.09 g/24h", True),
        ("0 g/24h", "0 g/24h", False),  # nothing to fall from
    ],
)
def test_pr_protein_fall_is_strictly_more_than_half(baseline: str, week: str, met: bool) -> None:
    a = classify(with_(BASELINE, protein=baseline), with_(CR_WEEK, protein=week), Sex.F)
    assert a.clause(K.PR_PROTEIN_FALL).met is met


def test_pr_protein_fall_reads_in_english() -> None:
    base = with_(BASELINE, protein="3.0 g/24h")
    clause = classify(base, with_(CR_WEEK, protein="1.5 g/24h"), Sex.F).clause(K.PR_PROTEIN_FALL)
    assert clause.english() == (
        "24-hour urine protein 3.0 g/24h at baseline, 1.5 g/24h now (-50.0%); "
        "a fall of more than 50% means below 1.50 g/24h: not met"
    )
    assert clause.change == Decimal("-0.5")


@pytest.mark.parametrize(
    ("week", "met"),
    [("3.5 g/24h", False), ("3500 mg/24h", False), ("3.49 g/24h", True), ("3499 mg/24h", True)],
)
def test_pr_protein_level_is_strictly_below_3_5_g(week: str, met: bool) -> None:
    a = classify(with_(BASELINE, protein="8.0 g/24h"), with_(CR_WEEK, protein=week), Sex.F)
    assert a.clause(K.PR_PROTEIN_LEVEL).met is met
    assert a.clause(K.PR_PROTEIN_FALL).met is True
    assert a.cls is (RC.PR if met else RC.NR)


@pytest.mark.parametrize(
    ("baseline", "week", "met"),
    [
        ("40/hpf", "20/hpf", False),  # exactly 50%
        ("40/hpf", "19/hpf", True),
        ("41/hpf", "20.5/hpf", False),
        ("400/uL", "200/uL", False),
        ("400/uL", "199/uL", True),
        ("40/hpf", "150/uL", None),  # /hpf against /µL: never compared
        ("400/uL", "3/hpf", None),
    ],
)
def test_pr_rbc_fall(baseline: str, week: str, met: bool | None) -> None:
    a = classify(with_(BASELINE, rbc=baseline), with_(CR_WEEK, rbc=week), Sex.F)
    clause = a.clause(K.PR_RBC_FALL)
    assert clause.met is met
    if met is None:
        assert "different methods" in clause.english()


def test_rbc_methods_differ_matters_only_when_cr_fails() -> None:
    # Week RBC 50/µL is not active, so CR holds and the incomparable RBC clause is moot.
    a = classify(BASELINE, with_(CR_WEEK, rbc="50/uL"), Sex.F)
    assert a.clause(K.PR_RBC_FALL).met is None
    assert a.cls is RC.CR
    # With albumin failing CR, the unknown RBC clause decides PR vs NR: NE.
    a = classify(BASELINE, with_(CR_WEEK, rbc="50/uL", albumin="3.0 g/dL"), Sex.F)
    assert a.cls is RC.NE
    assert K.PR_RBC_FALL in a.missing


@pytest.mark.parametrize(
    ("option", "baseline", "week", "met", "alternative"),
    [
        # baseline not active (<= 5/hpf, <= 100/µL): both readings kept
        (LITERAL, "4/hpf", "3/hpf", False, True),
        (MET_IF, "4/hpf", "3/hpf", True, False),
        (LITERAL, "4/hpf", "1/hpf", True, True),
        (MET_IF, "4/hpf", "1/hpf", True, True),
        (LITERAL, "4/hpf", "8/hpf", False, False),
        (MET_IF, "4/hpf", "8/hpf", False, False),
        (LITERAL, "5/hpf", "5/hpf", False, True),
        (LITERAL, "0/hpf", "0/hpf", False, True),
        (LITERAL, "60/uL", "80/uL", False, True),
        (MET_IF, "100/uL", "150/uL", False, False),
        (MET_IF, "4/hpf", "50/uL", True, None),  # both inactive: no comparison needed
        (LITERAL, "4/hpf", "50/uL", None, True),
    ],
)
def test_pr_rbc_when_baseline_inactive(
    option: RbcBaselineInactive,
    baseline: str,
    week: str,
    met: bool | None,
    alternative: bool | None,
) -> None:
    options = ResponseOptions(pr_rbc_when_baseline_inactive=option)
    a = classify(with_(BASELINE, rbc=baseline), with_(CR_WEEK, rbc=week), Sex.F, options)
    clause = a.clause(K.PR_RBC_FALL)
    assert clause.met is met
    assert clause.reading is option
    assert clause.alternative is not None
    assert clause.alternative.met is alternative
    assert clause.alternative.reading is (MET_IF if option is LITERAL else LITERAL)


@pytest.mark.parametrize("option", [LITERAL, MET_IF])
def test_no_alternative_reading_when_baseline_rbc_is_active(option: RbcBaselineInactive) -> None:
    options = ResponseOptions(pr_rbc_when_baseline_inactive=option)
    a = classify(BASELINE, with_(CR_WEEK, rbc="19/hpf"), Sex.F, options)
    assert a.clause(K.PR_RBC_FALL).met is True
    assert a.clause(K.PR_RBC_FALL).alternative is None


@pytest.mark.parametrize(("option", "cls"), [(LITERAL, RC.NR), (MET_IF, RC.PR)])
def test_rbc_option_changes_the_class(option: RbcBaselineInactive, cls: ResponseClass) -> None:
    options = ResponseOptions(pr_rbc_when_baseline_inactive=option)
    baseline = with_(BASELINE, rbc="4/hpf")
    week = with_(CR_WEEK, rbc="3/hpf", albumin="3.0 g/dL")
    assert classify(baseline, week, Sex.F, options).cls is cls


@pytest.mark.parametrize(
    ("baseline", "week", "uln", "sex", "normal", "rise", "met"),
    [
        # exactly 30% rise, abnormal value: fails (binary floats say 1.2999999999999998)
        ("0.90 mg/dL", "1.17 mg/dL", None, Sex.F, False, False, False),
        # the same rise, normal against the result's own ULN: holds
        ("0.90 mg/dL", "1.17 mg/dL", "1.2 mg/dL", Sex.F, True, False, True),
        ("0.90 mg/dL", "1.17 mg/dL", "1.17 mg/dL", Sex.F, True, False, True),
        ("0.90 mg/dL", "1.169 mg/dL", None, Sex.F, False, True, True),
        ("0.90 mg/dL", "1.16 mg/dL", None, Sex.M, False, True, True),
        # µmol/L baseline, mg/dL week: converted (exactly) only here
        ("88.4 umol/L", "1.3 mg/dL", None, Sex.M, False, False, False),  # 114.92 = 1.3 x 88.4
        ("88.4 umol/L", "1.29 mg/dL", None, Sex.M, False, True, True),
        ("80 umol/L", "1.17 mg/dL", None, Sex.M, False, True, True),  # 103.428 < 104
        ("1.0 mg/dL", "120 umol/L", "1.4 mg/dL", Sex.M, True, False, True),
        ("100 umol/L", "130 umol/L", None, Sex.M, False, False, False),
        ("100 umol/L", "130 umol/L", "133 umol/L", Sex.M, True, False, True),
        ("100 umol/L", "129.9 umol/L", None, Sex.M, False, True, True),
    ],
)
def test_pr_creatinine_normal_or_rise_below_30_percent(
    baseline: str,
    week: str,
    uln: str | None,
    sex: Sex,
    normal: bool,
    rise: bool,
    met: bool,
) -> None:
    a = classify(
        with_(BASELINE, creatinine=baseline),
        with_(CR_WEEK, creatinine=week, creatinine_uln=uln),
        sex,
    )
    clause = a.clause(K.PR_CREATININE)
    normal_part, rise_part = clause.parts
    assert (normal_part.key, rise_part.key) == (K.CREATININE_NORMAL, K.CREATININE_RISE)
    assert normal_part.met is normal
    assert rise_part.met is rise
    assert clause.met is met
    assert a.clause(K.CR_CREATININE).met is normal


def test_binary_float_would_misjudge_the_30_percent_rise() -> None:
    # The reason for Decimal: in floats 1.17/0.90 < 1.3 and 0.90*1.3 > 1.17.
    assert 1.17 / 0.90 < 1.3
    assert 0.90 * 1.3 > 1.17
    a = classify(BASELINE, with_(CR_WEEK, creatinine="1.17 mg/dL"), Sex.F)
    assert a.clause(K.PR_CREATININE).parts[1].met is False
    assert a.cls is RC.NR


def test_creatinine_exact_30_percent_rise_normal_by_own_uln_is_complete_response() -> None:
    week = with_(CR_WEEK, creatinine="1.17 mg/dL", creatinine_uln="1.2 mg/dL")
    assert classify(BASELINE, week, Sex.F).cls is RC.CR


def test_units_converted_only_where_they_differ() -> None:
    same = classify(BASELINE, with_(CR_WEEK, creatinine="1.17 mg/dL"), Sex.F)
    rise = same.clause(K.PR_CREATININE).parts[1]
    assert rise.value == Quantity(Decimal("1.17"), Unit.MG_PER_DL)
    assert rise.baseline is not None
    assert rise.baseline.unit is Unit.MG_PER_DL
    assert rise.threshold == Quantity(Decimal("1.170"), Unit.MG_PER_DL)

    mixed = classify(
        with_(BASELINE, creatinine="80 umol/L"),
        with_(CR_WEEK, creatinine="1.17 mg/dL"),
        Sex.F,
    )
    rise = mixed.clause(K.PR_CREATININE).parts[1]
    assert rise.value == Quantity(Decimal("103.428"), Unit.UMOL_PER_L)
    assert rise.baseline == Quantity(Decimal("80"), Unit.UMOL_PER_L)
    assert rise.threshold == Quantity(Decimal("104.0"), Unit.UMOL_PER_L)


# --- not evaluable only when it matters ---------------------------------------


def test_complete_response_needs_no_baseline() -> None:
    a = classify(EMPTY, CR_WEEK, Sex.F)
    assert a.cls is RC.CR
    assert a.pr_met is None
    assert K.PR_PROTEIN_FALL in a.missing


@pytest.mark.parametrize(
    ("baseline", "week", "cls"),
    [
        # a CR clause unknown (none false): could be CR -> NE
        (BASELINE, with_(CR_WEEK, protein=None), RC.NE),
        (BASELINE, with_(CR_WEEK, albumin=None), RC.NE),
        (BASELINE, with_(CR_WEEK, creatinine=None), RC.NE),
        (BASELINE, with_(CR_WEEK, casts=None), RC.NE),
        # a CR clause false and every PR clause known: decided
        (BASELINE, with_(CR_WEEK, albumin=None, protein="0.5 g/24h"), RC.PR),
        (BASELINE, with_(CR_WEEK, casts=None, wbc="12/hpf"), RC.PR),
        # a CR clause false and a PR clause unknown: NE
        (with_(BASELINE, protein=None), with_(CR_WEEK, albumin="3.0 g/dL"), RC.NE),
        (with_(BASELINE, rbc=None), with_(CR_WEEK, albumin="3.0 g/dL"), RC.NE),
        # ... unless another PR clause is false
        (
            with_(BASELINE, protein=None),
            with_(CR_WEEK, albumin="3.0 g/dL", protein="3.6 g/24h"),
            RC.NR,
        ),
        # week creatinine missing: CR unknown -> NE
        (BASELINE, with_(CR_WEEK, creatinine=None, albumin="3.0 g/dL"), RC.NE),
        # baseline creatinine missing but the week value is normal: PR decided
        (with_(BASELINE, creatinine=None), with_(CR_WEEK, albumin="3.0 g/dL"), RC.PR),
        # baseline creatinine missing and the week value abnormal: NE
        (
            with_(BASELINE, creatinine=None),
            with_(CR_WEEK, albumin="3.0 g/dL", creatinine="1.0 mg/dL"),
            RC.NE,
        ),
    ],
)
def test_not_evaluable_only_when_missing_data_could_change_the_class(
    baseline: RenalPanel, week: RenalPanel, cls: ResponseClass
) -> None:
    assert classify(baseline, week, Sex.F).cls is cls


def test_missing_clause_says_what_is_missing() -> None:
    a = classify(with_(BASELINE, protein=None), with_(CR_WEEK, rbc=None), Sex.F)
    fall = a.clause(K.PR_PROTEIN_FALL)
    assert fall.met is None
    assert fall.english() == "24-hour urine protein: no baseline result: not evaluable"
    assert a.clause(K.PR_RBC_FALL).english() == (
        "Urine RBC: no result at this assessment: not evaluable"
    )


# --- week 24 and cumulative ---------------------------------------------------

_CR = Assessment(RC.CR, True, True, (), ())
_PR = Assessment(RC.PR, False, True, (), ())
_NR = Assessment(RC.NR, False, False, (), ())
_NE_COULD_BE_CR = Assessment(RC.NE, None, None, (), ())
_NE_COULD_BE_PR = Assessment(RC.NE, False, None, (), ())


@pytest.mark.parametrize(
    ("assessments", "week24", "cumulative", "cumulative_cr", "first_week"),
    [
        ({12: _CR, 24: _PR}, RC.PR, RC.CR, True, 12),
        ({4: _NR, 12: _PR, 16: _PR, 24: _NR}, RC.NR, RC.PR, False, 12),
        ({24: _CR}, RC.CR, RC.CR, True, 24),
        ({4: _NR, 24: _NR}, RC.NR, RC.NR, False, 4),
        ({4: _CR, 8: _CR, 24: _NR}, RC.NR, RC.CR, True, 4),
        ({12: _NE_COULD_BE_CR, 24: _PR}, RC.PR, RC.NE, None, None),
        ({12: _NE_COULD_BE_PR, 24: _PR}, RC.PR, RC.PR, False, 24),
        ({12: _NE_COULD_BE_PR, 24: _NR}, RC.NR, RC.NE, False, None),
        ({12: _NE_COULD_BE_CR, 20: _CR}, None, RC.CR, True, 20),
        ({20: _PR}, None, RC.PR, False, 20),
        ({24: _NR, 28: _CR}, RC.NR, RC.NR, False, 24),  # after week 24: not counted
        ({0: _CR, 24: _NR}, RC.NR, RC.NR, False, 24),  # baseline: not counted
        ({24: _NE_COULD_BE_CR}, RC.NE, RC.NE, None, None),
        ({}, None, None, None, None),
    ],
)
def test_week24_and_cumulative(
    assessments: dict[int, Assessment],
    week24: ResponseClass | None,
    cumulative: ResponseClass | None,
    cumulative_cr: bool | None,
    first_week: int | None,
) -> None:
    result = week24_and_cumulative(assessments)
    assert result.week24 is week24
    assert result.cumulative is cumulative
    assert result.cumulative_cr is cumulative_cr
    assert result.cumulative_week == first_week


def test_cr_at_week_12_and_pr_at_week_24_from_real_panels() -> None:
    pr_week = with_(CR_WEEK, albumin="3.5 g/dL", protein="0.30 g/24h", rbc="4/hpf")
    assessments = {
        12: classify(BASELINE, CR_WEEK, Sex.F),
        24: classify(BASELINE, pr_week, Sex.F),
    }
    result = week24_and_cumulative(assessments)
    assert (result.week24, result.cumulative, result.cumulative_cr) == (RC.PR, RC.CR, True)
    assert result.weeks == (12, 24)


def test_endpoint_week_is_an_option() -> None:
    result = week24_and_cumulative({12: _PR, 24: _CR}, ResponseOptions(endpoint_week=12))
    assert (result.week24, result.cumulative, result.endpoint_week) == (RC.PR, RC.PR, 12)


# --- options are checked ----------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"cr_protein_below": Quantity(Decimal("0.4"), Unit.G_PER_L)},
        {"cr_albumin_above": Quantity(Decimal("3.5"), Unit.G_PER_24H)},
        {"creatinine_uln_female": Quantity(Decimal("73"), Unit.G_PER_L)},
        {"creatinine_uln_male": Quantity(Decimal("0"), Unit.UMOL_PER_L)},
        {"pr_protein_fall_more_than": Decimal("50")},
        {"pr_rbc_fall_more_than": Decimal("0")},
        {"pr_creatinine_rise_less_than": Decimal("-0.3")},
        {"sediment_rbc_above": (Quantity(Decimal("5"), Unit.G_PER_L),)},
        {
            "sediment_rbc_above": (
                Quantity(Decimal("5"), Unit.PER_HPF),
                Quantity(Decimal("3"), Unit.PER_HPF),
            )
        },
        {"endpoint_week": 0},
    ],
)
def test_nonsense_options_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|two thresholds"):
        ResponseOptions(**changes)  # type: ignore[arg-type]


def test_panel_refuses_a_value_in_the_wrong_unit() -> None:
    with pytest.raises(ValueError, match="albumin"):
        RenalPanel(albumin=Quantity(Decimal("69"), Unit.UMOL_PER_L))


def test_thresholds_are_options() -> None:
    options = ResponseOptions(cr_protein_below=Quantity(Decimal("500"), Unit.MG_PER_24H))
    week = with_(CR_WEEK, protein="0.45 g/24h")
    assert classify(BASELINE, week, Sex.F).cls is RC.PR
    assert classify(BASELINE, week, Sex.F, options).cls is RC.CR


# --- properties ---------------------------------------------------------------


def _hundredths(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


# Each field is drawn as an integer in a fixed unit (hundredths of g/24h,
# hundredths of g/dL, hundredths of mg/dL), with the registry's boundaries
# over-represented, and typed either in that unit or in the other one.
_PROTEIN = st.integers(0, 800) | st.sampled_from([40, 39, 350, 349, 150, 149, 300])
_ALBUMIN = st.integers(100, 550) | st.sampled_from([350, 351, 349])
_CREATININE = st.integers(30, 400) | st.sampled_from([73, 82, 83, 90, 97, 109, 110, 117, 130])
_ULN = st.integers(60, 150) | st.sampled_from([117, 120])
_RBC = st.tuples(st.sampled_from(["/hpf", "/uL"]), st.integers(0, 300))
_WBC = st.integers(0, 30)
_CASTS = st.sampled_from(["none", "rbc", "wbc", "rbc+wbc"])

_STRATEGIES: Mapping[str, st.SearchStrategy[object]] = {
    "protein": _PROTEIN,
    "rbc": _RBC,
    "wbc": _WBC,
    "casts": _CASTS,
    "albumin": _ALBUMIN,
    "creatinine": _CREATININE,
}


def _typed(name: str, raw: object, other_unit: bool) -> str:
    if name == "protein":
        assert isinstance(raw, int)
        g = _hundredths(raw)
        return f"{g * 1000:f} mg/24h" if other_unit else f"{g:f} g/24h"
    if name == "albumin":
        assert isinstance(raw, int)
        g_dl = _hundredths(raw)
        return f"{g_dl * 10:f} g/L" if other_unit else f"{g_dl:f} g/dL"
    if name in ("creatinine", "creatinine_uln"):
        assert isinstance(raw, int)
        mg_dl = _hundredths(raw)
        return f"{mg_dl * Decimal('88.4'):f} umol/L" if other_unit else f"{mg_dl:f} mg/dL"
    if name == "rbc":
        assert isinstance(raw, tuple)
        unit, n = raw
        return f"{n}{unit}"
    if name == "wbc":
        return f"{raw}/hpf"
    assert isinstance(raw, str)
    return raw


Spec = dict[str, object]


@st.composite
def _spec(draw: st.DrawFn, optional: bool = False) -> Spec:
    spec: Spec = {}
    for name, strategy in _STRATEGIES.items():
        spec[name] = draw(st.none() | strategy) if optional else draw(strategy)
    spec["creatinine_uln"] = draw(st.none() | _ULN)
    spec["uti"] = draw(st.booleans())
    return spec


def _panel(spec: Spec, other_units: frozenset[str] = frozenset()) -> RenalPanel:
    typed: dict[str, str | bool | None] = {}
    for name, raw in spec.items():
        if name == "uti":
            assert isinstance(raw, bool)
            typed[name] = raw
        else:
            typed[name] = None if raw is None else _typed(name, raw, name in other_units)
    return with_(EMPTY, **typed)


_OPTIONS = st.builds(
    ResponseOptions, pr_rbc_when_baseline_inactive=st.sampled_from(list(RbcBaselineInactive))
)
_SEX = st.sampled_from(list(Sex))
_UNIT_CHOICE = st.frozensets(
    st.sampled_from(["protein", "albumin", "creatinine", "creatinine_uln"])
)


@given(_spec(optional=True), _spec(optional=True), _SEX, _OPTIONS)
def test_never_cr_when_a_cr_clause_fails(
    base: Spec, week: Spec, sex: Sex, options: ResponseOptions
) -> None:
    a = classify(_panel(base), _panel(week), sex, options)
    cr = [c.met for c in a.cr_clauses]
    pr = [c.met for c in a.pr_clauses]
    if False in cr:
        assert a.cls is not RC.CR
    assert (a.cls is RC.CR) == all(m is True for m in cr)
    if a.cls is RC.PR:
        assert False in cr
        assert all(m is True for m in pr)
    if a.cls is RC.NR:
        assert False in cr
        assert False in pr


@given(_spec(), _spec(), _SEX, _OPTIONS, _UNIT_CHOICE, _UNIT_CHOICE, _UNIT_CHOICE, _UNIT_CHOICE)
def test_the_unit_a_value_is_typed_in_does_not_change_the_result(
    base: Spec,
    week: Spec,
    sex: Sex,
    options: ResponseOptions,
    base_units_1: frozenset[str],
    week_units_1: frozenset[str],
    base_units_2: frozenset[str],
    week_units_2: frozenset[str],
) -> None:
    # e.g. protein 0.39 g/24h vs 390 mg/24h, albumin 3.5 g/dL vs 35 g/L,
    # creatinine 0.90 mg/dL vs 79.56 µmol/L, in any mix of baseline and week.
    one = classify(_panel(base, base_units_1), _panel(week, week_units_1), sex, options)
    two = classify(_panel(base, base_units_2), _panel(week, week_units_2), sex, options)
    assert one.cls is two.cls
    assert [(c.key, c.met) for c in _all_clauses(one)] == [
        (c.key, c.met) for c in _all_clauses(two)
    ]


@given(st.data(), _spec(optional=True), _spec(optional=True), _SEX, _OPTIONS)
def test_a_decided_class_does_not_change_when_missing_values_arrive(
    data: st.DataObject, base: Spec, week: Spec, sex: Sex, options: ResponseOptions
) -> None:
    before = classify(_panel(base), _panel(week), sex, options)
    if before.cls is RC.NE:
        return
    filled = [
        {
            name: data.draw(_STRATEGIES[name]) if raw is None and name in _STRATEGIES else raw
            for name, raw in spec.items()
        }
        for spec in (base, week)
    ]
    after = classify(_panel(filled[0]), _panel(filled[1]), sex, options)
    assert after.cls is before.cls


@given(_spec(optional=True), _spec(optional=True), _SEX, _OPTIONS)
def test_every_clause_renders_with_its_own_params(
    base: Spec, week: Spec, sex: Sex, options: ResponseOptions
) -> None:
    a = classify(_panel(base), _panel(week), sex, options)
    for clause in _all_clauses(a):
        text = clause.english()
        assert "{" not in text
        assert text.endswith(("met", "not met", "not evaluable"))
        assert (clause.met is None) == text.endswith("not evaluable")
        if clause.sediment is not None:
            for finding in clause.sediment.findings:
                assert "{" not in finding.english()
