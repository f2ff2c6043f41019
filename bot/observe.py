"""What the bot tells whoever watches it run: sends, handled events, successful polls.

The channel adapters, the router and the conversation layer call these hooks
at the one place each thing happens (:meth:`bot.routing.Router.deliver`,
:meth:`bot.conversations.dispatch.Conversations.handle`, Telegram's
``getUpdates`` request) and know nothing of what is done with them. In a
running bot the observer is :class:`bot.metrics.Metrics`; elsewhere
(tests, offline commands) it is :class:`Unobserved`, which does nothing.
"""

from __future__ import annotations

from typing import Protocol

from core.store.models import Channel
from scheduler.ports import (
    Blocked,
    MaybeDelivered,
    NotDelivered,
    Rejected,
    Undeliverable,
)

# What became of one message handed to a channel (the label of the sends metric).
SENT = "sent"
RATE_LIMITED = "rate_limited"
NOT_DELIVERED = "not_delivered"
MAYBE_DELIVERED = "maybe_delivered"
BLOCKED = "blocked"
REJECTED = "rejected"
UNDELIVERABLE = "undeliverable"
ERROR = "error"


def outcome_of(error: BaseException) -> str:
    """The outcome a failed delivery had, from the scheduler's outcome the transport raised.

    A ``NotDelivered`` with Telegram's ``retry_after`` is a 429 (rate limited);
    anything that is no scheduler outcome is an ``error``.
    """
    if isinstance(error, NotDelivered):
        return RATE_LIMITED if error.retry_after is not None else NOT_DELIVERED
    if isinstance(error, MaybeDelivered):
        return MAYBE_DELIVERED
    if isinstance(error, Blocked):
        return BLOCKED
    if isinstance(error, Rejected):
        return REJECTED
    if isinstance(error, Undeliverable):
        return UNDELIVERABLE
    return ERROR


class Observer(Protocol):
    """The hooks; each must be cheap and must never raise."""

    def delivered(self, channel: Channel, outcome: str) -> None:
        """One message was handed to ``channel``; ``outcome`` says what became of it."""
        ...

    def handled(self, channel: Channel, seconds: float) -> None:
        """One inbound event on ``channel`` was answered in ``seconds``."""
        ...

    def polled(self) -> None:
        """A ``getUpdates`` request to Telegram succeeded."""
        ...


class Unobserved:
    """The observer when no one watches: every hook does nothing."""

    def delivered(self, channel: Channel, outcome: str) -> None:
        del channel, outcome

    def handled(self, channel: Channel, seconds: float) -> None:
        del channel, seconds

    def polled(self) -> None:
        pass
