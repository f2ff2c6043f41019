"""Every command that names a patient finds the study ID however its case is typed.

Study IDs are stored as typed at enrollment (``P01``); staff type them as
they come (``p01``). One lookup (core.store.services.patient_by_study_id)
serves every command, so ``/status p01``, ``/weight p01 61kg`` and the rest
all find P01, and ``/enroll p01 ...`` is refused as a duplicate of P01.
Run through the in-memory channel: the conversation layer is the same as
Telegram's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from bot.channels.memory import MemoryChannel
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.features import FEATURES
from bot.routing import Router
from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.services import enroll_patient, patient_by_study_id
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock
from tests.support.bot_harness import START

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COORDINATOR = "m1"


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[tuple[MemoryChannel, Services]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    services = Services(
        engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"), "trial_bot"
    )
    memory = MemoryChannel(Conversations(services, FEATURES))
    services.router = Router(services, {Channel.MEMORY: memory.transport})
    with UnitOfWork(engine, "system", services.clock.now()) as uow:
        enroll_patient(
            uow,
            services.protocol,
            study_id="P01",
            arm="belimumab_mt",
            day0=START.date() - timedelta(days=30),
            sex="F",
            weight_kg="62",
            language="en",
            timezone="Asia/Shanghai",
            daily_dose_reminders=False,
            now=services.clock.now(),
        )
        token = create_invite(uow, InviteRole.COORDINATOR)
    await memory.say(COORDINATOR, f"/start {token}", "en")
    yield memory, services
    engine.dispose()


async def _answer(memory: MemoryChannel, text: str) -> str:
    before = len(memory.messages(COORDINATOR))
    await memory.say(COORDINATOR, text, "en")
    shown = memory.messages(COORDINATOR)[before:]
    assert shown, text
    return "\n".join(s.text for s in shown)


@pytest.mark.parametrize(
    "command",
    [
        "/status p01",
        "/weight p01 61kg",
        "/labs p01 w4 protein=1.2g/24h alb=30g/L scr=70umol/L",
        "/dose p01 mp 500mg",
        "/dose p01 mmf 0.5g",
        "/sledai p01 w4 proteinuria",
        "/cd20 p01 w4 120/uL",
        "/ae p01 pneumonia G2",
        "/reschedule p01 assessment 4 2026-12-31",
        "/withdraw p01 consent withdrawn",
        "/plot p01",
    ],
)
async def test_a_study_id_typed_in_lower_case_finds_the_patient(
    chat: tuple[MemoryChannel, Services], command: str
) -> None:
    memory, _ = chat
    answer = await _answer(memory, command)
    assert "P01" in answer, answer
    assert "no patient" not in answer.casefold(), answer


async def test_enrolling_p01_when_p01_exists_is_refused_as_a_duplicate(
    chat: tuple[MemoryChannel, Services],
) -> None:
    memory, services = chat
    answer = await _answer(
        memory, "/enroll p01 belimumab_mt 2026-12-01 F 62kg zh born=1984 consent=2026-11-28"
    )
    assert "already enrolled" in answer, answer
    with read_session(services.engine) as session:
        assert patient_by_study_id(session, "p01") is not None
        assert patient_by_study_id(session, "P01") is not None
