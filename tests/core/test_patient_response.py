"""core.patient_response: a patient's stored lab rows -> weekly classes and endpoints."""

from __future__ import annotations

from core.patient_response import LabRow, patient_response
from core.renal_panel import StoredResult, casts_row
from core.response import ResponseClass, Sex
from core.units import CastKind


def rows(week: int, values: dict[str, tuple[str, str]], casts: frozenset[CastKind]) -> list[LabRow]:
    out = [LabRow(1, week, StoredResult(a, v, u)) for a, (v, u) in values.items()]
    value, unit = casts_row(casts)
    out.append(LabRow(1, week, StoredResult("urine_casts", value, unit)))
    return out


# docs/clinical-facts.md §3, the worked example (albumin and creatinine as the site reports them).
BASELINE = {
    "urine_protein_24h": ("4.2", "g/24h"),
    "urine_rbc": ("40", "/hpf"),
    "urine_wbc": ("12", "/hpf"),
    "serum_albumin": ("24", "g/L"),
    "serum_creatinine": ("80", "umol/L"),
}
CR = {
    "urine_protein_24h": ("0.25", "g/24h"),
    "urine_rbc": ("2", "/hpf"),
    "urine_wbc": ("3", "/hpf"),
    "serum_albumin": ("39", "g/L"),
    "serum_creatinine": ("69", "umol/L"),
}
PR = {**CR, "serum_albumin": ("35", "g/L"), "urine_protein_24h": ("0.30", "g/24h")}
NR = {**CR, "urine_protein_24h": ("2.5", "g/24h"), "serum_albumin": ("30", "g/L")}
RBC = frozenset({CastKind.RBC})
NONE: frozenset[CastKind] = frozenset()


def test_the_facts_example_gives_cr_at_week_24() -> None:
    response = patient_response(rows(0, BASELINE, RBC) + rows(24, CR, NONE), Sex.F)
    assert response.last_week == 24
    assert response.assessments[24].cls is ResponseClass.CR
    assert response.result.week24 is ResponseClass.CR
    assert response.result.cumulative is ResponseClass.CR


def test_albumin_exactly_35_g_per_l_is_pr() -> None:
    response = patient_response(rows(0, BASELINE, RBC) + rows(24, PR, NONE), Sex.F)
    assert response.result.week24 is ResponseClass.PR


def test_cumulative_keeps_an_earlier_cr() -> None:
    data = rows(0, BASELINE, RBC) + rows(12, CR, NONE) + rows(24, NR, NONE)
    response = patient_response(data, Sex.F)
    assert response.result.week24 is ResponseClass.NR
    assert response.result.cumulative is ResponseClass.CR
    assert response.result.cumulative_week == 12


def test_a_later_row_corrects_an_earlier_one() -> None:
    data = rows(0, BASELINE, RBC) + rows(24, CR, NONE)
    data.append(LabRow(1, 24, StoredResult("serum_albumin", "35", "g/L")))
    assert patient_response(data, Sex.F).result.week24 is ResponseClass.PR


def test_without_baseline_the_pr_clauses_are_not_evaluable() -> None:
    response = patient_response(rows(24, PR, NONE), Sex.F)
    assert response.baseline is None
    assert response.result.week24 is ResponseClass.NE


def test_baseline_only_has_no_assessment() -> None:
    response = patient_response(rows(0, BASELINE, RBC), Sex.F)
    assert response.last_week is None
    assert response.baseline is not None
    assert response.result.cumulative is None


def test_an_unreadable_week_is_named_not_guessed() -> None:
    data = rows(0, BASELINE, RBC) + rows(24, CR, NONE)
    data.append(LabRow(1, 12, StoredResult("urine_casts", "1", "none")))  # count disagrees
    response = patient_response(data, Sex.F)
    assert response.unreadable_weeks == (12,)
    assert 12 not in response.assessments
    assert response.result.week24 is ResponseClass.CR


def test_other_analytes_are_ignored() -> None:
    data = rows(0, BASELINE, RBC) + rows(24, CR, NONE)
    data.append(LabRow(1, 24, StoredResult("cd20", "5", "/uL")))
    assert patient_response(data, Sex.F).result.week24 is ResponseClass.CR
