"""The bot's HTTP server (aiohttp), run beside the chat channels in the same event loop.

What it serves is one list of :class:`WebRoute` that the runner builds
(:func:`bot.runner.web_routes`): WeChat's callback when WeChat is on, the
patients' pages, and always ``/healthz`` and ``/metrics`` (:mod:`bot.health`),
so ``python -m bot run`` listens at ``WEB_HOST:WEB_PORT`` whatever is on. The server only translates HTTP; each route's handler is
the adapter's or the page's own. A route may name the :class:`WebService`
behind it (the WeChat channel): the server starts each such service before
it listens and stops it after it has stopped listening.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot.settings import SettingError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebService(Protocol):
    """What runs behind some routes and lives as long as the server serves them."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WebRoute:
    """One path the server answers: ``GET /r/{token}``, its handler and the service behind it."""

    method: str
    path: str
    handler: Handler
    service: WebService | None = None


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
        self._services: list[WebService] = []
        for route in routes:
            if route.service is not None and not any(
                route.service is known for known in self._services
            ):
                self._services.append(route.service)
        self._started: list[WebService] = []

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def port(self) -> int:
        """The port listened on (the one given, or the one the system chose for 0)."""
        if self._runner is None:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        for service in self._services:
            # Stopped even when its start fails half-way (it may hold a connection).
            self._started.append(service)
            try:
                await service.start()
            except BaseException:
                await self.stop()
                raise
        runner = web.AppRunner(self._app, access_log=None)  # no patients' URLs in logs
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as exc:
            await runner.cleanup()
            await self.stop()
            # Said in one line by `python -m bot run` (a SettingError stops it, exit 2).
            raise SettingError(
                f"the bot's web server cannot listen on {self._host}:{self._port} "
                f"({exc.strerror or exc}): set WEB_HOST and WEB_PORT to an address that is "
                "free on this machine"
            ) from None
        self._runner = runner
        log.info("web server listening on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        while self._started:
            await self._started.pop().stop()
