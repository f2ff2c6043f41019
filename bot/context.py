"""What every handler needs: the services, who is writing, their language, a way to answer.

Handlers only translate between a conversation and the trial: they identify
the person, check the authorization table (:mod:`bot.roles`), and call
``core``. They know no channel: what the person did arrives as an
:class:`~bot.conversations.events.Inbound`, and every answer goes out
through the channel's :class:`~bot.conversations.events.Replies` port.
State lives in the database; the services hold no per-person state.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.conversations.events import (
    Attachment,
    FileRef,
    Inbound,
    MessageRef,
    Options,
    Replies,
    StoredFile,
    Text,
)
from bot.i18n import Lang, Translator, choose_language
from bot.observe import Observer, Unobserved
from bot.roles import Role
from core.entry_syntax import fold_command_words
from core.messages import N_
from core.protocol import Protocol
from core.schedule import trial_today
from core.store.audit import patient_actor, staff_actor
from core.store.db import read_session
from core.store.identities import patient_by_account, staff_by_account
from core.store.models import Channel, Patient, PatientStatus, Staff
from core.store.uow import UnitOfWork
from scheduler.clock import Clock

if TYPE_CHECKING:
    from bot.conversations.tables import Tables
    from bot.routing import Router

log = logging.getLogger(__name__)

# Kept for the handlers' signatures: options under a message, (label, token) rows.
Buttons = Options


@dataclass(frozen=True, slots=True)
class JoinCode:
    """A join token as an image to scan (a PNG), usable until ``expires_at``."""

    image: bytes
    expires_at: datetime


class JoinCodeUnavailable(Exception):
    """The channel could not make a join code now (its reason is logged, not shown)."""


class JoinCodes(typing.Protocol):
    """A channel people join by scanning a code (WeChat): a join token as that code."""

    async def make(self, token: str, expires_at: datetime) -> JoinCode:
        """The code that redeems ``token`` when scanned, valid until ``expires_at`` at the
        latest; raises :class:`JoinCodeUnavailable` when the channel refused."""
        ...


@dataclass(slots=True)
class Services:
    """Long-lived parts shared by all handlers (no per-person state).

    ``router`` reaches people other than the one writing (alerts to staff, a
    message to a patient) on their own channel; ``bot_username`` is
    Telegram's name of the bot, for its join links; ``join_codes`` makes the
    codes of the channels people join by scanning, for each such channel that
    is on; ``staff_channels`` are the other channels staff may join on;
    ``rehearsal`` is true when the bot talks to local stand-ins, not the
    real platforms (training, the demo, tests); ``audit_key`` signs the
    audit head the daily digest shows (AUDIT_KEY); ``observer`` is told what
    the bot does, for its metrics (:mod:`bot.observe`).
    """

    engine: Engine
    protocol: Protocol
    clock: Clock
    zone: ZoneInfo
    bot_username: str | None = None
    router: Router | None = field(default=None)
    join_codes: dict[Channel, JoinCodes] = field(default_factory=dict)
    # Channels beside Telegram that staff can join on (WeCom, when it is set up).
    staff_channels: set[Channel] = field(default_factory=set)
    rehearsal: bool = False

    @property
    def calendar_domain(self) -> str:
        """The right-hand side of calendar UIDs: the site's domain, set apart in a rehearsal.

        A rehearsal's event rows are numbered from 1 like production's, so
        under one domain a trainee's phone would hold entries a patient's
        real calendar file then "updates" (RFC 5545 section 3.8.4.7).
        """
        domain = self.protocol.site.calendar_domain
        return f"rehearsal.{domain}" if self.rehearsal else domain

    # Not in the database, so the anchor it signs cannot be rewritten with it.
    audit_key: bytes | None = field(default=None, repr=False)
    # Told of every send, answered event and poll (bot.metrics in a running bot).
    observer: Observer = field(default_factory=Unobserved)


@dataclass(frozen=True, slots=True)
class Person:
    """Who did something: their account, role (None for no role) and language.

    ``withdrawn`` marks a patient who has left the study: they have no role
    (they are authorized for nothing), but they are not a stranger either, so
    what they are told names the study team to contact, in their own language;
    ``patient`` is kept for the one thing they may still ask for, the calendar
    file that takes their study appointments off their phone.
    """

    inbound: Inbound
    role: Role | None
    lang: Lang
    patient: Patient | None = None
    staff: Staff | None = None
    withdrawn: bool = False

    @property
    def key(self) -> str:
        """The channel account (``telegram:5001``): owner of this person's flows and drafts."""
        return self.inbound.person

    @property
    def actor(self) -> str:
        """How the audit trail names this person (never by name)."""
        if self.patient is not None:
            return patient_actor(self.patient.study_id)
        if self.staff is not None and self.staff.id is not None:
            return staff_actor(self.staff.id)
        return self.key

    @property
    def label(self) -> str:
        """For logs: a study ID or a staff id, never a name."""
        return self.actor


def identify(services: Services, inbound: Inbound) -> Person:
    """The person behind an inbound event, found by their channel account."""
    with read_session(services.engine) as session:
        patient = patient_by_account(session, inbound.channel, inbound.account)
        if patient is not None and patient.status == PatientStatus.ACTIVE:
            lang = choose_language(patient.language, inbound.language)
            return Person(inbound, Role.PATIENT, lang, patient=patient)
        staff = staff_by_account(session, inbound.channel, inbound.account)
        if staff is not None and staff.active:
            lang = choose_language(staff.language, inbound.language)
            return Person(inbound, Role(staff.role.value), lang, staff=staff)
        if patient is not None and patient.status == PatientStatus.WITHDRAWN:
            # No role (authorized for nothing), but answered in their stored language.
            lang = choose_language(patient.language, inbound.language)
            return Person(inbound, None, lang, patient=patient, withdrawn=True)
    # A deactivated member of staff is treated as having no role, like a stranger.
    return Person(inbound, None, choose_language(None, inbound.language))


@dataclass(slots=True)
class Ctx:
    """One inbound event being handled: services, the person, their translator, the replies."""

    services: Services
    person: Person
    t: Translator
    out: Replies
    tables: Tables

    @property
    def inbound(self) -> Inbound:
        return self.person.inbound

    @property
    def joins_by_code(self) -> bool:
        """True on a channel people join by scanning a code (WeChat), not by opening a link."""
        return self.inbound.channel in self.services.join_codes

    @property
    def args(self) -> list[str]:
        """The words after a command, as ASCII command syntax.

        Folded here, once for every command and channel
        (:func:`core.entry_syntax.fold_command_words`): ``Ｐ０１`` is ``P01``,
        ``＝`` is ``=``, a ``，`` between fields separates them.
        """
        return fold_command_words(self.inbound.args)

    @property
    def router(self) -> Router:
        """How to reach other people (staff alerts) on their own channels."""
        router = self.services.router
        assert router is not None, "the application wires a router before handling anything"
        return router

    def now(self) -> datetime:
        return self.services.clock.now()

    def today(self) -> date:
        """Today in the trial's time zone (:func:`core.schedule.trial_today`)."""
        return trial_today(self.now(), self.services.zone)

    def uow(self, reason: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.services.engine, self.person.actor, self.now(), reason)

    async def reply(self, text: str, buttons: Buttons | None = None) -> MessageRef:
        """Send plain text, with options under it, to the person's chat."""
        return await self.out.send(Text(text, buttons or None))

    async def send_file(
        self, data: bytes, filename: str, caption: str, *, image: bool = False
    ) -> MessageRef:
        """Send a file (an image when ``image``) with a caption."""
        return await self.out.send(Attachment(data, filename, caption, image=image))

    async def show_file(self, file: FileRef, caption: str) -> MessageRef:
        """Show again a file a person sent earlier (by its channel's id), with a caption."""
        return await self.out.send(StoredFile(file, caption))

    async def toast(self, text: str | None = None) -> None:
        """Acknowledge the option just chosen (a short notice when ``text``)."""
        await self.out.toast(text)

    async def remove_options(self) -> None:
        """Take the options off the message whose option was just chosen."""
        if self.inbound.message is not None:
            await self.out.remove_options(self.inbound.message)

    async def edit(self, text: str, buttons: Buttons | None = None) -> None:
        """Replace the message whose option was just chosen (a page of a list)."""
        if self.inbound.message is not None:
            await self.out.edit(self.inbound.message, text, buttons)

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
TextStep = Callable[[Ctx, str], Awaitable[None]]
Choices = Callable[[Ctx], Sequence[tuple[str, str]]]


def make_ctx(services: Services, inbound: Inbound, out: Replies, tables: Tables) -> Ctx:
    person = identify(services, inbound)
    return Ctx(services, person, Translator(person.lang, services.zone), out, tables)


# Shown to anyone without a role: what the bot is and how to join, nothing more.
STRANGER_TEXT = N_(
    "This is the companion bot of a clinical study at its trial unit. It is open only to "
    "people the study team has invited. If you take part in the study or work on it, "
    "open the invitation link the study team gave you."
)
# The same where people join by scanning a code: only patients do (WeChat).
STRANGER_SCAN_TEXT = N_(
    "This is the companion bot of a clinical study at its trial unit. It is open only to "
    "people the study team has invited. If you take part in the study, scan the QR code "
    "the study team gave you."
)
