"""What the bot and the scheduler do with the store, one function per action.

Writers take a :class:`~core.store.uow.UnitOfWork` (one transaction, audited);
readers take a session. Logs name study IDs and row ids only.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.store import reminder_state
from core.store.enrollment import MISSED_AT_ENROLLMENT as MISSED_AT_ENROLLMENT
from core.store.enrollment import Newcomer as Newcomer
from core.store.enrollment import enroll_patient as enroll_patient
from core.store.enrollment import enroll_patients as enroll_patients
from core.store.models import (
    Invite,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Staff,
    StaffRole,
    study_id_is,
)
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    """The SHA-256 hex of an invite token: only this is stored, never the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- the outbox ------------------------------------------------------------------


def claim_due_reminders(
    uow: UnitOfWork, *, limit: int, worker: str, now: datetime | None = None
) -> list[Reminder]:
    """Claim up to ``limit`` due reminders for ``worker``: ``pending -> sending``.

    Due: ``due_at <= now`` and any retry back-off over, oldest first. The
    rows are selected ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and the unit
    of work already holds the writers' lock, so two workers never claim the
    same reminder; SQLite has one writer at a time. Each claim counts as an
    attempt. One audit record covers the batch.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    moment = now if now is not None else uow.now
    query = (
        select(Reminder)
        .where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.due_at <= moment,
            or_(col(Reminder.next_attempt_at).is_(None), col(Reminder.next_attempt_at) <= moment),
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(uow.session.exec(query).all())
    if not claimed:
        return []
    for reminder in claimed:
        reminder.attempts += 1
    ids = reminder_state.move_many(
        uow,
        claimed,
        ReminderStatus.SENDING,
        "reminder.claimed",
        changes={"claimed_by": worker, "claimed_at": moment, "handed_at": None},
        after={"claimed_by": worker},
    )
    log.debug("worker %s claimed reminders %s", worker, ids)
    return claimed


def mark_reminder_sent(uow: UnitOfWork, reminder: Reminder, *, message_id: int) -> Reminder:
    """A claimed reminder reached its channel: ``sending -> sent`` with the channel's message id."""
    reminder_state.require(reminder, ReminderStatus.SENDING)
    return reminder_state.move(
        uow,
        reminder,
        ReminderStatus.SENT,
        "reminder.sent",
        message_id=message_id,
        sent_at=uow.now,
        last_error=None,
    )


def mark_reminder_failed(
    uow: UnitOfWork, reminder: Reminder, *, error: str, retry_at: datetime | None
) -> Reminder:
    """A send failed: back to ``pending`` until ``retry_at``, or ``failed`` for good.

    ``error`` must not carry personal data (Telegram's error text does not).
    """
    reminder_state.require(reminder, ReminderStatus.SENDING)
    if retry_at is None:
        return reminder_state.move(
            uow, reminder, ReminderStatus.FAILED, "reminder.failed", last_error=error
        )
    return reminder_state.move(
        uow,
        reminder,
        ReminderStatus.PENDING,
        "reminder.retry_scheduled",
        next_attempt_at=retry_at,
        last_error=error,
    )


def _left_sending(uow: UnitOfWork, worker: str | None, *, handed: bool) -> list[Reminder]:
    query = select(Reminder).where(
        Reminder.status == ReminderStatus.SENDING,
        col(Reminder.handed_at).is_not(None) if handed else col(Reminder.handed_at).is_(None),
    )
    if worker is not None:
        query = query.where(Reminder.claimed_by == worker)
    return list(uow.session.exec(query.order_by(col(Reminder.id)).with_for_update()).all())


def release_never_handed(uow: UnitOfWork, *, worker: str | None = None) -> list[int]:
    """Claims a stopped worker left before handing them to their channel: back to ``pending``.

    Nothing of these can have reached the patient (the worker records the
    hand-off before the send leaves), so they are sent as usual, not as a
    repeat; treating them as maybe delivered would leave a reminder unsent
    for good once its repeat was caught the same way. As for a graceful stop
    (``scheduler.outbox.release``) the claim does not count as an attempt.
    ``worker`` limits this to one worker's claims.
    """
    rows = _left_sending(uow, worker, handed=False)
    for reminder in rows:
        reminder.attempts = max(0, reminder.attempts - 1)
    return reminder_state.move_many(
        uow,
        rows,
        ReminderStatus.PENDING,
        "reminder.released",
        changes={"claimed_by": None, "claimed_at": None},
        reason="claimed by a worker that stopped before handing it to its channel",
    )


def mark_interrupted_uncertain(uow: UnitOfWork, *, worker: str | None = None) -> list[int]:
    """Reminders a stopped worker had handed to their channel become ``uncertain``.

    After a crash the store cannot know whether the channel delivered the
    message, so it is not counted as sent. The reminder engine then follows
    its one documented policy (scheduler.engine): an uncertain reminder is
    resent once, marked as a repeat, and a repeat is never repeated, so a
    patient never misses a reminder and never gets more than one repeat.
    Claims never handed over are :func:`release_never_handed`'s.
    ``worker`` limits this to one worker's claims.
    """
    return reminder_state.move_many(
        uow,
        _left_sending(uow, worker, handed=True),
        ReminderStatus.UNCERTAIN,
        "reminder.uncertain",
        changes={"last_error": "interrupted while sending"},
    )


# --- queries ---------------------------------------------------------------------


def patient_by_study_id(session: Session, study_id: str) -> Patient | None:
    """The patient with ``study_id``, case-insensitively: the one lookup of every
    command that names a patient. An exact match wins should two differ only
    by case (enrolled before the lookup ignored case)."""
    found = session.exec(select(Patient).where(study_id_is(study_id))).all()
    return next((p for p in found if p.study_id == study_id), found[0] if found else None)


def active_staff(session: Session, role: StaffRole | None = None) -> list[Staff]:
    """Active staff, optionally of one role (e.g. the coordinators to alert)."""
    query = select(Staff).where(col(Staff.active).is_(True)).order_by(col(Staff.id))
    if role is not None:
        query = query.where(Staff.role == role)
    return list(session.exec(query).all())


def active_patients(session: Session) -> list[Patient]:
    query = select(Patient).where(Patient.status == PatientStatus.ACTIVE)
    return list(session.exec(query.order_by(col(Patient.study_id))).all())


def events_of_patient(session: Session, patient_id: int) -> list[PlannedEventRow]:
    """A patient's events in calendar order."""
    query = (
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .order_by(col(PlannedEventRow.starts_at), col(PlannedEventRow.id))
    )
    return list(session.exec(query).all())


def reminders_of_patient(session: Session, patient_id: int) -> list[Reminder]:
    query = (
        select(Reminder)
        .where(Reminder.patient_id == patient_id)
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    return list(session.exec(query).all())


def pending_reminders_between(session: Session, start: datetime, end: datetime) -> list[Reminder]:
    """Pending reminders due in ``[start, end)``, oldest first (to arm the scheduler)."""
    query = (
        select(Reminder)
        .where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.due_at >= start,
            Reminder.due_at < end,
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    return list(session.exec(query).all())


def invite_by_token(session: Session, token: str) -> Invite | None:
    """The invite whose token hashes to the stored hash (the token is never stored)."""
    return session.exec(select(Invite).where(Invite.token_hash == hash_token(token))).first()
