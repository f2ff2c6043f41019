"""``/healthz`` and ``/metrics`` of a running bot, polling the local Bot API server over HTTP.

The health monitor, the metrics and the reminder engine are the production
ones (:mod:`bot.health`, :mod:`bot.metrics`); real time is a fake clock the
test moves, so "has not ticked for 100 s" takes no waiting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from bot.health import DB_BACK, DB_READ_ONLY, DB_UNREACHABLE, Health, HealthOptions
from bot.i18n import Translator
from bot.metrics import Metrics
from bot.runner import engine_router
from bot.web.health import health_routes
from bot.web.server import WebServer
from core.store.models import InviteRole
from core.store.process_lock import acquire, polling_lock_name
from scheduler.clock import FakeClock
from scheduler.engine import Engine
from tests.support.bot_harness import TOKEN, World

pytestmark = pytest.mark.e2e

WALL_START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
# The loop's own heartbeats never come during a test: the test calls beat() itself.
OPTIONS = HealthOptions(beat_every=3600.0)


@dataclass
class Watched:
    world: World
    wall: FakeClock
    metrics: Metrics
    engine: Engine
    health: Health
    url: str

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.url + path) as answer:
            return answer.status, await answer.text()

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.get(self.url + "/healthz") as answer:
            return answer.status, await answer.json()

    async def polled_since(self, instant: datetime) -> None:
        """Wait for the bot's next successful getUpdates after ``instant`` (real time)."""
        await self.world.api.wait_until(
            lambda: (self.metrics.last_poll or 0) >= instant.timestamp(),
            what="a successful getUpdates",
        )

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        status, body = await self.get("/metrics")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }


@pytest.fixture
async def watched(world: World) -> AsyncIterator[Watched]:
    assert world.app is not None
    wall = FakeClock(WALL_START)
    metrics = Metrics(real_time=lambda: wall.now().timestamp())
    world.services.observer = metrics
    metrics.watch_store(world.services.engine, world.services.clock)
    router = engine_router(world.app, world.services)
    engine = Engine(
        world.services.engine, world.clock, router, router, worker="testhost-1", real_now=wall.now
    )
    lock = (polling_lock_name(TOKEN), "testhost-1")
    acquire(world.services.engine, *lock, wall.now(), stale_after=timedelta(seconds=60))
    assert world.services.router is not None
    health = Health(
        world.services.engine,
        engine,
        world.services.router,
        metrics,
        lock,
        options=OPTIONS,
        real_now=wall.now,
    )
    server = WebServer(health_routes(health), "127.0.0.1", 0)
    await server.start()
    try:
        yield Watched(world, wall, metrics, engine, health, f"http://127.0.0.1:{server.port}")
    finally:
        await health.stop()
        await server.stop()


def _read_only(dbapi: sqlite3.Connection, _record: object) -> None:
    dbapi.execute("PRAGMA query_only = ON")


async def test_a_running_bot_is_healthy(watched: Watched) -> None:
    await watched.polled_since(WALL_START)
    await watched.engine.refill()
    await watched.health.beat()
    assert await watched.healthz() == (200, {"ok": True, "reasons": []})


async def test_an_engine_that_stopped_ticking_makes_the_bot_unhealthy(watched: Watched) -> None:
    await watched.engine.refill()
    watched.wall.advance(timedelta(seconds=100))  # refills come every 60 s at most
    await watched.polled_since(watched.wall.now())  # Telegram is fine: it still answers
    status, body = await watched.healthz()
    assert status == 503
    assert body == {
        "ok": False,
        "reasons": ["the reminder engine has not ticked for 100 s (it ticks every 60 s)"],
    }
    await watched.engine.refill()
    assert (await watched.healthz())[0] == 200


async def test_a_read_only_database_is_unhealthy_and_coordinators_are_told_once(
    watched: Watched,
) -> None:
    world = watched.world
    user = await world.join_staff(InviteRole.COORDINATOR)
    await watched.health.start()  # reads the coordinators while the database answers
    await watched.polled_since(WALL_START)
    await watched.engine.refill()
    db = world.services.engine
    told_before = len(world.api.messages_to(user))

    # Every new connection refuses writes, as a database remounted read-only does (and
    # unlike chmod 0444, also for root).
    event.listen(db, "connect", _read_only)
    db.dispose()
    try:
        await watched.health.beat()
        status, body = await watched.healthz()
        assert status == 503
        (reason,) = body["reasons"]
        assert reason.startswith("the database is read-only: OperationalError: attempt to write")
        en = Translator("en", world.services.zone)
        notice = await world.reply(user)
        assert notice.shown == en._(DB_READ_ONLY)
        await watched.health.beat()  # still read-only: no second notice
        assert len(world.api.messages_to(user)) == told_before + 1
        scraped = await watched.scrape()
        assert scraped[("trial_bot_database_writable", ())] == 0
        assert scraped[("trial_bot_healthy", ())] == 0
    finally:
        event.remove(db, "connect", _read_only)
        db.dispose()

    await watched.health.beat()
    assert (await watched.healthz())[0] == 200
    back = await world.reply(user)
    assert back.shown == en._(DB_BACK)
    assert len(world.api.messages_to(user)) == told_before + 2


async def test_metrics_count_sends_by_outcome_429s_and_handled_events(watched: Watched) -> None:
    world = watched.world
    world.enroll("P01", language="en")
    await world.join_patient("P01")
    before = await watched.scrape()
    telegram = (("channel", "telegram"),)
    assert before[("trial_bot_handler_seconds_count", telegram)] >= 2  # /start, the language
    assert before[("trial_bot_rate_limited_total", telegram)] == 0

    due = watched.engine.next_wake()
    assert due is not None
    world.clock.set(due)
    await watched.engine.run_due()
    after = await watched.scrape()
    sent = (("channel", "telegram"), ("outcome", "sent"))
    assert (
        after[("trial_bot_sends_total", sent)] == before.get(("trial_bot_sends_total", sent), 0) + 1
    )
    state = (("state", "sent"),)
    assert after[("trial_bot_reminders", state)] == before[("trial_bot_reminders", state)] + 1
    assert (
        after[("trial_bot_audit_records_total", ())] > before[("trial_bot_audit_records_total", ())]
    )

    # Telegram's flood limit on the next one: a 429, the reminder retried later.
    world.api.inject_fault("sendMessage", "http_429", retry_after=1)
    due = watched.engine.next_wake()
    assert due is not None
    world.clock.set(due)
    await watched.engine.run_due()
    limited = await watched.scrape()
    assert limited[("trial_bot_rate_limited_total", telegram)] == 1
    assert (
        limited[("trial_bot_sends_total", (("channel", "telegram"), ("outcome", "rate_limited")))]
        == 1
    )
    # The reminder waits for its retry: the outbox is behind by the time since it was due.
    world.clock.advance(timedelta(minutes=5))
    lagging = await watched.scrape()
    assert lagging[("trial_bot_outbox_lag_seconds", ())] >= 300
    assert lagging[("trial_bot_database_up", ())] == 1


def _unreachable(*_args: object) -> None:
    raise sqlite3.OperationalError("unable to open database file")


async def test_an_unreachable_database_is_unhealthy_and_coordinators_are_told(
    watched: Watched,
) -> None:
    world = watched.world
    user = await world.join_staff(InviteRole.COORDINATOR)
    await watched.health.start()
    db = world.services.engine
    # Every new connection fails as one to a database server that went away does.
    event.listen(db, "do_connect", _unreachable)
    db.dispose()
    try:
        await watched.health.beat()
        status, body = await watched.healthz()
        assert status == 503
        assert body["reasons"][0] == (
            "the database does not answer: OperationalError: unable to open database file"
        )
        en = Translator("en", world.services.zone)
        assert (await world.reply(user)).shown == en._(DB_UNREACHABLE)
        scraped = await watched.scrape()  # the scrape itself still answers
        assert scraped[("trial_bot_database_up", ())] == 0
    finally:
        event.remove(db, "do_connect", _unreachable)
        db.dispose()
    await watched.health.beat()
    assert (await world.reply(user)).shown == en._(DB_BACK)


async def test_telegram_refusing_getupdates_makes_the_bot_unhealthy(watched: Watched) -> None:
    api = watched.world.api
    await watched.polled_since(WALL_START)
    api.inject_fault("getUpdates", "http_500", count=1000)
    # Once one poll has failed, every later one fails too (the bot polls one at a time).
    await api.wait_until(
        lambda: any(r.method == "getUpdates" and r.status == 500 for r in api.requests),
        what="a refused getUpdates",
    )
    watched.wall.advance(timedelta(seconds=100))
    await watched.engine.refill()  # the engine is fine
    assert await watched.healthz() == (
        503,
        {"ok": False, "reasons": ["no successful getUpdates from Telegram for 100 s"]},
    )
