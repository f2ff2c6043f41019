"""The one owner of a reminder's status: every change of ``Reminder.status`` goes through here.

The outbox states (:class:`~core.store.models.ReminderStatus`) are a small
state machine, and which moves are legal is a rule of the trial: a reminder
that reached the patient is never sent again, a failed one is never retried
by accident, a cancelled one only comes back when its event is moved. Before
this module, half a dozen writers assigned the status themselves and the
rule lived nowhere. Now :data:`ALLOWED` says it, :func:`move` (one row) and
:func:`move_many` (a batch) are the only code that assigns the status, and
any other move raises :class:`IllegalTransition`: a programming error (a
writer asked for a move the trial does not have), never something a user
typed. ``tests/test_reminder_state.py`` checks the table cell by cell and
scans the code for status writes elsewhere.

Inserting a new reminder (``pending``, or ``missed`` when already due) is
its creation, not a move, and stays with its writer (enrollment's bulk
insert, a reschedule's new slot).

The operations' own preconditions stay with them (e.g. "only a ``sending``
reminder can be marked sent"), through :func:`require`: the table says what
can ever happen, the operation says what it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from core.store.models import Reminder, ReminderStatus
from core.store.uow import UnitOfWork, table_of

_S = ReminderStatus

ALLOWED: Final[Mapping[ReminderStatus, frozenset[ReminderStatus]]] = {
    _S.PENDING: frozenset(
        {_S.SENDING, _S.CANCELLED, _S.SKIPPED, _S.MISSED, _S.PENDING, _S.UNCERTAIN}
    ),
    _S.SENDING: frozenset({_S.SENT, _S.FAILED, _S.PENDING, _S.UNCERTAIN, _S.SKIPPED, _S.MISSED}),
    _S.UNCERTAIN: frozenset({_S.PENDING}),
    _S.SENT: frozenset({_S.DELIVERED, _S.FAILED, _S.UNCERTAIN}),
    _S.DELIVERED: frozenset(),
    _S.FAILED: frozenset(),
    _S.SKIPPED: frozenset({_S.PENDING, _S.MISSED}),
    _S.MISSED: frozenset({_S.PENDING, _S.MISSED}),
    _S.CANCELLED: frozenset({_S.PENDING, _S.MISSED}),
}
"""Each status, and the statuses a reminder in it may move to. Why each move exists:

``pending``
    - ``-> sending``: a worker claims it when due (``reminder.claimed``).
    - ``-> cancelled``: the patient withdrew, or its event moved and the slot
      no longer exists (``reminder.cancelled``).
    - ``-> skipped``: its event was recorded done; a reminder for it would
      only confuse the patient (``reminder.skipped``).
    - ``-> missed``: its event moved to a time already past; never sent late
      (``reminder.rescheduled``).
    - ``-> pending``: its event moved and it takes the new, future time
      (``reminder.rescheduled``; the status itself does not change).
    - ``-> uncertain``: the database was restored from a backup taken before
      it went, so it may have reached the patient after the backup; the
      uncertain policy's one marked repeat applies (``reminder.restored_uncertain``,
      :mod:`core.store.restore`).

``sending``
    - ``-> sent``: the channel took it (``reminder.sent``).
    - ``-> failed``: the channel refused it for good, or the retries ran out
      (``reminder.failed``).
    - ``-> pending``: a send that may be retried waits for its back-off
      (``reminder.retry_scheduled``), or the worker stopped (or died) before
      handing it to its channel (``reminder.released``).
    - ``-> uncertain``: it may or may not have been delivered: a read timeout,
      or a worker that died after handing it to its channel
      (``reminder.uncertain``), or a restored backup caught it claimed
      (``reminder.restored_uncertain``).
    - ``-> skipped``: the send-time re-check found it no longer relevant
      (``reminder.skipped``).
    - ``-> missed``: its time passed before it could be sent (``reminder.missed``).

``uncertain``
    - ``-> pending``: the uncertain policy's one resend, marked as a repeat
      (``reminder.repeat_scheduled``).

``sent``
    The channel took it; a channel that reports delivery (WeChat's receipt,
    docs/wechat-oa/callbacks.md §5) may still say what became of it:

    - ``-> delivered``: it reached the patient (``reminder.delivered``).
    - ``-> failed``: the patient refuses the account's messages; they are
      marked unreachable (``reminder.failed``).
    - ``-> uncertain``: it failed for another reason, so the uncertain
      policy's one repeat applies, as after a read timeout
      (``reminder.uncertain``).

``delivered``, ``failed``
    Final: what reached the patient is never sent again (a moved event gets
    a new revision of the slot instead), and a failure is not retried by
    accident.

``skipped``, ``missed``, ``cancelled``
    Never reached the patient, so when a move brings the slot back the row is
    reused (the slot is unique per patient and event): ``-> pending`` for a
    future time, ``-> missed`` for a past one (``reminder.rescheduled``; for a
    ``missed`` row moved to another past time the status stays).
"""


class IllegalTransition(ValueError):
    """A writer asked for a reminder status change that :data:`ALLOWED` does not have.

    A programming error, not a user error: no input should reach this.
    """

    def __init__(self, reminder_id: int | None, before: ReminderStatus, after: ReminderStatus):
        super().__init__(
            f"reminder {reminder_id}: {before.value} -> {after.value} is not an allowed "
            f"transition (from {before.value}: {_names(ALLOWED[before]) or 'none'})"
        )
        self.reminder_id = reminder_id
        self.before = before
        self.after = after


def check(reminder: Reminder, to: ReminderStatus) -> None:
    """Raise :class:`IllegalTransition` unless ``reminder`` may move to ``to``."""
    if to not in ALLOWED[reminder.status]:
        raise IllegalTransition(reminder.id, reminder.status, to)


def require(reminder: Reminder, *statuses: ReminderStatus) -> None:
    """An operation's precondition: ``reminder`` is in one of ``statuses`` (else ValueError)."""
    if reminder.status not in statuses:
        wanted = statuses[0].value if len(statuses) == 1 else f"one of {_names(statuses)}"
        raise ValueError(f"reminder {reminder.id} is {reminder.status.value}, not {wanted}")


def move(
    uow: UnitOfWork,
    reminder: Reminder,
    to: ReminderStatus,
    action: str,
    *,
    reason: str | None = None,
    **changes: object,
) -> Reminder:
    """Move one reminder to ``to`` with ``changes`` to its other columns, audited as ``action``.

    Written by the unit of work's audited update, so the record holds the old
    and new values of the columns that changed. Refused (nothing changed) when
    :data:`ALLOWED` does not have the move.
    """
    if "status" in changes:
        raise TypeError("the status is the 'to' argument")
    check(reminder, to)
    return uow.update(reminder, action, reason=reason, status=to, **changes)


def move_many(
    uow: UnitOfWork,
    reminders: Sequence[Reminder],
    to: ReminderStatus,
    action: str,
    *,
    changes: Mapping[str, object] | None = None,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
    reason: str | None = None,
) -> list[int]:
    """Move a batch of reminders to ``to`` (the same ``changes`` on each); their ids.

    For the moves of many rows at once (a worker's claims, a withdrawal):
    every row is checked first, so a refused one leaves them all unchanged;
    then one flush and *one* audit record for the batch, as these writers
    always recorded them (``entity_key`` the ids joined by commas; ``after``
    the ids, the new status and ``after``'s extra keys; ``before`` as given).
    A record per row would cost a row's worth of audit per reminder for
    nothing the batch record does not say.
    """
    if not reminders:
        return []
    fields = dict(changes or {})
    if "status" in fields:
        raise TypeError("the status is the 'to' argument")
    unknown = sorted(set(fields) - {c.key for c in table_of(Reminder).columns})
    if unknown:
        raise AttributeError(f"Reminder has no column {', '.join(unknown)}")
    for reminder in reminders:
        check(reminder, to)
    for reminder in reminders:
        reminder.status = to
        for key, value in fields.items():
            setattr(reminder, key, value)
    uow.session.flush()
    ids: list[int] = []
    for reminder in reminders:
        assert reminder.id is not None  # loaded from the table
        ids.append(reminder.id)
    uow.audit(
        action,
        "reminder",
        ",".join(str(i) for i in ids),
        before=before,
        after={**(after or {}), "ids": ids, "status": to},
        reason=reason,
    )
    return ids


def _names(statuses: frozenset[ReminderStatus] | tuple[ReminderStatus, ...]) -> str:
    return ", ".join(sorted(s.value for s in statuses))
