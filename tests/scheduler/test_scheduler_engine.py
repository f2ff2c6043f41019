"""The reminder engine on fake time with a scripted sender, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine as DbEngine

from core.protocol import Protocol
from core.schedule import Slot
from core.store.db import read_session
from core.store.identities import bind_account
from core.store.models import (
    Channel,
    EventStatus,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.services import claim_due_reminders
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock, FakeMonotonic, RehearsalClock
from scheduler.engine import Engine, EngineOptions
from scheduler.jobs import PeriodicJob, daily_at, every
from scheduler.outbox import mark_handed
from scheduler.pacing import PaceLimits
from scheduler.policy import PolicyOptions
from scheduler.ports import (
    Blocked,
    MaybeDelivered,
    NotDelivered,
    PatientReachable,
    PatientUnreachable,
    Rejected,
    ReminderRejected,
    RemindersMissed,
    Undeliverable,
)
from scheduler.rehearsal import resume_point
from tests.support.scheduler_fakes import (
    FakeAlerter,
    FakeSender,
    join,
    make_engine,
    reminder,
    reminders,
    run_until,
)
from tests.support.store_fixtures import BEFORE_PLAN, SQLITE_ONLY, enroll

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_PLAN = datetime(2027, 7, 1, tzinfo=UTC)


def _enrolled(
    db: DbEngine, protocol: Protocol, study_id: str = "P01", chat: int = 501, **kwargs: Any
) -> int:
    patient_id = enroll(db, protocol, study_id, **kwargs)
    join(db, patient_id, chat, BEFORE_PLAN)
    return patient_id


def _next(engine: Engine) -> datetime:
    wake = engine.next_wake()
    assert wake is not None
    return wake


def _status(db: DbEngine, reminder_id: int | None) -> tuple[ReminderStatus, str | None]:
    r = reminder(db, reminder_id)
    return r.status, r.last_error


# --- the whole plan ---------------------------------------------------------------------


# The whole 24-week plan: about 5 s on SQLite, 30 s on PostgreSQL.
@pytest.mark.slow
async def test_every_reminder_of_both_arms_fires_once_in_order(
    engine: DbEngine, protocol: Protocol
) -> None:
    a = _enrolled(engine, protocol, "A01", 501, daily=True, arm="belimumab_mt")
    b = _enrolled(engine, protocol, "B01", 502, daily=True, arm="mt_only")
    clock = FakeClock(BEFORE_PLAN)
    eng, sender, alerter = make_engine(engine, clock)

    steps = await run_until(eng, clock, END_OF_PLAN)

    assert steps > 300  # one wake-up per distinct due instant, not one big catch-up
    for patient_id in (a, b):
        planned = reminders(engine, patient_id)
        assert len(planned) > 300
        assert {r.status for r in planned} == {ReminderStatus.SENT}
        ids = [r.id for r in planned]
        sent_order = [rid for rid, _ in sender.delivered if rid in set(ids)]
        assert sent_order == ids  # once each, in due order
        # Each was sent at its due instant: the clock stopped there.
        assert all(r.sent_at == r.due_at for r in planned)
    assert not any(repeat for _, repeat in sender.calls)
    assert alerter.alerts == []


# --- the send-time re-check -------------------------------------------------------------


def _first_of(db: DbEngine, patient_id: int, slot: Slot) -> Reminder:
    return next(r for r in reminders(db, patient_id) if r.slot == slot)


async def test_a_withdrawn_patient_is_skipped(engine: DbEngine, protocol: Protocol) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    first = reminders(engine, pid)[0]
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        uow.update(patient, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
    clock = FakeClock(first.due_at)
    eng, sender, _ = make_engine(engine, clock)
    report = await eng.run_due()
    assert sender.calls == []
    assert report.skipped == [first.id]
    assert _status(engine, first.id) == (ReminderStatus.SKIPPED, "patient withdrawn")


async def test_a_moved_event_is_skipped_with_the_reason(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    evening = _first_of(engine, pid, Slot.INFUSION_EVENING_BEFORE)
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        event = uow.session.get(PlannedEventRow, evening.event_id)
        assert event is not None
        new_day = event.scheduled_date + timedelta(days=2)
        uow.update(
            event,
            "event.rescheduled",
            scheduled_date=new_day,
            starts_at=event.starts_at + timedelta(days=2),
        )
    clock = FakeClock(evening.due_at)
    eng, sender, _ = make_engine(engine, clock)
    await eng.run_due()
    assert evening.id not in [rid for rid, _ in sender.calls]
    status, reason = _status(engine, evening.id)
    assert status == ReminderStatus.SKIPPED
    assert reason is not None
    assert "moved" in reason
    assert new_day.isoformat() in reason


async def test_a_finished_task_is_skipped(engine: DbEngine, protocol: Protocol) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    evening = _first_of(engine, pid, Slot.INFUSION_EVENING_BEFORE)
    dose = _first_of(engine, pid, Slot.DOSE_1)
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        event = uow.session.get(PlannedEventRow, evening.event_id)
        assert event is not None
        uow.update(event, "event.done", status=EventStatus.DONE)
        row = uow.session.get(Reminder, dose.id)
        assert row is not None
        uow.update(row, "reminder.answered", response="taken")
    clock = FakeClock(BEFORE_PLAN)
    eng, sender, _ = make_engine(engine, clock)
    await run_until(eng, clock, max(evening.due_at, dose.due_at))
    assert len(sender.calls) > 3
    sent_ids = {rid for rid, _ in sender.calls}
    assert evening.id not in sent_ids
    assert dose.id not in sent_ids
    assert _status(engine, evening.id) == (ReminderStatus.SKIPPED, "event done")
    assert _status(engine, dose.id) == (ReminderStatus.SKIPPED, "already answered")


async def test_a_patient_who_has_not_joined_is_skipped(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    first = reminders(engine, pid)[0]
    eng, sender, _ = make_engine(engine, FakeClock(first.due_at))
    await eng.run_due()
    assert sender.calls == []
    assert _status(engine, first.id)[0] == ReminderStatus.SKIPPED


# --- each error class ------------------------------------------------------------------


async def test_not_delivered_goes_back_to_pending_with_backoff_then_is_sent(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    clock = FakeClock(first.due_at)
    eng, sender, _ = make_engine(engine, clock)
    sender.fail_next(NotDelivered("NetworkError: httpx.ConnectError: refused"))
    sender.fail_next(NotDelivered("NetworkError: httpx.ConnectError: refused"))
    report = await eng.run_due()
    assert report.retrying == [first.id]
    row = reminder(engine, first.id)
    assert row.status == ReminderStatus.PENDING
    assert row.next_attempt_at == first.due_at + timedelta(seconds=2)
    assert "refused" in (row.last_error or "")
    await eng.run_due()  # not yet: the back-off holds
    assert len(sender.calls) == 1
    clock.set(_next(eng))
    await eng.run_due()  # second failure: the back-off doubles
    row = reminder(engine, first.id)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=4)
    clock.set(_next(eng))
    await eng.run_due()
    row = reminder(engine, first.id)
    assert (row.status, row.attempts, row.is_repeat) == (ReminderStatus.SENT, 3, False)
    assert sender.delivered == [(first.id, False)]


async def test_retry_after_is_honoured(engine: DbEngine, protocol: Protocol) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    first = reminders(engine, pid)[0]
    clock = FakeClock(first.due_at)
    mono = FakeMonotonic()
    eng, sender, _ = make_engine(engine, clock, monotonic=mono)
    sender.fail_next(NotDelivered("RetryAfter", retry_after=30))
    await eng.run_due()
    row = reminder(engine, first.id)
    assert row.status == ReminderStatus.PENDING
    assert row.next_attempt_at == first.due_at + timedelta(seconds=30)
    clock.advance(timedelta(seconds=29))
    await eng.run_due()
    assert len(sender.calls) == 1
    clock.advance(timedelta(seconds=1))
    before = mono()
    await eng.run_due()
    assert sender.delivered == [(first.id, False)]
    # The pacer also held that chat for the flood wait (real seconds).
    assert mono() - before == pytest.approx(30.0, abs=0.01)


def _on_two_channels(db: DbEngine, protocol: Protocol, count: int) -> set[int]:
    """``count`` patients, even ones on Telegram and odd ones on WeChat, their first
    reminders due at the same instant; the ids of those reminders to WeChat patients."""
    wechat: set[int] = set()
    for i in range(count):
        pid = enroll(db, protocol, f"P{i:02d}")
        with UnitOfWork(db, "system", BEFORE_PLAN) as uow:
            patient = uow.session.get(Patient, pid)
            assert patient is not None
            channel = Channel.WECHAT if i % 2 else Channel.TELEGRAM
            bind_account(uow, patient, channel, f"chat{pid}", f"chat{pid}")
        if i % 2:
            first = reminders(db, pid)[0].id
            assert first is not None
            wechat.add(first)
    return wechat


def _two_lanes() -> dict[Hashable, PaceLimits]:
    return {Channel.TELEGRAM: PaceLimits(), Channel.WECHAT: PaceLimits(global_rate=None)}


@pytest.mark.slow
async def test_a_burst_on_two_channels_is_paced_per_channel(
    engine: DbEngine, protocol: Protocol
) -> None:
    """Telegram's 28 a second holds its own patients only: WeChat's go beside them."""
    wechat = _on_two_channels(engine, protocol, 40)
    first = reminders(engine)[0].due_at  # every patient's first reminder, the same instant
    mono = FakeMonotonic()
    eng, sender, _ = make_engine(engine, FakeClock(first), monotonic=mono, lanes=_two_lanes())
    before = mono()
    await eng.run_due()
    due = [r.id for r in reminders(engine) if r.due_at == first]
    assert len(due) == 40 and len(wechat) == 20
    assert {r for r, _ in sender.delivered} == set(due)
    # 20 Telegram sends at 28 a second after a burst of 3; sharing one budget would take
    # (40 - 3) / 28 = 1.3 s.
    assert mono() - before == pytest.approx((20 - 3) / 28, abs=0.01)


@dataclass
class SlowSender(FakeSender):
    """A channel that takes ``latency`` real seconds (on the fake clock) to answer a send."""

    mono: FakeMonotonic = field(default_factory=FakeMonotonic)
    latency: float = 0.15

    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        await self.mono.sleep(self.latency)
        return await super().send(reminder_id, repeat=repeat)


@pytest.mark.slow
async def test_a_slow_channel_answer_does_not_slow_a_burst_below_its_pace(
    engine: DbEngine, protocol: Protocol
) -> None:
    """Claims are topped up as sends finish: the pacer never waits for a batch's last answer."""
    for i in range(40):
        _enrolled(engine, protocol, f"P{i:02d}", chat=600 + i)
    first = reminders(engine)[0].due_at  # every patient's first reminder, the same instant
    mono = FakeMonotonic()
    sender = SlowSender(mono=mono)
    eng, _, _ = make_engine(engine, FakeClock(first), sender, monotonic=mono)
    before = mono()
    await eng.run_due()
    assert len(sender.delivered) == 40
    # 28 a second after a burst of 3, and the last answer; batch by batch, each batch's
    # last answer (150 ms, more than the pacer can make up) stopped Telegram's sends.
    assert mono() - before == pytest.approx((40 - 3) / 28 + 0.15, abs=0.01)


async def test_a_read_timeout_gets_exactly_one_repeat(engine: DbEngine, protocol: Protocol) -> None:
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    clock = FakeClock(first.due_at)
    eng, sender, _ = make_engine(engine, clock)
    sender.fail_next(MaybeDelivered("TimedOut"))
    report = await eng.run_due()
    assert report.repeats_scheduled == [first.id]
    assert sender.calls == [(first.id, False), (first.id, True)]  # resent at once, as a repeat
    row = reminder(engine, first.id)
    assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)


async def test_a_repeat_that_times_out_is_not_repeated_again(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    clock = FakeClock(first.due_at)
    eng, sender, _ = make_engine(engine, clock)
    sender.fail_next(MaybeDelivered("TimedOut"), MaybeDelivered("TimedOut"))
    await eng.run_due()
    clock.advance(timedelta(hours=1))
    await eng.recover(at_start=False)
    await eng.run_due()
    assert sender.calls == [(first.id, False), (first.id, True)]
    row = reminder(engine, first.id)
    assert (row.status, row.is_repeat) == (ReminderStatus.UNCERTAIN, True)


async def test_a_blocked_patient_is_tried_once_a_day_until_a_reminder_reaches_them(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    planned = reminders(engine, pid)
    clock = FakeClock(planned[0].due_at)
    eng, sender, alerter = make_engine(engine, clock)
    blocked = Blocked("Forbidden: bot was blocked by the user")
    sender.fail_next(blocked, blocked)  # refused on the day they block and the day after
    await eng.run_due()
    row = reminder(engine, planned[0].id)
    assert row.status == ReminderStatus.FAILED
    assert "blocked" in (row.last_error or "")
    with read_session(engine) as session:
        patient = session.get(Patient, pid)
        assert patient is not None
        assert patient.unreachable_since == planned[0].due_at
    first_day = planned[0].due_at.astimezone(SHANGHAI).date()
    third_day = first_day + timedelta(days=2)
    third_day_starts = datetime.combine(third_day, time(0), tzinfo=SHANGHAI)
    await run_until(eng, clock, third_day_starts + timedelta(days=1))

    def day(reminder_id: int) -> object:
        return reminder(engine, reminder_id).due_at.astimezone(SHANGHAI).date()

    tried = [day(rid) for rid, _ in sender.calls]
    # One attempt on the day they blocked, one the day after; the third day's first gets through.
    assert tried[:3] == [first_day, first_day + timedelta(days=1), third_day]
    assert sender.delivered[0][0] == sender.calls[2][0]
    skipped = [
        r
        for r in planned
        if first_day <= r.due_at.astimezone(SHANGHAI).date() < third_day
        and r.id not in {c[0] for c in sender.calls}
    ]
    assert skipped
    for later in skipped:
        assert _status(engine, later.id) == (
            ReminderStatus.SKIPPED,
            "patient unreachable (blocked the bot)",
        )
    # Reachable again: the rest of the third day goes out as usual.
    third = [r.id for r in planned if r.due_at.astimezone(SHANGHAI).date() == third_day]
    assert [rid for rid, _ in sender.delivered] == third
    with read_session(engine) as session:
        patient = session.get(Patient, pid)
        assert patient is not None
        assert patient.unreachable_since is None
    assert alerter.alerts == [PatientUnreachable("P01"), PatientReachable("P01")]


async def test_a_rejected_reminder_fails_with_the_reason_and_alerts(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    first, second = reminders(engine, pid)[:2]
    clock = FakeClock(first.due_at)
    eng, sender, alerter = make_engine(engine, clock)
    sender.fail_next(Rejected("Bad Request: chat not found"))
    await eng.run_due()
    assert _status(engine, first.id) == (ReminderStatus.FAILED, "Bad Request: chat not found")
    assert first.id is not None
    assert first.id is not None
    assert alerter.alerts == [ReminderRejected(first.id, "P01", "Bad Request: chat not found")]
    clock.set(second.due_at)
    await eng.run_due()
    assert _status(engine, second.id)[0] == ReminderStatus.SENT


async def test_an_undeliverable_reminder_is_skipped(engine: DbEngine, protocol: Protocol) -> None:
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    eng, sender, _ = make_engine(engine, FakeClock(first.due_at))
    sender.fail_next(Undeliverable("patient P01 has not joined the bot"))
    await eng.run_due()
    assert _status(engine, first.id)[0] == ReminderStatus.SKIPPED


# --- downtime ----------------------------------------------------------------------------


async def test_after_downtime_useful_reminders_go_late_and_the_rest_are_missed(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    # Down for two days, back three hours before the second infusion: its evening
    # reminder is still useful, the doses of those two days are not.
    infusions = [r for r in reminders(engine, pid) if r.slot == Slot.INFUSION_EVENING_BEFORE]
    back = infusions[1].announces_at - timedelta(hours=3)
    down = back - timedelta(days=2)
    clock = FakeClock(BEFORE_PLAN)
    eng, sender, alerter = make_engine(engine, clock)
    await run_until(eng, clock, down)
    assert alerter.alerts == []
    sent_before = len(sender.delivered)
    overdue = [r for r in reminders(engine, pid) if down < r.due_at <= back]
    assert overdue

    clock.set(back)
    report = await eng.run_due()

    still_useful = [r for r in overdue if r.announces_at >= back]
    too_late = [r for r in overdue if r.announces_at < back]
    assert infusions[1] in still_useful
    assert len(too_late) >= 4  # the doses of those two days
    assert [rid for rid, _ in sender.delivered[sent_before:]] == [r.id for r in still_useful]
    for r in still_useful:
        assert _status(engine, r.id)[0] == ReminderStatus.SENT
    for r in too_late:
        assert _status(engine, r.id)[0] == ReminderStatus.MISSED
    assert [m.reminder_id for m in report.missed] == [r.id for r in too_late]
    # One summary to coordinators, naming each missed reminder.
    assert len(alerter.alerts) == 1
    summary = alerter.alerts[0]
    assert isinstance(summary, RemindersMissed)
    assert [m.reminder_id for m in summary.reminders] == [r.id for r in too_late]
    assert {m.study_id for m in summary.reminders} == {"P01"}


async def test_a_dose_reminder_a_little_late_is_still_sent(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    dose, later = [r for r in reminders(engine, pid) if r.slot == Slot.DOSE_1][:2]
    clock = FakeClock(dose.due_at + timedelta(minutes=29))
    eng, _, _ = make_engine(engine, clock)
    await eng.run_due()
    assert _status(engine, dose.id)[0] == ReminderStatus.SENT
    clock.set(later.due_at + timedelta(minutes=31))
    await eng.run_due()
    assert _status(engine, later.id)[0] == ReminderStatus.MISSED


async def test_a_late_reminder_waits_out_the_quiet_hours(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    evening = _first_of(engine, pid, Slot.INFUSION_EVENING_BEFORE)  # 20:00 the day before
    night = evening.due_at + timedelta(hours=4)  # back at midnight, in the quiet hours
    clock = FakeClock(night)
    options = EngineOptions(policy=PolicyOptions(quiet_hours=protocol.quiet_hours))
    eng, sender, _ = make_engine(engine, clock, options=options)
    report = await eng.run_due()
    assert report.deferred == [evening.id]
    assert sender.calls == []
    row = reminder(engine, evening.id)
    quiet_end = datetime.combine(
        night.astimezone(SHANGHAI).date(), protocol.quiet_hours.end, tzinfo=SHANGHAI
    )
    assert (row.status, row.next_attempt_at) == (ReminderStatus.PENDING, quiet_end)
    assert eng.next_wake() == quiet_end
    clock.set(quiet_end)
    await eng.run_due()
    assert sender.delivered[0] == (evening.id, False)


async def test_a_reminder_held_by_retry_after_into_the_quiet_hours_waits_for_morning(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    evening = _first_of(engine, pid, Slot.INFUSION_EVENING_BEFORE)  # 20:00, with a dose
    same_time = [r.id for r in reminders(engine, pid) if r.due_at == evening.due_at]
    assert evening.id in same_time and len(same_time) == 2
    clock = FakeClock(evening.due_at)
    options = EngineOptions(policy=PolicyOptions(quiet_hours=protocol.quiet_hours))
    # The pacer's waits take trial time, as in production.
    eng, sender, _ = make_engine(engine, clock, options=options, tied=True)
    # Telegram pauses the chat for three hours: past 22:00.
    sender.fail_next(NotDelivered("RetryAfter", retry_after=3 * 3600))
    report = await eng.run_due()
    night = evening.due_at + timedelta(hours=3)
    assert clock.now() >= night  # the second reminder waited out the pause
    # Only the first was tried; the one that waited was checked again and not sent at 23:00.
    assert sender.calls == [(same_time[0], False)]
    quiet_end = datetime.combine(
        night.astimezone(SHANGHAI).date() + timedelta(days=1),
        protocol.quiet_hours.end,
        tzinfo=SHANGHAI,
    )
    row = reminder(engine, evening.id)
    if evening.id == same_time[1]:
        assert report.deferred == [evening.id]
        assert (row.status, row.next_attempt_at) == (ReminderStatus.PENDING, quiet_end)
    await run_until(eng, clock, quiet_end)
    # Nothing went in the quiet hours; the infusion reminder went first, at 07:00 (the dose's
    # use had passed by then: missed).
    sent = [reminder(engine, rid) for rid, _ in sender.delivered]
    assert sent[0].id == evening.id
    assert sent[0].sent_at == quiet_end
    assert all(r.sent_at is not None and r.sent_at >= quiet_end for r in sent)
    dose = next(rid for rid in same_time if rid != evening.id)
    assert reminder(engine, dose).status == ReminderStatus.MISSED


async def test_an_unexpected_failure_while_sending_gets_one_repeat_not_a_resend(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    clock = FakeClock(first.due_at)
    eng, sender, _ = make_engine(engine, clock)
    sender.fail_next(RuntimeError("the sender broke after the request left"))
    report = await eng.run_due()
    assert report.repeats_scheduled == [first.id]
    await eng.run_due()
    assert sender.calls == [(first.id, False), (first.id, True)]
    row = reminder(engine, first.id)
    assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)


# --- crash recovery -----------------------------------------------------------------------


def _claim(
    db: DbEngine, now: datetime, worker: str, limit: int = 3, *, handed: bool = False
) -> list[int]:
    """``worker`` claims what is due; with ``handed``, it has handed each to its channel."""
    with UnitOfWork(db, "system", now) as uow:
        claimed = claim_due_reminders(uow, limit=limit, worker=worker, now=now)
        if handed:
            for r in claimed:
                mark_handed(uow, r)
        return [r.id for r in claimed]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("worker", "claimed_ago", "abandoned"),
    [
        ("testhost-1", timedelta(0), True),  # our own id before a restart
        ("testhost-4242", timedelta(0), True),  # a process of this host that is gone
        ("testhost-7", timedelta(0), False),  # a process of this host still running
        ("otherhost-1", timedelta(minutes=9), False),  # another host, within the lease
        ("otherhost-1", timedelta(minutes=11), True),  # another host, lease expired
    ],
)
async def test_claims_left_by_a_stopped_worker_are_repeated_once(
    engine: DbEngine,
    protocol: Protocol,
    worker: str,
    claimed_ago: timedelta,
    abandoned: bool,
) -> None:
    a = _enrolled(engine, protocol, "A01", 501)
    b = _enrolled(engine, protocol, "B01", 502)
    claim_time = reminders(engine, a)[0].due_at
    ids = _claim(engine, claim_time, worker, handed=True)
    assert [reminder(engine, i).patient_id for i in ids] == [a, b]
    clock = FakeClock(claim_time + claimed_ago)
    eng, sender, _ = make_engine(engine, clock, alive=frozenset({1, 7}))
    repeats = await eng.recover()
    await eng.run_due()
    if abandoned:
        assert repeats == ids
        assert sender.calls == [(i, True) for i in ids]
        for i in ids:
            row = reminder(engine, i)
            assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)
    else:
        assert repeats == []
        assert sender.calls == []
        assert {reminder(engine, i).status for i in ids} == {ReminderStatus.SENDING}


async def test_a_claim_never_handed_to_its_channel_survives_two_crashes_and_is_sent_once(
    engine: DbEngine, protocol: Protocol
) -> None:
    # Two processes die in turn holding the same claim, each before the send left
    # (waiting for the pacer behind the rest of its batch): nothing can have reached the
    # patient, so the reminder is neither lost nor sent as a repeat.
    pid = _enrolled(engine, protocol)
    first = reminders(engine, pid)[0]
    now = first.due_at
    eng, sender, _ = make_engine(engine, FakeClock(now))
    assert _claim(engine, now, "testhost-4242", limit=1) == [first.id]
    assert await eng.recover() == []
    assert _claim(engine, now, "testhost-4243", limit=1) == [first.id]
    assert await eng.recover() == []
    await eng.run_due()
    assert sender.calls == [(first.id, False)]
    row = reminder(engine, first.id)
    assert (row.status, row.is_repeat, row.attempts) == (ReminderStatus.SENT, False, 1)


async def test_a_graceful_stop_gives_back_claims_not_yet_attempted(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    planned = reminders(engine, pid)
    # Just after the first urine collection ends: the evening visit reminder and the
    # end-of-collection reminder are both still useful; what came before is not.
    urine_end = _first_of(engine, pid, Slot.URINE_END)
    clock = FakeClock(urine_end.due_at + timedelta(minutes=10))
    useful = [r for r in planned if r.due_at <= clock.now() and r.announces_at >= clock.now()] + [
        urine_end
    ]
    assert len(useful) == 2
    gate = asyncio.Event()

    class SlowSender(FakeSender):
        async def send(self, reminder_id: int, *, repeat: bool) -> int:
            gate.set()
            await asyncio.sleep(0.05)
            return await super().send(reminder_id, repeat=repeat)

    eng, _, _ = make_engine(engine, clock, sender=SlowSender())
    drain = asyncio.create_task(eng.run_due())
    await gate.wait()
    await eng.stop()
    report = await drain
    assert report.sent == [useful[0].id]  # the send in flight finished
    assert report.released == [useful[1].id]
    for r in useful[1:]:
        row = reminder(engine, r.id)
        assert (row.status, row.attempts, row.claimed_by) == (ReminderStatus.PENDING, 0, None)


# --- periodic jobs (the hooks for escalations and the digest) ----------------------------


async def test_periodic_jobs_run_on_trial_time_once_per_instant(
    engine: DbEngine, protocol: Protocol
) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    clock = FakeClock(start)
    runs: dict[str, list[datetime]] = {"digest": [], "scan": []}

    def recorder(name: str) -> Callable[[datetime], Awaitable[None]]:
        async def work(at: datetime) -> None:
            runs[name].append(at)

        return work

    def jobs() -> list[PeriodicJob]:
        return [
            PeriodicJob("digest", daily_at(time(8, 30), SHANGHAI), recorder("digest")),
            PeriodicJob("scan", every(timedelta(minutes=15)), recorder("scan")),
        ]

    eng, _, _ = make_engine(engine, clock)
    for job in jobs():
        eng.add_job(job)
    await eng.run_due()  # registers the jobs from now: nothing runs for the past
    assert runs == {"digest": [], "scan": []}
    assert eng.next_wake() == start + timedelta(minutes=15)
    await run_until(eng, clock, start + timedelta(hours=1))
    digest_at = datetime(2026, 12, 1, 8, 30, tzinfo=SHANGHAI)
    assert runs["digest"] == [digest_at]
    assert runs["scan"] == [start + timedelta(minutes=m) for m in (15, 30, 45, 60)]

    # Down for three days: a new process runs each job once, for the latest instant missed.
    clock.advance(timedelta(days=3))
    again, _, _ = make_engine(engine, clock, worker="testhost-2")
    for job in jobs():
        again.add_job(job)
    await again.run_due()
    await again.run_due()
    assert runs["digest"] == [digest_at, digest_at + timedelta(days=3)]
    assert runs["scan"][-1] == clock.now()
    assert len(runs["scan"]) == 5


async def test_the_window_lists_the_instants_to_wake_at(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    planned = reminders(engine, pid)
    clock = FakeClock(planned[0].due_at - timedelta(minutes=1))
    eng, _, _ = make_engine(engine, clock, options=EngineOptions(window=timedelta(days=1)))
    instants = eng.wake_instants()
    expected = sorted({r.due_at for r in planned if r.due_at < clock.now() + timedelta(days=1)})
    assert instants == expected
    assert eng.next_wake() == planned[0].due_at


# --- on APScheduler, with a rehearsal clock --------------------------------------------------


@SQLITE_ONLY
async def test_started_on_a_rehearsal_clock_it_wakes_up_by_itself(
    engine: DbEngine, protocol: Protocol
) -> None:
    pid = _enrolled(engine, protocol, daily=True)
    first, second = reminders(engine, pid)[:2]
    # Ten trial minutes before the first reminder, 36000 times real time: 1/60 s of waiting
    # for the first, about 1.1 s for the second (eleven trial hours later).
    clock = RehearsalClock(first.due_at - timedelta(minutes=10), 36000)
    sender, alerter = FakeSender(), FakeAlerter()
    eng = Engine(engine, clock, sender, alerter, worker="testhost-1", host="testhost")
    await eng.start()
    try:
        async with asyncio.timeout(20):
            while len(sender.delivered) < 2:
                await asyncio.sleep(0.01)
    finally:
        await eng.stop()
    assert sender.delivered[:2] == [(first.id, False), (second.id, False)]
    assert reminder(engine, first.id).sent_at is not None
    with read_session(engine) as session:
        point = resume_point(session)
    assert point is not None
    assert point.position >= second.due_at
