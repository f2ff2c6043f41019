"""What every stand-in server does with an API request, whatever the platform.

:class:`ApiServer` serves the methods of a platform's api.json at their
paths and, for each request: keeps it (credentials left out) in
:attr:`ApiServer.requests`; applies an injected fault (an errcode answer,
HTTP 500, a dropped connection, or an answer held back ``delay`` s after the
call took effect); checks the access token, reads the body, checks query and
body against api.json, and calls the method's handler. A refusal because the
request broke api.json is kept in :attr:`ApiServer.violations`, which a test
suite asserts stays empty. The platform gives the codes, the body reading
and the handlers (``local_servers.wechat.server``, ``local_servers.wecom.server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, Self, TextIO

from aiohttp import web

from local_servers.common.control import ControlError
from local_servers.common.records import ApiRequest, Violation, loggable
from local_servers.common.spec import MethodSpec, Refusal

__all__ = ["FAULT_KINDS", "ApiServer", "Fault", "Handler", "Spec", "dumps", "serve_forever"]

JSON = dict[str, Any]
Handler = Callable[[dict[str, str], Any], Awaitable[JSON]]
#: ``errcode``: answer {errcode}; ``http_500``; ``drop``: close the connection
#: unanswered; ``slow``: carry the call out, then hold the answer ``delay`` s.
FAULT_KINDS = frozenset({"errcode", "http_500", "drop", "slow"})
#: JSON as the platforms send it: UTF-8, non-ASCII unescaped.
dumps = partial(json.dumps, ensure_ascii=False)


class Spec(Protocol):
    """What the server needs of a platform's reading of api.json."""

    @property
    def methods(self) -> Mapping[str, MethodSpec]: ...

    def refusal(
        self, errcode: int, *, field: str | None = None, violation: bool = False
    ) -> Refusal: ...

    def check_query(self, method: MethodSpec, query: Mapping[str, str]) -> None: ...

    def check_body(self, method: MethodSpec, body: Any) -> None: ...


@dataclass(slots=True)
class Fault:
    """An injected failure for ``method`` (None: any method but the token ones)."""

    method: str | None
    kind: str
    count: int
    errcode: int = -1
    delay: float = 5.0


class ApiServer:
    """The front door of a stand-in (see the module docstring); subclasses fill in the
    platform: :attr:`spec`, :attr:`handlers`, the token check, the body and the control
    routes."""

    spec: Spec

    def __init__(self, *, client_max_size: int = 1024**2) -> None:
        self.requests: list[ApiRequest] = []
        self.violations: list[Violation] = []
        self._faults: list[Fault] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client_max_size = client_max_size
        self._host = "127.0.0.1"
        self._port = 0

    # --- what the platform fills in ---------------------------------------------------------

    @property
    def handlers(self) -> Mapping[str, Handler]:
        """The handler of each method, by api.json name."""
        raise NotImplementedError

    def token_refusal(self, query: Mapping[str, str]) -> Refusal | None:
        """Why the request's access token is refused (None: it is good)."""
        raise NotImplementedError

    def read_body(self, method: MethodSpec, raw: bytes, request: web.Request) -> Any:
        """The request's body as the method's handler takes it; a Refusal if unreadable."""
        raise NotImplementedError

    def add_control_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def advance(self, seconds: float) -> float:
        """Move the world's clock on by ``seconds``; the world's time after."""
        raise NotImplementedError

    def pick(self, methods: Sequence[MethodSpec], raw: bytes) -> MethodSpec | None:
        """Which of the methods served at one path the request calls (None: none)."""
        return methods[0] if len(methods) == 1 else None

    def route_name(self, methods: Sequence[MethodSpec]) -> str:
        """What :attr:`requests` calls a request that names none of the methods at its path."""
        return "|".join(m.name for m in methods)

    def no_method(self, methods: Sequence[MethodSpec], body: Any) -> Refusal:
        """The refusal of a request that calls none of the methods at its path."""
        raise NotImplementedError

    def body_record(self, body: Any) -> JSON | None:
        """What :attr:`requests` keeps of a body."""
        return loggable(body) if isinstance(body, dict) else None

    async def close(self) -> None:
        """Stop what the platform runs besides the HTTP server (pushes, receipts)."""

    # --- faults -----------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str | None,
        kind: str,
        count: int = 1,
        *,
        errcode: int = -1,
        delay: float = 5.0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (see :data:`FAULT_KINDS`)."""
        if kind not in FAULT_KINDS:
            raise ControlError(f"fault kind must be one of {sorted(FAULT_KINDS)}")
        if method is not None and method not in self.spec.methods:
            raise ControlError(f"api.json has no method {method}")
        self._faults.append(Fault(method, kind, count, errcode, delay))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, name: str, takes_token: bool) -> Fault | None:
        for fault in self._faults:
            if fault.method == name or (fault.method is None and takes_token):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root: the base URL for the bot's client, and ``{url}/control/``."""
        return f"http://{self._host}:{self._port}"

    def make_app(self) -> web.Application:
        """The aiohttp application: api.json's methods at their paths, and the control routes."""
        app = web.Application(client_max_size=self._client_max_size)
        routes: dict[tuple[str, str], list[MethodSpec]] = {}
        for method in self.spec.methods.values():
            routes.setdefault((method.http, method.path), []).append(method)
        for (verb, path), methods in routes.items():
            app.router.add_route(verb, path, partial(self._handle, methods))
        self.add_control_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port; see :attr:`url`)."""
        self._closing.clear()
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer held requests at once, stop the platform's tasks, close the server."""
        self._closing.set()
        await self.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the API's front door ---------------------------------------------------------------

    async def _handle(self, methods: list[MethodSpec], request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        raw = await request.read()
        method = self.pick(methods, raw)
        name = method.name if method is not None else self.route_name(methods)
        takes_token = methods[0].takes_token
        record = ApiRequest(name, loggable(query) or {})
        self.requests.append(record)
        fault = self._take_fault(name, takes_token)
        if fault is not None and fault.kind == "drop":
            record.errcode, record.errmsg = -1, "connection dropped (injected)"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is not None and fault.kind == "http_500":
            record.errcode, record.errmsg = -1, "HTTP 500 (injected)"
            return web.Response(status=500, text="Internal Server Error")
        try:
            if fault is not None and fault.kind == "errcode":
                raise self.spec.refusal(fault.errcode)
            if takes_token:
                refusal = self.token_refusal(query)
                if refusal is not None:
                    raise refusal
            body = self.read_body(method or methods[0], raw, request)
            record.body = self.body_record(body)
            if method is None:
                raise self.no_method(methods, body)
            self.spec.check_query(method, query)
            self.spec.check_body(method, body)
            answer = await self.handlers[method.name](query, body)
        except Refusal as refusal:
            return self._refused(name, record, refusal)
        if fault is not None and fault.kind == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
        return web.json_response(answer, dumps=dumps)

    def _refused(self, name: str, record: ApiRequest, refusal: Refusal) -> web.Response:
        answer = refusal.answer()
        record.errcode, record.errmsg = refusal.errcode, answer["errmsg"]
        if refusal.violation:
            self.violations.append(Violation(name, refusal.errcode, refusal.errmsg, refusal.field))
        return web.json_response(answer, dumps=dumps)


async def serve_forever(
    server: ApiServer,
    host: str,
    port: int,
    describe: Callable[[], Sequence[str]],
    out: TextIO | None = None,
) -> None:
    """Run ``server`` until cancelled, printing ``describe()``: what to configure the bot with."""
    await server.start(host=host, port=port)
    stream = out if out is not None else sys.stdout
    print("\n".join(describe()), file=stream, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
