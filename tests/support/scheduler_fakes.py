"""Fakes for the reminder engine's tests: a scripted sender, an alert recorder, helpers."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import col, select

from core.store.db import read_session
from core.store.identities import bind_account
from core.store.models import Channel, Patient, Reminder
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock, FakeMonotonic
from scheduler.engine import Engine, EngineOptions
from scheduler.pacing import PaceLimits, Pacer
from scheduler.ports import Alert


@dataclass
class FakeSender:
    """Records every send; raises the scripted failures first, in order."""

    calls: list[tuple[int, bool]] = field(default_factory=list)
    delivered: list[tuple[int, bool]] = field(default_factory=list)
    failures: deque[Exception | None] = field(default_factory=deque)
    next_message_id: int = 100

    def fail_next(self, *errors: Exception | None) -> None:
        self.failures.extend(errors)

    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        self.calls.append((reminder_id, repeat))
        if self.failures:
            error = self.failures.popleft()
            if error is not None:
                raise error
        self.delivered.append((reminder_id, repeat))
        self.next_message_id += 1
        return self.next_message_id

    def confirmed_by_receipt(self, reminder_id: int) -> bool:
        return False


@dataclass
class FakeAlerter:
    alerts: list[Alert] = field(default_factory=list)

    async def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)


class TrialTimeSleep:
    """A pacer ``sleep`` on fake monotonic time that moves the trial clock as much.

    In production a wait for the pacer (or for a chat Telegram paused with
    ``retry_after``) takes trial time too; with this, a test sees the trial
    instant a reminder really goes at. Concurrent sleepers move the clock
    once: each wake-up adds only the time since the last one.
    """

    def __init__(self, mono: FakeMonotonic, clock: FakeClock) -> None:
        self.mono = mono
        self.clock = clock
        self._seen = mono()

    async def __call__(self, seconds: float) -> None:
        await self.mono.sleep(seconds)
        now = self.mono()
        if now > self._seen:
            self.clock.advance(timedelta(seconds=now - self._seen))
            self._seen = now


def join(db: DbEngine, patient_id: int, chat_id: int, now: datetime) -> None:
    """The patient opened their invite: give them a Telegram chat."""
    with UnitOfWork(db, "system", now) as uow:
        patient = uow.session.get(Patient, patient_id)
        assert patient is not None
        bind_account(uow, patient, Channel.TELEGRAM, str(chat_id), str(chat_id))


def join_wechat(db: DbEngine, patient_id: int, openid: str, now: datetime) -> None:
    """The patient scanned their QR code: bind their WeChat openid (the account and chat)."""
    with UnitOfWork(db, "system", now) as uow:
        patient = uow.session.get(Patient, patient_id)
        assert patient is not None
        bind_account(uow, patient, Channel.WECHAT, openid, openid)


def reminders(db: DbEngine, patient_id: int | None = None) -> list[Reminder]:
    with read_session(db) as session:
        query = select(Reminder).order_by(col(Reminder.due_at), col(Reminder.id))
        if patient_id is not None:
            query = query.where(Reminder.patient_id == patient_id)
        return list(session.exec(query).all())


def reminder(db: DbEngine, reminder_id: int | None) -> Reminder:
    assert reminder_id is not None
    with read_session(db) as session:
        found = session.get(Reminder, reminder_id)
        assert found is not None
        return found


def make_engine(
    db: DbEngine,
    clock: FakeClock,
    sender: FakeSender | None = None,
    alerter: FakeAlerter | None = None,
    *,
    options: EngineOptions | None = None,
    worker: str = "testhost-1",
    monotonic: FakeMonotonic | None = None,
    alive: frozenset[int] = frozenset({1}),
    lanes: Mapping[Hashable, PaceLimits] | None = None,
    tied: bool = False,
) -> tuple[Engine, FakeSender, FakeAlerter]:
    """An engine on fake time: the trial clock and the pacer's monotonic clock (``lanes``:
    the pacer's limits per channel; ``tied``: the pacer's waits move the trial clock)."""
    sender = sender or FakeSender()
    alerter = alerter or FakeAlerter()
    mono = monotonic or FakeMonotonic()
    sleep = TrialTimeSleep(mono, clock) if tied else mono.sleep
    engine = Engine(
        db,
        clock,
        sender,
        alerter,
        options=options,
        pacer=Pacer(lanes=lanes, monotonic=mono, sleep=sleep),
        worker=worker,
        host="testhost",
        is_alive=lambda pid: pid in alive,
    )
    return engine, sender, alerter


async def run_until(engine: Engine, clock: FakeClock, end: datetime) -> int:
    """Move the clock from wake-up to wake-up until ``end``, draining at each; the steps."""
    steps = 0
    await engine.run_due()
    while True:
        wake = engine.next_wake()
        if wake is None or wake > end:
            break
        clock.set(wake)
        await engine.run_due()
        steps += 1
    clock.set(max(end, clock.now()))
    await engine.run_due()
    return steps
