"""Start-up leaves the long-lived heap out of later garbage collections (the /status p95 target)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import cast

import pytest
from telegram.ext import Application

from bot.runner import attach_engine
from scheduler.engine import Engine
from tests.support.bot_harness import TOKEN


class EngineStandIn:
    """Records start and stop; the real engine's start is tested elsewhere."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


async def test_after_the_engine_starts_the_start_up_heap_is_frozen(thawed: None) -> None:
    app = Application.builder().token(TOKEN).build()
    engine = EngineStandIn()
    attach_engine(app, cast(Engine, engine))
    assert gc.get_freeze_count() == 0
    assert app.post_init is not None

    await app.post_init(app)

    assert engine.calls == ["start"]
    # Everything alive at start-up (libraries, this Application) is now out of
    # the collector's reach, so a full collection no longer walks it.
    assert gc.get_freeze_count() > 10_000
    assert app.post_stop is not None
    await app.post_stop(app)
    assert engine.calls == ["start", "stop"]
