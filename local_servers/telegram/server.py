"""A local Telegram Bot API server for rehearsals, end-to-end tests, the demo and benchmarks.

The bot (python-telegram-bot with ``base_url`` set to :attr:`LocalBotApi.base_url`,
i.e. ``TELEGRAM_BASE_URL``) talks to this server exactly as it talks to
Telegram: ``{base_url}{token}/{method}`` with form, multipart or JSON bodies,
answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}``. Every request is checked against the Bot API schema
(:mod:`local_servers.telegram.spec`); a refusal for a spec reason is kept in
:attr:`LocalBotApi.violations`, which a test suite asserts stays empty.

Behaviour modelled on Telegram ("Bots FAQ: My bot is hitting limits"; Bot API
"getUpdates"):

* ``getUpdates`` long-polls; ``offset`` confirms earlier updates; a second
  poll terminates a waiting one with 409 "Conflict: terminated by other
  getUpdates request" (one process per token).
* flood limits: about one message per second per private chat with short
  bursts, 20 a minute per group, 30 a second overall, answered 429 with
  ``retry_after`` (token buckets; :class:`FloodPolicy`).
* users and groups are simulated through a control interface: as Python
  methods (same event loop) or over HTTP under ``/control/`` (another process;
  see :mod:`local_servers.telegram.client`). Users send text or a photo with a caption,
  edit what they sent, press inline buttons, block the bot; a test reads what
  the bot sent and injects faults.

The server is assembled from one module per part: the flood limits
(:mod:`local_servers.telegram.flood`), the simulated world's records and state
(:mod:`local_servers.telegram.records`, :mod:`local_servers.telegram.world`), the Bot API
methods (:mod:`local_servers.telegram.methods`) and the control routes
(:mod:`local_servers.telegram.control`); here are the HTTP front door (tokens, the
schema check, injected faults) and :func:`serve_forever`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from aiohttp import web

from local_servers.telegram.control import ControlRoutes
from local_servers.telegram.flood import FloodLimiter, FloodPolicy, TokenBucket
from local_servers.telegram.methods import BotApiMethods
from local_servers.telegram.records import (
    AFTER_DELIVERY,
    BLOCKED_DESCRIPTION,
    CONFLICT_DESCRIPTION,
    FAULT_KINDS,
    JSON,
    TOKEN_PATTERN,
    ApiError,
    CallbackAnswer,
    ControlError,
    Event,
    Fault,
    InlineButton,
    RequestRecord,
    SentFile,
    SentMessage,
    SimChat,
    SimUser,
    Violation,
    file_path,
    is_sending_method,
    loggable,
)
from local_servers.telegram.spec import SpecError, UploadedFile

__all__ = [
    "BLOCKED_DESCRIPTION",
    "CONFLICT_DESCRIPTION",
    "FAULT_KINDS",
    "ApiError",
    "CallbackAnswer",
    "ControlError",
    "Event",
    "Fault",
    "FloodLimiter",
    "FloodPolicy",
    "InlineButton",
    "LocalBotApi",
    "RequestRecord",
    "SentFile",
    "SentMessage",
    "SimChat",
    "SimUser",
    "TokenBucket",
    "Violation",
    "is_sending_method",
    "serve_forever",
]


def _error_body(status: int, description: str, retry_after: int | None = None) -> JSON:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _error_response(status: int, description: str, retry_after: int | None = None) -> web.Response:
    return web.json_response(_error_body(status, description, retry_after), status=status)


class LocalBotApi(BotApiMethods, ControlRoutes):
    """The local Bot API server and the simulated world behind it.

    ``flood_limits=False`` turns Telegram's message limits off (most tests);
    ``clock`` drives the flood buckets (inject a fake one to test limits
    without sleeping); ``wall_clock`` gives message dates. ``token`` restricts
    the server to one token; by default any token of Telegram's shape is
    accepted and the bot's id is the token's number. With ``group_privacy``
    (Telegram's default privacy mode) the bot receives only commands and
    replies to its own messages from groups.
    """

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """What to give PTB as ``base_url`` (``TELEGRAM_BASE_URL``): ``{url}/bot``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give PTB as ``base_file_url``: ``{url}/file/bot``."""
        return f"{self.url}/file/bot"

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        return self._port

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API and the control interface."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        routes = app.router
        routes.add_route("*", "/bot{token}/{method}", self._handle_api)
        routes.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self.add_control_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`base_url`)."""
        self._closing.clear()
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Answer waiting polls and held responses at once, then close the server."""
        self._closing.set()
        self._updates_signal.notify()
        self._activity.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalBotApi:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- HTTP: Bot API -------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: request body must be a JSON object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.fullmatch(token) or (self.token is not None and token != self.token):
            return _error_response(401, "Unauthorized")
        self.bot_id = int(token.split(":", 1)[0])
        name = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ApiError as exc:
            return _error_response(exc.status, exc.description)
        record = RequestRecord(name, loggable(params) | loggable(files))
        self.requests.append(record)
        self._activity.notify()
        try:
            method = self.schema.canonical_method(name) or name
            record.method = method
            try:
                coerced = self.schema.validate_request(method, params, files)
            except SpecError as exc:
                self.violations.append(
                    Violation(method, exc.field, exc.reason, exc.description, record.params)
                )
                record.status, record.description = exc.status, exc.description
                return _error_response(exc.status, exc.description)
            record.params = coerced
            return await self._answer(request, method, coerced, record)
        finally:
            self._activity.notify()

    async def _answer(
        self, request: web.Request, method: str, params: JSON, record: RequestRecord
    ) -> web.StreamResponse:
        fault = self._take_fault(method)
        if fault is not None and fault.kind not in AFTER_DELIVERY:
            return self._fault_response(request, fault, record)
        handler = self._methods.get(method)
        try:
            if handler is None:
                self.unimplemented.append(method)
                raise ApiError(
                    501, f"Not Implemented: the local Bot API server does not simulate {method}"
                )
            result = await handler(params)
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            return _error_response(exc.status, exc.description, exc.retry_after)
        record.status = 200
        if fault is not None and fault.kind != "timeout_after_delivery":
            # Delivered, yet the bot hears a failure: what a proxy's 5xx or a cut line does.
            return self._fault_response(request, fault, record)
        if fault is not None:
            delay = float(fault.params.get("delay", 5.0))
            try:
                async with asyncio.timeout(delay):
                    await self._closing.wait()
            except TimeoutError:
                pass
        return web.json_response({"ok": True, "result": result})

    def _fault_response(
        self, request: web.Request, fault: Fault, record: RequestRecord
    ) -> web.StreamResponse:
        kind = fault.kind.removesuffix("_after_delivery")
        if kind == "drop":
            record.status, record.description = 0, "connection dropped (injected)"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if kind == "http_500":
            status, description, retry = 500, "Internal Server Error", None
        elif kind == "http_502":
            status, description, retry = 502, "Bad Gateway", None
        elif kind == "http_429":
            retry = int(fault.params.get("retry_after", 1))
            status, description = 429, f"Too Many Requests: retry after {retry}"
        elif kind == "http_400":
            status, retry = 400, None
            description = str(fault.params.get("description", "Bad Request: injected fault"))
        else:
            status, retry = 403, None
            description = str(fault.params.get("description", BLOCKED_DESCRIPTION))
        record.status, record.description = status, description
        return _error_response(status, description, retry)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.fullmatch(token) or (self.token is not None and token != self.token):
            return _error_response(401, "Unauthorized")
        path = request.match_info["path"]
        for sent_file in self._files.values():
            if file_path(sent_file) == path and sent_file.data is not None:
                return web.Response(
                    body=sent_file.data,
                    content_type=sent_file.mime_type or "application/octet-stream",
                )
        return _error_response(404, "Not Found")


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8081,
    flood_limits: bool = True,
    *,
    token: str | None = None,
    out: TextIO | None = None,
    clock_speed: float = 1.0,
) -> None:
    """Run a :class:`LocalBotApi` until cancelled, printing the base URL the bot should use.

    ``clock_speed``: the flood limits run that many times faster than real time, to serve a
    bot on a rehearsal clock of that speed (which paces its sends in trial seconds).
    """
    api = LocalBotApi(
        token=token,
        flood_limits=flood_limits,
        clock=lambda: time.monotonic() * clock_speed,
    )
    await api.start(host=host, port=port)
    stream = out if out is not None else sys.stdout
    print(f"TELEGRAM_BASE_URL={api.base_url}", file=stream)
    print(f"control interface: {api.url}/control/", file=stream, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()
