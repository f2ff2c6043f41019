"""The same conversations through two channel adapters, with the same assertions.

Each test runs once through Telegram (the real ``Application`` polling the
local Bot API server over HTTP) and once through the in-memory channel
(:mod:`bot.channels.memory`), which builds inbound events and keeps replies
and nothing else. Both serve one feature list through one conversation
layer, so what a patient or a member of staff sees must not depend on the
channel. A last test puts a nurse on one channel and the coordinator on the
other: the router reaches each on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel, col, select

from bot.channels.memory import MemoryChannel, Shown
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.features import FEATURES
from bot.routing import Router
from core.protocol import load_protocol
from core.schedule import Slot
from core.store.db import make_engine, read_session
from core.store.identities import reach_of
from core.store.invites import create_invite
from core.store.models import (
    AdverseEvent,
    Channel,
    InviteRole,
    Patient,
    Reminder,
    ReminderStatus,
)
from core.store.services import enroll_patient, patient_by_study_id
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from scheduler.clock import FakeClock
from tests.support.bot_harness import START, World

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass(frozen=True)
class Said:
    """A message as the person reads it, on any channel."""

    text: str
    labels: list[str]
    ref: object  # the channel's own message, for pressing its buttons


class Chat(Protocol):
    """One channel, as the tests drive it."""

    channel: Channel
    services: Services

    async def person(self, language: str) -> str: ...

    async def say(self, who: str, text: str, expect: int = 1) -> list[Said]: ...

    async def press(self, who: str, message: Said, label: str, expect: int) -> list[Said]: ...

    def toasts(self) -> list[str | None]: ...

    async def inbox(self, who: str, expect: int) -> list[Said]: ...


class TelegramChat:
    """Telegram through the local Bot API server (the ``world`` harness)."""

    channel = Channel.TELEGRAM

    def __init__(self, world: World) -> None:
        self.world = world
        self.services = world.services
        self.languages: dict[str, str] = {}

    async def person(self, language: str) -> str:
        return str(self.world.new_user(language))

    async def _replies(self, who: str, expect: int) -> list[Said]:
        said = []
        for _ in range(expect):
            message = await self.world.reply(int(who))
            said.append(Said(message.shown, [b.text for b in message.buttons()], message))
        return said

    async def say(self, who: str, text: str, expect: int = 1) -> list[Said]:
        await self.world.api.user_sends(int(who), text)
        return await self._replies(who, expect)

    async def press(self, who: str, message: Said, label: str, expect: int) -> list[Said]:
        sent = message.ref
        assert isinstance(sent, SentMessage)
        api = self.world.api
        query = await api.user_presses(int(who), sent.message_id, sent.data_for(label))
        replies = await self._replies(who, expect)

        def answered() -> bool:
            return any(a.callback_query_id == query for a in api.callback_answers)

        # The toast is the callback query's answer.
        await api.wait_until(answered, what="the callback answer")
        return replies

    def toasts(self) -> list[str | None]:
        return [a.text for a in self.world.api.callback_answers]

    async def inbox(self, who: str, expect: int) -> list[Said]:
        return await self._replies(who, expect)


@dataclass
class InMemoryChat:
    """The in-memory adapter on the same services."""

    memory: MemoryChannel
    services: Services
    channel: Channel = Channel.MEMORY
    languages: dict[str, str] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)
    next_person: int = 1000

    async def person(self, language: str) -> str:
        self.next_person += 1
        who = f"m{self.next_person}"
        self.languages[who] = language
        return who

    def _unread(self, who: str) -> list[Shown]:
        shown = self.memory.messages(who)
        new = shown[self.read.get(who, 0) :]
        self.read[who] = len(shown)
        return new

    def _said(self, shown: list[Shown], expect: int) -> list[Said]:
        assert len(shown) >= expect, [s.text for s in shown]
        return [Said(s.text, s.labels(), s) for s in shown[:expect]]

    async def say(self, who: str, text: str, expect: int = 1) -> list[Said]:
        await self.memory.say(who, text, self.languages[who])
        return self._said(self._unread(who), expect)

    async def press(self, who: str, message: Said, label: str, expect: int) -> list[Said]:
        assert isinstance(message.ref, Shown)
        await self.memory.choose(who, message.ref, label, self.languages[who])
        return self._said(self._unread(who), expect)

    def toasts(self) -> list[str | None]:
        return self.memory.toasts

    async def inbox(self, who: str, expect: int) -> list[Said]:
        return self._said(self._unread(who), expect)


@pytest.fixture
async def memory_chat(tmp_path: Path) -> AsyncIterator[InMemoryChat]:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    services = Services(
        engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"), "trial_bot"
    )
    memory = MemoryChannel(Conversations(services, FEATURES))
    services.router = Router(services, {Channel.MEMORY: memory.transport})
    yield InMemoryChat(memory, services)
    engine.dispose()


@pytest.fixture(params=["telegram", "memory"])
def chat(request: pytest.FixtureRequest) -> Chat:
    if request.param == "telegram":
        return TelegramChat(request.getfixturevalue("world"))
    memory: InMemoryChat = request.getfixturevalue("memory_chat")
    return memory


# --- helpers on the shared services ---------------------------------------------------


def enroll(services: Services, study_id: str = "P01") -> Patient:
    with UnitOfWork(services.engine, "system", services.clock.now()) as uow:
        return enroll_patient(
            uow,
            services.protocol,
            study_id=study_id,
            arm="belimumab_mt",
            day0=START.date() + timedelta(days=1),
            sex="F",
            weight_kg="62",
            language="en",
            timezone="Asia/Shanghai",
            daily_dose_reminders=False,
            now=services.clock.now(),
        )


def invite(services: Services, role: InviteRole, study_id: str | None = None) -> str:
    with UnitOfWork(services.engine, "system", services.clock.now()) as uow:
        patient = patient_by_study_id(uow.session, study_id) if study_id else None
        return create_invite(uow, role, patient=patient)


async def join_staff(chat: Chat, role: InviteRole) -> str:
    who = await chat.person("en")
    (welcome,) = await chat.say(who, f"/start {invite(chat.services, role)}")
    assert welcome.text.startswith("Welcome to the study team as")
    return who


async def join_patient(chat: Chat, study_id: str = "P01") -> str:
    who = await chat.person("en")
    (ask,) = await chat.say(who, f"/start {invite(chat.services, InviteRole.PATIENT, study_id)}")
    await chat.press(who, ask, "English", expect=3)
    return who


# --- the same conversations on both channels ---------------------------------------------


async def test_a_stranger_learns_how_to_join_and_nothing_else(chat: Chat) -> None:
    who = await chat.person("en")
    (answer,) = await chat.say(who, "/status")
    assert "It is open only to people the study team has invited." in answer.text
    (answer,) = await chat.say(who, "hello")
    assert "It is open only to people the study team has invited." in answer.text


async def test_a_patient_joins_chooses_a_language_and_reads_the_notice(chat: Chat) -> None:
    enroll(chat.services)
    who = await chat.person("en")
    (ask,) = await chat.say(who, f"/start {invite(chat.services, InviteRole.PATIENT, 'P01')}")
    assert ask.text.splitlines() == ["请选择语言。", "Please choose your language."]
    assert ask.labels == ["中文", "English"]
    chosen, notice, events = await chat.press(who, ask, "English", expect=3)
    assert chosen.text == "Language set: English."
    assert "It never stores your name or phone number." in notice.text
    assert events.text.startswith("Your next study events:")
    with read_session(chat.services.engine) as session:
        patient = patient_by_study_id(session, "P01")
        assert patient is not None
        reach = reach_of(session, patient)
    assert reach is not None and reach.channel == chat.channel
    assert patient.language.value == "en"


async def test_an_adverse_event_is_stored_on_confirm_and_the_coordinator_alerted(
    chat: Chat,
) -> None:
    enroll(chat.services)
    coordinator = await join_staff(chat, InviteRole.COORDINATOR)
    nurse = await join_staff(chat, InviteRole.NURSE)
    (preview,) = await chat.say(
        nurse, "/ae P01 lung infection G3 serious=hospitalization onset=2026-11-29"
    )
    assert preview.labels == ["Confirm", "Cancel"]
    assert "Lung infection" in preview.text
    with read_session(chat.services.engine) as session:
        assert session.exec(select(AdverseEvent)).all() == []
    stored, serious = await chat.press(nurse, preview, "Confirm", expect=2)
    assert stored.text == "Adverse event AE1 is recorded for P01."
    assert serious.text.startswith("AE1 is serious. Coordinators alerted: 1.")
    (alert,) = await chat.inbox(coordinator, expect=1)
    assert alert.text.splitlines()[0] == (
        "SERIOUS ADVERSE EVENT AE1, patient P01: Lung infection, grade 3."
    )
    with read_session(chat.services.engine) as session:
        (event,) = session.exec(select(AdverseEvent)).all()
    assert (event.term, event.grade) == ("lung_infection", 3)


async def test_a_guided_flow_asks_one_field_at_a_time_and_stores_on_confirm(chat: Chat) -> None:
    enroll(chat.services)
    nurse = await join_staff(chat, InviteRole.NURSE)
    (which,) = await chat.say(nurse, "/weight")
    assert which.text == "Which patient?"
    assert which.labels == ["P01"]
    (ask,) = await chat.press(nurse, which, "P01", expect=1)
    assert ask.text == "Type the new weight with its unit, for example 61.5kg."
    (preview,) = await chat.say(nurse, "61.5kg")
    assert preview.text.splitlines()[0] == "New weight for P01: 61.5 kg (was 62 kg)."
    await chat.press(nurse, preview, "Confirm", expect=1)
    with read_session(chat.services.engine) as session:
        patient = patient_by_study_id(session, "P01")
    assert patient is not None and patient.weight_kg == "61.5"


async def test_a_red_flag_gets_the_emergency_number_at_once(chat: Chat) -> None:
    enroll(chat.services)
    patient = await join_patient(chat)
    (ask,) = await chat.say(patient, "/report")
    assert "Trouble breathing" in ask.labels
    (emergency,) = await chat.press(patient, ask, "Trouble breathing", expect=1)
    assert emergency.text.splitlines()[0] == (
        "If this is happening now, call 120 at once or go to the nearest emergency department."
    )


async def test_a_reminder_reaches_the_patient_on_their_channel_and_one_press_counts(
    chat: Chat,
) -> None:
    enroll(chat.services)
    patient = await join_patient(chat)
    with UnitOfWork(chat.services.engine, "system", chat.services.clock.now()) as uow:
        reminder = uow.session.exec(
            select(Reminder)
            .where(Reminder.slot == Slot.INFUSION_EVENING_BEFORE)
            .order_by(col(Reminder.due_at))
        ).first()
        assert reminder is not None and reminder.id is not None
        uow.update(reminder, "reminder.sent", status=ReminderStatus.SENT)
        reminder_id = reminder.id
    router = chat.services.router
    assert router is not None
    await router.send(reminder_id, repeat=False)
    (shown,) = await chat.inbox(patient, expect=1)
    assert shown.labels == ["I'll be there", "I need another day"]
    await chat.press(patient, shown, "I'll be there", expect=0)
    assert chat.toasts()[-1] == "Thank you, recorded."
    with read_session(chat.services.engine) as session:
        answered = session.get(Reminder, reminder_id)
    assert answered is not None and answered.response == "yes"


# --- two channels at once ----------------------------------------------------------------


async def test_a_nurse_on_one_channel_alerts_a_coordinator_on_another(world: World) -> None:
    """Per-channel identities: the router reaches each member where they joined."""
    memory = MemoryChannel(Conversations(world.services, FEATURES))
    assert world.services.router is not None
    world.services.router.transports[Channel.MEMORY] = memory.transport
    telegram = TelegramChat(world)
    in_memory = InMemoryChat(memory, world.services)
    enroll(world.services)
    coordinator = await join_staff(telegram, InviteRole.COORDINATOR)
    nurse = await join_staff(in_memory, InviteRole.NURSE)
    (preview,) = await in_memory.say(nurse, "/ae P01 sepsis G4 serious=life-threatening")
    await in_memory.press(nurse, preview, "Confirm", expect=2)
    (alert,) = await telegram.inbox(coordinator, expect=1)
    assert alert.text.startswith("SERIOUS ADVERSE EVENT AE1, patient P01")
