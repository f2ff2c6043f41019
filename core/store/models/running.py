"""Running state the bot finds again after a restart.

Where each person is in a chat flow, clinical entries waiting for Confirm,
small settings (the rehearsal clock, periodic jobs), the escalation steps
already sent, and which process polls the bot's channel (the process lock).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.store.models.conventions import PERSON_KEY_LENGTH, enum_type
from core.store.types import UtcDateTime

# ``chat:message`` of a channel account's message (a chat id is an account's length).
SOURCE_MESSAGE_LENGTH = 96


class Conversation(SQLModel, table=True):
    """Where one person is in a multi-step chat flow (choosing a language, a report).

    The bot keeps no flow state in memory, so a restart mid-flow loses
    nothing: the next message or button press continues from this row.
    """

    __tablename__ = "conversation"

    person: str = Field(sa_type=String(PERSON_KEY_LENGTH), primary_key=True)
    flow: str = Field(sa_type=String(32))
    step: str = Field(sa_type=String(32))
    data: str = Field(default="{}", sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime())


class ActionStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # The command it came from was edited: a newer preview took its place.
    REPLACED = "replaced"


class PendingAction(SQLModel, table=True):
    """Clinical data a member of staff typed, waiting for their Confirm or Cancel.

    Nothing clinical is stored until Confirm: the parsed values wait here, and
    the buttons name this row, so an old or repeated button finds it decided
    and changes nothing.
    """

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(sa_type=String(PERSON_KEY_LENGTH), index=True)
    kind: str = Field(sa_type=String(32))
    payload: str = Field(sa_type=Text)
    status: ActionStatus = Field(
        default=ActionStatus.OPEN, sa_type=enum_type(ActionStatus, "status")
    )
    created_at: datetime = Field(sa_type=UtcDateTime())
    expires_at: datetime = Field(sa_type=UtcDateTime())
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # The owner's message the command came in (``chat:message``), so editing that
    # message can replace this preview; None when it came from no message.
    source_message: str | None = Field(default=None, sa_type=String(SOURCE_MESSAGE_LENGTH))


class Setting(SQLModel, table=True):
    """A small piece of running state the bot must find again after a restart.

    Keys in use: ``rehearsal_clock`` (where the rehearsal clock stood, for
    ``python -m bot run --resume``) and ``job:<name>`` (the trial instant a
    periodic scheduler job last ran for). Values are JSON text.
    """

    __tablename__ = "setting"

    key: str = Field(sa_type=String(64), primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime())


class EscalationNotice(SQLModel, table=True):
    """An escalation step already sent (or covered by a later one): sent once, never again."""

    __tablename__ = "escalation_notice"
    __table_args__ = (UniqueConstraint("kind", "subject", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))
    subject: str = Field(sa_type=String(64))
    step: str = Field(sa_type=String(32))
    sent_at: datetime = Field(sa_type=UtcDateTime())


class ProcessLock(SQLModel, table=True):
    """One process's claim to a job only one may do at a time: polling Telegram with a token.

    ``job`` is what the lock is for (``telegram-polling:<bot id>``), ``holder`` the process
    (``<host>-<pid>``). The holder refreshes ``heartbeat_at`` (real time, not the
    trial clock) while it runs; a lock whose heartbeat stopped longer ago than
    the takeover limit is taken over by the next process that asks
    (:mod:`core.store.process_lock`).
    """

    __tablename__ = "process_lock"

    job: str = Field(sa_type=String(64), primary_key=True)
    holder: str = Field(sa_type=String(64))
    acquired_at: datetime = Field(sa_type=UtcDateTime())
    heartbeat_at: datetime = Field(sa_type=UtcDateTime())
