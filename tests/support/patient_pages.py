"""The patients' pages served over real HTTP, for a WeChat patient and a coordinator.

``pages_site`` starts the pages' routes (:mod:`bot.web.pages.routes`) on a free
port of 127.0.0.1 with the bot's services: patient P01 enrolled and bound to a
WeChat account (their reminders' chat is an in-memory transport), and a
coordinator who joined on the in-memory channel and receives the staff alerts.
Pages are read as a person reads them: :func:`visible_text` keeps the words a
browser shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp.test_utils import TestServer
from sqlmodel import SQLModel, col, select

from bot.channels.memory import MemoryChannel, MemoryTransport
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.features import FEATURES
from bot.routing import Router
from bot.web.page_tokens import issue
from bot.web.pages.acting import PageActions
from bot.web.pages.links import page_url
from bot.web.pages.routes import Pages
from bot.web.server import build_web_app
from core.protocol import load_protocol
from core.schedule import Slot
from core.store.db import make_engine
from core.store.identities import bind_account
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole, Patient, Reminder, ReminderStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock
from tests.support.bot_harness import START

SECRET = b"page-secret-for-tests-0123456789"
OPENID = "oP01-openid"
ZONE = ZoneInfo("Asia/Shanghai")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "title", "script", "h1"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "title", "script", "h1"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(page: str) -> list[str]:
    """The words a browser shows under the page's title, one piece of text per element."""
    parser = _Text()
    parser.feed(page)
    return parser.parts


@dataclass
class PagesSite:
    services: Services
    clock: FakeClock
    staff: MemoryChannel
    wechat: MemoryTransport
    server: TestServer
    http: aiohttp.ClientSession
    patient_id: int
    coordinator: str

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def link(self, reminder_id: int | None, patient_id: int | None = None) -> str:
        """The link a reminder carries (as part B makes it)."""
        return page_url(
            self.base,
            SECRET,
            self.services.protocol,
            patient_id=patient_id or self.patient_id,
            reminder_id=reminder_id,
            now=self.clock.now(),
        )

    def forged(self, reminder_id: int | None, *, secret: bytes, expires: datetime) -> str:
        return f"{self.base}/r/{issue(secret, reminder_id, self.patient_id, expires)}"

    def sent_reminder(self, slot: Slot, patient_id: int | None = None) -> int:
        """The patient's first reminder of ``slot``, marked sent (it reached their chat)."""
        with UnitOfWork(self.services.engine, "system", self.clock.now()) as uow:
            reminder = uow.session.exec(
                select(Reminder)
                .where(Reminder.patient_id == (patient_id or self.patient_id))
                .where(Reminder.slot == slot)
                .order_by(col(Reminder.due_at))
            ).first()
            assert reminder is not None and reminder.id is not None
            uow.update(reminder, "reminder.sent", status=ReminderStatus.SENT)
            return reminder.id

    def alerts(self) -> list[str]:
        """Everything the coordinator was sent."""
        return [shown.text for shown in self.staff.messages(self.coordinator)]

    async def get(self, url: str, language: str = "en") -> tuple[int, str]:
        async with self.http.get(url, headers={"Accept-Language": language}) as response:
            return response.status, await response.text()

    async def post(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        async with self.http.post(url, data=form) as response:
            return response.status, await response.text()


def enroll(services: Services, study_id: str, language: str) -> Patient:
    with UnitOfWork(services.engine, "system", services.clock.now()) as uow:
        return enroll_patient(
            uow,
            services.protocol,
            study_id=study_id,
            arm="belimumab_mt",
            day0=START.date() + timedelta(days=1),
            sex="F",
            weight_kg="62",
            language=language,
            timezone="Asia/Shanghai",
            daily_dose_reminders=True,
            now=services.clock.now(),
        )


def bind(services: Services, patient: Patient, channel: Channel, account: str) -> None:
    with UnitOfWork(services.engine, "system", services.clock.now()) as uow:
        row = uow.session.get(Patient, patient.id)
        assert row is not None
        bind_account(uow, row, channel, account, account)


async def start_pages(tmp_path: Path, language: str) -> AsyncIterator[PagesSite]:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    clock = FakeClock(START)
    services = Services(engine, load_protocol(), clock, ZONE, "trial_bot")
    conversations = Conversations(services, FEATURES)
    staff = MemoryChannel(conversations)
    wechat = MemoryTransport()
    services.router = Router(services, {Channel.MEMORY: staff.transport, Channel.WECHAT: wechat})
    patient = enroll(services, "P01", language)
    assert patient.id is not None
    bind(services, patient, Channel.WECHAT, OPENID)
    with UnitOfWork(engine, "system", clock.now()) as uow:
        invitation = create_invite(uow, InviteRole.COORDINATOR)
    (welcome,) = await staff.say("coordinator", f"/start {invitation}")
    assert welcome.text.startswith("Welcome to the study team as")
    pages = Pages(services, PageActions(conversations), SECRET)
    server = TestServer(build_web_app(pages.routes()), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        yield PagesSite(services, clock, staff, wechat, server, http, patient.id, "coordinator")
    finally:
        await http.close()
        await server.close()
        engine.dispose()
