"""End-to-end harness: the real Application, polling a local Bot API server over HTTP.

Every test using ``world`` fails at teardown if any request the bot made broke
the Bot API spec (the server records each rejected request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement
from sqlmodel import SQLModel, col, select
from telegram.ext import Application

from bot.channels.telegram.app import ALLOWED_UPDATES, build_application
from bot.context import Services
from bot.conversations.feature import Feature
from bot.features import FEATURES
from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.identities import accounts_of, staff_by_account
from core.store.invites import create_invite
from core.store.models import Channel, ChannelIdentity, InviteRole, Patient, Staff
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from local_servers.telegram.server import LocalBotApi, SentMessage
from scheduler.clock import FakeClock

TOKEN = "123456:" + "A" * 35
# 09:00 in Shanghai on 2026-11-30, the day before the sample patients' day 0.
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@dataclass
class World:
    api: LocalBotApi
    services: Services
    clock: FakeClock
    next_user: int = field(default=1000)
    # The running Application, for tests that send as the scheduler does (app.bot).
    app: Application | None = None  # type: ignore[type-arg]

    # --- people ---------------------------------------------------------------

    def new_user(self, language_code: str | None = "en") -> int:
        self.next_user += 1
        self.api.add_user(
            self.next_user, first_name=f"User{self.next_user}", language_code=language_code
        )
        return self.next_user

    def invite(self, role: InviteRole, patient: Patient | None = None) -> str:
        with UnitOfWork(self.services.engine, "system", self.clock.now()) as uow:
            return create_invite(uow, role, patient=patient)

    def enroll(
        self,
        study_id: str,
        arm: str = "belimumab_mt",
        day0: date = date(2026, 12, 1),
        sex: str = "F",
        weight: str = "62",
        language: str = "zh_Hans",
        daily_doses: bool = False,
    ) -> Patient:
        with UnitOfWork(self.services.engine, "system", self.clock.now()) as uow:
            return enroll_patient(
                uow,
                self.services.protocol,
                study_id=study_id,
                arm=arm,
                day0=day0,
                sex=sex,
                weight_kg=weight,
                language=language,
                timezone="Asia/Shanghai",
                daily_dose_reminders=daily_doses,
                now=self.clock.now(),
            )

    def patient(self, study_id: str) -> Patient:
        with read_session(self.services.engine) as session:
            from core.store.services import patient_by_study_id

            found = patient_by_study_id(session, study_id)
            assert found is not None
            return found

    def chat_of(self, person: Patient | Staff) -> int | None:
        """The Telegram chat the bot writes to this person in (None before they joined)."""
        with read_session(self.services.engine) as session:
            for account in accounts_of(session, person):
                if account.channel == Channel.TELEGRAM:
                    return int(account.chat)
        return None

    def telegram_user_of(self, person: Patient | Staff) -> int | None:
        """The Telegram user id this person joined with (None before they joined)."""
        with read_session(self.services.engine) as session:
            for account in accounts_of(session, person):
                if account.channel == Channel.TELEGRAM:
                    return int(account.account)
        return None

    def staff_with_telegram_user(self, user_id: int) -> Staff | None:
        """The member of staff who joined with this Telegram account, if any."""
        with read_session(self.services.engine) as session:
            return staff_by_account(session, Channel.TELEGRAM, str(user_id))

    # --- conversation -----------------------------------------------------------

    async def say(self, user_id: int, text: str) -> SentMessage:
        """The user writes; the bot's first reply."""
        await self.api.user_sends(user_id, text)
        return await self.api.wait_for_message(user_id)

    async def reply(self, user_id: int, **kwargs: object) -> SentMessage:
        """The bot's next message to the user."""
        return await self.api.wait_for_message(user_id, **kwargs)  # type: ignore[arg-type]

    async def press(self, user_id: int, message: SentMessage, label: str) -> SentMessage | None:
        """The user presses a button; the bot's next message, if it sends one."""
        await self.api.user_presses(user_id, message.message_id, message.data_for(label))
        return None

    async def join_patient(
        self, study_id: str, language_code: str = "en", choose: str = "English"
    ) -> int:
        """A patient opens their invitation and picks a language; returns their user id."""
        user = self.new_user(language_code)
        token = self.invite(InviteRole.PATIENT, self.patient(study_id))
        ask = await self.say(user, f"/start {token}")
        await self.press(user, ask, choose)
        await self.reply(user)  # language set
        await self.reply(user)  # privacy notice
        await self.reply(user)  # next events
        return user

    async def join_staff(self, role: InviteRole, language_code: str = "en") -> int:
        user = self.new_user(language_code)
        token = self.invite(role)
        await self.say(user, f"/start {token}")
        return user


def is_telegram_staff(user_id: int) -> ColumnElement[bool]:
    """A WHERE clause: the member of staff who joined with this Telegram account."""
    accounts = select(ChannelIdentity.staff_id).where(
        ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.account == str(user_id)
    )
    return col(Staff.id).in_(accounts)


@asynccontextmanager
async def open_world(
    tmp_path: Path, features: Sequence[Feature] = FEATURES
) -> AsyncIterator[World]:
    """The bot serving ``features`` (all of them by default) against a local server;
    on leaving, fails if any request broke the Bot API spec."""
    api = LocalBotApi(flood_limits=False)
    await api.start()
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    clock = FakeClock(START)
    services = Services(engine, load_protocol(), clock, ZoneInfo("Asia/Shanghai"))
    app = build_application(services, TOKEN, base_url=api.base_url, features=features)
    try:
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(timeout=1, allowed_updates=ALLOWED_UPDATES)
            try:
                yield World(api, services, clock, app=app)
            finally:
                await app.updater.stop()
                await app.stop()
    finally:
        await api.stop()
        engine.dispose()
    assert not api.violations, f"requests that broke the Bot API spec: {api.violations}"
    assert not api.unimplemented, f"methods the local server does not simulate: {api.unimplemented}"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path) as opened:
        yield opened
