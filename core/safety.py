"""What the safety review counts: adverse events by arm and grade, the serious events, and
the protocol deviations recorded (the PDF report, :mod:`bot.outputs.report`).

Pure: takes the records and returns counts and rows; the words are the bot's.

- The safety population is every enrolled patient, by the arm they were
  assigned to (allocation "NA": the control group is concurrent patients, not a
  randomised arm, docs/registry-record.txt; the record does not define a safety
  population, so this is a choice; the response figures count every enrolled patient too).
- A patient counts once per table row, at the highest CTCAE grade of their
  events (CTCAE v5.0 grades 1-5, docs/clinical-facts.md §6); events are also
  counted one by one per term and grade.
- An event is serious when it meets an ICH E2A criterion (docs/clinical-facts.md
  §6, :attr:`core.trial_records.AdverseEventRecord.serious`).
- A protocol deviation is what a coordinator recorded: a visit moved outside
  its window (with the reason) or a visit marked missed (with the reason).
  Planned visits whose window closed with nothing recorded are counted apart
  as *not done* (:func:`core.visits.visit_outcome` as of the data cut-off), not
  listed one by one; daily oral doses are not visits and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from core.ae_outcomes import open_at_week
from core.schedule import EventKind
from core.trial_records import AdverseEventRecord, EventRecord, PatientRecord, TrialData
from core.visits import VisitOutcome, visit_outcome

__all__ = [
    "GRADES",
    "ArmSafety",
    "Deviation",
    "PatientEvent",
    "TermCounts",
    "deviations",
    "events_by_term",
    "not_done_visits",
    "open_at_week_events",
    "patients_by_worst_grade",
    "serious_events",
]

#: CTCAE v5.0 grades.
GRADES = (1, 2, 3, 4, 5)

# Daily oral doses are reminders, not visits: they are not deviations one by one.
_NOT_VISITS = frozenset({EventKind.ORAL_DOSE})


def _arms(data: TrialData, arms: Sequence[str]) -> list[str]:
    """The protocol's arms in order, then any other arm a patient is in."""
    return [*arms, *sorted({p.arm for p in data.patients} - set(arms))]


@dataclass(frozen=True, slots=True)
class ArmSafety:
    """One arm: patients in it, patients with any event, with a serious event, and the
    number of patients whose highest grade is each of :data:`GRADES` (in that order)."""

    arm: str
    patients: int
    with_event: int
    with_serious: int
    by_worst_grade: tuple[int, ...]


def patients_by_worst_grade(data: TrialData, arms: Sequence[str]) -> list[ArmSafety]:
    """Per arm, patients by the highest grade of their adverse events (module rules)."""
    rows: list[ArmSafety] = []
    for arm in _arms(data, arms):
        members = [p for p in data.patients if p.arm == arm]
        ids = {p.id for p in members}
        worst: dict[int, int] = {}
        serious: set[int] = set()
        for ae in data.adverse_events:
            if ae.patient_id not in ids:
                continue
            worst[ae.patient_id] = max(worst.get(ae.patient_id, 0), ae.grade)
            if ae.serious:
                serious.add(ae.patient_id)
        counts = tuple(sum(1 for g in worst.values() if g == grade) for grade in GRADES)
        rows.append(ArmSafety(arm, len(members), len(worst), len(serious), counts))
    return rows


@dataclass(frozen=True, slots=True)
class TermCounts:
    """One adverse-event term (the CTCAE key when coded, else the verbatim text): the
    number of events per arm and grade, ``counts[arm][grade - 1]``."""

    term: str
    coded: bool
    counts: dict[str, tuple[int, ...]]

    @property
    def total(self) -> int:
        return sum(sum(c) for c in self.counts.values())


def events_by_term(data: TrialData, arms: Sequence[str]) -> list[TermCounts]:
    """Every term with the events counted per arm and grade; most frequent first, then by
    term. Uncoded events are grouped by their verbatim text as typed."""
    shown = _arms(data, arms)
    arm_of = {p.id: p.arm for p in data.patients}
    table: dict[tuple[str, bool], dict[str, list[int]]] = {}
    for ae in data.adverse_events:
        key = (ae.term, True) if ae.coded and ae.term else (ae.verbatim, False)
        per_arm = table.setdefault(key, {arm: [0] * len(GRADES) for arm in shown})
        grade = min(max(ae.grade, GRADES[0]), GRADES[-1])
        per_arm[arm_of[ae.patient_id]][grade - 1] += 1
    rows = [
        TermCounts(term, coded, {arm: tuple(c) for arm, c in per_arm.items()})
        for (term, coded), per_arm in table.items()
    ]
    return sorted(rows, key=lambda row: (-row.total, row.term))


@dataclass(frozen=True, slots=True)
class PatientEvent:
    """An adverse event and its patient."""

    patient: PatientRecord
    event: AdverseEventRecord


def serious_events(data: TrialData) -> list[PatientEvent]:
    """Every serious event (ICH E2A), by onset, then study ID."""
    rows = [PatientEvent(data.patient(ae.patient_id), ae) for ae in data.adverse_events]
    return sorted(
        (row for row in rows if row.event.serious),
        key=lambda row: (row.event.onset_date, row.patient.study_id, row.event.id),
    )


def open_at_week_events(data: TrialData, week: int, cutoff: date) -> list[PatientEvent]:
    """Every adverse event still open on its patient's day 0 + ``week`` weeks (begun and
    not ended: :func:`core.ae_outcomes.open_at_week`), by onset then study ID; a patient
    whose week falls after ``cutoff`` is not counted yet. The safety review reports
    these as open at the end of induction (week 24, docs/registry-record.txt)."""
    rows = []
    for ae in data.adverse_events:
        patient = data.patient(ae.patient_id)
        if open_at_week(ae.onset_date, ae.end_date, patient.day0, week, cutoff):
            rows.append(PatientEvent(patient, ae))
    return sorted(rows, key=lambda r: (r.event.onset_date, r.patient.study_id, r.event.id))


@dataclass(frozen=True, slots=True)
class Deviation:
    """A recorded deviation: the visit, what happened (moved outside its window, or
    missed) and the reason the coordinator gave."""

    patient: PatientRecord
    event: EventRecord
    outcome: VisitOutcome | None
    reason: str


def deviations(data: TrialData, today: date) -> list[Deviation]:
    """Visits moved outside their window (``outcome`` None) or marked missed, as recorded;
    by the planned day, then study ID."""
    rows: list[Deviation] = []
    for event in data.events:
        if event.kind in _NOT_VISITS:
            continue
        patient = data.patient(event.patient_id)
        if event.deviation_reason:
            rows.append(Deviation(patient, event, None, event.deviation_reason))
        if visit_outcome(event, today) == VisitOutcome.MISSED:
            rows.append(Deviation(patient, event, VisitOutcome.MISSED, event.missed_reason or ""))
    return sorted(rows, key=lambda d: (d.event.target_date, d.patient.study_id, d.event.kind))


def not_done_visits(data: TrialData, today: date) -> int:
    """Planned visits (not daily doses) whose window closed by ``today`` with nothing
    recorded."""
    return sum(
        1
        for event in data.events
        if event.kind not in _NOT_VISITS and visit_outcome(event, today) == VisitOutcome.NOT_DONE
    )
