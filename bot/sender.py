"""The bot's side of the reminder engine: send a reminder, tell the coordinators.

:class:`TelegramOutlet` implements the scheduler's ``Sender`` and
``Alerter`` (:mod:`scheduler.ports`). It sends with
:func:`bot.reminder_view.send_reminder` and turns python-telegram-bot's
errors into what the scheduler must know:

==============================================  =================================
Telegram / the network                          outcome
==============================================  =================================
``RetryAfter`` (429)                            ``NotDelivered(retry_after)``
``TimedOut`` while connecting or waiting for a  ``NotDelivered`` (the request
pooled connection                               never left)
``TimedOut`` otherwise (read or write timeout)  ``MaybeDelivered``
``Forbidden`` (403: blocked, account deleted)   ``Blocked``
``BadRequest`` (400), ``ChatMigrated``          ``Rejected``
other ``NetworkError`` (connection refused,     ``NotDelivered``
reset or closed, 5xx)
any other ``TelegramError`` (e.g. an            ``MaybeDelivered`` (the safe
unreadable 200 answer)                          side: it may have arrived)
==============================================  =================================

PTB raises ``TimedOut`` for connect, pool, read and write timeouts alike;
the httpx exception it wraps (``__cause__``) tells them apart.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.alerts import alert_staff
from bot.context import Services
from bot.i18n import Translator
from bot.reminder_view import ReminderUndeliverable, send_reminder
from bot.texts import EVENT_TITLES
from core.messages import N_
from core.store.models import StaffRole
from scheduler.ports import (
    Alert,
    Blocked,
    MaybeDelivered,
    NotDelivered,
    PatientUnreachable,
    Rejected,
    ReminderRejected,
    RemindersMissed,
    Undeliverable,
)

log = logging.getLogger(__name__)

# Telegram's limit is 4096 characters; a long downtime is summarised, not listed in full.
MAX_LISTED = 25

MISSED_HEADER = N_("Reminders that could not be sent in time and are now marked missed: {count}.")
MISSED_LINE = N_("{study_id}: {event}, due {when}.")
MISSED_MORE = N_("And {count} more: see the reminder list.")
UNREACHABLE = N_(
    "Patient {study_id} has blocked the bot or left Telegram, so reminders cannot reach them "
    "and are stopped. Please contact the patient another way."
)
REJECTED = N_(
    "Telegram refused reminder {reminder_id} to patient {study_id} ({reason}). It was not "
    "sent and is marked failed."
)

_NOT_SENT_TIMEOUTS = (httpx.ConnectTimeout, httpx.PoolTimeout)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Exception:
    """The scheduler outcome for a Telegram error (see the module's table)."""
    reason = f"{type(error).__name__}: {error.message}"
    if isinstance(error, RetryAfter):
        return NotDelivered(reason, retry_after=_seconds(error._retry_after))
    if isinstance(error, TimedOut):
        if isinstance(error.__cause__, _NOT_SENT_TIMEOUTS):
            return NotDelivered(reason)
        return MaybeDelivered(reason)
    if isinstance(error, Forbidden):
        return Blocked(reason)
    if isinstance(error, BadRequest | ChatMigrated):
        return Rejected(error.message)
    if isinstance(error, NetworkError):
        return NotDelivered(reason)
    return MaybeDelivered(reason)


class TelegramOutlet:
    """Sends reminders with ``bot`` and alerts coordinators (the scheduler's ports)."""

    def __init__(self, bot: Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        """Send one reminder in its patient's language; the Telegram message id."""
        try:
            return await send_reminder(self.bot, self.services, reminder_id, repeat=repeat)
        except ReminderUndeliverable as exc:
            raise Undeliverable(str(exc)) from exc
        except TelegramError as exc:
            raise classify(exc) from exc

    async def alert(self, alert: Alert) -> None:
        """Tell the coordinators, each in their own language."""
        match alert:
            case RemindersMissed(reminders=missed):

                def text(t: Translator) -> str:
                    lines = [t._(MISSED_HEADER, count=len(missed))]
                    for m in missed[:MAX_LISTED]:
                        event = t._(EVENT_TITLES[m.event_kind], number=m.event_number)
                        when = t.datetime(m.due_at)
                        lines.append(t._(MISSED_LINE, study_id=m.study_id, event=event, when=when))
                    if len(missed) > MAX_LISTED:
                        lines.append(t._(MISSED_MORE, count=len(missed) - MAX_LISTED))
                    return "\n".join(lines)

            case PatientUnreachable(study_id=study_id):

                def text(t: Translator) -> str:
                    return t._(UNREACHABLE, study_id=study_id)

            case ReminderRejected(reminder_id=reminder_id, study_id=study_id, reason=reason):

                def text(t: Translator) -> str:
                    return t._(REJECTED, reminder_id=reminder_id, study_id=study_id, reason=reason)

        sent = await alert_staff(self.bot, self.services, text, roles=[StaffRole.COORDINATOR])
        if sent == 0:
            log.warning("no coordinator could be told: %s", type(alert).__name__)
