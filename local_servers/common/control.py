"""The shape of a stand-in's control interface over HTTP (``/control/...``).

JSON in and out, as the local Bot API server's control interface: answers
are ``{"ok": true, "result": ...}``, or ``{"ok": false, "error": ...}`` with
status 400 for an action the world does not allow (:class:`ControlError`) or
a request without what the route needs. Each platform lists its routes
(``local_servers.wechat.control``, ``local_servers.wecom.control``); the ones
every stand-in has (faults, the clock, requests, violations) are
:func:`common_routes`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

__all__ = ["Action", "ControlError", "Routes", "add_routes", "common_routes", "route"]

JSON = dict[str, Any]
Action = Callable[[JSON, Mapping[str, str]], Awaitable[Any]]
#: Route name -> action, by HTTP verb.
Routes = Mapping[str, Mapping[str, Action]]


class ControlError(Exception):
    """An action the world does not allow (an unknown person, an expired code, ...)."""


def route(action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of one control action."""

    async def handle(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ControlError("the control interface takes a JSON object body")
            result = await action(body, request.query)
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            message = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            return web.json_response({"ok": False, "error": message}, status=400)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    return handle


def add_routes(app: web.Application, routes: Routes) -> None:
    """Add ``routes`` (verb -> name -> action) under ``/control/``."""
    for verb, actions in routes.items():
        for name, action in actions.items():
            app.router.add_route(verb, f"/control/{name}", route(action))


class _Server(Protocol):
    requests: Any
    violations: Any

    def inject_fault(
        self,
        method: str | None,
        kind: str,
        count: int = 1,
        *,
        errcode: int = -1,
        delay: float = 5.0,
    ) -> None: ...

    def clear_faults(self) -> None: ...

    def advance(self, seconds: float) -> float: ...


def common_routes(server: _Server) -> Routes:
    """``POST faults``, ``DELETE faults``, ``POST clock``, ``GET requests`` and
    ``GET violations`` for ``server``."""

    async def faults(body: JSON, query: Mapping[str, str]) -> bool:
        server.inject_fault(
            body.get("method"),
            str(body["kind"]),
            int(body.get("count", 1)),
            errcode=int(body.get("errcode", -1)),
            delay=float(body.get("delay", 5.0)),
        )
        return True

    async def clear_faults(body: JSON, query: Mapping[str, str]) -> bool:
        server.clear_faults()
        return True

    async def clock(body: JSON, query: Mapping[str, str]) -> float:
        return server.advance(float(body["advance"]))

    async def requests(body: JSON, query: Mapping[str, str]) -> list[JSON]:
        return [r.to_json() for r in server.requests]

    async def violations(body: JSON, query: Mapping[str, str]) -> list[JSON]:
        return [v.to_json() for v in server.violations]

    return {
        "POST": {"faults": faults, "clock": clock},
        "DELETE": {"faults": clear_faults},
        "GET": {"requests": requests, "violations": violations},
    }
