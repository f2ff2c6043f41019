"""At rehearsal speed the outbox rules hold in trial time, as they do in production.

A rehearsal at 3600 times real time must not send "Will you be there?" two
days after the visit, nor an 08:00 dose reminder at 07:00 the next day: the
still-useful grace and the retry back-off are spans of trial time, and the
running engine holds trial time at each reminder due until it has sent it.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine as DbEngine

from core.protocol import Protocol
from core.schedule import Slot
from core.store.models import ReminderStatus
from scheduler.clock import FakeMonotonic, RehearsalClock, Stretch, pacing_time
from scheduler.engine import Engine
from scheduler.pacing import Pacer
from scheduler.ports import NotDelivered
from tests.support.scheduler_fakes import FakeAlerter, FakeSender, join, reminder, reminders
from tests.support.store_fixtures import BEFORE_PLAN, SQLITE_ONLY, enroll

SPEED = 3600.0


def _patient(db: DbEngine, protocol: Protocol) -> int:
    patient_id = enroll(db, protocol, "P01", daily=True)
    join(db, patient_id, 501, BEFORE_PLAN)
    return patient_id


def _engine(db: DbEngine, clock: RehearsalClock, sender: FakeSender) -> Engine:
    # Pacing on the clock's own trial seconds, as bot.runner.channel_pacer builds it.
    monotonic, sleep = pacing_time(clock)
    pacer = Pacer(monotonic=monotonic, sleep=sleep)
    return Engine(db, clock, sender, FakeAlerter(), pacer=pacer, worker="testhost-1", host="t")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("slot", "from_what_it_announces", "late"),
    [
        # An 08:00 dose reminder 31 trial minutes late: past its 30-minute grace.
        (Slot.DOSE_1, False, timedelta(minutes=31)),
        # "Will you be there?" (the evening before an infusion) two days after the visit.
        (Slot.INFUSION_EVENING_BEFORE, True, timedelta(days=2)),
    ],
)
async def test_at_3600x_a_reminder_no_longer_useful_in_trial_time_is_missed_not_sent(
    engine: DbEngine,
    protocol: Protocol,
    slot: Slot,
    from_what_it_announces: bool,
    late: timedelta,
) -> None:
    pid = _patient(engine, protocol)
    row = next(r for r in reminders(engine, pid) if r.slot == slot)
    real = FakeMonotonic(0.0)
    clock = RehearsalClock(row.due_at, SPEED, real_monotonic=real)
    target = (row.announces_at if from_what_it_announces else row.due_at) + late
    # In real time a fraction of a second to a minute (31 trial minutes: half a real second).
    real.value += (target - row.due_at).total_seconds() / SPEED
    assert abs(clock.now() - target) < timedelta(seconds=1)
    sender = FakeSender()
    report = await _engine(engine, clock, sender).run_due()
    assert reminder(engine, row.id).status == ReminderStatus.MISSED
    assert row.id not in [rid for rid, _ in sender.calls]
    assert row.id in [m.reminder_id for m in report.missed]


@SQLITE_ONLY
async def test_at_3600x_a_dose_reminder_within_its_grace_is_still_sent(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _patient(engine, protocol)
    dose = next(r for r in reminders(engine, pid) if r.slot == Slot.DOSE_1)
    real = FakeMonotonic(0.0)
    clock = RehearsalClock(dose.due_at, SPEED, real_monotonic=real)
    real.value += 29 * 60 / SPEED
    sender = FakeSender()
    await _engine(engine, clock, sender).run_due()
    assert reminder(engine, dose.id).status == ReminderStatus.SENT


@SQLITE_ONLY
async def test_at_3600x_the_retry_backoff_is_seconds_of_trial_time(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _patient(engine, protocol)
    first = reminders(engine, pid)[0]
    real = FakeMonotonic(0.0)
    clock = RehearsalClock(first.due_at, SPEED, real_monotonic=real)
    sender = FakeSender()
    eng = _engine(engine, clock, sender)
    sender.fail_next(NotDelivered("NetworkError: connection refused"))
    await eng.run_due()
    row = reminder(engine, first.id)
    assert row.status == ReminderStatus.PENDING
    # Two trial seconds, as in production (not two real seconds: two trial hours).
    assert row.next_attempt_at == clock.now() + timedelta(seconds=2)
    real.value += 2 / SPEED
    await eng.run_due()
    row = reminder(engine, first.id)
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)
    assert row.sent_at is not None
    assert row.sent_at - first.due_at < timedelta(seconds=3)


def test_the_clock_holds_at_the_next_reminder_and_runs_slowly_while_sending() -> None:
    real = FakeMonotonic(0.0)
    start = BEFORE_PLAN
    clock = RehearsalClock(start, 240_000, real_monotonic=real, busy_speed=600, max_hold=5)
    due = start + timedelta(hours=10)
    clock.hold(due)
    real.value += 1.0  # 66 trial hours at full speed: held at the reminder instead
    assert clock.now() == due
    with clock.busy():  # sending: ten trial minutes per real second
        real.value += 0.1
        assert clock.now() == due + timedelta(minutes=1)
    real.value += 0.001
    assert clock.now() == due + timedelta(minutes=1, seconds=240)
    # A hold nobody releases gives way after five real seconds: a rehearsal never stops.
    later = clock.now() + timedelta(hours=1)
    clock.hold(later)
    real.value += 3600 / 240_000 + 5.0 + 0.01
    assert clock.now() == later + timedelta(seconds=0.01 * 240_000)


def test_a_clock_started_held_stands_still_until_the_engine_sets_a_hold() -> None:
    real = FakeMonotonic(0.0)
    clock = RehearsalClock(BEFORE_PLAN, 240_000, real_monotonic=real, held=True)
    real.value += 30.0  # a slow start-up: not eighty trial days
    assert clock.now() == BEFORE_PLAN
    assert clock.stretch.max_hold == math.inf
    clock.hold(None)
    real.value += 1.0
    assert clock.now() == BEFORE_PLAN + timedelta(seconds=240_000)


def test_until_slows_trial_time_to_real_speed_and_a_follower_reads_the_same_time() -> None:
    real = FakeMonotonic(0.0)
    until = BEFORE_PLAN + timedelta(days=1)
    clock = RehearsalClock(BEFORE_PLAN, 240_000, real_monotonic=real, until=until)
    real.value += 1.0  # 66 trial hours at full speed; the last 0.64 s at real speed
    assert clock.now() == until + timedelta(seconds=1.0 - 86_400 / 240_000)
    # Another process given the stretch (--clock-file) reads the very same instant.
    follower = Stretch.from_json(json.loads(json.dumps(clock.stretch.to_json())))
    assert follower.at(real()) == clock.now()


# About five real seconds: two trial weeks at 240,000 times real time, held at each reminder.
@pytest.mark.slow
@SQLITE_ONLY
async def test_a_running_engine_at_240000x_sends_every_reminder_within_minutes_of_its_time(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _patient(engine, protocol)
    planned = reminders(engine, pid)
    start = planned[0].due_at - timedelta(minutes=5)
    until = start + timedelta(days=14)
    wanted = [r for r in planned if r.due_at < until]
    assert len(wanted) > 20
    clock = RehearsalClock(start, 240_000, held=True)
    sender = FakeSender()
    eng = _engine(engine, clock, sender)
    await eng.start()
    try:
        async with asyncio.timeout(60):
            while clock.now() < until:
                await asyncio.sleep(0.05)
    finally:
        await eng.stop()
    rows = [reminder(engine, r.id) for r in wanted]
    assert {r.status for r in rows} == {ReminderStatus.SENT}
    late = [r.sent_at - r.due_at for r in rows if r.sent_at is not None]
    assert len(late) == len(rows)
    # Without the hold a wake-up's few real milliseconds are trial hours; with it, minutes.
    assert max(late) < timedelta(minutes=10)
