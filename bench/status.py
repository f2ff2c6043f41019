"""status_ms: the time of a ``/status`` overview (queries and rendering) on the enrolled trial."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bench.measure import ZONE


def status_times(url: str, runs: int, at: datetime) -> list[float]:
    """Milliseconds per ``/status`` overview (queries and rendering), ``runs`` times."""
    from bot.context import Ctx, Services
    from bot.i18n import Translator
    from bot.runner import freeze_startup_heap
    from bot.staff.status import overview_blocks
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine
    from scheduler.clock import FakeClock

    zone = trial_zone(ZONE)
    services = Services(make_engine(url), load_protocol(), FakeClock(at), zone)

    @dataclass
    class StatusCtx:
        services: Services
        t: Translator

        def now(self) -> datetime:
            return self.services.clock.now()

    ctx = cast(Ctx, StatusCtx(services, Translator("en", zone)))
    overview_blocks(ctx)  # connection pool and caches warm, as in a running bot
    freeze_startup_heap()  # as the bot does once its engine has started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        blocks = overview_blocks(ctx)
        times.append((time.perf_counter() - started) * 1000)
        assert blocks
    services.engine.dispose()
    return times
