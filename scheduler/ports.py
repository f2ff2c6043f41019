"""What the scheduler needs from the bot: a way to send a reminder and a way to alert staff.

docs/DESIGN.md §2: "``scheduler/`` ... talks to Telegram only through a
small interface the bot provides". The bot's router (``bot/routing.py``)
implements :class:`Sender` and :class:`Alerter`, and each channel's transport
turns its errors (Telegram's, WeChat's) into the outcomes below, which say
only what the scheduler must know: was the message delivered, may it have
been, or will it never be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.schedule import EventKind, Slot


class SendOutcome(Exception):
    """Base of the ways a send can fail; ``reason`` carries no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotDelivered(SendOutcome):
    """Certainly nothing reached the patient (connection refused before the request left, 429):
    try again later, as a new send.

    ``retry_after`` is Telegram's flood wait in seconds, when it gave one.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class MaybeDelivered(SendOutcome):
    """The request left and no clear answer came back (a read timeout, a 5xx, a connection
    dropped after sending): it may have been delivered."""


class Blocked(SendOutcome):
    """The patient blocked the bot or left the channel (Telegram's 403, WeChat's 43004)."""


class Rejected(SendOutcome):
    """The channel refused this message (Telegram's 400, WeChat's 47003): for good."""


class Undeliverable(SendOutcome):
    """There is no one to send it to (patient not joined, not active, reminder gone)."""


class Sender(Protocol):
    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        """Send reminder ``reminder_id`` (marked as a repeat if ``repeat``); the message id.

        Raises one of the :class:`SendOutcome` exceptions when it was not sent.
        """
        ...

    def confirmed_by_receipt(self, reminder_id: int) -> bool:
        """Whether the channel taking reminder ``reminder_id`` is not yet its delivery: a later
        receipt says whether it reached the patient (WeChat's template messages).

        A patient who blocked the bot is reachable again only once a reminder
        reached them: on such a channel, when its receipt says so.
        """
        ...


@dataclass(frozen=True, slots=True)
class MissedReminder:
    """A reminder that could not be sent while it was still useful."""

    reminder_id: int
    study_id: str
    event_kind: EventKind
    event_number: int
    slot: Slot
    due_at: datetime


@dataclass(frozen=True, slots=True)
class RemindersMissed:
    """Reminders marked ``missed`` in one run (one summary to coordinators)."""

    reminders: Sequence[MissedReminder]


@dataclass(frozen=True, slots=True)
class PatientUnreachable:
    """A patient blocked the bot: their reminders are stopped (told once)."""

    study_id: str


@dataclass(frozen=True, slots=True)
class PatientReachable:
    """A patient who had blocked the bot got a reminder again: their reminders resume (told
    once, when it happens)."""

    study_id: str


@dataclass(frozen=True, slots=True)
class ReminderRejected:
    """The channel refused a reminder: it is marked ``failed``."""

    reminder_id: int
    study_id: str
    reason: str


Alert = RemindersMissed | PatientUnreachable | PatientReachable | ReminderRejected


class Alerter(Protocol):
    async def alert(self, alert: Alert) -> None:
        """Tell the coordinators; never raises for a delivery failure."""
        ...
