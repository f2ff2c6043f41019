"""Clinical data typed by staff: adverse events, lab results, SLEDAI-2K, CD20, doses, weights.

Each writer takes a :class:`~core.store.uow.UnitOfWork` and plain values, so a
row and its audit record are one transaction (requirement: "Every change goes
through one small service layer ... that also appends an audit record in the
same transaction"). The bot parses and shows what it understood; these
functions check again what may have changed since (the patient withdrew, the
planned event was recorded or moved meanwhile) and store. Logs name study IDs
and row ids only.

Every dated entry is judged against the calendar here, at Confirm as in the
preview (:func:`assessment_entry`, :func:`belimumab_entry`, the rule of
:mod:`core.entry_calendar`): outside its window it is stored with a
:class:`ProtocolDeviation` row carrying the reason, and it marks done only
the event its week names (or the infusion or pulse day its date is for),
never one whose window has not opened.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from sqlmodel import Session, col, select

from core.adverse_events import CTCAE_VERSION, Seriousness, check_grade, term_by_key
from core.entry_calendar import (
    Booked,
    EntryDate,
    Window,
    assessment_window,
    check_dose_spacing,
    infusion_due,
    judge_entry_date,
)
from core.entry_syntax import Relatedness
from core.messages import N_, RuleError
from core.protocol import Protocol
from core.renal_panel import URINE_ANALYTES, StoredResult, missing_analytes
from core.schedule import EventKind, trial_today, trial_zone
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    Cd20Unit,
    DeviationEntry,
    DoseAdministration,
    Drug,
    EventStatus,
    LabResult,
    Patient,
    PatientStatus,
    PlannedEventRow,
    ProtocolDeviation,
    Reminder,
    ReminderStatus,
    SledaiAssessment,
)
from core.store.reminder_state import move
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def plain(value: Decimal) -> str:
    """A decimal as fixed-point text (never ``1E+3``): what a clinical column keeps."""
    return format(value, "f")


# --- the patient ----------------------------------------------------------------------


def check_active(patient: Patient | None, study_id: str) -> Patient:
    """The patient, if there is one and they have not withdrawn; else the reason why not.

    Requirement: "Every refusal says why and what was expected, and stores nothing".
    """
    if patient is None:
        raise RuleError(N_("There is no patient with study ID {study_id}."), study_id=study_id)
    if patient.status == PatientStatus.WITHDRAWN:
        raise RuleError(
            N_("{study_id} has withdrawn from the study: nothing more is recorded for them."),
            study_id=patient.study_id,
        )
    return patient


def patient_for_entry(uow: UnitOfWork, patient_id: int, study_id: str) -> Patient:
    """The patient again, inside the storing transaction; refused if withdrawn meanwhile."""
    return check_active(uow.session.get(Patient, patient_id), study_id)


# --- planned events -------------------------------------------------------------------


def event_of_week(
    session: Session, patient_id: int, kind: EventKind, week: int
) -> PlannedEventRow | None:
    """The patient's planned event of ``kind`` in protocol week ``week``, if there is one."""
    return session.exec(
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(PlannedEventRow.kind == kind)
        .where(PlannedEventRow.week == week)
        .order_by(col(PlannedEventRow.number))
    ).first()


def mark_event_done(uow: UnitOfWork, event: PlannedEventRow, day: date) -> None:
    """The event happened on ``day``: done, and its reminders still waiting are skipped.

    A reminder for something already done would only confuse the patient
    (``skipped``: "no longer relevant, e.g. the event is done").
    """
    if event.status != EventStatus.DONE or event.actual_date != day:
        uow.update(event, "event.done", status=EventStatus.DONE, actual_date=day)
    skip_waiting_reminders(uow, event, "event done")


def skip_waiting_reminders(uow: UnitOfWork, event: PlannedEventRow, why: str) -> None:
    """The event's reminders still waiting are ``skipped`` (no longer relevant), with ``why``."""
    waiting = uow.session.exec(
        select(Reminder)
        .where(Reminder.event_id == event.id)
        .where(Reminder.status == ReminderStatus.PENDING)
    ).all()
    for reminder in waiting:
        move(uow, reminder, ReminderStatus.SKIPPED, "reminder.skipped", last_error=why)


def assessment_entry(
    session: Session,
    protocol: Protocol,
    patient: Patient,
    kind: EventKind,
    week: int,
    day: date,
    reason: str | None,
) -> tuple[PlannedEventRow | None, EntryDate]:
    """The week's planned assessment of ``kind`` (if the plan has one) and ``day`` judged
    against its window (:func:`core.entry_calendar.judge_entry_date`).

    The window is the protocol's for that week, around day 0 plus the weeks,
    whether or not the plan has the assessment; the booked day counts when it
    has. Refuses what the rule refuses.
    """
    assert patient.id is not None
    event = event_of_week(session, patient.id, kind, week)
    booked = event.scheduled_date if event is not None else None
    window = assessment_window(protocol, patient.day0, week, booked)
    return event, judge_entry_date(window, day, reason)


def dose_days(session: Session, patient: Patient, drug: Drug) -> list[date]:
    """The days the patient's doses of ``drug`` were given (in the trial's zone)."""
    assert patient.id is not None
    zone = trial_zone(patient.timezone)
    rows = session.exec(
        select(DoseAdministration)
        .where(DoseAdministration.patient_id == patient.id)
        .where(DoseAdministration.drug == drug)
    ).all()
    return [
        row.given_on if row.given_on is not None else trial_today(row.given_at, zone)
        for row in rows
        if row.given_on is not None or row.given_at is not None
    ]


def belimumab_entry(
    session: Session, protocol: Protocol, patient: Patient, day: date, reason: str | None
) -> tuple[PlannedEventRow | None, EntryDate]:
    """The planned infusion a belimumab dose given on ``day`` is for, and ``day`` judged
    against its window (:func:`core.entry_calendar.infusion_due`).

    Refuses a dose closer than ``belimumab.min_days_between_infusions`` to one
    already recorded, and what the window rule refuses.
    """
    assert patient.id is not None
    min_days = protocol.belimumab.min_days_between_infusions
    check_dose_spacing(dose_days(session, patient, Drug.BELIMUMAB), day, min_days)
    planned = {
        row.number: row
        for row in session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .where(PlannedEventRow.kind == EventKind.BELIMUMAB_INFUSION)
            .where(PlannedEventRow.status == EventStatus.PLANNED)
        ).all()
    }
    booked = [
        Booked(
            number,
            Window(row.target_date, row.window_before, row.window_after, row.scheduled_date),
        )
        for number, row in planned.items()
    ]
    due = infusion_due(booked, day)
    entry = judge_entry_date(due.window if due is not None else None, day, reason)
    return (planned[due.number] if due is not None else None), entry


def pulse_day(session: Session, patient_id: int, day: date) -> PlannedEventRow | None:
    """The planned MP pulse day booked for ``day``, if one is still planned.

    Each pulse dose is recorded on its own day (docs/clinical-facts.md §1: day 0
    is the first pulse day); a dose on another day closes no pulse day.
    """
    return session.exec(
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(PlannedEventRow.kind == EventKind.MP_PULSE)
        .where(PlannedEventRow.scheduled_date == day)
        .where(PlannedEventRow.status == EventStatus.PLANNED)
    ).first()


def record_deviation(
    uow: UnitOfWork,
    patient: Patient,
    entry: EntryDate,
    what: DeviationEntry,
    *,
    week: int | None,
    event: PlannedEventRow | None,
) -> ProtocolDeviation:
    """Store an entry outside its window (``deviation.recorded``, the reason as its why)."""
    assert patient.id is not None
    assert entry.deviation
    assert entry.reason is not None
    window = entry.window
    row = uow.add(
        ProtocolDeviation(
            patient_id=patient.id,
            event_id=event.id if event is not None else None,
            entry=what,
            week=week,
            occurred_on=entry.day,
            timing=entry.timing,
            window_start=window.start if window is not None else None,
            window_end=window.end if window is not None else None,
            days_outside=entry.days_outside,
            reason=entry.reason,
            recorded_by=uow.actor,
            recorded_at=uow.now,
        ),
        "deviation.recorded",
        reason=entry.reason,
    )
    log.info(
        "deviation %s (%s, %s) recorded for %s", row.id, what.value, entry.timing, patient.study_id
    )
    return row


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Entered(Generic[R]):
    """A stored entry, how its date stood against the calendar (None when the calendar
    does not judge it), the planned event it is for, and whether it marked that done."""

    row: R
    entry: EntryDate | None
    event: PlannedEventRow | None
    closed: bool


def _entered_on(
    uow: UnitOfWork,
    patient: Patient,
    event: PlannedEventRow | None,
    entry: EntryDate,
    what: DeviationEntry,
    week: int | None,
    *,
    complete: bool = True,
) -> bool:
    """Record the deviation, if any, and mark the event done when the entry completes it
    and may close it (never before its window opens); whether it did."""
    if entry.deviation:
        record_deviation(uow, patient, entry, what, week=week, event=event)
    if event is None or not complete or not entry.closes_event:
        return False
    mark_event_done(uow, event, entry.day)
    return True


# --- adverse events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdverseEventEntry:
    """An adverse event as understood: the words typed, its CTCAE term key (None when
    uncoded), grade, ICH E2A criteria met, onset date and relatedness."""

    verbatim: str
    term: str | None
    grade: int
    serious: tuple[Seriousness, ...]
    onset: date
    related: Relatedness | None = None


def add_adverse_event(
    uow: UnitOfWork, patient_id: int, entry: AdverseEventEntry, awareness_at: datetime
) -> AdverseEvent:
    """Store an adverse event of a patient already checked (``adverse_event.reported``).

    The grade is checked against the term's CTCAE grades. ``awareness_at`` is
    when the site became aware: it starts a serious event's reporting clock
    (docs/clinical-facts.md §6).
    """
    grade = check_grade(term_by_key(entry.term) if entry.term else None, entry.grade)
    event = AdverseEvent(
        patient_id=patient_id,
        ctcae_version=CTCAE_VERSION,
        term=entry.term,
        verbatim=entry.verbatim,
        coded=entry.term is not None,
        grade=grade,
        onset_date=entry.onset,
        awareness_at=awareness_at,
        relatedness=entry.related.value if entry.related is not None else None,
        reported_by=uow.actor,
        reported_at=uow.now,
    )
    # The six ICH E2A flags are columns named after the criteria.
    for criterion in entry.serious:
        setattr(event, criterion.value, True)
    return uow.add(event, "adverse_event.reported")


def record_adverse_event(
    uow: UnitOfWork, patient_id: int, study_id: str, entry: AdverseEventEntry
) -> AdverseEvent:
    """An adverse event typed by staff (``/ae``): the site became aware now.

    Refuses a withdrawn patient and a grade the term does not have.
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    event = add_adverse_event(uow, patient.id, entry, uow.now)
    log.info("AE%s recorded for %s (serious: %s)", event.id, patient.study_id, bool(entry.serious))
    return event


# --- renal labs -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabValue:
    """One result as entered: the analyte key, its value and unit, and the result's own
    upper limit when given (``scr_uln=``)."""

    analyte: str
    value: Decimal
    unit: str
    ref_high: Decimal | None = None
    ref_unit: str | None = None
    below_limit: bool = False


@dataclass(frozen=True, slots=True)
class LabWeek:
    """The week's results after storing, what the panel still lacks, the collection
    date against the calendar, the week's renal assessment and whether it was marked done."""

    patient: Patient
    results: list[StoredResult]
    missing: tuple[str, ...]
    entry: EntryDate
    event: PlannedEventRow | None
    closed: bool


def lab_rows(session: Session, patient_id: int, week: int) -> list[LabResult]:
    """A patient's lab results of one week, in the order they were entered."""
    return list(
        session.exec(
            select(LabResult)
            .where(LabResult.patient_id == patient_id)
            .where(LabResult.week == week)
            .order_by(col(LabResult.entered_at), col(LabResult.id))
        ).all()
    )


def stored_results(rows: Sequence[LabResult]) -> list[StoredResult]:
    return [
        StoredResult(r.analyte, r.value, r.unit, r.ref_high, r.ref_unit, r.uti, r.below_limit)
        for r in rows
    ]


def record_lab_panel(
    uow: UnitOfWork,
    protocol: Protocol,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    collected_on: date,
    collected_at: datetime,
    uti: bool,
    results: Sequence[LabValue],
    reason: str | None = None,
) -> LabWeek:
    """Store a week's results (``lab_result.entered`` each), linked to the week's renal
    assessment; a complete panel marks that assessment done.

    The collection date is judged against the week's window
    (:func:`assessment_entry`): outside it the results need ``reason`` and a
    deviation is recorded; an assessment whose window has not opened on that
    date stays planned. ``uti`` applies to the urine results only. Refuses a
    withdrawn patient.
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    kind = EventKind.RENAL_ASSESSMENT
    event, entry = assessment_entry(
        uow.session, protocol, patient, kind, week, collected_on, reason
    )
    for result in results:
        uow.add(
            LabResult(
                patient_id=patient.id,
                event_id=event.id if event is not None else None,
                week=week,
                analyte=result.analyte,
                value=plain(result.value),
                unit=result.unit,
                ref_high=plain(result.ref_high) if result.ref_high is not None else None,
                ref_unit=result.ref_unit,
                collected_at=collected_at,
                uti=uti and result.analyte in URINE_ANALYTES,
                below_limit=result.below_limit,
                entered_by=uow.actor,
                entered_at=uow.now,
            ),
            "lab_result.entered",
        )
    week_results = stored_results(lab_rows(uow.session, patient.id, week))
    missing = missing_analytes(week_results)
    # Only a complete panel is the assessment done; a partial one leaves it planned.
    closed = _entered_on(
        uow, patient, event, entry, DeviationEntry.LABS, week, complete=not missing
    )
    return LabWeek(patient, week_results, missing, entry, event, closed)


# --- SLEDAI-2K and CD20 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SledaiItem:
    """One item recorded on the sheet: its key, the cause given, and whether it scored."""

    item: str
    cause: str | None
    scored: bool


def record_sledai(
    uow: UnitOfWork,
    protocol: Protocol,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    assessed_on: date,
    items: Sequence[SledaiItem],
    total: int,
    renal: int,
    reason: str | None = None,
) -> Entered[SledaiAssessment]:
    """Store a SLEDAI-2K (``sledai.entered``); the week's planned SLEDAI is then done.

    The date against the week's window as for labs (:func:`record_lab_panel`).
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    event, entry = assessment_entry(
        uow.session, protocol, patient, EventKind.SLEDAI, week, assessed_on, reason
    )
    row = uow.add(
        SledaiAssessment(
            patient_id=patient.id,
            week=week,
            assessed_on=assessed_on,
            total=total,
            renal_total=renal,
            items=json.dumps([asdict(i) for i in items], ensure_ascii=False, sort_keys=True),
            entered_by=uow.actor,
            entered_at=uow.now,
        ),
        "sledai.entered",
    )
    closed = _entered_on(uow, patient, event, entry, DeviationEntry.SLEDAI, week)
    return Entered(row, entry, event, closed)


def record_cd20(
    uow: UnitOfWork,
    protocol: Protocol,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    value: Decimal,
    unit: Cd20Unit,
    collected_on: date,
    collected_at: datetime,
    reason: str | None = None,
) -> Entered[Cd20Count]:
    """Store a CD20 count (``cd20.entered``); the week's planned CD20 count is then done.

    The date against the week's window as for labs (:func:`record_lab_panel`).
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    event, entry = assessment_entry(
        uow.session, protocol, patient, EventKind.CD20, week, collected_on, reason
    )
    row = uow.add(
        Cd20Count(
            patient_id=patient.id,
            week=week,
            value=plain(value),
            unit=unit,
            collected_at=collected_at,
            entered_by=uow.actor,
            entered_at=uow.now,
        ),
        "cd20.entered",
    )
    closed = _entered_on(uow, patient, event, entry, DeviationEntry.CD20, week)
    return Entered(row, entry, event, closed)


# --- doses and weight -----------------------------------------------------------------


def record_dose(
    uow: UnitOfWork,
    protocol: Protocol,
    patient_id: int,
    study_id: str,
    *,
    drug: Drug,
    amount: Decimal,
    unit: str,
    given_on: date,
    weight_kg: Decimal | None = None,
    vial_plan: Mapping[str, object] | None = None,
    reason: str | None = None,
) -> Entered[DoseAdministration]:
    """Store a dose given on ``given_on`` (``dose.recorded``) against the planned event it
    is for, which is then done.

    - belimumab: the infusion :func:`belimumab_entry` finds for the date, its
      window judged (outside it, ``reason`` and a deviation); an infusion whose
      window has not opened stays planned and the dose is not counted against
      it; a dose closer than the protocol's interval to another is refused;
    - methylprednisolone: the pulse day booked for that date (:func:`pulse_day`);
    - MMF and tacrolimus: no event.

    Refuses a withdrawn patient. ``vial_plan`` (belimumab) is kept as JSON text;
    ``given_at`` is now for a dose given today, unknown for one dated back.
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    zone = trial_zone(patient.timezone)
    entry: EntryDate | None = None
    event: PlannedEventRow | None = None
    if drug == Drug.BELIMUMAB:
        event, entry = belimumab_entry(uow.session, protocol, patient, given_on, reason)
    elif drug == Drug.MP:
        event = pulse_day(uow.session, patient.id, given_on)
    # The dose counts against its infusion only when the dose may close it.
    closes = event is not None and (entry is None or entry.closes_event)
    row = uow.add(
        DoseAdministration(
            patient_id=patient.id,
            drug=drug,
            amount=plain(amount),
            unit=unit,
            given_on=given_on,
            # The instant is known only for a dose recorded on its day; a dose
            # dated back (date=) keeps its day alone.
            given_at=uow.now if given_on == trial_today(uow.now, zone) else None,
            weight_kg=plain(weight_kg) if weight_kg is not None else None,
            vial_plan=json.dumps(vial_plan, sort_keys=True) if vial_plan is not None else None,
            event_id=event.id if event is not None and closes else None,
            recorded_by=uow.actor,
            recorded_at=uow.now,
        ),
        "dose.recorded",
    )
    closed = False
    if entry is not None:
        closed = _entered_on(uow, patient, event, entry, DeviationEntry.BELIMUMAB, None)
    elif event is not None:
        mark_event_done(uow, event, given_on)
        closed = True
    log.info("dose %s (%s) recorded for %s", row.id, drug.value, patient.study_id)
    return Entered(row, entry, event, closed)


def record_weight(uow: UnitOfWork, patient_id: int, study_id: str, weight_kg: Decimal) -> Patient:
    """The patient's new weight (``patient.weight_changed``, old and new value audited)."""
    patient = patient_for_entry(uow, patient_id, study_id)
    return uow.update(patient, "patient.weight_changed", weight_kg=plain(weight_kg))
