"""The response endpoints by intention to treat and completers only (core.intention_to_treat).

Each patient's course is a few renal assessments (week -> class), turned into endpoint
classes by core.response.week24_and_cumulative as the bot does; the expected counts are
worked out by hand in each test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.intention_to_treat import (
    Missing,
    MissingReason,
    PatientOutcome,
    completers,
    intention_to_treat,
    patient_outcome,
    reached_week,
)
from core.response import Assessment, ResponseClass, week24_and_cumulative
from core.statistics import Proportion

CR, PR, NR, NE = ResponseClass.CR, ResponseClass.PR, ResponseClass.NR, ResponseClass.NE


def _assessment(cls: ResponseClass) -> Assessment:
    # NE here means "CR data missing": it could have been CR.
    cr_met = {CR: True, PR: False, NR: False, NE: None}[cls]
    pr_met = {CR: None, PR: True, NR: False, NE: None}[cls]
    return Assessment(cls, cr_met, pr_met, (), ())


def outcome(
    study_id: str,
    course: dict[int, ResponseClass],
    *,
    withdrawn: bool = False,
    reached: bool = True,
) -> PatientOutcome:
    """A patient with renal assessments ``course`` (week -> class); baseline is implied."""
    result = (
        week24_and_cumulative({week: _assessment(cls) for week, cls in course.items()})
        if course
        else None
    )
    return patient_outcome(
        study_id,
        result,
        withdrawn=withdrawn,
        endpoint_results_in=24 in course,
        reached_endpoint=reached,
    )


def counts(p: Proportion) -> tuple[int, int]:
    return p.count, p.n


def test_a_complete_response_reached_before_withdrawal_still_counts() -> None:
    left = outcome("P01", {4: NR, 12: CR, 16: PR}, withdrawn=True)
    assert left == PatientOutcome("P01", None, True, MissingReason.WITHDRAWN)
    itt = intention_to_treat([left, outcome("P02", {12: NR, 24: NR})])
    assert counts(itt.cumulative_cr) == (1, 2)
    assert counts(itt.cr) == (0, 2)
    assert counts(itt.non_responders) == (2, 2)
    assert itt.cr_without_class == ("P01",)
    assert itt.missing == (Missing(MissingReason.WITHDRAWN, ("P01",)),)


def test_a_missing_week_24_panel_is_a_non_responder_but_keeps_its_cumulative_cr() -> None:
    missing = outcome("P03", {12: CR, 20: CR})
    assert missing == PatientOutcome("P03", None, True, MissingReason.NO_RESULTS)
    itt = intention_to_treat([missing, outcome("P04", {24: PR})])
    assert counts(itt.cumulative_cr) == (1, 2)
    assert (counts(itt.cr), counts(itt.pr), counts(itt.orr)) == ((0, 2), (1, 2), (1, 2))
    assert counts(itt.non_responders) == (1, 2)
    assert itt.missing == (Missing(MissingReason.NO_RESULTS, ("P03",)),)


def test_withdrawn_before_any_assessment() -> None:
    # Baseline only (no assessment after it), then withdrawn.
    assert outcome("P05", {}, withdrawn=True) == PatientOutcome(
        "P05", None, None, MissingReason.WITHDRAWN_UNASSESSED
    )
    itt = intention_to_treat([outcome("P05", {}, withdrawn=True), outcome("P06", {24: CR})])
    assert counts(itt.cumulative_cr) == (1, 2)
    assert counts(itt.cr) == (1, 2)
    assert itt.missing == (Missing(MissingReason.WITHDRAWN_UNASSESSED, ("P05",)),)


def test_the_reasons_in_order() -> None:
    # Week-24 results in but not classifiable: incomplete, even after a withdrawal.
    assert outcome("A", {24: NE}, withdrawn=True).missing is MissingReason.INCOMPLETE
    assert outcome("B", {8: PR}, withdrawn=True).missing is MissingReason.WITHDRAWN
    assert outcome("C", {}, withdrawn=True).missing is MissingReason.WITHDRAWN_UNASSESSED
    assert outcome("D", {8: PR}).missing is MissingReason.NO_RESULTS
    assert outcome("E", {8: PR}, reached=False).missing is MissingReason.NOT_YET
    assert outcome("F", {24: NR}, withdrawn=True).missing is None  # a class is a class


def test_patients_not_yet_at_week_24_count_as_non_responders_so_far() -> None:
    early = outcome("P07", {4: CR}, reached=False)
    itt = intention_to_treat([early, outcome("P08", {}, reached=False), outcome("P09", {24: CR})])
    assert itt.enrolled == 3
    assert counts(itt.cumulative_cr) == (2, 3)  # P07's CR at week 4 already counts
    assert counts(itt.cr) == (1, 3)
    assert itt.not_yet == 2
    assert itt.without_class == 2
    assert itt.missing == (Missing(MissingReason.NOT_YET, ("P07", "P08")),)


def test_an_undecidable_cumulative_cr_is_not_reached_by_itt_and_left_out_of_completers() -> None:
    # Week 12 could have been CR (data missing), week 24 NR.
    unsure = outcome("P10", {12: NE, 24: NR})
    assert unsure == PatientOutcome("P10", NR, None, None)
    patients = [unsure, outcome("P11", {24: CR})]
    itt = intention_to_treat(patients)
    assert counts(itt.cumulative_cr) == (1, 2)
    assert itt.cumulative_unknown == ("P10",)
    done = completers(patients)
    assert counts(done.cumulative_cr) == (1, 1)
    assert done.cumulative_unknown == ("P10",)


def test_completers_only_is_the_sensitivity_analysis() -> None:
    patients = [
        outcome("P01", {12: CR, 24: PR}),
        outcome("P02", {24: CR}),
        outcome("P03", {24: NR}),
        outcome("P04", {}, withdrawn=True),
        outcome("P05", {12: CR}, withdrawn=True),
    ]
    done = completers(patients)
    assert done.n == 3
    assert counts(done.cumulative_cr) == (2, 3)
    assert (counts(done.cr), counts(done.pr), counts(done.nr)) == ((1, 3), (1, 3), (1, 3))
    assert counts(done.orr) == (2, 3)
    itt = intention_to_treat(patients)
    assert counts(itt.cumulative_cr) == (3, 5)
    assert (counts(itt.cr), counts(itt.pr), counts(itt.orr)) == ((1, 5), (1, 5), (2, 5))
    assert counts(itt.non_responders) == (3, 5)


# Published exact intervals (R binom.test), 4 places.
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (3, 5, "0.1466", "0.9473"),
        (1, 5, "0.0051", "0.7164"),
        (2, 5, "0.0527", "0.8534"),
        (4, 9, "0.1370", "0.7880"),
        (0, 4, "0.0000", "0.6024"),
    ],
)
def test_intervals_follow_the_itt_denominator(k: int, n: int, low: str, high: str) -> None:
    patients = [outcome(f"C{i}", {12: CR, 24: CR}) for i in range(k)]
    patients += [outcome(f"W{i}", {}, withdrawn=True) for i in range(n - k)]
    figure = intention_to_treat(patients).cumulative_cr
    assert counts(figure) == (k, n)
    assert figure.interval is not None
    assert figure.interval.low.quantize(Decimal("0.0001")) == Decimal(low)
    assert figure.interval.high.quantize(Decimal("0.0001")) == Decimal(high)


def test_patients_counted_by_the_database_are_in_every_denominator() -> None:
    # /status counts the patients without any assessment in SQL, by reason, unnamed.
    unlisted = {MissingReason.NOT_YET: 2, MissingReason.WITHDRAWN_UNASSESSED: 1}
    itt = intention_to_treat([outcome("P01", {12: CR, 24: PR})], unlisted=unlisted)
    assert itt.enrolled == 4
    assert (counts(itt.cumulative_cr), counts(itt.pr)) == ((1, 4), (1, 4))
    assert counts(itt.non_responders) == (3, 4)
    assert (itt.not_yet, itt.without_class) == (2, 3)
    assert itt.without_class_for(MissingReason.WITHDRAWN_UNASSESSED) == 1
    assert itt.missing == ()


def test_an_empty_group_has_no_estimate() -> None:
    itt = intention_to_treat([])
    assert itt.enrolled == 0
    assert itt.cumulative_cr.interval is None and itt.cumulative_cr.fraction is None
    assert itt.missing == ()


def test_reached_week_counts_from_day_0() -> None:
    assert reached_week(date(2026, 6, 1), 24, date(2026, 11, 16))
    assert not reached_week(date(2026, 6, 1), 24, date(2026, 11, 15))
