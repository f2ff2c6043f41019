"""The scheduler's reads and writes of the reminder outbox, beyond the shared services.

Every write takes a :class:`~core.store.uow.UnitOfWork` (one transaction,
audited); reads take a session. The state changes are the ones the
requirements list: ``sending -> sent | pending (retry) | uncertain | failed | skipped |
missed``, and ``uncertain -> pending`` for the one repeat of the uncertain
policy (:mod:`scheduler.sending`). The status itself is changed by its one
owner, :mod:`core.store.reminder_state`.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core.store.models import (
    Patient,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Setting,
)
from core.store.reminder_state import move, require
from core.store.services import pending_reminders_between
from core.store.uow import UnitOfWork

REPEAT_SCHEDULED = "may not have been delivered: sent once more, marked as a repeat"


def mark_skipped(uow: UnitOfWork, reminder: Reminder, reason: str) -> Reminder:
    """``sending -> skipped``: no longer relevant (the send-time re-check said why)."""
    require(reminder, ReminderStatus.SENDING)
    return move(uow, reminder, ReminderStatus.SKIPPED, "reminder.skipped", last_error=reason)


def mark_missed(uow: UnitOfWork, reminder: Reminder, reason: str) -> Reminder:
    """``sending -> missed``: its time passed before it could be sent."""
    require(reminder, ReminderStatus.SENDING)
    return move(uow, reminder, ReminderStatus.MISSED, "reminder.missed", last_error=reason)


def mark_handed(uow: UnitOfWork, reminder: Reminder) -> Reminder:
    """A claimed reminder is being handed to its channel: from now on it may arrive.

    Recorded before the send leaves, so a crash after it leaves the reminder
    uncertain (one repeat) and a crash before it gives it back
    (:func:`core.store.services.release_never_handed`).
    """
    require(reminder, ReminderStatus.SENDING)
    return uow.update(reminder, "reminder.handed", handed_at=uow.now)


def mark_uncertain(uow: UnitOfWork, reminder: Reminder, reason: str) -> Reminder:
    """``sending -> uncertain``: it may have been delivered (a read timeout)."""
    require(reminder, ReminderStatus.SENDING)
    return move(uow, reminder, ReminderStatus.UNCERTAIN, "reminder.uncertain", last_error=reason)


def schedule_repeat(uow: UnitOfWork, reminder: Reminder) -> Reminder:
    """``uncertain -> pending`` as a repeat: the uncertain policy's one resend."""
    require(reminder, ReminderStatus.UNCERTAIN)
    if reminder.is_repeat:
        raise ValueError(f"reminder {reminder.id} was already repeated once")
    return move(
        uow,
        reminder,
        ReminderStatus.PENDING,
        "reminder.repeat_scheduled",
        is_repeat=True,
        next_attempt_at=None,
        last_error=REPEAT_SCHEDULED,
    )


def uncertain_to_repeat(session: Session) -> list[Reminder]:
    """Uncertain reminders not yet repeated and not answered (an answer proves delivery)."""
    query = (
        select(Reminder)
        .where(
            Reminder.status == ReminderStatus.UNCERTAIN,
            col(Reminder.is_repeat).is_(False),
            col(Reminder.response).is_(None),
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .with_for_update()
    )
    return list(session.exec(query).all())


def release(uow: UnitOfWork, reminder: Reminder) -> Reminder:
    """``sending -> pending``: claimed but never attempted (the worker is stopping)."""
    require(reminder, ReminderStatus.SENDING)
    return move(
        uow,
        reminder,
        ReminderStatus.PENDING,
        "reminder.released",
        attempts=max(0, reminder.attempts - 1),
        claimed_by=None,
        claimed_at=None,
    )


def mark_unreachable(uow: UnitOfWork, patient_id: int) -> Patient | None:
    """Record that a patient blocked the bot; the patient if this is news, else None.

    Requirement: "403 (the patient blocked the bot) marks the patient
    unreachable, stops their sends, and alerts coordinators once": only the
    change from reachable to unreachable returns the patient (to alert).
    """
    patient = uow.session.get(Patient, patient_id, with_for_update=True)
    if patient is None or patient.unreachable_since is not None:
        return None
    return uow.update(patient, "patient.unreachable", unreachable_since=uow.now)


def mark_reachable(uow: UnitOfWork, patient_id: int) -> Patient | None:
    """A reminder reached a patient marked unreachable: they are back; the patient if news."""
    patient = uow.session.get(Patient, patient_id, with_for_update=True)
    if patient is None or patient.unreachable_since is None:
        return None
    return uow.update(patient, "patient.reachable", unreachable_since=None)


def last_handed(session: Session, patient_id: int) -> datetime | None:
    """The last instant one of the patient's reminders was handed to their channel.

    For a patient who blocked the bot, this is the refused reminder or the last
    daily trial (:func:`scheduler.policy.unreachable_trial_due`).
    """
    return session.exec(
        select(func.max(Reminder.handed_at)).where(Reminder.patient_id == patient_id)
    ).one()


def claimed_workers(session: Session) -> dict[str, datetime]:
    """Workers holding ``sending`` claims, with the oldest claim instant of each."""
    query = (
        select(Reminder.claimed_by, func.min(Reminder.claimed_at))
        .where(Reminder.status == ReminderStatus.SENDING)
        .group_by(col(Reminder.claimed_by))
    )
    out: dict[str, datetime] = {}
    for worker, oldest in session.exec(query):
        if worker is not None and oldest is not None:
            out[worker] = oldest
    return out


def wake_instants(session: Session, after: datetime, until: datetime) -> list[datetime]:
    """The instants in ``(after, until)`` at which a pending reminder becomes sendable.

    A reminder becomes sendable at its due instant, or at its retry instant
    when a retry is waiting.
    """
    instants: set[datetime] = set()
    for reminder in pending_reminders_between(session, after, until):
        if reminder.next_attempt_at is None or reminder.next_attempt_at <= reminder.due_at:
            instants.add(reminder.due_at)
    retries = select(Reminder.next_attempt_at).where(
        Reminder.status == ReminderStatus.PENDING,
        col(Reminder.next_attempt_at) > after,
        col(Reminder.next_attempt_at) < until,
        col(Reminder.next_attempt_at) >= col(Reminder.due_at),
    )
    instants.update(at for at in session.exec(retries) if at is not None)
    return sorted(i for i in instants if i > after)


def next_sendable(session: Session, after: datetime) -> datetime | None:
    """The first instant after ``after`` at which a pending reminder becomes sendable."""
    due = session.exec(
        select(func.min(Reminder.due_at)).where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.due_at > after,
            or_(
                col(Reminder.next_attempt_at).is_(None),
                col(Reminder.next_attempt_at) <= col(Reminder.due_at),
            ),
        )
    ).one()
    retry = session.exec(
        select(func.min(Reminder.next_attempt_at)).where(
            Reminder.status == ReminderStatus.PENDING, col(Reminder.next_attempt_at) > after
        )
    ).one()
    found = [at for at in (due, retry) if at is not None]
    return min(found) if found else None


def reminder_context(
    session: Session, reminder_id: int
) -> tuple[Reminder, Patient, PlannedEventRow] | None:
    """A reminder with its patient and event (None if the reminder is gone).

    One query, not a ``get`` each: every send reads it (the re-check, then
    the rendering), and the statement's overhead is most of the cost.
    """
    query = (
        select(Reminder, Patient, PlannedEventRow)
        .join(Patient, col(Patient.id) == col(Reminder.patient_id))
        .join(PlannedEventRow, col(PlannedEventRow.id) == col(Reminder.event_id))
        .where(Reminder.id == reminder_id)
    )
    return session.exec(query).first()


# --- for the metrics ---------------------------------------------------------------


def count_by_status(session: Session) -> dict[ReminderStatus, int]:
    """How many reminders are in each state (states without any are left out)."""
    rows = session.exec(select(Reminder.status, func.count()).group_by(col(Reminder.status)))
    return {ReminderStatus(status): int(n) for status, n in rows.all()}


def oldest_waiting(session: Session, now: datetime) -> datetime | None:
    """The due instant of the oldest pending reminder that could be sent at ``now`` (due,
    and no retry or quiet-hours deferral still to wait for); None when none waits."""
    return session.exec(
        select(func.min(Reminder.due_at)).where(
            Reminder.status == ReminderStatus.PENDING,
            col(Reminder.due_at) <= now,
            or_(
                col(Reminder.next_attempt_at).is_(None),
                col(Reminder.next_attempt_at) <= now,
            ),
        )
    ).one()


# --- settings --------------------------------------------------------------------


def get_setting(session: Session, key: str) -> object | None:
    """A stored setting's JSON value, or None."""
    row = session.get(Setting, key)
    return None if row is None else json.loads(row.value)


def put_setting(uow: UnitOfWork, key: str, value: object) -> None:
    """Store a setting (JSON), audited like every write."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    row = uow.session.get(Setting, key, with_for_update=True)
    if row is None:
        uow.add(Setting(key=key, value=text, updated_at=uow.now), "setting.created")
    else:
        uow.update(row, "setting.changed", value=text, updated_at=uow.now)
