"""The response endpoints counted two ways: intention to treat, and completers only.

Pure: takes one :class:`PatientOutcome` per enrolled patient (built by
:func:`patient_outcome` from the patient's endpoint classes) and returns
proportions. ``/summary``, the Monday summary, the workbook and ``/status``
all count with these functions, so they show the same figures.

The registry names the endpoints (docs/registry-record.txt, "Proportion of
patients with a cumulative complete response at week 24"; CR, PR and ORR at
week 24, docs/clinical-facts.md §3) but not the population they are counted
over. Our choices, the primary analysis first:

- **Intention to treat (ITT), the primary figures.** The denominator is every
  patient enrolled in the group, withdrawn patients included: each patient is
  analysed in the arm they were enrolled in, whatever happened after (the
  intention-to-treat principle, ICH E9 "Statistical principles for clinical
  trials", 5.2.1 full analysis set; the trial is not randomised, allocation NA
  in docs/registry-record.txt, so the arm is the one enrolled in). Withdrawal
  is often related to how the treatment works, so leaving withdrawn patients
  out would flatter the arm they leave.
- **ITT cumulative CR**: CR at any renal assessment after baseline up to and
  including week 24 (docs/clinical-facts.md §3). A CR already reached counts,
  even when the patient later withdrew or the week-24 panel is missing: the
  endpoint is reaching CR by week 24, and that happened. A patient who never
  had a CR counts as not reached, including one whose cumulative CR cannot be
  decided (an assessment with data missing could have been CR: listed).
- **ITT CR, PR and ORR at week 24, and non-responders**: the class of the
  week-24 renal assessment. A patient without a week-24 class (CR, PR or NR)
  counts as a non-responder and is listed with the reason, the first that
  applies: "week-24 panel incomplete" (week-24 results in, but not enough to
  classify), "withdrawn before any assessment" (withdrawn with no renal
  assessment after baseline up to week 24), "withdrawn", "no week-24 panel"
  (day 0 + 24 weeks is past and no week-24 result is in), "not yet at week 24".
  Non-responders are NR plus the patients without a class.
- **Patients not yet at week 24**, while the trial runs, stay in the
  denominator as non-responders so far, are listed as "not yet at week 24",
  and the figures are labelled interim. Why: the denominator is then always
  the number enrolled, so an interim ITT figure can only rise as patients
  reach week 24 and never overstates the final one; leaving them out would
  make the interim figure a completers figure under another name.
- **Completers only: a sensitivity analysis.** Only the patients with a
  week-24 class; their cumulative CR among those whose cumulative CR can be
  decided. Shown beside the ITT figures, labelled as such.
- Every proportion carries its exact (Clopper-Pearson) 95% interval on its own
  denominator (:mod:`core.statistics`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from core.response import EndpointResult, ResponseClass
from core.statistics import Proportion, proportion

__all__ = [
    "Completers",
    "EndpointCategory",
    "IntentionToTreat",
    "Missing",
    "MissingReason",
    "PatientOutcome",
    "completers",
    "endpoint_category",
    "intention_to_treat",
    "missing_reason",
    "patient_outcome",
    "reached_week",
]

_CLASSES = (ResponseClass.CR, ResponseClass.PR, ResponseClass.NR)


class MissingReason(StrEnum):
    """Why a patient has no week-24 class (the first that applies, in this order)."""

    INCOMPLETE = "incomplete"
    WITHDRAWN_UNASSESSED = "withdrawn_unassessed"
    WITHDRAWN = "withdrawn"
    NO_RESULTS = "no_results"
    NOT_YET = "not_yet"


@dataclass(frozen=True, slots=True)
class Missing:
    """The patients missing for one reason, by study ID."""

    reason: MissingReason
    study_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    """One enrolled patient as the counts see them.

    ``week24`` is CR, PR or NR, or None without a week-24 class (then
    ``missing`` says why); ``cumulative_cr`` is None when it cannot be decided.
    """

    study_id: str
    week24: ResponseClass | None
    cumulative_cr: bool | None
    missing: MissingReason | None


def reached_week(day0: date, week: int, today: date) -> bool:
    """True when ``today`` is on or after day 0 + ``week`` weeks.

    Rule: weeks count from day 0 (docs/clinical-facts.md §1).
    """
    return day0 + timedelta(weeks=week) <= today


def missing_reason(
    result: EndpointResult | None,
    *,
    withdrawn: bool,
    endpoint_results_in: bool,
    reached_endpoint: bool,
) -> MissingReason | None:
    """Why the patient has no week-24 class (CR, PR or NR); None when there is one.

    ``result`` is None for a patient without renal results;
    ``endpoint_results_in``: any renal result of the endpoint week is stored;
    ``reached_endpoint``: day 0 + 24 weeks is on or before today.
    Rule: the reasons in the module docstring, the first that applies.
    """
    week24 = result.week24 if result is not None else None
    if week24 in _CLASSES:
        return None
    if week24 is ResponseClass.NE or endpoint_results_in:
        return MissingReason.INCOMPLETE
    if withdrawn:
        assessed = result is not None and bool(result.weeks)
        return MissingReason.WITHDRAWN if assessed else MissingReason.WITHDRAWN_UNASSESSED
    if reached_endpoint:
        return MissingReason.NO_RESULTS
    return MissingReason.NOT_YET


def patient_outcome(
    study_id: str,
    result: EndpointResult | None,
    *,
    withdrawn: bool,
    endpoint_results_in: bool,
    reached_endpoint: bool,
) -> PatientOutcome:
    """The patient's week-24 class and cumulative CR, or why there is no week-24 class
    (:func:`missing_reason`, same arguments)."""
    reason = missing_reason(
        result,
        withdrawn=withdrawn,
        endpoint_results_in=endpoint_results_in,
        reached_endpoint=reached_endpoint,
    )
    if result is None:
        return PatientOutcome(study_id, None, None, reason)
    week24 = result.week24 if reason is None else None
    return PatientOutcome(study_id, week24, result.cumulative_cr, reason)


class EndpointCategory(StrEnum):
    """Where a patient stands at the week-24 endpoint: the rows of the ITT count."""

    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"
    NOT_EVALUABLE = "not_evaluable"
    WITHDRAWN = "withdrawn"
    NOT_YET = "not_yet_at_endpoint"


_CATEGORY_OF_MISSING: dict[MissingReason, EndpointCategory] = {
    MissingReason.INCOMPLETE: EndpointCategory.NOT_EVALUABLE,
    MissingReason.NO_RESULTS: EndpointCategory.NOT_EVALUABLE,
    MissingReason.WITHDRAWN: EndpointCategory.WITHDRAWN,
    MissingReason.WITHDRAWN_UNASSESSED: EndpointCategory.WITHDRAWN,
    MissingReason.NOT_YET: EndpointCategory.NOT_YET,
}


def endpoint_category(outcome: PatientOutcome) -> EndpointCategory:
    """The patient's category at week 24: a responder (CR or PR at week 24, ORR,
    docs/clinical-facts.md §3), a non-responder (NR), or, without a week-24 class,
    not evaluable (panel incomplete or missing), withdrawn, or not yet at week 24;
    the last three count as non-responders by intention to treat (module docstring).
    A patient who withdrew after a week-24 class keeps the class's category."""
    if outcome.week24 in (ResponseClass.CR, ResponseClass.PR):
        return EndpointCategory.RESPONDER
    if outcome.week24 is ResponseClass.NR:
        return EndpointCategory.NON_RESPONDER
    reason = outcome.missing if outcome.missing is not None else MissingReason.INCOMPLETE
    return _CATEGORY_OF_MISSING[reason]


def _grouped(pairs: Iterable[tuple[MissingReason, str]]) -> tuple[Missing, ...]:
    by_reason: dict[MissingReason, list[str]] = {reason: [] for reason in MissingReason}
    for reason, study_id in pairs:
        by_reason[reason].append(study_id)
    return tuple(Missing(r, tuple(ids)) for r, ids in by_reason.items() if ids)


@dataclass(frozen=True, slots=True)
class IntentionToTreat:
    """The response endpoints over every enrolled patient of a group.

    The counts are kept and each proportion is worked out when asked for:
    ``/status`` shows counts of up to thousands of patients, and an exact
    interval on thousands of trials costs far more than the count.
    ``missing``: the patients without a week-24 class by reason (counted as
    non-responders); ``unlisted``: more of them, counted by the database and
    not named, by reason. ``cr_without_class``: cumulative CR reached,
    counted, though the week-24 class is missing. ``cumulative_unknown``: a
    week-24 class, but the cumulative CR cannot be decided (counted as not
    reached).
    """

    enrolled: int
    cumulative_cr_count: int
    cr_count: int
    pr_count: int
    missing: tuple[Missing, ...]
    cr_without_class: tuple[str, ...]
    cumulative_unknown: tuple[str, ...]
    unlisted: tuple[tuple[MissingReason, int], ...] = ()
    confidence: Decimal = Decimal("0.95")

    def _share(self, count: int) -> Proportion:
        return proportion(count, self.enrolled, self.confidence)

    @property
    def cumulative_cr(self) -> Proportion:
        """Cumulative CR by week 24 (reached at any assessment), of every enrolled patient."""
        return self._share(self.cumulative_cr_count)

    @property
    def cr(self) -> Proportion:
        """CR at week 24, of every enrolled patient."""
        return self._share(self.cr_count)

    @property
    def pr(self) -> Proportion:
        """PR at week 24, of every enrolled patient."""
        return self._share(self.pr_count)

    @property
    def orr(self) -> Proportion:
        """CR or PR at week 24 (docs/clinical-facts.md §3), of every enrolled patient."""
        return self._share(self.cr_count + self.pr_count)

    @property
    def non_responders(self) -> Proportion:
        """NR at week 24 or no week-24 class, of every enrolled patient."""
        return self._share(self.enrolled - self.cr_count - self.pr_count)

    def without_class_for(self, reason: MissingReason) -> int:
        """How many patients have no week-24 class for ``reason``, named or not."""
        named = sum(len(m.study_ids) for m in self.missing if m.reason is reason)
        return named + sum(count for r, count in self.unlisted if r is reason)

    @property
    def not_yet(self) -> int:
        """How many patients are not yet at week 24 (the figures are interim when any)."""
        return self.without_class_for(MissingReason.NOT_YET)

    @property
    def without_class(self) -> int:
        """How many patients count as non-responders for want of a week-24 class."""
        return sum(self.without_class_for(reason) for reason in MissingReason)


def intention_to_treat(
    outcomes: Sequence[PatientOutcome],
    confidence: Decimal = Decimal("0.95"),
    *,
    unlisted: Mapping[MissingReason, int] | None = None,
) -> IntentionToTreat:
    """The ITT figures: every outcome in every denominator.

    ``unlisted`` counts, by reason, patients without any renal assessment
    after baseline up to week 24 that the caller counted in the database
    (``/status`` with thousands of patients) rather than one by one: they are
    in every denominator and among the non-responders, not named.
    Rule: module docstring (ITT; a missing week-24 class is non-response, a
    cumulative CR already reached counts). Source: docs/clinical-facts.md §3.
    """
    counted = tuple((r, n) for r, n in (unlisted or {}).items() if n)
    return IntentionToTreat(
        enrolled=len(outcomes) + sum(n for _, n in counted),
        cumulative_cr_count=sum(1 for o in outcomes if o.cumulative_cr is True),
        cr_count=sum(1 for o in outcomes if o.week24 is ResponseClass.CR),
        pr_count=sum(1 for o in outcomes if o.week24 is ResponseClass.PR),
        missing=_grouped((o.missing, o.study_id) for o in outcomes if o.missing is not None),
        cr_without_class=tuple(
            o.study_id for o in outcomes if o.week24 is None and o.cumulative_cr is True
        ),
        cumulative_unknown=tuple(
            o.study_id for o in outcomes if o.week24 is not None and o.cumulative_cr is None
        ),
        unlisted=counted,
        confidence=confidence,
    )


@dataclass(frozen=True, slots=True)
class Completers:
    """The sensitivity analysis: only the ``n`` patients with a week-24 class.

    ``cumulative_cr`` is among those of them whose cumulative CR can be
    decided: ``cumulative_unknown`` are left out of it. Who has no week-24
    class, and why, is :attr:`IntentionToTreat.missing`.
    """

    n: int
    cumulative_cr: Proportion
    cr: Proportion
    pr: Proportion
    nr: Proportion
    orr: Proportion
    cumulative_unknown: tuple[str, ...]


def completers(
    outcomes: Sequence[PatientOutcome], confidence: Decimal = Decimal("0.95")
) -> Completers:
    """The completers-only figures over the patients with a week-24 class.

    Rule: module docstring (sensitivity analysis). Source: docs/clinical-facts.md §3.
    """
    classed = [o for o in outcomes if o.week24 is not None]
    decided = [o.cumulative_cr for o in classed if o.cumulative_cr is not None]
    n = len(classed)

    def count(*wanted: ResponseClass) -> Proportion:
        return proportion(sum(1 for o in classed if o.week24 in wanted), n, confidence)

    return Completers(
        n=n,
        cumulative_cr=proportion(sum(decided), len(decided), confidence),
        cr=count(ResponseClass.CR),
        pr=count(ResponseClass.PR),
        nr=count(ResponseClass.NR),
        orr=count(ResponseClass.CR, ResponseClass.PR),
        cumulative_unknown=tuple(o.study_id for o in classed if o.cumulative_cr is None),
    )
