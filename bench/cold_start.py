"""cold_start: a fresh interpreter, from nothing to an armed reminder window, with its peak RSS."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from bench.measure import TOKEN, ZONE, rss_mb


def cold_start_child(url: str) -> None:
    """In a fresh interpreter: schema to head, build the bot's engine, start it, wait until armed."""
    started = time.perf_counter()
    from bot.channels.telegram.app import build_application
    from bot.context import Services
    from bot.runner import build_engine, freeze_startup_heap
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine
    from core.store.schema import ensure_schema
    from scheduler.clock import SystemClock
    from scheduler.ports import Alert

    class NeverSends:
        """Sender and alerter that never reach Telegram (nothing is due at start-up)."""

        async def send(self, reminder_id: int, *, repeat: bool) -> int:
            return 1

        def confirmed_by_receipt(self, reminder_id: int) -> bool:
            return False

        async def alert(self, alert: Alert) -> None:
            return None

    async def main() -> dict[str, float]:
        ensure_schema(url)  # as bot.runner.make_services
        services = Services(make_engine(url), load_protocol(), SystemClock(), trial_zone(ZONE))
        app = build_application(services, TOKEN, base_url="http://127.0.0.1:9/bot")
        engine = build_engine(app, services)
        engine.sender = engine.alerter = NeverSends()
        armed = asyncio.Event()
        refill = engine.refill

        async def first_refill() -> None:
            await refill()
            armed.set()

        engine.refill = first_refill  # type: ignore[method-assign]
        await engine.start()
        freeze_startup_heap()  # what bot.runner.attach_engine does next, on the same loop
        await asyncio.wait_for(armed.wait(), 60)
        seconds = time.perf_counter() - started
        current, peak = rss_mb()
        instants = len(engine.wake_instants())
        await engine.stop()
        return {"seconds": seconds, "rss_mb": current, "peak_rss_mb": peak, "armed": instants}

    print(json.dumps(asyncio.run(main())))


def cold_start(url: str) -> dict[str, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--cold-start-child", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    wall = time.perf_counter() - started
    child = json.loads(out.stdout.strip().splitlines()[-1])
    child["process_wall_seconds"] = wall
    return cast(dict[str, float], child)
