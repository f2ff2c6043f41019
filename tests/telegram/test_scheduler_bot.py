"""The reminder engine end to end: the real bot, over HTTP, against the local Bot API server.

The trial clock is the world's FakeClock and the pacer runs on fake
monotonic time, so nothing here waits for real time to pass except the
HTTP round trips (and the deliberate read timeout of one test).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.telegram.transport import TelegramTransport
from bot.i18n import Translator
from bot.routing import MISSED_HEADER, REACHABLE, REJECTED, UNREACHABLE, Router
from bot.runner import engine_router
from bot.views.reminder import REPEAT_NOTE, render_reminder
from core.store.db import read_session
from core.store.models import (
    Channel,
    InviteRole,
    Patient,
    PatientStatus,
    PlannedEventRow,
    ReminderStatus,
)
from core.store.uow import UnitOfWork
from scheduler.clock import FakeMonotonic
from scheduler.engine import Engine, EngineOptions
from scheduler.pacing import Pacer
from scheduler.policy import PolicyOptions
from tests.support.bot_harness import TOKEN, World
from tests.support.scheduler_fakes import TrialTimeSleep, reminder, reminders, run_until

# The real bot over HTTP; the 24-week plan alone takes over 15 s.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

END_OF_PLAN = datetime(2027, 7, 1, tzinfo=UTC)
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Setup:
    world: World
    engine: Engine
    mono: FakeMonotonic
    coordinator: int
    router: Router


def _engine(world: World, outlet: Router, mono: FakeMonotonic, *, night: bool = False) -> Engine:
    """The engine on the world's clock; with ``night``, the protocol's quiet hours kept and
    the pacer's waits taking trial time (as they do in production)."""
    options = EngineOptions(
        policy=PolicyOptions(quiet_hours=world.services.protocol.quiet_hours if night else None)
    )
    return Engine(
        world.services.engine,
        world.clock,
        outlet,
        outlet,
        options=options,
        pacer=Pacer(
            monotonic=mono, sleep=TrialTimeSleep(mono, world.clock) if night else mono.sleep
        ),
        worker="testhost-1",
    )


@pytest.fixture
async def setup(world: World) -> Setup:
    assert world.app is not None
    coordinator = await world.join_staff(InviteRole.COORDINATOR)
    mono = FakeMonotonic()
    # The engine's own bot, as in production (bot.runner.build_engine).
    router = engine_router(world.app, world.services)
    return Setup(world, _engine(world, router, mono), mono, coordinator, router)


async def _patient(world: World, study_id: str, *, zh: bool = False, **kwargs: Any) -> Patient:
    world.enroll(study_id, language="zh_Hans" if zh else "en", **kwargs)
    await world.join_patient(study_id, "zh" if zh else "en", "中文" if zh else "English")
    return world.patient(study_id)


def _bot_messages(world: World, chat: int | None, after: int) -> list[str]:
    assert chat is not None
    return [m.shown for m in world.api.messages_to(chat) if m.message_id > after]


def _last_id(world: World, chat: int | None) -> int:
    assert chat is not None
    sent = world.api.messages_to(chat)
    return sent[-1].message_id if sent else 0


def _expected_text(
    world: World, patient: Patient, reminder_id: int | None, repeat: bool = False
) -> str:
    r = reminder(world.services.engine, reminder_id)
    with read_session(world.services.engine) as session:
        event = session.get(PlannedEventRow, r.event_id)
    assert event is not None
    t = Translator(patient.language.value, world.services.zone)
    text, _ = render_reminder(t, world.services.protocol, r, event, repeat=repeat)
    return text


# --- the whole plan ------------------------------------------------------------------------


async def test_a_24_week_plan_reaches_each_patient_once_in_order_in_their_language(
    setup: Setup,
) -> None:
    world, engine = setup.world, setup.engine
    zh = await _patient(world, "Z01", zh=True, arm="belimumab_mt", daily_doses=True)
    en = await _patient(world, "E01", arm="mt_only", daily_doses=True)
    before = {p.study_id: _last_id(world, world.chat_of(p)) for p in (zh, en)}

    await run_until(engine, world.clock, END_OF_PLAN)

    for patient in (zh, en):
        assert patient.id is not None
        assert world.chat_of(patient) is not None
        planned = [
            r
            for r in reminders(world.services.engine, patient.id)
            if r.due_at >= world.clock.now() - timedelta(days=400)
        ]
        due = [r for r in planned if r.status != ReminderStatus.MISSED or r.last_error is None]
        sendable = [r for r in planned if r.sent_at is not None]
        assert len(sendable) > 300
        # Everything not already past at enrollment was sent, once.
        assert {r.status for r in due} == {ReminderStatus.SENT}
        assert sendable == due
        # In order of due time: Telegram's message ids grow in the same order.
        ids = [r.message_id or 0 for r in sendable]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        shown = _bot_messages(world, world.chat_of(patient), before[patient.study_id])
        assert len(shown) == len(sendable)
        # In the patient's language, exactly as rendered for them.
        for r, text in zip(sendable, shown, strict=True):
            assert r.id is not None
            assert text == _expected_text(world, patient, r.id)
        has_chinese = [bool(CJK.search(text)) for text in shown]
        assert all(has_chinese) if patient is zh else not any(has_chinese)


# --- the send-time re-check ----------------------------------------------------------------


async def test_a_withdrawn_patient_gets_nothing(setup: Setup) -> None:
    world = setup.world
    p = await _patient(world, "W01", daily_doses=True)
    assert p.id is not None and world.chat_of(p) is not None
    last = _last_id(world, world.chat_of(p))
    with UnitOfWork(world.services.engine, "staff:1", world.clock.now()) as uow:
        row = uow.session.get(Patient, p.id)
        assert row is not None
        uow.update(row, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
    first = next(
        r for r in reminders(world.services.engine, p.id) if r.status == ReminderStatus.PENDING
    )
    await run_until(setup.engine, world.clock, first.due_at + timedelta(days=1))
    assert _bot_messages(world, world.chat_of(p), last) == []
    assert reminder(world.services.engine, first.id).status == ReminderStatus.SKIPPED


# --- each error class, injected at the local server -----------------------------------------


async def _first_pending(setup: Setup, study_id: str) -> tuple[Patient, int, int]:
    p = await _patient(setup.world, study_id, daily_doses=True)
    assert p.id is not None and setup.world.chat_of(p) is not None
    first = next(
        r
        for r in reminders(setup.world.services.engine, p.id)
        if r.status == ReminderStatus.PENDING
    )
    assert first.id is not None
    setup.world.clock.set(first.due_at)
    return p, first.id, _last_id(setup.world, setup.world.chat_of(p))


@pytest.mark.parametrize(
    ("kind", "params", "retry_after"),
    [
        pytest.param("refused", {}, None, id="connection refused"),
        pytest.param("http_429", {"retry_after": 7}, 7, id="429 retry_after"),
    ],
)
async def test_nothing_delivered_goes_back_to_pending_and_is_sent_after_the_backoff(
    setup: Setup, kind: str, params: dict[str, Any], retry_after: int | None
) -> None:
    world, engine = setup.world, setup.engine
    p, rid, last = await _first_pending(setup, "F01")
    if kind == "refused":
        # A Telegram no one listens at: the connection is refused before anything leaves.
        # (Not initialized: that would ask it getMe.)
        nowhere = Bot(TOKEN, base_url=f"http://127.0.0.1:{_closed_port()}/bot")
        engine.sender = Router(world.services, {Channel.TELEGRAM: TelegramTransport(nowhere)})
        try:
            report = await engine.run_due()
        finally:
            await nowhere.shutdown()
        engine.sender = setup.router
    else:
        world.api.inject_fault("sendMessage", kind, **params)
        report = await engine.run_due()
    assert report.retrying == [rid]
    row = reminder(world.services.engine, rid)
    assert row.status == ReminderStatus.PENDING
    wait = timedelta(seconds=retry_after or 2)
    assert row.next_attempt_at == world.clock.now() + wait
    assert _bot_messages(world, world.chat_of(p), last) == []

    world.clock.advance(wait - timedelta(seconds=1))
    await engine.run_due()
    assert reminder(world.services.engine, rid).status == ReminderStatus.PENDING
    world.clock.advance(timedelta(seconds=1))
    mono_before = setup.mono()
    await engine.run_due()
    row = reminder(world.services.engine, rid)
    # Sent as new: nothing had arrived, so it says nothing of a repeat.
    assert (row.status, row.attempts, row.is_repeat) == (ReminderStatus.SENT, 2, False)
    assert _bot_messages(world, world.chat_of(p), last) == [_expected_text(world, p, rid)]
    if retry_after is not None:
        # The pacer held that chat for Telegram's retry_after (real seconds).
        assert setup.mono() - mono_before >= retry_after - 1


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "kind", ["http_500_after_delivery", "http_502_after_delivery", "drop_after_delivery"]
)
async def test_a_5xx_or_a_dropped_answer_after_delivery_gets_one_marked_repeat_only(
    setup: Setup, kind: str
) -> None:
    world, engine = setup.world, setup.engine
    p, rid, last = await _first_pending(setup, "U01")
    world.api.inject_fault("sendMessage", kind)
    report = await engine.run_due()
    assert report.repeats_scheduled == [rid]
    assert report.sent == [rid]
    row = reminder(world.services.engine, rid)
    assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)
    # The original did arrive; the one resend says it is a repeat; nothing more comes.
    await run_until(engine, world.clock, world.clock.now() + timedelta(hours=2))
    shown = _bot_messages(world, world.chat_of(p), last)
    assert shown[:2] == [
        _expected_text(world, p, rid),
        _expected_text(world, p, rid, repeat=True),
    ]
    assert shown[1].startswith(REPEAT_NOTE)
    assert shown.count(_expected_text(world, p, rid)) == 1
    assert shown.count(_expected_text(world, p, rid, repeat=True)) == 1


async def test_a_reminder_whose_repeat_also_got_a_5xx_is_not_sent_again_nor_called_missed(
    setup: Setup,
) -> None:
    world, engine = setup.world, setup.engine
    p, rid, last = await _first_pending(setup, "U02")
    coordinator_last = _last_id(world, setup.coordinator)
    world.api.inject_fault("sendMessage", "http_502_after_delivery", count=2)
    await engine.run_due()
    # A day later: long past its use.
    await run_until(engine, world.clock, world.clock.now() + timedelta(days=1))
    row = reminder(world.services.engine, rid)
    assert (row.status, row.is_repeat) == (ReminderStatus.UNCERTAIN, True)
    shown = _bot_messages(world, world.chat_of(p), last)
    assert shown.count(_expected_text(world, p, rid)) == 1
    assert shown.count(_expected_text(world, p, rid, repeat=True)) == 1
    # It reached the patient (twice): no coordinator is told it was missed.
    t = Translator("en", world.services.zone)
    header = t._(MISSED_HEADER, count=1).split(":")[0]
    assert not any(
        m.startswith(header) and "U02:" in m
        for m in _bot_messages(world, setup.coordinator, coordinator_last)
    )


async def test_a_chat_held_by_retry_after_past_22_00_gets_nothing_until_the_morning(
    setup: Setup,
) -> None:
    world = setup.world
    engine = _engine(world, setup.router, setup.mono, night=True)
    p = await _patient(world, "Q01", daily_doses=True)
    assert p.id is not None
    planned = reminders(world.services.engine, p.id)
    evening = next(r for r in planned if r.slot == "infusion_evening_before")
    same_time = [r for r in planned if r.due_at == evening.due_at]
    assert len(same_time) == 2  # the infusion's evening reminder and the 20:00 dose
    await run_until(engine, world.clock, evening.due_at - timedelta(minutes=1))
    last = _last_id(world, world.chat_of(p))
    # Telegram holds the chat for three hours: 20:00 -> 23:00.
    world.api.inject_fault("sendMessage", "http_429", retry_after=3 * 3600)
    world.clock.set(evening.due_at)
    await engine.run_due()
    assert world.clock.now() >= evening.due_at + timedelta(hours=3)
    zone = ZoneInfo(p.timezone)
    morning = datetime.combine(
        evening.due_at.astimezone(zone).date() + timedelta(days=1),
        world.services.protocol.quiet_hours.end,
        tzinfo=zone,
    )
    await run_until(engine, world.clock, morning - timedelta(minutes=1))
    # Nothing in the quiet hours, though the pause ended at 23:00.
    assert _bot_messages(world, world.chat_of(p), last) == []
    await run_until(engine, world.clock, morning)
    shown = _bot_messages(world, world.chat_of(p), last)
    assert shown[0] == _expected_text(world, p, evening.id)
    assert reminder(world.services.engine, evening.id).sent_at == morning
    dose = next(r for r in same_time if r.id != evening.id)
    assert reminder(world.services.engine, dose.id).status == ReminderStatus.MISSED


async def test_a_read_timeout_after_delivery_gets_exactly_one_repeat(setup: Setup) -> None:
    world = setup.world
    p, rid, last = await _first_pending(setup, "T01")
    request = HTTPXRequest(read_timeout=0.3, connect_timeout=2.0)
    async with Bot(TOKEN, base_url=world.api.base_url, request=request) as impatient:
        engine = _engine(
            world,
            Router(world.services, {Channel.TELEGRAM: TelegramTransport(impatient)}),
            setup.mono,
        )
        world.api.inject_fault("sendMessage", "timeout_after_delivery", delay=1.0)
        report = await engine.run_due()
    assert report.repeats_scheduled == [rid]
    assert report.sent == [rid]
    row = reminder(world.services.engine, rid)
    assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)
    shown = _bot_messages(world, world.chat_of(p), last)
    # Delivered twice: the original (whose answer timed out) and one repeat that says so.
    assert shown == [
        _expected_text(world, p, rid),
        _expected_text(world, p, rid, repeat=True),
    ]
    assert shown[1].startswith(REPEAT_NOTE)


def _requests_to(world: World, chat: int | None, after: int) -> list[int | None]:
    """The answers' statuses of the sends to ``chat`` since request number ``after``."""
    return [
        r.status
        for r in world.api.requests[after:]
        if r.method == "sendMessage" and r.params.get("chat_id") == chat
    ]


async def test_a_patient_who_blocks_then_unblocks_the_bot_is_tried_once_a_day_and_found_again(
    setup: Setup,
) -> None:
    world, engine = setup.world, setup.engine
    p, rid, last = await _first_pending(setup, "B01")
    chat, user = world.chat_of(p), world.telegram_user_of(p)
    assert user is not None
    zone = ZoneInfo(p.timezone)
    coordinator_last = _last_id(world, setup.coordinator)
    world.api.block(user)
    requests = len(world.api.requests)
    await engine.run_due()
    row = reminder(world.services.engine, rid)
    assert row.status == ReminderStatus.FAILED
    alert = await world.reply(setup.coordinator)
    assert alert.shown == (
        "Patient B01 has blocked the study's messages or left Telegram, so reminders cannot "
        "reach them and are stopped, but for one a day to notice when they are back. Please "
        "contact the patient another way."
    )
    assert alert.shown == Translator("en", world.services.zone)._(
        UNREACHABLE, study_id="B01", channel="Telegram"
    )

    def midnight(days: int) -> datetime:
        day = world.clock.now().astimezone(zone).date() + timedelta(days=days)
        return datetime.combine(day, time(0), tzinfo=zone)

    # The rest of the day they blocked: nothing more is tried.
    end_of_day_1 = midnight(1)
    await run_until(engine, world.clock, end_of_day_1)
    assert _requests_to(world, chat, requests) == [403]
    # The next day, still blocked: one trial, refused; no second alert.
    requests = len(world.api.requests)
    await run_until(engine, world.clock, end_of_day_1 + timedelta(hours=23))
    assert _requests_to(world, chat, requests) == [403]
    world.api.unblock(user)  # late on day 2: they do not write to the bot
    await run_until(engine, world.clock, end_of_day_1 + timedelta(days=1))
    assert _requests_to(world, chat, requests) == [403]
    # Day 3: the first reminder reaches them; the rest of the day goes as usual.
    requests = len(world.api.requests)
    await run_until(engine, world.clock, end_of_day_1 + timedelta(days=2))
    day_3 = [
        r
        for r in reminders(world.services.engine, p.id)
        if r.due_at.astimezone(zone).date() == (end_of_day_1 + timedelta(days=1)).date()
    ]
    assert len(day_3) >= 2
    assert {r.status for r in day_3} == {ReminderStatus.SENT}
    assert _requests_to(world, chat, requests) == [200] * len(day_3)
    assert _bot_messages(world, chat, last) == [_expected_text(world, p, r.id) for r in day_3]
    with read_session(world.services.engine) as session:
        stored = session.get(Patient, p.id)
        assert stored is not None
        assert stored.unreachable_since is None
    # Coordinators: told once they were lost, once they were back.
    t = Translator("en", world.services.zone)
    assert _bot_messages(world, setup.coordinator, coordinator_last) == [
        t._(UNREACHABLE, study_id="B01", channel="Telegram"),
        t._(REACHABLE, study_id="B01", channel="Telegram"),
    ]
    assert t._(REACHABLE, study_id="B01", channel="Telegram") == (
        "Patient B01 can be reached on Telegram again: today's reminder was delivered, so "
        "their reminders go out as usual from now on."
    )


async def test_a_rejected_reminder_fails_with_the_reason_and_coordinators_are_told(
    setup: Setup,
) -> None:
    world, engine = setup.world, setup.engine
    _, rid, _ = await _first_pending(setup, "R01")
    reason = "Bad Request: chat not found"
    world.api.inject_fault("sendMessage", "http_400", description=reason)
    await engine.run_due()
    row = reminder(world.services.engine, rid)
    assert row.status == ReminderStatus.FAILED
    # PTB hands over Telegram's description without its "Bad Request: " prefix.
    assert row.last_error is not None
    assert row.last_error.lower() == "chat not found"
    alert = await world.reply(setup.coordinator)
    t = Translator("en", world.services.zone)
    assert alert.shown == t._(
        REJECTED, channel="Telegram", reminder_id=rid, study_id="R01", reason=row.last_error
    )
    assert alert.shown.startswith(f"Telegram refused reminder {rid} to patient R01 (")


# --- downtime --------------------------------------------------------------------------------


async def test_after_two_days_down_useful_reminders_go_late_and_one_summary_lists_the_rest(
    setup: Setup,
) -> None:
    world, engine = setup.world, setup.engine
    p = await _patient(world, "D01", daily_doses=True)
    assert p.id is not None and world.chat_of(p) is not None
    planned = reminders(world.services.engine, p.id)
    infusion_eve = [r for r in planned if r.slot == "infusion_evening_before"][1]
    back = infusion_eve.announces_at - timedelta(hours=3)
    await run_until(engine, world.clock, back - timedelta(days=2))
    last = _last_id(world, world.chat_of(p))
    coordinator_last = _last_id(world, setup.coordinator)

    world.clock.set(back)  # two days without running
    report = await engine.run_due()

    overdue = [r for r in planned if back - timedelta(days=2) < r.due_at <= back]
    late = [r for r in overdue if r.announces_at >= back]
    missed = [r for r in overdue if r.announces_at < back]
    assert infusion_eve in late
    assert len(missed) >= 4
    assert report.sent == [r.id for r in late]
    assert _bot_messages(world, world.chat_of(p), last) == [
        _expected_text(world, p, r.id) for r in late
    ]
    for r in missed:
        assert reminder(world.services.engine, r.id).status == ReminderStatus.MISSED
    summary = _bot_messages(world, setup.coordinator, coordinator_last)
    assert len(summary) == 1
    t = Translator("en", world.services.zone)
    assert summary[0].startswith(t._(MISSED_HEADER, count=len(missed)))
    assert summary[0].count("D01:") == len(missed)
