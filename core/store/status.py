"""Read-only queries behind ``/status``, ``/status P01`` and ``/reports``.

The trial overview must answer in well under 150 ms with 10,000 patients, so
everything counted is counted by the database (``COUNT`` / ``GROUP BY``), one
query per figure, never one query per patient. The response counts are by
intention to treat, over every enrolled patient: the patients without a renal
result after baseline up to week 24 are counted by the database; rows (the
patient and their renal results) are loaded only for the others, the only
ones whose week-24 class or cumulative CR can be anything but missing. The rules applied to these numbers live in :mod:`core.overview`,
:mod:`core.renal_panel` and :mod:`core.response`; the words in ``bot``.

Every function takes a read session (:func:`core.store.db.read_session`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.ae_outcomes import ONGOING_OUTCOMES
from core.patient_response import RENAL_ANALYTES, LabRow
from core.renal_panel import StoredResult
from core.schedule import EventKind
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    DoseAdministration,
    Drug,
    EscalationNotice,
    EventStatus,
    LabResult,
    Patient,
    PatientReport,
    PatientStatus,
    PlannedEventRow,
    ProtocolDeviation,
    Reminder,
    ReminderStatus,
    SledaiAssessment,
    TriageStatus,
)
from core.vocabulary import Sex

# The reminder answer that marks a urine collection finished (bot.views.reminder.Choice).
FINISHED = "finished"

# Events the overview counts per week.
OVERVIEW_KINDS: tuple[EventKind, ...] = (
    EventKind.BELIMUMAB_INFUSION,
    EventKind.RENAL_ASSESSMENT,
    EventKind.URINE_COLLECTION,
)


@dataclass(frozen=True, slots=True)
class ArmEnrollment:
    """Patients enrolled in one arm (every status) and how many of them withdrew."""

    arm: str
    enrolled: int
    withdrawn: int


@dataclass(frozen=True, slots=True)
class EventGroup:
    """How many events of one kind, booked on one day, are done (or not)."""

    kind: EventKind
    scheduled_date: date
    done: bool
    count: int


@dataclass(frozen=True, slots=True)
class SeriousOpen:
    """A serious adverse event no coordinator has acknowledged yet."""

    ae_id: int
    study_id: str
    awareness_at: datetime


def _seriousness() -> ColumnElement[bool]:
    return or_(
        col(AdverseEvent.death),
        col(AdverseEvent.life_threatening),
        col(AdverseEvent.hospitalization),
        col(AdverseEvent.disability),
        col(AdverseEvent.congenital_anomaly),
        col(AdverseEvent.important_medical_event),
    )


def _open() -> ColumnElement[bool]:
    """An open adverse event (:func:`core.ae_outcomes.is_open`): no outcome yet, or one that
    goes on."""
    return or_(
        col(AdverseEvent.outcome).is_(None),
        col(AdverseEvent.outcome).in_(sorted(ONGOING_OUTCOMES)),
    )


def _done_unmarked() -> ColumnElement[bool]:
    # Done without the event being marked: an infusion with a belimumab dose recorded
    # against it, a urine collection the patient answered "Finished".
    event = PlannedEventRow
    infused = exists().where(
        col(DoseAdministration.patient_id) == col(event.patient_id),
        col(DoseAdministration.event_id) == col(event.id),
        col(DoseAdministration.drug) == Drug.BELIMUMAB,
    )
    finished = exists().where(
        col(Reminder.event_id) == col(event.id), col(Reminder.response) == FINISHED
    )
    return or_(
        and_(col(event.kind) == EventKind.BELIMUMAB_INFUSION, infused),
        and_(col(event.kind) == EventKind.URINE_COLLECTION, finished),
    )


def enrollment_by_arm(session: Session) -> list[ArmEnrollment]:
    """Patients per arm (any status: a withdrawn patient was enrolled), with withdrawals."""
    withdrawn = func.sum(case((col(Patient.status) == PatientStatus.WITHDRAWN, 1), else_=0))
    rows = session.exec(
        select(Patient.arm, func.count(), withdrawn).group_by(Patient.arm).order_by(Patient.arm)
    ).all()
    return [ArmEnrollment(arm, int(n), int(w or 0)) for arm, n, w in rows]


def week_event_groups(
    session: Session,
    first: date,
    last: date,
    kinds: Sequence[EventKind] = OVERVIEW_KINDS,
) -> list[EventGroup]:
    """Events of active patients booked from ``first`` to ``last`` (inclusive), grouped by
    kind, day and whether they are done; cancelled events and those recorded missed
    (/visit) are left out.

    Done: the event is marked done; an infusion also when a belimumab dose is
    recorded against it; a urine collection also when the patient answered
    "Finished" to one of its reminders.
    """
    event = PlannedEventRow
    done = case(
        (col(event.status) == EventStatus.DONE, 1),
        (_done_unmarked(), 1),
        else_=0,
    ).label("done")
    inner = (
        select(col(event.kind).label("kind"), col(event.scheduled_date).label("day"), done)
        .join(Patient, col(Patient.id) == event.patient_id)
        .where(
            col(event.kind).in_(list(kinds)),
            col(event.scheduled_date) >= first,
            col(event.scheduled_date) <= last,
            # Cancelled and recorded-missed events are decided: neither due nor overdue.
            col(event.status).not_in([EventStatus.CANCELLED, EventStatus.MISSED]),
            Patient.status == PatientStatus.ACTIVE,
        )
        .subquery()
    )
    rows = session.exec(
        select(inner.c.kind, inner.c.day, inner.c.done, func.count())
        .group_by(inner.c.kind, inner.c.day, inner.c.done)
        .order_by(inner.c.kind, inner.c.day, inner.c.done)
    ).all()
    return [EventGroup(EventKind(k), d, bool(x), int(n)) for k, d, x, n in rows]


def events_not_done(
    session: Session, first: date, last: date, kinds: Sequence[EventKind] = OVERVIEW_KINDS
) -> list[tuple[PlannedEventRow, str]]:
    """Planned events of active patients booked from ``first`` to ``last`` that are not done
    (as :func:`week_event_groups` counts done), with the patient's study ID, in time order.
    """
    rows = session.exec(
        select(PlannedEventRow, Patient.study_id)
        .join(Patient, col(Patient.id) == PlannedEventRow.patient_id)
        .where(
            col(PlannedEventRow.kind).in_(list(kinds)),
            PlannedEventRow.status == EventStatus.PLANNED,
            Patient.status == PatientStatus.ACTIVE,
            col(PlannedEventRow.scheduled_date) >= first,
            col(PlannedEventRow.scheduled_date) <= last,
            ~_done_unmarked(),
        )
        .order_by(col(PlannedEventRow.starts_at), col(Patient.study_id))
    ).all()
    return [(event, study_id) for event, study_id in rows]


def open_adverse_event_count(session: Session) -> tuple[int, int]:
    """Open adverse events (no outcome recorded yet, or recovering or not recovered), and
    how many of them are serious."""
    serious = func.sum(case((_seriousness(), 1), else_=0))
    total, serious_count = session.exec(select(func.count(), serious).where(_open())).one()
    return int(total), int(serious_count or 0)


def open_adverse_events(session: Session) -> list[tuple[AdverseEvent, str]]:
    """The open adverse events (as :func:`open_adverse_event_count` counts them) with their
    patient's study ID, earliest onset first."""
    rows = session.exec(
        select(AdverseEvent, Patient.study_id)
        .join(Patient, col(Patient.id) == AdverseEvent.patient_id)
        .where(_open())
        .order_by(col(AdverseEvent.onset_date), col(AdverseEvent.id))
    ).all()
    return [(event, study_id) for event, study_id in rows]


def serious_unacknowledged(session: Session) -> list[SeriousOpen]:
    """Serious adverse events without an acknowledgement, oldest awareness first."""
    rows = session.exec(
        select(AdverseEvent.id, Patient.study_id, AdverseEvent.awareness_at)
        .join(Patient, col(Patient.id) == AdverseEvent.patient_id)
        .where(col(AdverseEvent.acknowledged_at).is_(None), _seriousness())
        .order_by(col(AdverseEvent.awareness_at), col(AdverseEvent.id))
    ).all()
    return [SeriousOpen(int(i or 0), s, a) for i, s, a in rows]


def unreachable_study_ids(session: Session) -> list[str]:
    """Active patients the bot could not reach (``unreachable_since`` set)."""
    rows = session.exec(
        select(Patient.study_id)
        .where(Patient.status == PatientStatus.ACTIVE)
        .where(col(Patient.unreachable_since).is_not(None))
        .order_by(col(Patient.study_id))
    ).all()
    return list(rows)


def not_joined_study_ids(session: Session) -> list[str]:
    """Active patients who have not opened their invitation (no channel account yet)."""
    rows = session.exec(
        select(Patient.study_id)
        .where(Patient.status == PatientStatus.ACTIVE)
        .where(col(Patient.preferred_channel).is_(None))
        .order_by(col(Patient.study_id))
    ).all()
    return list(rows)


def reached_week_by_arm(session: Session, today: date, week: int) -> dict[str, int]:
    """Patients (not withdrawn) whose study day today is at least ``7 * week``."""
    latest_day0 = today - timedelta(weeks=week)
    rows = session.exec(
        select(Patient.arm, func.count())
        .where(Patient.status != PatientStatus.WITHDRAWN)
        .where(Patient.day0 <= latest_day0)
        .group_by(Patient.arm)
    ).all()
    return {arm: int(n) for arm, n in rows}


_LAB_COLUMNS = (
    col(LabResult.patient_id),
    col(LabResult.week),
    col(LabResult.analyte),
    col(LabResult.value),
    col(LabResult.unit),
    col(LabResult.ref_high),
    col(LabResult.uti),
    col(LabResult.ref_unit),
    col(LabResult.below_limit),
)


def _assessed(week: int) -> SelectOfScalar[int]:
    """The patients with a renal result after baseline up to ``week``."""
    return (
        select(LabResult.patient_id)
        .where(col(LabResult.week) > 0, col(LabResult.week) <= week)
        .where(col(LabResult.analyte).in_(RENAL_ANALYTES))
        .distinct()
    )


def assessed_lab_rows(session: Session, week: int) -> list[LabRow]:
    """Renal lab rows from week 0 up to ``week`` of every patient (withdrawn included) with
    a renal result after baseline up to ``week``: what their week-``week`` class and
    cumulative CR need."""
    query = (
        sa_select(*_LAB_COLUMNS)
        .where(col(LabResult.patient_id).in_(_assessed(week)))
        .where(col(LabResult.week) >= 0, col(LabResult.week) <= week)
        .where(col(LabResult.analyte).in_(RENAL_ANALYTES))
        .order_by(col(LabResult.patient_id), col(LabResult.week), col(LabResult.id))
    )
    return [_lab_row(*row) for row in session.execute(query).all()]


@dataclass(frozen=True, slots=True)
class AssessedPatient:
    """A patient with a renal result after baseline, as the response counts need them."""

    study_id: str
    arm: str
    sex: Sex
    day0: date
    withdrawn: bool


def assessed_patients(session: Session, week: int) -> dict[int, AssessedPatient]:
    """The patients (any status) with a renal result after baseline up to ``week``, by row
    id, in study ID order."""
    rows = session.execute(
        sa_select(
            col(Patient.id),
            col(Patient.study_id),
            col(Patient.arm),
            col(Patient.sex),
            col(Patient.day0),
            col(Patient.status),
        )
        .where(col(Patient.id).in_(_assessed(week)))
        .order_by(col(Patient.study_id))
    ).all()
    return {
        int(i or 0): AssessedPatient(s, a, Sex(str(x)), d, st == PatientStatus.WITHDRAWN)
        for i, s, a, x, d, st in rows
    }


@dataclass(frozen=True, slots=True)
class UnassessedCount:
    """How many patients of an arm have no renal result after baseline up to the endpoint
    week, withdrawn or not, and whether they are past day 0 + the endpoint week."""

    arm: str
    withdrawn: bool
    reached: bool
    count: int


def unassessed_counts(session: Session, today: date, week: int) -> list[UnassessedCount]:
    """Patients (any status) without a renal result after baseline up to ``week``, counted
    by arm, withdrawal, and whether ``today`` is on or after day 0 + ``week`` weeks."""
    withdrawn = col(Patient.status) == PatientStatus.WITHDRAWN
    reached = col(Patient.day0) <= today - timedelta(weeks=week)
    rows = session.exec(
        select(Patient.arm, withdrawn, reached, func.count())
        .where(col(Patient.id).not_in(_assessed(week)))
        .group_by(Patient.arm, withdrawn, reached)
    ).all()
    return [UnassessedCount(arm, bool(w), bool(r), int(n)) for arm, w, r, n in rows]


def _lab_row(
    patient_id: int,
    week: int | None,
    analyte: str,
    value: str,
    unit: str,
    uln: str | None,
    uti: bool,
    uln_unit: str | None,
    below_limit: bool,
) -> LabRow:
    return LabRow(
        patient_id,
        int(week or 0),
        StoredResult(analyte, value, unit, uln, uln_unit, bool(uti), bool(below_limit)),
    )


# --------------------------------------------------------------------------- one patient


@dataclass(frozen=True, slots=True)
class ReminderDelivery:
    """A patient's reminders so far: sent (delivered among them), answered, missed, failed.

    ``delivered`` counts those a channel reported delivered (WeChat's receipts;
    Telegram reports none).
    """

    sent: int
    delivered: int
    confirmed: int
    missed: int
    failed: int


def patient_lab_rows(session: Session, patient_id: int) -> list[LabRow]:
    """A patient's renal lab rows with a protocol week, oldest week first."""
    query = (
        sa_select(*_LAB_COLUMNS)
        .where(col(LabResult.patient_id) == patient_id)
        .where(col(LabResult.week).is_not(None))
        .where(col(LabResult.analyte).in_(RENAL_ANALYTES))
        .order_by(col(LabResult.week), col(LabResult.id))
    )
    return [_lab_row(*row) for row in session.execute(query).all()]


def next_events(
    session: Session,
    patient_id: int,
    now: datetime,
    limit: int,
    hidden: Sequence[EventKind] = (EventKind.ORAL_DOSE,),
) -> list[PlannedEventRow]:
    """The patient's next planned events from ``now`` on, in calendar order."""
    query = (
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(PlannedEventRow.status == EventStatus.PLANNED)
        .where(col(PlannedEventRow.kind).not_in(list(hidden)))
        .where(PlannedEventRow.starts_at >= now)
        .order_by(col(PlannedEventRow.starts_at), col(PlannedEventRow.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def deviations_of(session: Session, patient_id: int) -> list[ProtocolDeviation]:
    """The patient's entries dated outside their windows, by date."""
    query = (
        select(ProtocolDeviation)
        .where(ProtocolDeviation.patient_id == patient_id)
        .order_by(col(ProtocolDeviation.occurred_on), col(ProtocolDeviation.id))
    )
    return list(session.exec(query).all())


def moved_outside_window(session: Session, patient_id: int) -> list[PlannedEventRow]:
    """The patient's events /reschedule booked outside their windows (with a reason), by date."""
    query = (
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(col(PlannedEventRow.deviation_reason).is_not(None))
        .order_by(col(PlannedEventRow.scheduled_date), col(PlannedEventRow.id))
    )
    return list(session.exec(query).all())


def sledai_trend(session: Session, patient_id: int) -> list[SledaiAssessment]:
    """The patient's SLEDAI-2K assessments by week."""
    query = (
        select(SledaiAssessment)
        .where(SledaiAssessment.patient_id == patient_id)
        .order_by(col(SledaiAssessment.week), col(SledaiAssessment.assessed_on))
    )
    return list(session.exec(query).all())


def cd20_trend(session: Session, patient_id: int) -> list[Cd20Count]:
    """The patient's CD20 B-cell counts by week."""
    query = (
        select(Cd20Count)
        .where(Cd20Count.patient_id == patient_id)
        .order_by(col(Cd20Count.week), col(Cd20Count.collected_at))
    )
    return list(session.exec(query).all())


def belimumab_dose_count(session: Session, patient_id: int) -> int:
    """Belimumab doses recorded for the patient."""
    return int(
        session.exec(
            select(func.count())
            .select_from(DoseAdministration)
            .where(DoseAdministration.patient_id == patient_id)
            .where(DoseAdministration.drug == Drug.BELIMUMAB)
        ).one()
    )


def mp_doses(session: Session, patient_id: int) -> list[tuple[str, str]]:
    """The patient's methylprednisolone doses as recorded: (amount, unit)."""
    rows = session.exec(
        select(DoseAdministration.amount, DoseAdministration.unit)
        .where(DoseAdministration.patient_id == patient_id)
        .where(DoseAdministration.drug == Drug.MP)
        .order_by(col(DoseAdministration.id))
    ).all()
    return [(a, u) for a, u in rows if a is not None and u is not None]


def adverse_events_of(session: Session, patient_id: int) -> list[AdverseEvent]:
    """The patient's adverse events, oldest first."""
    query = (
        select(AdverseEvent)
        .where(AdverseEvent.patient_id == patient_id)
        .order_by(col(AdverseEvent.onset_date), col(AdverseEvent.id))
    )
    return list(session.exec(query).all())


def open_reports_of(session: Session, patient_id: int) -> list[PatientReport]:
    """The patient's reports still waiting for triage, oldest first."""
    query = (
        select(PatientReport)
        .where(PatientReport.patient_id == patient_id)
        .where(PatientReport.triage_status == TriageStatus.OPEN)
        .order_by(col(PatientReport.created_at), col(PatientReport.id))
    )
    return list(session.exec(query).all())


def reminder_delivery(session: Session, patient_id: int) -> ReminderDelivery:
    """Counts of the patient's reminders: sent, delivered, answered, missed, failed (one query)."""

    def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    went_out = (ReminderStatus.SENT, ReminderStatus.DELIVERED)
    row = session.execute(
        sa_select(
            count_if(col(Reminder.status).in_(went_out)),
            count_if(col(Reminder.status) == ReminderStatus.DELIVERED),
            count_if(col(Reminder.response).is_not(None)),
            count_if(col(Reminder.status) == ReminderStatus.MISSED),
            count_if(col(Reminder.status) == ReminderStatus.FAILED),
        ).where(col(Reminder.patient_id) == patient_id)
    ).one()
    sent, delivered, confirmed, missed, failed = (int(v or 0) for v in row)
    return ReminderDelivery(sent, delivered, confirmed, missed, failed)


# --------------------------------------------------------------------------- reports


def open_reports(session: Session) -> list[tuple[PatientReport, str]]:
    """Every report waiting for triage with its patient's study ID: red flags
    first, then oldest first (the order staff should work through them)."""
    query = (
        select(PatientReport, Patient.study_id)
        .join(Patient, col(Patient.id) == PatientReport.patient_id)
        .where(PatientReport.triage_status == TriageStatus.OPEN)
        .order_by(
            col(PatientReport.red_flag).desc(),
            col(PatientReport.created_at),
            col(PatientReport.id),
        )
    )
    return [(report, study_id) for report, study_id in session.exec(query).all()]


def report_with_study_id(session: Session, report_id: int) -> tuple[PatientReport, str] | None:
    """One report and its patient's study ID, or None."""
    row = session.exec(
        select(PatientReport, Patient.study_id)
        .join(Patient, col(Patient.id) == PatientReport.patient_id)
        .where(PatientReport.id == report_id)
    ).first()
    return None if row is None else (row[0], row[1])


# --------------------------------------------------------------------------- new since


@dataclass(frozen=True, slots=True)
class NewSince:
    """What happened between two digests: adverse events recorded, patient reports filed,
    and infusions the nurses were told the patient had not confirmed (each with the
    patient's study ID, in the order they happened)."""

    adverse_events: list[tuple[AdverseEvent, str]]
    reports: list[tuple[PatientReport, str]]
    unconfirmed: list[tuple[PlannedEventRow, str]]

    @property
    def count(self) -> int:
        return len(self.adverse_events) + len(self.reports) + len(self.unconfirmed)


def new_since(session: Session, since: datetime, until: datetime) -> NewSince:
    """Adverse events recorded, reports filed and unconfirmed infusions escalated (kind
    ``infusion`` in ``escalation_notice``) after ``since`` and up to ``until``."""
    events = session.exec(
        select(AdverseEvent, Patient.study_id)
        .join(Patient, col(Patient.id) == AdverseEvent.patient_id)
        .where(col(AdverseEvent.reported_at) > since, col(AdverseEvent.reported_at) <= until)
        .order_by(col(AdverseEvent.reported_at), col(AdverseEvent.id))
    ).all()
    reports = session.exec(
        select(PatientReport, Patient.study_id)
        .join(Patient, col(Patient.id) == PatientReport.patient_id)
        .where(col(PatientReport.created_at) > since, col(PatientReport.created_at) <= until)
        .order_by(col(PatientReport.created_at), col(PatientReport.id))
    ).all()
    subjects = session.exec(
        select(EscalationNotice.subject)
        .where(
            EscalationNotice.kind == "infusion",
            col(EscalationNotice.sent_at) > since,
            col(EscalationNotice.sent_at) <= until,
        )
        .order_by(col(EscalationNotice.sent_at), col(EscalationNotice.id))
    ).all()
    ids = [int(s.removeprefix("event:")) for s in subjects if s.startswith("event:")]
    found = {
        event.id: (event, study_id)
        for event, study_id in session.exec(
            select(PlannedEventRow, Patient.study_id)
            .join(Patient, col(Patient.id) == PlannedEventRow.patient_id)
            .where(col(PlannedEventRow.id).in_(ids))
        ).all()
    }
    unconfirmed = [found[i] for i in dict.fromkeys(ids) if i in found]
    return NewSince(
        adverse_events=[(ae, study_id) for ae, study_id in events],
        reports=[(report, study_id) for report, study_id in reports],
        unconfirmed=unconfirmed,
    )
