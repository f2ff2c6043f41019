"""Reaching people unasked, each on their own channel: reminders, alerts, digests.

:class:`Router` is what the scheduler's ports (:mod:`scheduler.ports`) are
plugged into: it implements ``Sender`` (a reminder to its patient) and
``Alerter`` (coordinators told of missed, refused or unreachable
reminders, and of a patient reachable again), and the bot's own alerts and digests go through it too. For
each person it picks their preferred channel's chat
(:func:`core.store.identities.reach_of`) and hands the message to that
channel's :class:`Transport`. The scheduler never learns which channel it
was.

A transport raises the scheduler's outcomes (``NotDelivered``,
``MaybeDelivered``, ``Blocked``, ``Rejected``) for what its channel
answered; one member of staff who cannot be reached does not stop the
others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.context import Buttons, Services
from bot.conversations.events import MessageRef, ReminderText, Reply, Text
from bot.i18n import Translator, choose_language
from bot.observe import SENT, outcome_of
from bot.texts import CHANNEL_NAMES, EVENT_TITLES
from bot.views.reminder import reminder_facts, render_reminder
from core.messages import N_
from core.store.db import read_session
from core.store.identities import Reach, reach_of
from core.store.models import (
    Channel,
    Patient,
    PatientStatus,
    Reminder,
    Staff,
    StaffRole,
)
from core.store.services import active_staff, patient_by_study_id
from scheduler.outbox import reminder_context
from scheduler.ports import (
    Alert,
    PatientReachable,
    PatientUnreachable,
    ReminderRejected,
    RemindersMissed,
    SendOutcome,
    Undeliverable,
)

log = logging.getLogger(__name__)

# A long downtime is summarised, not listed in full (one message stays short).
MAX_LISTED = 25

MISSED_HEADER = N_("Reminders that could not be sent in time and are now marked missed: {count}.")
MISSED_LINE = N_("{study_id}: {event}, due {when}.")
MISSED_MORE = N_("And {count} more: see the reminder list.")
UNREACHABLE = N_(
    "Patient {study_id} has blocked the study's messages or left {channel}, so reminders "
    "cannot reach them and are stopped, but for one a day to notice when they are back. "
    "Please contact the patient another way."
)
# The same, said of the channel the patient was reminded on where it is not Telegram.
UNREACHABLE_ON: dict[Channel, str] = {
    Channel.WECHAT: N_(
        "Patient {study_id} has unfollowed or blocked the study's WeChat account, so "
        "reminders cannot reach them and are stopped, but for one a day to notice when they "
        "are back. Please contact the patient another way."
    ),
}
REACHABLE = N_(
    "Patient {study_id} can be reached on {channel} again: today's reminder was delivered, "
    "so their reminders go out as usual from now on."
)
REJECTED = N_(
    "{channel} refused reminder {reminder_id} to patient {study_id} ({reason}). It was not "
    "sent and is marked failed."
)

# Channels whose acceptance of a message is not its delivery: a receipt tells later
# (WeChat's TEMPLATESENDJOBFINISH, bot/channels/wechat/receipts.py).
RECEIPT_CHANNELS = frozenset({Channel.WECHAT})

# Waits until a message to this recipient on this channel may go
# (scheduler.pacing.Pacer.acquire: recipient, then the channel as the lane).
Pace = Callable[[Hashable, Hashable], Awaitable[object]]
# Labels of alert buttons may depend on the reader's language.
AlertButtons = Buttons | Callable[[Translator], Buttons]


class Transport(Protocol):
    """One channel's way of delivering a message to a chat on it."""

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        """Deliver ``reply`` to ``chat``; raise a ``scheduler.ports`` outcome if it was not."""
        ...


@dataclass(frozen=True, slots=True)
class Member:
    """A member of staff to alert: their row, where to reach them, their translator."""

    staff: Staff
    reach: Reach
    t: Translator


def staff_translator(services: Services, member: Staff) -> Translator:
    """The member's chosen language, else the default (simplified Chinese)."""
    language = member.language.value if member.language is not None else None
    return Translator(choose_language(language, None), services.zone)


def patient_translator(services: Services, patient: Patient) -> Translator:
    return Translator(choose_language(patient.language, None), services.zone)


class Router:
    """Every channel's transport, and whom to send what through which."""

    def __init__(self, services: Services, transports: Mapping[Channel, Transport]) -> None:
        self.services = services
        self.transports = dict(transports)

    async def deliver(self, reach: Reach, reply: Reply) -> MessageRef:
        """One message to one chat, on its channel; its outcome told to the services' observer."""
        observer = self.services.observer
        transport = self.transports.get(reach.channel)
        try:
            if transport is None:
                raise Undeliverable(f"no {reach.channel.value} channel is configured")
            sent = await transport.deliver(reach.chat, reply)
        except Exception as error:
            observer.delivered(reach.channel, outcome_of(error))
            raise
        observer.delivered(reach.channel, SENT)
        return sent

    # --- the scheduler's Sender --------------------------------------------------------

    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        """Send reminder ``reminder_id`` to its patient's channel; the channel's message id.

        Rendered in the patient's chosen language
        (:func:`bot.views.reminder.render_reminder`), with the reminder in
        short (:func:`bot.views.reminder.reminder_facts`) for a channel that
        shows it as fields (WeChat's template messages). The reminder row is left
        as it is: the scheduler records the outcome (docs/DESIGN.md §3, "the
        reminder table is the outbox"). Raises ``Undeliverable`` when there is
        no one to send it to (no such reminder, patient not joined or no
        longer active).
        """
        with read_session(self.services.engine) as session:
            found = reminder_context(session, reminder_id)
            if found is None:
                raise Undeliverable(f"no reminder {reminder_id}")
            reminder, patient, event = found
            reach = reach_of(session, patient)
        if reach is None:
            raise Undeliverable(f"patient {patient.study_id} has not joined the bot")
        if patient.status != PatientStatus.ACTIVE:
            raise Undeliverable(f"patient {patient.study_id} is {patient.status}")
        t = patient_translator(self.services, patient)
        text, buttons = render_reminder(t, self.services.protocol, reminder, event, repeat=repeat)
        facts = reminder_facts(t, reminder, event, patient.study_id, repeat=repeat)
        sent = await self.deliver(reach, ReminderText(text, buttons, facts=facts))
        log.info(
            "reminder %d (%s) sent to %s as message %s",
            reminder_id,
            reminder.slot,
            patient.study_id,
            sent.message,
        )
        return int(sent.message)

    def confirmed_by_receipt(self, reminder_id: int) -> bool:
        """Whether the patient's channel confirms delivery later, by a receipt (WeChat)."""
        with read_session(self.services.engine) as session:
            reminder = session.get(Reminder, reminder_id)
            patient = None if reminder is None else session.get(Patient, reminder.patient_id)
            reach = None if patient is None else reach_of(session, patient)
        return reach is not None and reach.channel in RECEIPT_CHANNELS

    # --- the scheduler's Alerter ------------------------------------------------------

    async def alert(self, alert: Alert) -> None:
        """Tell the coordinators, each in their own language.

        An alert about one patient names the channel that refused or lost
        them (their preferred one: reminders go nowhere else).
        """
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
                on = self._channel_of(study_id)
                special = UNREACHABLE_ON.get(on) if on is not None else None
                name = self._channel_name(study_id)

                def text(t: Translator) -> str:
                    if special is not None:
                        return t._(special, study_id=study_id)
                    return t._(UNREACHABLE, study_id=study_id, channel=t._(name))

            case PatientReachable(study_id=study_id):
                back_on = self._channel_name(study_id)

                def text(t: Translator) -> str:
                    return t._(REACHABLE, study_id=study_id, channel=t._(back_on))

            case ReminderRejected(reminder_id=reminder_id, study_id=study_id, reason=reason):
                refused_by = self._channel_name(study_id)

                def text(t: Translator) -> str:
                    return t._(
                        REJECTED,
                        channel=t._(refused_by),
                        reminder_id=reminder_id,
                        study_id=study_id,
                        reason=reason,
                    )

        sent = await self.alert_staff(text, roles=[StaffRole.COORDINATOR])
        if sent == 0:
            log.warning("no coordinator could be told: %s", type(alert).__name__)

    def _channel_of(self, study_id: str) -> Channel | None:
        """The channel a patient is reminded on (the one that could not reach them)."""
        with read_session(self.services.engine) as session:
            patient = patient_by_study_id(session, study_id)
        return None if patient is None else patient.preferred_channel

    def _channel_name(self, study_id: str) -> str:
        """The name of the patient's channel, untranslated (Telegram when they have none)."""
        return CHANNEL_NAMES[self._channel_of(study_id) or Channel.TELEGRAM]

    # --- staff and patients ------------------------------------------------------------

    def staff_to_alert(self, roles: Iterable[StaffRole] | None = None) -> list[Member]:
        """Active staff the bot can reach, optionally only those of ``roles``, by row id."""
        wanted = None if roles is None else frozenset(StaffRole(r) for r in roles)
        members: list[Member] = []
        with read_session(self.services.engine) as session:
            for staff in active_staff(session):
                if wanted is not None and staff.role not in wanted:
                    continue
                reach = reach_of(session, staff)
                if reach is not None:
                    members.append(Member(staff, reach, staff_translator(self.services, staff)))
        return members

    async def alert_staff(
        self,
        make_text: Callable[[Translator], str],
        *,
        roles: Iterable[StaffRole] | None = None,
        buttons: AlertButtons | None = None,
        pace: Pace | None = None,
    ) -> int:
        """Send ``make_text(t)`` to every active member of staff (or those of ``roles``).

        Each member reads it in their own language on their own channel; an
        alert names a patient by study ID only (docs/DESIGN.md §4).
        ``buttons`` (fixed, or built from the reader's translator) go under the
        message. ``pace`` (the reminder engine's pacer) is awaited before each
        message, so alerts sent by its periodic jobs share the channels'
        limits with the reminders. Returns how many members were sent the
        alert; a failure to one member is logged by staff row id and the
        others are still sent.
        """
        sent = 0
        for member in self.staff_to_alert(roles):
            rows = buttons(member.t) if callable(buttons) else buttons
            if pace is not None:
                await pace(f"staff:{member.staff.id}", member.reach.channel)
            try:
                await self.deliver(member.reach, Text(make_text(member.t), rows or None))
            except SendOutcome as error:
                log.warning(
                    "alert to staff %s not delivered: %s", member.staff.id, type(error).__name__
                )
                continue
            sent += 1
        return sent

    async def to_staff_member(self, member: Member, texts: Iterable[str]) -> bool:
        """Several messages to one member (a long digest's pages); False if one failed."""
        try:
            for text in texts:
                await self.deliver(member.reach, Text(text))
        except SendOutcome as error:
            log.warning(
                "digest to staff %s not delivered: %s", member.staff.id, type(error).__name__
            )
            return False
        return True

    async def to_patient(
        self, patient: Patient, text: str, buttons: Buttons | None = None, pace: Pace | None = None
    ) -> bool:
        """One message to a patient on their preferred channel; False if it did not go."""
        with read_session(self.services.engine) as session:
            reach = reach_of(session, patient)
        if reach is None:
            return False
        if pace is not None:
            await pace(f"patient:{patient.id}", reach.channel)
        try:
            await self.deliver(reach, Text(text, buttons or None))
        except SendOutcome as error:
            log.warning("message to %s not delivered: %s", patient.study_id, error.reason)
            return False
        return True
