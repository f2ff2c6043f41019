"""The plan and its reminders: each patient's planned events and the outbox of reminders."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.schedule import EventKind, Slot
from core.store.models.conventions import enum_type, one_of
from core.store.types import UtcDateTime


class EventStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class ReminderStatus(StrEnum):
    """The outbox states (docs/DESIGN.md §3).

    ``pending`` waits for its due instant; a worker moves it to ``sending``
    when it claims it; then ``sent`` (the channel took it: its message id is
    kept), ``delivered`` (a channel that reports delivery, WeChat, said it
    reached the patient), ``failed`` (gave up), ``uncertain`` (the worker
    died after the request left, or the answer timed out: the channel may or
    may not have delivered it; the engine resends it once, marked as a
    repeat), ``skipped`` (no longer relevant, e.g. the event is done),
    ``missed`` (its time passed before it could be sent: never sent late) or
    ``cancelled`` (the event moved or the patient left).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"
    MISSED = "missed"
    CANCELLED = "cancelled"


class PlannedEventRow(SQLModel, table=True):
    """One event of a patient's plan (``core.schedule.PlannedEvent``) and what happened."""

    __tablename__ = "planned_event"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "number"),
        # /status counts this week's events by kind and booked day; status and
        # patient_id make the index covering, so the count never reads the table.
        Index(None, "kind", "scheduled_date", "status", "patient_id"),
        one_of("kind", EventKind),
        one_of("status", EventStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    kind: EventKind = Field(sa_type=enum_type(EventKind, "kind", constraint=False))
    number: int
    week: int
    target_date: date
    scheduled_date: date
    window_before: int
    window_after: int
    starts_at: datetime = Field(sa_type=UtcDateTime())
    ends_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    status: EventStatus = Field(
        default=EventStatus.PLANNED, sa_type=enum_type(EventStatus, "status", constraint=False)
    )
    actual_date: date | None = None
    deviation_reason: str | None = Field(default=None, sa_type=Text)
    # When a coordinator recorded the visit missed (/visit), and why (core.visits).
    missed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    missed_reason: str | None = Field(default=None, sa_type=Text)
    # One more each time the event is moved: the calendar file's SEQUENCE (RFC 5545).
    # 0 from the database itself, so the enrollment's bulk insert need not name it.
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# The rows of the reminder retry index: a retry waiting for its instant.
RETRY_WAITING = "next_attempt_at IS NOT NULL"
# The rows of the message index: reminders a channel took, found again by its receipt.
HAS_MESSAGE = "message_id IS NOT NULL"


class Reminder(SQLModel, table=True):
    """The outbox: one message to send, unique per patient, event and slot."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("patient_id", "event_id", "slot", "revision"),
        Index(None, "status", "due_at"),
        # The engine's refill looks up pending retries by instant; without it
        # every refill scans all pending rows (16 s cold start at 10,000 patients).
        # Only retries have the instant, so the rows enrollment writes stay out.
        Index(
            None,
            "status",
            "next_attempt_at",
            sqlite_where=text(RETRY_WAITING),
            postgresql_where=text(RETRY_WAITING),
        ),
        # A reminder's event, and /status asking whether a urine collection was
        # answered "Finished", without reading the table.
        Index(None, "event_id", "response"),
        # A delivery receipt names the message, not the reminder; only sent rows
        # have one, so enrollment's bulk insert stays out of this index too.
        Index(
            None,
            "message_id",
            sqlite_where=text(HAS_MESSAGE),
            postgresql_where=text(HAS_MESSAGE),
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        one_of("slot", Slot),
        one_of("status", ReminderStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    event_id: int = Field(foreign_key="planned_event.id")
    slot: Slot = Field(sa_type=enum_type(Slot, "slot", constraint=False))
    due_at: datetime = Field(sa_type=UtcDateTime())
    announces_at: datetime = Field(sa_type=UtcDateTime())
    status: ReminderStatus = Field(
        default=ReminderStatus.PENDING,
        sa_type=enum_type(ReminderStatus, "status", constraint=False),
    )
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_error: str | None = Field(default=None, sa_type=Text)
    # The channel's id of the message: Telegram's message_id, WeChat's msgid. A
    # WeChat msgid is an int64 above 2**53 (docs/wechat-oa/api.json): an exact
    # integer here, never a float.
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # When this claim's message was handed to its channel (just before the send; each
    # claim clears it). A claim a stopped worker left without it never reached the
    # network: it is given back, not treated as maybe delivered (scheduler.sending).
    handed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    is_repeat: bool = False
    # A slot's reminder is sent once per booking of its event: moving an event
    # after a reminder went out adds the next revision for the new date.
    revision: int = 0
    response: str | None = Field(default=None, sa_type=String(32))
    responded_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
