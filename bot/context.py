"""What every handler needs: the services, who is writing, and their language.

Handlers only translate between Telegram and the trial: they identify the
person, check the authorization table (:mod:`bot.roles`), and call ``core``.
State lives in the database; ``bot_data`` holds only the services.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import Lang, Translator, choose_language
from bot.roles import Role, may
from core.messages import N_
from core.protocol import Protocol
from core.store.audit import patient_actor, staff_actor, telegram_actor
from core.store.db import read_session
from core.store.models import Patient, PatientStatus, Staff
from core.store.services import patient_by_telegram_user, staff_by_telegram_user
from core.store.uow import UnitOfWork
from scheduler.clock import Clock

log = logging.getLogger(__name__)

Buttons = Sequence[Sequence[tuple[str, str]]]


@dataclass(slots=True)
class Services:
    """Long-lived parts shared by all handlers (no per-person state)."""

    engine: Engine
    protocol: Protocol
    clock: Clock
    zone: ZoneInfo
    bot_username: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """Who sent an update: their role (None for no role) and language."""

    telegram_user_id: int
    chat_id: int
    role: Role | None
    lang: Lang
    patient: Patient | None = None
    staff: Staff | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this person (never by name)."""
        if self.patient is not None:
            return patient_actor(self.patient.study_id)
        if self.staff is not None and self.staff.id is not None:
            return staff_actor(self.staff.id)
        return telegram_actor(self.telegram_user_id)

    @property
    def label(self) -> str:
        """For logs: a study ID or a staff id, never a name."""
        return self.actor


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services = context.bot_data["services"]
    assert isinstance(services, Services)
    return services


def identify(services: Services, update: Update) -> Person | None:
    """The person behind an update (None when the update has no user)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    with read_session(services.engine) as session:
        patient = patient_by_telegram_user(session, user.id)
        if patient is not None and patient.status == PatientStatus.ACTIVE:
            lang = choose_language(patient.language, user.language_code)
            return Person(user.id, chat.id, Role.PATIENT, lang, patient=patient)
        staff = staff_by_telegram_user(session, user.id)
        if staff is not None and staff.active:
            lang = choose_language(staff.language, user.language_code)
            return Person(user.id, chat.id, Role(staff.role.value), lang, staff=staff)
    # A withdrawn patient or a deactivated member of staff is treated as having no role.
    return Person(user.id, chat.id, None, choose_language(None, user.language_code))


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


async def remove_keyboard(message: object) -> None:
    """Take the buttons off a message whose question has been answered.

    Only if it still has buttons: Telegram refuses an edit that changes
    nothing. PTB fills the default parse_mode into every edit, and
    editMessageReplyMarkup has no such parameter; a None in api_kwargs drops it
    from the request.

    Taking the buttons off is cosmetic and comes after the answer was stored:
    if Telegram refuses the edit (not modified, the message is gone or can no
    longer be edited), the press still succeeded, so the refusal is only logged.
    Raising would make the error handler say "nothing was saved", which is false.
    """
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    if not message.reply_markup.inline_keyboard:
        return
    try:
        await message.edit_reply_markup(reply_markup=None, api_kwargs={"parse_mode": None})
    except TelegramError as error:
        log.info("buttons not removed from message %s: %s", message.message_id, error.message)


@dataclass(slots=True)
class Ctx:
    """One update being handled: services, the person, their translator."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    services: Services
    person: Person
    t: Translator

    def now(self) -> datetime:
        return self.services.clock.now()

    def uow(self, reason: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.services.engine, self.person.actor, self.now(), reason)

    async def reply(self, text: str, buttons: Buttons | None = None) -> Message:
        """Send plain text (escaped for HTML) to the person's chat."""
        return await self.reply_html(html.escape(text, quote=False), buttons)

    async def reply_html(self, markup: str, buttons: Buttons | None = None) -> Message:
        """Send HTML the caller built, every inserted value already escaped."""
        return await self.context.bot.send_message(
            self.person.chat_id, markup, reply_markup=keyboard(buttons)
        )

    def refuse_and_log(self, what: str) -> None:
        """Record a refused attempt in the audit trail (who, when, what)."""
        with self.uow() as uow:
            uow.audit(
                "access.refused",
                "command",
                what,
                after={"role": self.person.role.value if self.person.role else None},
            )
        log.info("refused %s for %s", what, self.person.label)


Handler = Callable[[Ctx], Awaitable[None]]
TelegramCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]


def make_ctx(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ctx | None:
    services = services_of(context)
    person = identify(services, update)
    if person is None:
        return None
    return Ctx(update, context, services, person, Translator(person.lang, services.zone))


def guarded(command: str, handler: Handler) -> TelegramCallback:
    """Run ``handler`` only for people the authorization table lets use ``command``.

    Everyone else gets a polite, localized refusal, and the attempt is
    audit-logged; nothing else changes.
    """

    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ctx = make_ctx(update, context)
        if ctx is None:
            return
        if not may(ctx.person.role, command):
            ctx.refuse_and_log(f"/{command}")
            if ctx.person.role is None:
                await ctx.reply(ctx.t._(STRANGER_TEXT))
            else:
                await ctx.reply(
                    ctx.t._(
                        "/{command} is not available to you. /help lists what you can do.",
                        command=command,
                    )
                )
            return
        await handler(ctx)

    return run


def members_only(callback: TelegramCallback) -> TelegramCallback:
    """Let only people with a role reach a feature's buttons.

    Every button the bot sends acts for someone with a role. Someone without
    one (a stranger, a withdrawn patient, deactivated staff, all still holding
    old buttons) is told the button is no longer valid, and nothing changes:
    not even the cleanup of a flow they left half-way.
    """

    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        ctx = make_ctx(update, context)
        if query is not None and ctx is not None and ctx.person.role is None:
            await query.answer(ctx.t._("This button is no longer valid."))
            return
        await callback(update, context)

    return run


# Shown to anyone without a role: what the bot is and how to join, nothing more.
STRANGER_TEXT = N_(
    "This is the companion bot of a clinical study at its trial unit. It is open only to "
    "people the study team has invited. If you take part in the study or work on it, "
    "open the invitation link the study team gave you."
)
