"""``GET /healthz`` and ``GET /metrics``: the health monitor and the metrics over HTTP.

Only translation: the verdict is :meth:`bot.health.Health.verdict`'s, the
metrics :class:`bot.metrics.Metrics`'s. The server serves them whatever else
is on (:func:`bot.runner.run_bot`).
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bot.health import Health
from bot.metrics import CONTENT_TYPE
from bot.web.server import WebRoute


def health_routes(health: Health) -> list[WebRoute]:
    """``/healthz`` (200 healthy, 503 with the reasons) and ``/metrics`` (Prometheus text)."""

    async def healthz(request: web.Request) -> web.Response:
        del request
        verdict = await health.verdict()
        body = {"ok": verdict.ok, "reasons": list(verdict.reasons)}
        return web.json_response(
            body, status=200 if verdict.ok else 503, dumps=lambda v: json.dumps(v) + "\n"
        )

    async def metrics(request: web.Request) -> web.Response:
        del request
        await health.verdict()  # its gauges (healthy, engine tick) brought up to date first
        body = await asyncio.to_thread(health.metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return [WebRoute("GET", "/healthz", healthz), WebRoute("GET", "/metrics", metrics)]
