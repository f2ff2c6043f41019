"""The coordinator's writes: withdraw a patient, move an event, acknowledge a serious AE.

Each function takes a :class:`~core.store.uow.UnitOfWork`, so its changes
and their audit records are one transaction (requirement: "Every change goes
through one small service layer ... that also appends an audit record in the
same transaction"). Logs name study IDs and row ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from core.messages import N_, RuleError
from core.protocol import Protocol
from core.rescheduling import Reschedule, lab_days
from core.schedule import EventKind, PlannedEvent, PlannedReminder, reminders_for_event, study_day
from core.store import reminder_state
from core.store.models import (
    AdverseEvent,
    EventStatus,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

WITHDRAWN = "cancelled: patient withdrawn"
RESCHEDULED = "cancelled: event rescheduled"
MISSED_AT_RESCHEDULE = "due before the event was rescheduled; never sent late"

# Reminders that never reached the patient: when a move brings their slot back
# to the future, the row is reused (the slot is unique per patient and event).
_NEVER_DELIVERED = frozenset(
    {ReminderStatus.CANCELLED, ReminderStatus.MISSED, ReminderStatus.SKIPPED}
)


def event_from_row(row: PlannedEventRow) -> PlannedEvent:
    """The schedule's value for a stored event (its current booking)."""
    return PlannedEvent(
        kind=EventKind(row.kind),
        number=row.number,
        week=row.week,
        target_date=row.target_date,
        scheduled_date=row.scheduled_date,
        window_before=row.window_before,
        window_after=row.window_after,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
    )


def event_rows(session: Session, patient_id: int) -> list[PlannedEventRow]:
    """A patient's events, in calendar order."""
    query = (
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .order_by(col(PlannedEventRow.starts_at), col(PlannedEventRow.id))
    )
    return list(session.exec(query).all())


# --- withdrawal ------------------------------------------------------------------


def withdraw_patient(uow: UnitOfWork, patient: Patient, reason: str) -> int:
    """Withdraw a patient: status ``withdrawn`` with the reason; every pending reminder cancelled.

    Requirement: "``/withdraw P01 <reason>`` -> the patient stays in the records;
    every pending reminder is cancelled in the same transaction." Planned
    events and everything recorded stay. Returns how many reminders were
    cancelled. Refuses a patient who is not active.
    """
    if patient.status != PatientStatus.ACTIVE:
        raise RuleError(
            N_("{study_id} is not active in the study; nothing to withdraw."),
            study_id=patient.study_id,
        )
    uow.update(
        patient,
        "patient.withdrawn",
        reason=reason,
        status=PatientStatus.WITHDRAWN,
        withdrawn_reason=reason,
    )
    query = (
        select(Reminder)
        .where(Reminder.patient_id == patient.id, Reminder.status == ReminderStatus.PENDING)
        .order_by(col(Reminder.id))
        .with_for_update()
    )
    pending = list(uow.session.exec(query).all())
    note = f"{WITHDRAWN}: {reason}"
    # One record for the batch, as the outbox's claims do.
    reminder_state.move_many(
        uow,
        pending,
        ReminderStatus.CANCELLED,
        "reminder.cancelled",
        changes={"last_error": note},
        before={"status": ReminderStatus.PENDING},
        after={"last_error": note},
        reason=reason,
    )
    log.info("withdrew %s: %d pending reminders cancelled", patient.study_id, len(pending))
    return len(pending)


# --- rescheduling ----------------------------------------------------------------


@dataclass(slots=True)
class ReminderChanges:
    """What recomputing reminders did, counted."""

    moved: int = 0  # pending reminders given their new (future) time
    added: int = 0  # new slots, and never-delivered slots brought back (future)
    cancelled: int = 0  # pending reminders whose slot no longer exists
    missed: int = 0  # new times already past: recorded as not sent, never sent late
    kept: int = 0  # already sent (or being sent) for this very time: left as they were
    kept_slots: list[str] = field(default_factory=list)
    renewed: int = 0  # sent for the old date: a new revision is due for the new one


def apply_reschedule(
    uow: UnitOfWork,
    protocol: Protocol,
    patient: Patient,
    reschedule: Reschedule,
    deviation_reason: str | None,
) -> ReminderChanges:
    """Store a move: the events' new booking, the deviation, and their reminders recomputed.

    Requirement: "moves one event; outside its window it asks for a reason and
    records a protocol deviation; later events stay anchored to day 0; that
    event's pending reminders are recomputed at once." Each moved event gets
    its new ``scheduled_date``, ``starts_at`` and ``ends_at``,
    ``deviation_reason`` (None when the new date is inside the window) and
    one more ``sequence``, so a phone's calendar takes the new date. A
    missed event moved to a new date is planned again.

    Reminders, per moved event (:func:`core.schedule.reminders_for_event`,
    with the renal assessment dates after the move as lab days): a pending
    reminder whose slot still exists takes the new time; one whose slot is
    gone is cancelled; a new slot is inserted. A reminder already sent (or
    being sent) stays as it was, and when its time changed a new revision of
    the slot is added for the new date, so the patient is reminded of the
    booking that now holds. A reminder that never reached the patient
    (cancelled, missed, skipped) is reused when its slot is due again in the
    future, since the slot is unique per patient and event. A new time
    already past is stored ``missed``: never sent late. When the patient has
    daily dose reminders and a renal assessment moved, the oral doses of the
    old and the new visit day are recomputed too (the morning dose waits for
    the blood draw on a lab day, docs/clinical-facts.md §2).
    """
    assert patient.id is not None
    rows = event_rows(uow.session, patient.id)
    by_key = {f"{r.kind}:{r.number}": r for r in rows}
    events = [event_from_row(r) for r in rows]
    new_lab_days = lab_days(events, reschedule)
    zone = patient.timezone
    changes = ReminderChanges()

    visit_days: set[date] = set()
    for move in reschedule.moves:
        row = by_key[move.before.key]
        # A visit recorded missed and booked again is planned again: its missed reason
        # goes (the audit record keeps it).
        rebooked = row.status == EventStatus.MISSED
        uow.update(
            row,
            "event.rescheduled",
            reason=deviation_reason,
            scheduled_date=move.after.scheduled_date,
            starts_at=move.after.starts_at,
            ends_at=move.after.ends_at,
            deviation_reason=deviation_reason,
            status=EventStatus.PLANNED if rebooked else row.status,
            missed_at=None if rebooked else row.missed_at,
            missed_reason=None if rebooked else row.missed_reason,
            sequence=row.sequence + 1,
        )
        wanted = reminders_for_event(protocol, move.after, zone, new_lab_days, visit_days)
        _replace_reminders(uow, patient.id, row, wanted, changes)

    anchor = reschedule.anchor
    if patient.daily_dose_reminders and anchor.kind == EventKind.RENAL_ASSESSMENT:
        for day in sorted({anchor.scheduled_date, reschedule.new_date}):
            dose = by_key.get(f"{EventKind.ORAL_DOSE}:{study_day(patient.day0, day)}")
            if dose is None:
                continue
            wanted = reminders_for_event(protocol, event_from_row(dose), zone, new_lab_days)
            _replace_reminders(uow, patient.id, dose, wanted, changes)
    log.info(
        "rescheduled %s %s to %s: %d moved, %d added, %d cancelled, %d missed, %d kept",
        patient.study_id,
        anchor.key,
        reschedule.new_date,
        changes.moved,
        changes.added,
        changes.cancelled,
        changes.missed,
        changes.kept,
    )
    return changes


def _replace_reminders(
    uow: UnitOfWork,
    patient_id: int,
    event: PlannedEventRow,
    wanted: Sequence[PlannedReminder],
    changes: ReminderChanges,
) -> None:
    now = uow.now
    # The latest revision of each slot is the one that counts.
    existing = {
        r.slot: r
        for r in uow.session.exec(
            select(Reminder)
            .where(Reminder.event_id == event.id)
            .order_by(col(Reminder.revision))
            .with_for_update()
        ).all()
    }
    new = {r.slot: r for r in wanted}
    for slot, row in existing.items():
        if row.status == ReminderStatus.PENDING and slot not in new:
            reminder_state.move(
                uow, row, ReminderStatus.CANCELLED, "reminder.cancelled", last_error=RESCHEDULED
            )
            changes.cancelled += 1
    for slot, planned in new.items():
        past = planned.due < now
        row_or_none = existing.get(slot)
        if row_or_none is None:
            assert event.id is not None
            uow.add(
                Reminder(
                    patient_id=patient_id,
                    event_id=event.id,
                    slot=slot,
                    due_at=planned.due,
                    announces_at=planned.announces,
                    status=ReminderStatus.MISSED if past else ReminderStatus.PENDING,
                    last_error=MISSED_AT_RESCHEDULE if past else None,
                ),
                "reminder.created",
            )
            _count(changes, past, added=True)
            continue
        row = row_or_none
        if row.status != ReminderStatus.PENDING and row.status not in _NEVER_DELIVERED:
            if (row.due_at, row.announces_at) == (planned.due, planned.announces) or past:
                # Sent for this very time, or the new time is already past
                # (never sent late): nothing more to send.
                changes.kept += 1
                changes.kept_slots.append(str(slot))
                continue
            # Sent for the old date: the patient needs it again for the new one.
            assert event.id is not None
            uow.add(
                Reminder(
                    patient_id=patient_id,
                    event_id=event.id,
                    slot=slot,
                    revision=row.revision + 1,
                    due_at=planned.due,
                    announces_at=planned.announces,
                ),
                "reminder.renewed",
            )
            changes.renewed += 1
            continue
        if (
            row.status == ReminderStatus.PENDING
            and not past
            and (row.due_at, row.announces_at) == (planned.due, planned.announces)
        ):
            continue  # this slot's time did not change (the evening dose of a lab day)
        _count(changes, past, added=row.status != ReminderStatus.PENDING)
        reminder_state.move(
            uow,
            row,
            ReminderStatus.MISSED if past else ReminderStatus.PENDING,
            "reminder.rescheduled",
            due_at=planned.due,
            announces_at=planned.announces,
            next_attempt_at=None,
            last_error=MISSED_AT_RESCHEDULE if past else None,
        )


def _count(changes: ReminderChanges, past: bool, *, added: bool) -> None:
    if past:
        changes.missed += 1
    elif added:
        changes.added += 1
    else:
        changes.moved += 1


# --- serious adverse events ---------------------------------------------------------


def acknowledge_adverse_event(uow: UnitOfWork, adverse_event_id: int) -> AdverseEvent:
    """A coordinator acknowledges a serious adverse event: who and when, audited.

    Requirement: "``/ack AE12`` -> acknowledges a serious adverse event (stops its
    escalation, records who and when)"; docs/clinical-facts.md §6: "escalate
    until a coordinator acknowledges". The escalation reads
    ``acknowledged_at``. Refuses an unknown id, a non-serious event and one
    already acknowledged (the caller words who and when).
    """
    event = uow.session.get(AdverseEvent, adverse_event_id, with_for_update=True)
    if event is None:
        raise RuleError(N_("There is no adverse event AE{id}."), id=adverse_event_id)
    if not event.serious:
        raise RuleError(
            N_("AE{id} is not a serious adverse event; only serious ones are acknowledged."),
            id=adverse_event_id,
        )
    if event.acknowledged_at is not None:
        raise AlreadyAcknowledged(event)
    return uow.update(
        event, "adverse_event.acknowledged", acknowledged_at=uow.now, acknowledged_by=uow.actor
    )


class AlreadyAcknowledged(Exception):
    """The serious adverse event was acknowledged before: when, and by which actor."""

    def __init__(self, event: AdverseEvent) -> None:
        super().__init__(f"AE{event.id} already acknowledged")
        assert event.acknowledged_at is not None
        # Plain values: the row is gone with the rolled-back transaction.
        self.adverse_event_id = event.id
        self.acknowledged_at = event.acknowledged_at
        self.acknowledged_by = event.acknowledged_by
