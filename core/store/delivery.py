"""What a channel's delivery receipt says about a reminder it took: delivered, or not.

Telegram's answer to a send is the whole story: ``sent``. WeChat answers a
template message with its ``msgid`` and later pushes a receipt for it
(TEMPLATESENDJOBFINISH, docs/wechat-oa/callbacks.md §5): success, the
patient refuses the account's messages, or a failure of WeChat's own. A
receipt names the message, so the reminder is found by the patient and the
message id the send stored (docs/DESIGN.md §3: ``sent -> delivered``).

The moves themselves are :mod:`core.store.reminder_state`'s: ``sent ->
delivered``, ``sent -> failed`` (refused: the caller also marks the patient
unreachable) and ``sent -> uncertain`` (failed otherwise: the engine's
uncertain policy sends it once more, marked as a repeat). A receipt for a
reminder that is no longer ``sent`` (a receipt delivered twice) changes
nothing.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, col, select

from core.store.models import Reminder, ReminderStatus
from core.store.reminder_state import move
from core.store.uow import UnitOfWork


class Receipt(StrEnum):
    """What a channel reported about a message it had taken."""

    DELIVERED = "delivered"
    #: The person refuses the account's messages (WeChat: "failed:user block").
    REFUSED = "refused"
    #: Not delivered for another reason (WeChat: "failed: system failed" and the rest).
    FAILED = "failed"


def reminder_by_message(
    session: Session, patient_id: int, message_id: int, *, for_update: bool = False
) -> Reminder | None:
    """The patient's reminder that went out as ``message_id`` on their channel, if any."""
    query = select(Reminder).where(
        col(Reminder.message_id) == message_id, Reminder.patient_id == patient_id
    )
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def record_receipt(uow: UnitOfWork, reminder: Reminder, receipt: Receipt, detail: str) -> bool:
    """Move a ``sent`` reminder by its receipt (``detail``: the channel's words); True if moved.

    ``detail`` carries no personal data (WeChat's status strings do not).
    """
    if reminder.status != ReminderStatus.SENT:
        return False
    match receipt:
        case Receipt.DELIVERED:
            move(
                uow, reminder, ReminderStatus.DELIVERED, "reminder.delivered", delivered_at=uow.now
            )
        case Receipt.REFUSED:
            move(
                uow,
                reminder,
                ReminderStatus.FAILED,
                "reminder.failed",
                last_error=f"not delivered: {detail}",
            )
        case Receipt.FAILED:
            move(
                uow,
                reminder,
                ReminderStatus.UNCERTAIN,
                "reminder.uncertain",
                last_error=f"not delivered: {detail}",
            )
    return True
