"""Alerts to the study team: one message to each active member of staff, in their language.

Patient reports, serious adverse events and unreachable patients all reach
staff the same way: the caller says what to write as a function of the
reader's :class:`~bot.i18n.Translator`, and each member of staff gets it in
the language they chose (Chinese when they chose none). An alert names a
patient by study ID only (docs/DESIGN.md §4: "Logs carry study IDs, never
names or phone numbers").

One member of staff who blocked the bot, or whose chat fails, does not stop
the others: the failure is logged with their staff row id and the next one
is sent.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Bot
from telegram.error import TelegramError

from bot.context import Buttons, Services, keyboard
from bot.i18n import Translator, choose_language
from core.store.db import read_session
from core.store.models import Staff, StaffRole
from core.store.services import active_staff

log = logging.getLogger(__name__)

# Labels of alert buttons may depend on the reader's language.
AlertButtons = Buttons | Callable[[Translator], Buttons]


def staff_to_alert(services: Services, roles: Iterable[StaffRole] | None = None) -> list[Staff]:
    """Active staff with a chat to write to, optionally only those of ``roles``, by row id."""
    wanted = None if roles is None else frozenset(StaffRole(r) for r in roles)
    with read_session(services.engine) as session:
        members = active_staff(session)
    return [
        member
        for member in members
        if member.telegram_chat_id is not None and (wanted is None or member.role in wanted)
    ]


def staff_translator(services: Services, member: Staff) -> Translator:
    """The member's chosen language, else the default (simplified Chinese)."""
    language = member.language.value if member.language is not None else None
    return Translator(choose_language(language, None), services.zone)


# Waits until a message to this chat may go (scheduler.pacing.Pacer.acquire).
Pace = Callable[[int], Awaitable[object]]


async def alert_staff(
    bot: Bot,
    services: Services,
    make_text: Callable[[Translator], str],
    *,
    roles: Iterable[StaffRole] | None = None,
    buttons: AlertButtons | None = None,
    pace: Pace | None = None,
) -> int:
    """Send ``make_text(t)`` to every active member of staff (or those of ``roles``).

    ``make_text`` returns plain text in the reader's language; it is escaped
    here, so a patient's own words inside it reach staff exactly as typed.
    ``buttons`` (fixed, or built from the reader's translator) go under the
    message. ``pace`` (the reminder engine's pacer) is awaited before each
    message, so alerts sent by its periodic jobs share Telegram's per-chat and
    overall limits with the reminders. Returns how many members were sent the alert. A failure to one
    member (blocked the bot, chat gone, network) is logged by staff row id
    and the others are still sent.
    """
    sent = 0
    for member in staff_to_alert(services, roles):
        assert member.telegram_chat_id is not None
        t = staff_translator(services, member)
        rows = buttons(t) if callable(buttons) else buttons
        if pace is not None:
            await pace(member.telegram_chat_id)
        try:
            await bot.send_message(
                member.telegram_chat_id,
                html.escape(make_text(t), quote=False),
                reply_markup=keyboard(rows),
            )
        except TelegramError as error:
            log.warning("alert to staff %s not delivered: %s", member.id, type(error).__name__)
            continue
        sent += 1
    return sent
