"""The bot's HTTP server (aiohttp), run beside the chat channels in the same event loop.

What it serves is one list of :class:`WebRoute` that the runner builds
(:func:`bot.runner.web_routes`): WeChat's callback when WeChat is on, the
patients' pages. The server only translates HTTP; each route's handler is
the adapter's or the page's own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class WebRoute:
    """One path the server answers: ``GET /r/{token}`` and its handler."""

    method: str
    path: str
    handler: Handler


def build_web_app(routes: Sequence[WebRoute]) -> web.Application:
    """An aiohttp application answering exactly ``routes`` (a path twice is an error)."""
    app = web.Application(client_max_size=1024 * 1024)
    seen: set[tuple[str, str]] = set()
    for route in routes:
        key = (route.method.upper(), route.path)
        if key in seen:
            raise ValueError(f"two handlers for {key[0]} {route.path}")
        seen.add(key)
        app.router.add_route(route.method, route.path, route.handler)
    return app


class WebServer:
    """Starts and stops the application on ``host:port`` inside a running event loop."""

    def __init__(self, routes: Sequence[WebRoute], host: str, port: int) -> None:
        self._app = build_web_app(routes)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        return self._app

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None)  # no patients' URLs in logs
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner
        log.info("web server listening on %s:%d", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
