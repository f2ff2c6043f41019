"""burst and lateness: reminders through the real engine to the local Bot API server, timed."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.measure import TOKEN, ZONE, progress

if TYPE_CHECKING:
    from core.store.models import Patient
    from core.store.uow import UnitOfWork

# Joins a newly enrolled patient (the uow, the patient, their index) on a channel; their chat.
Join = Callable[["UnitOfWork", "Patient", int], str]

# A weekday 10:00 in Shanghai: trial time for burst and lateness (outside the quiet hours).
REHEARSAL_START = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)
DELIVERY_DAY0 = date(2027, 2, 1)
FIRST_CHAT = 500_000


@dataclass
class Delivery:
    """What reached the local server, by chat: real monotonic instants."""

    due_real: dict[int, float]  # chat -> when its reminder was due (real monotonic)
    delivered: list[tuple[int, float]]
    flood_errors: int
    statuses: dict[str, int]


def on_telegram(uow: UnitOfWork, patient: Patient, index: int) -> str:
    """Join ``patient`` on Telegram (their private chat); the chat id."""
    from core.store.identities import bind_account
    from core.store.models import Channel

    assert patient.id is not None
    chat = str(FIRST_CHAT + patient.id)
    bind_account(uow, patient, Channel.TELEGRAM, chat, chat)
    return chat


def setup_due_patients(
    url: str, offsets: Sequence[float], join: Join = on_telegram
) -> dict[str, datetime]:
    """One joined patient per offset, with exactly one reminder due at start + offset.

    Patients are enrolled through ``enroll_patient`` (day 0 weeks ahead, no
    daily doses) and joined by ``join`` (Telegram by default); their first
    reminder is then moved to its due instant and their other reminders stay
    weeks away. Returns the chat ``join`` gave each -> its due instant.
    """
    from sqlalchemy import func, update
    from sqlmodel import col, select

    from core.protocol import load_protocol
    from core.store.db import make_engine
    from core.store.migrate import migrate
    from core.store.models import Reminder
    from core.store.services import enroll_patient
    from core.store.uow import UnitOfWork

    migrate(url)
    engine = make_engine(url)
    protocol = load_protocol()
    arms = list(protocol.arms)
    before = REHEARSAL_START - timedelta(days=1)
    due: dict[str, datetime] = {}
    for i, offset in enumerate(offsets):
        with UnitOfWork(engine, "system", before) as uow:
            patient = enroll_patient(
                uow,
                protocol,
                study_id=f"D{i:05d}",
                arm=arms[i % len(arms)],
                day0=DELIVERY_DAY0,
                sex="F",
                weight_kg="60",
                language="en" if i % 2 else "zh_Hans",
                timezone=ZONE,
                daily_dose_reminders=False,
                now=before,
            )
            chat = join(uow, patient, i)
            first = uow.session.exec(
                select(func.min(Reminder.id)).where(Reminder.patient_id == patient.id)
            ).one()
            instant = REHEARSAL_START + timedelta(seconds=offset)
            uow.session.execute(
                update(Reminder).where(col(Reminder.id) == first).values(due_at=instant)
            )
            due[chat] = instant
    engine.dispose()
    return due


async def _deliver(url: str, due: dict[int, datetime], timeout: float) -> Delivery:
    from sqlmodel import select

    from bot.channels.telegram.app import build_application
    from bot.context import Services
    from bot.runner import build_engine
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine, read_session
    from core.store.models import Reminder
    from local_servers.telegram.server import LocalBotApi, SentMessage
    from scheduler.clock import RehearsalClock

    class TimedApi(LocalBotApi):
        """The local server, noting when it accepted each message."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.delivered: list[tuple[int, float]] = []

        def _deliver(self, sent: SentMessage, reply_to: Any) -> Any:
            self.delivered.append((sent.chat_id, time.monotonic()))
            return super()._deliver(sent, reply_to)

    api = TimedApi(flood_limits=True)
    await api.start()
    for chat in due:
        api.add_user(chat, first_name=f"Patient{chat}", language_code="en")
    engine_db = make_engine(url)
    clock = RehearsalClock(REHEARSAL_START, 1.0)
    services = Services(engine_db, load_protocol(), clock, trial_zone(ZONE))
    app = build_application(services, TOKEN, base_url=api.base_url)
    due_real = {
        chat: clock._origin + (instant - clock.start).total_seconds() / clock.speed
        for chat, instant in due.items()
    }
    last_due = max(due_real.values())
    try:
        async with app:
            engine = build_engine(app, services)
            await engine.start()
            try:
                reported = 0
                while time.monotonic() < last_due + timeout:
                    await asyncio.sleep(0.5)
                    if len(api.delivered) >= len(due) and time.monotonic() > last_due:
                        await asyncio.sleep(2.0)  # anything sent twice would show up now
                        break
                    if len(api.delivered) - reported >= 500:
                        reported = len(api.delivered)
                        progress(f"  {reported} of {len(due)} delivered")
            finally:
                await engine.stop()
    finally:
        await api.stop()
    with read_session(engine_db) as session:
        statuses = Counter(str(s) for s in session.exec(select(Reminder.status)).all())
    engine_db.dispose()
    return Delivery(due_real, list(api.delivered), api.flood_errors, dict(statuses))


def delivery(url: str, offsets: Sequence[float], timeout: float) -> Delivery:
    due = {int(chat): instant for chat, instant in setup_due_patients(url, offsets).items()}
    return asyncio.run(_deliver(url, due, timeout))


def counts(run: Delivery) -> tuple[int, int]:
    """(lost, duplicates): reminders never delivered, deliveries beyond one per reminder."""
    per_chat = Counter(chat for chat, _ in run.delivered)
    lost = sum(1 for chat in run.due_real if per_chat[chat] == 0)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    return lost, duplicates
