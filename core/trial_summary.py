"""The trial's endpoints per arm and overall: what ``/summary`` and the Monday digest show.

Pure: takes the trial's records (:class:`~core.trial_records.TrialData`),
each patient's endpoints as ``python -m bot endpoints`` derives them from the
exported lab file (:func:`core.tables.lab_file.derive_trial_endpoints`), and
"today" from the caller; returns numbers.

Definitions (the registry names the endpoints; how they are counted is ours,
stated here so the statistician can reproduce every number):

- **Response endpoints** (cumulative CR by week 24; CR, PR, NR and ORR at
  week 24, docs/clinical-facts.md §3): counted twice by
  :mod:`core.intention_to_treat`, whose docstring states every rule. Intention
  to treat first: every patient enrolled in the group is in the denominator,
  a cumulative CR already reached counts even after a withdrawal or without a
  week-24 panel, and a patient without a week-24 class counts as a
  non-responder, listed with the reason (withdrawn before any assessment,
  withdrawn, no week-24 panel, week-24 panel incomplete, not yet at week 24:
  the figures are then interim). Then the completers only (the patients with
  a week-24 class), as a sensitivity analysis. Nobody is dropped silently.
- Proportions carry exact (Clopper-Pearson) 95% intervals on their own
  denominators (:mod:`core.statistics`).
- **SLEDAI-2K** and **CD20** change from baseline at week 24 (week-24 value
  minus week-0 value; the latest entry of a week counts): median and IQR
  (Hyndman-Fan definition 7, :mod:`core.statistics`), with the renal subset
  for SLEDAI-2K (docs/clinical-facts.md §5) and CD20 per unit (counts per µL
  and percentages are never mixed, :func:`core.cd20.cd20_change`). Patients at
  or past week 24 (not withdrawn) without both values are listed.
- **Adverse events**: every recorded event, by CTCAE grade and by
  seriousness (ICH E2A), and the patients with at least one (and with at
  least one serious), out of every patient enrolled in the group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.cd20 import cd20_change
from core.endpoints import PatientEndpoints
from core.intention_to_treat import (
    Completers,
    IntentionToTreat,
    Missing,
    MissingReason,
    PatientOutcome,
    completers,
    intention_to_treat,
    patient_outcome,
    reached_week,
)
from core.renal_panel import RENAL_ANALYTES
from core.response import EndpointResult, ResponseOptions, week24_and_cumulative
from core.schedule import EventKind
from core.statistics import Proportion, Spread, proportion, spread
from core.tables.lab_file import renal_weeks
from core.trial_records import Cd20Record, PatientRecord, SledaiRecord, TrialData
from core.units import Quantity, Unit

__all__ = [
    "CD20_ITEM",
    "SLEDAI_ITEM",
    "AeSummary",
    "Cd20Summary",
    "Completers",
    "EarlyProgress",
    "GroupSummary",
    "IntentionToTreat",
    "Missing",
    "MissingReason",
    "PatientProgress",
    "SledaiSummary",
    "SummaryOptions",
    "TrialSummary",
    "early_progress",
    "patient_progress",
    "reached_week",
    "summarize",
]

SLEDAI_ITEM = "sledai_2k"
CD20_ITEM = "cd20"


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    """The protocol weeks the summary reads (defaults: docs/clinical-facts.md §2)."""

    endpoint_week: int = 24
    confidence: Decimal = Decimal("0.95")


@dataclass(frozen=True, slots=True)
class SledaiSummary:
    """SLEDAI-2K change from baseline at week 24: total and renal subset."""

    total: Spread
    renal: Spread
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cd20Summary:
    """CD20 change from baseline at week 24, per unit (``/uL``, ``%``)."""

    by_unit: tuple[tuple[str, Spread], ...]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AeSummary:
    """Adverse events of a group: events by grade (1-5) and seriousness, patients with any."""

    events: int
    by_grade: tuple[int, int, int, int, int]
    serious: int
    non_serious: int
    patients_any: Proportion
    patients_serious: Proportion


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """One arm (``arm`` is its code) or the whole trial (``arm`` is None).

    ``itt`` holds the response endpoints by intention to treat (the primary
    figures), ``completers`` the completers-only sensitivity analysis.
    """

    arm: str | None
    enrolled: int
    itt: IntentionToTreat
    completers: Completers
    sledai: SledaiSummary
    cd20: Cd20Summary
    adverse_events: AeSummary


@dataclass(frozen=True, slots=True)
class TrialSummary:
    """Each arm in protocol order, then the trial overall, as of ``as_of``; ``outcomes``
    holds every enrolled patient as counted, by study ID."""

    endpoint_week: int
    groups: tuple[GroupSummary, ...]
    outcomes: tuple[PatientOutcome, ...]
    as_of: date
    confidence: Decimal = Decimal("0.95")


def _latest_by_week(
    records: Sequence[SledaiRecord] | Sequence[Cd20Record],
) -> dict[tuple[int, int], SledaiRecord | Cd20Record]:
    # Records come sorted by patient, then time: the last one of a week wins.
    latest: dict[tuple[int, int], SledaiRecord | Cd20Record] = {}
    for record in records:
        latest[(record.patient_id, record.week)] = record
    return latest


def _outcomes(
    patients: Sequence[PatientRecord],
    endpoints: Mapping[str, PatientEndpoints],
    week24_data: set[int],
    today: date,
    end: int,
) -> list[PatientOutcome]:
    outcomes = []
    for p in patients:
        found = endpoints.get(p.study_id)
        outcomes.append(
            patient_outcome(
                p.study_id,
                found.result if found is not None else None,
                withdrawn=p.withdrawn,
                endpoint_results_in=p.id in week24_data,
                reached_endpoint=reached_week(p.day0, end, today),
            )
        )
    return outcomes


def _expected(patient: PatientRecord, end: int, today: date, has_value: bool) -> bool:
    # Listed as missing: at or past the endpoint week and still on study, or any data in.
    return has_value or (not patient.withdrawn and reached_week(patient.day0, end, today))


def _sledai(
    patients: Sequence[PatientRecord],
    latest: Mapping[tuple[int, int], SledaiRecord | Cd20Record],
    today: date,
    end: int,
) -> SledaiSummary:
    totals: list[int] = []
    renal: list[int] = []
    missing: list[str] = []
    for p in patients:
        base, later = latest.get((p.id, 0)), latest.get((p.id, end))
        if isinstance(base, SledaiRecord) and isinstance(later, SledaiRecord):
            totals.append(later.total - base.total)
            renal.append(later.renal_total - base.renal_total)
        elif _expected(p, end, today, later is not None):
            missing.append(p.study_id)
    return SledaiSummary(spread(totals), spread(renal), tuple(missing))


def _cd20(
    patients: Sequence[PatientRecord],
    latest: Mapping[tuple[int, int], SledaiRecord | Cd20Record],
    today: date,
    end: int,
) -> Cd20Summary:
    changes: dict[str, list[Decimal]] = {}
    missing: list[str] = []
    for p in patients:
        base, later = latest.get((p.id, 0)), latest.get((p.id, end))
        if isinstance(base, Cd20Record) and isinstance(later, Cd20Record):
            change = cd20_change(
                Quantity(Decimal(base.value), Unit(base.unit)),
                Quantity(Decimal(later.value), Unit(later.unit)),
            )
            if change.change is not None:
                changes.setdefault(later.unit, []).append(change.change)
                continue
        if _expected(p, end, today, later is not None):
            missing.append(p.study_id)
    by_unit = tuple((unit, spread(values)) for unit, values in sorted(changes.items()))
    return Cd20Summary(by_unit, tuple(missing))


def _adverse_events(data: TrialData, patients: Sequence[PatientRecord], conf: Decimal) -> AeSummary:
    ids = {p.id for p in patients}
    events = [ae for ae in data.adverse_events if ae.patient_id in ids]
    by_grade = tuple(sum(1 for ae in events if ae.grade == g) for g in range(1, 6))
    serious = sum(1 for ae in events if ae.serious)
    with_any = {ae.patient_id for ae in events}
    with_serious = {ae.patient_id for ae in events if ae.serious}
    return AeSummary(
        events=len(events),
        by_grade=(by_grade[0], by_grade[1], by_grade[2], by_grade[3], by_grade[4]),
        serious=serious,
        non_serious=len(events) - serious,
        patients_any=proportion(len(with_any), len(patients), conf),
        patients_serious=proportion(len(with_serious), len(patients), conf),
    )


def summarize(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    arms: Sequence[str],
    today: date,
    options: SummaryOptions | None = None,
) -> TrialSummary:
    """The endpoints per arm (in ``arms`` order; arms of enrolled patients not in ``arms``
    follow, sorted) and overall.

    Rule: see the module docstring (every definition and its source).
    ``endpoints`` must come from :func:`core.tables.lab_file.derive_trial_endpoints`
    so the numbers equal what ``python -m bot endpoints`` derives from the
    exported lab file.
    """
    opts = options or SummaryOptions()
    end = opts.endpoint_week
    sledai = _latest_by_week(data.sledai)
    cd20 = _latest_by_week(data.cd20)
    week24_data = {w.patient_id for w in renal_weeks(data.labs) if w.week == end}
    week24_data |= {
        lab.patient_id for lab in data.labs if lab.week == end and lab.analyte in RENAL_ANALYTES
    }
    ordered = sorted(data.patients, key=lambda p: p.study_id)
    extra = sorted({p.arm for p in ordered} - set(arms))
    everyone = _outcomes(ordered, endpoints, week24_data, today, end)
    outcome_of = {o.study_id: o for o in everyone}

    def group(arm: str | None) -> GroupSummary:
        members = [p for p in ordered if arm is None or p.arm == arm]
        outcomes = [outcome_of[p.study_id] for p in members]
        return GroupSummary(
            arm=arm,
            enrolled=len(members),
            itt=intention_to_treat(outcomes, opts.confidence),
            completers=completers(outcomes, opts.confidence),
            sledai=_sledai(members, sledai, today, end),
            cd20=_cd20(members, cd20, today, end),
            adverse_events=_adverse_events(data, members, opts.confidence),
        )

    groups = [group(arm) for arm in (*arms, *extra)]
    groups.append(group(None))
    return TrialSummary(end, tuple(groups), tuple(everyone), today, opts.confidence)


@dataclass(frozen=True, slots=True)
class EarlyProgress:
    """The trial while no patient has reached the endpoint week: what the Monday message
    says instead of response tables that could only be empty.

    ``enrolled`` holds each arm (protocol order, then any other arm of an enrolled
    patient) with its patients (every status); ``assessments_due`` counts the renal
    assessments booked up to today (not cancelled), ``assessments_done`` those of them
    done; ``next_study_id`` reaches the endpoint week first, on ``next_date`` (None when
    no patient is on study).
    """

    endpoint_week: int
    enrolled: tuple[tuple[str, int], ...]
    assessments_done: int
    assessments_due: int
    next_study_id: str | None
    next_date: date | None

    @property
    def total(self) -> int:
        return sum(n for _, n in self.enrolled)


def early_progress(
    data: TrialData, arms: Sequence[str], today: date, endpoint_week: int = 24
) -> EarlyProgress | None:
    """Where the trial stands before its first endpoint, or None once any patient (withdrawn
    or not) has reached ``endpoint_week``: from then on the full summary is sent.

    Rule: weeks count from day 0 (docs/clinical-facts.md §1, as
    :func:`core.intention_to_treat.reached_week`); the next milestone is the first
    patient still on study to reach the endpoint week (day 0 + ``endpoint_week``
    weeks; ties by study ID). Showing this short form while nobody can have a
    response class is our choice (README, choices table), not the registry's.
    ``data`` must carry the planned events (the assessments are counted from them).
    """
    if any(reached_week(p.day0, endpoint_week, today) for p in data.patients):
        return None
    present = {p.arm for p in data.patients}
    ordered = [*arms, *sorted(present - set(arms))]
    enrolled = tuple((arm, sum(1 for p in data.patients if p.arm == arm)) for arm in ordered)
    due = [
        e
        for e in data.events
        if e.kind == EventKind.RENAL_ASSESSMENT
        and e.scheduled_date <= today
        and e.status != "cancelled"
    ]
    done = sum(1 for e in due if e.status == "done")
    on_study = sorted(
        (p.day0 + timedelta(weeks=endpoint_week), p.study_id)
        for p in data.patients
        if not p.withdrawn
    )
    first = on_study[0] if on_study else None
    return EarlyProgress(
        endpoint_week=endpoint_week,
        enrolled=enrolled,
        assessments_done=done,
        assessments_due=len(due),
        next_study_id=first[1] if first else None,
        next_date=first[0] if first else None,
    )


@dataclass(frozen=True, slots=True)
class PatientProgress:
    """One patient after the renal assessment of ``week``: the endpoint classes counting
    assessments up to that week, and at the endpoint week whether every value is in.

    ``result`` is None when the patient has no renal results at all.
    ``missing_at_endpoint`` names what is not in yet for the endpoint week:
    renal analytes (``core.renal_panel.RENAL_ANALYTES`` names),
    :data:`SLEDAI_ITEM`, :data:`CD20_ITEM`; empty before the endpoint week.
    """

    study_id: str
    week: int
    endpoint_week: int
    result: EndpointResult | None
    completed_endpoint: bool
    missing_at_endpoint: tuple[str, ...]


def patient_progress(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    study_id: str,
    week: int,
    *,
    options: ResponseOptions | None = None,
    sledai_weeks: Sequence[int] = (0, 12, 24),
    cd20_weeks: Sequence[int] = (0, 4, 12, 24),
) -> PatientProgress:
    """Where a patient stands after the renal assessment of ``week``.

    Rule: the cumulative status is :func:`core.response.week24_and_cumulative`
    over the assessments (as derived from the exported lab file) up to and
    including ``week``, so a message about week 12 never counts week 16; when
    ``week`` is the endpoint week the patient has completed it, and every
    value the protocol collects that week is checked: the six renal analytes
    (docs/clinical-facts.md §3), and SLEDAI-2K and CD20 when their schedules
    include the week (docs/clinical-facts.md §2). Source: the response summary requirement ("When a
    patient completes week 24, the message says so and whether any week-24
    value is missing").
    """
    opts = options or ResponseOptions()
    endpoint_week = opts.endpoint_week
    patient = data.by_study_id(study_id)
    if patient is None:
        raise KeyError(study_id)
    found = endpoints.get(patient.study_id)
    result = None
    if found is not None:
        so_far = {w: a for w, a in found.assessments.items() if w <= week}
        result = week24_and_cumulative(so_far, opts)
    completed = week == endpoint_week
    missing: list[str] = []
    if completed:
        panel = next(
            (
                w.panel
                for w in renal_weeks(data.labs)
                if w.patient_id == patient.id and w.week == week
            ),
            None,
        )
        values = (
            {}
            if panel is None
            else {
                "urine_protein_24h": panel.protein,
                "urine_rbc": panel.rbc,
                "urine_wbc": panel.wbc,
                "urine_casts": panel.casts,
                "serum_albumin": panel.albumin,
                "serum_creatinine": panel.creatinine,
            }
        )
        missing = [a for a in RENAL_ANALYTES if values.get(a) is None]
        if week in sledai_weeks and not any(
            s.patient_id == patient.id and s.week == week for s in data.sledai
        ):
            missing.append(SLEDAI_ITEM)
        if week in cd20_weeks and not any(
            c.patient_id == patient.id and c.week == week for c in data.cd20
        ):
            missing.append(CD20_ITEM)
    return PatientProgress(patient.study_id, week, endpoint_week, result, completed, tuple(missing))
