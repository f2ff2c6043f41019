"""Clinical data typed by staff: adverse events, lab results, SLEDAI-2K, CD20, doses, weights.

Each writer takes a :class:`~core.store.uow.UnitOfWork` and plain values, so a
row and its audit record are one transaction (requirement: "Every change goes
through one small service layer ... that also appends an audit record in the
same transaction"). The bot parses and shows what it understood; these
functions check again what may have changed since (the patient withdrew, the
planned event was recorded meanwhile) and store. Logs name study IDs and row
ids only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from core.adverse_events import CTCAE_VERSION, Seriousness, check_grade, term_by_key
from core.entry_syntax import Relatedness
from core.messages import N_, RuleError
from core.renal_panel import URINE_ANALYTES, StoredResult, missing_analytes
from core.schedule import EventKind
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    Cd20Unit,
    DoseAdministration,
    Drug,
    EventStatus,
    LabResult,
    Patient,
    PatientStatus,
    PlannedEventRow,
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
    waiting = uow.session.exec(
        select(Reminder)
        .where(Reminder.event_id == event.id)
        .where(Reminder.status == ReminderStatus.PENDING)
    ).all()
    for reminder in waiting:
        move(uow, reminder, ReminderStatus.SKIPPED, "reminder.skipped", last_error="event done")


def _done_in_week(uow: UnitOfWork, patient_id: int, kind: EventKind, week: int, day: date) -> None:
    event = event_of_week(uow.session, patient_id, kind, week)
    if event is not None:
        mark_event_done(uow, event, day)


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


@dataclass(frozen=True, slots=True)
class LabWeek:
    """The week's results after storing, and what the panel still lacks."""

    patient: Patient
    results: list[StoredResult]
    missing: tuple[str, ...]


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
    return [StoredResult(r.analyte, r.value, r.unit, r.ref_high, r.ref_unit, r.uti) for r in rows]


def record_lab_panel(
    uow: UnitOfWork,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    event_id: int | None,
    collected_on: date,
    collected_at: datetime,
    uti: bool,
    results: Sequence[LabValue],
) -> LabWeek:
    """Store a week's results (``lab_result.entered`` each); a complete panel marks the
    week's renal assessment done.

    ``uti`` applies to the urine results only. Refuses a withdrawn patient.
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    for result in results:
        uow.add(
            LabResult(
                patient_id=patient.id,
                event_id=event_id,
                week=week,
                analyte=result.analyte,
                value=plain(result.value),
                unit=result.unit,
                ref_high=plain(result.ref_high) if result.ref_high is not None else None,
                ref_unit=result.ref_unit,
                collected_at=collected_at,
                uti=uti and result.analyte in URINE_ANALYTES,
                entered_by=uow.actor,
                entered_at=uow.now,
            ),
            "lab_result.entered",
        )
    week_results = stored_results(lab_rows(uow.session, patient.id, week))
    missing = missing_analytes(week_results)
    if not missing and event_id is not None:
        event = uow.session.get(PlannedEventRow, event_id)
        if event is not None:
            mark_event_done(uow, event, collected_on)
    return LabWeek(patient, week_results, missing)


# --- SLEDAI-2K and CD20 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SledaiItem:
    """One item recorded on the sheet: its key, the cause given, and whether it scored."""

    item: str
    cause: str | None
    scored: bool


def record_sledai(
    uow: UnitOfWork,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    assessed_on: date,
    items: Sequence[SledaiItem],
    total: int,
    renal: int,
) -> SledaiAssessment:
    """Store a SLEDAI-2K (``sledai.entered``); the week's planned SLEDAI is then done."""
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
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
    _done_in_week(uow, patient.id, EventKind.SLEDAI, week, assessed_on)
    return row


def record_cd20(
    uow: UnitOfWork,
    patient_id: int,
    study_id: str,
    *,
    week: int,
    value: Decimal,
    unit: Cd20Unit,
    collected_on: date,
    collected_at: datetime,
) -> Cd20Count:
    """Store a CD20 count (``cd20.entered``); the week's planned CD20 count is then done."""
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
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
    _done_in_week(uow, patient.id, EventKind.CD20, week, collected_on)
    return row


# --- doses and weight -----------------------------------------------------------------


def record_dose(
    uow: UnitOfWork,
    patient_id: int,
    study_id: str,
    *,
    drug: Drug,
    amount: Decimal,
    unit: str,
    given_on: date,
    weight_kg: Decimal | None = None,
    vial_plan: Mapping[str, object] | None = None,
    event_id: int | None = None,
) -> DoseAdministration:
    """Store a dose given (``dose.recorded``), against its planned event, which is then done.

    Refuses a withdrawn patient, and a planned event no longer planned (recorded
    by someone else since the dose was typed). ``vial_plan`` (belimumab) is kept
    as JSON text.
    """
    patient = patient_for_entry(uow, patient_id, study_id)
    assert patient.id is not None
    event = None
    if event_id is not None:
        event = uow.session.get(PlannedEventRow, event_id)
        if event is None or event.status != EventStatus.PLANNED:
            raise RuleError(
                N_("That planned event was recorded meanwhile: send the command again."),
            )
    row = uow.add(
        DoseAdministration(
            patient_id=patient.id,
            drug=drug,
            amount=plain(amount),
            unit=unit,
            given_on=given_on,
            given_at=uow.now,
            weight_kg=plain(weight_kg) if weight_kg is not None else None,
            vial_plan=json.dumps(vial_plan, sort_keys=True) if vial_plan is not None else None,
            event_id=event.id if event is not None else None,
            recorded_by=uow.actor,
            recorded_at=uow.now,
        ),
        "dose.recorded",
    )
    if event is not None:
        mark_event_done(uow, event, given_on)
    log.info("dose %s (%s) recorded for %s", row.id, drug.value, patient.study_id)
    return row


def record_weight(uow: UnitOfWork, patient_id: int, study_id: str, weight_kg: Decimal) -> Patient:
    """The patient's new weight (``patient.weight_changed``, old and new value audited)."""
    patient = patient_for_entry(uow, patient_id, study_id)
    return uow.update(patient, "patient.weight_changed", weight_kg=plain(weight_kg))
