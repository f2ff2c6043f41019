"""Async client for a stand-in's control interface (``/control/...``).

Each platform's client (``local_servers.wechat.client``,
``local_servers.wecom.client``) adds one method per route; :meth:`ControlClient.call`
makes any request and returns its ``result``, and a refused action raises
:class:`ControlRequestError`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import aiohttp

__all__ = ["ControlClient", "ControlRequestError"]

JSON = dict[str, Any]


class ControlRequestError(Exception):
    """The server refused a control request (unknown person, expired code...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ControlClient:
    """Control the stand-in at ``url`` (its root)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, verb: str, route: str, body: JSON | None = None, **query: Any) -> Any:
        """One control request; its ``result``."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        params = {k: str(v) for k, v in query.items() if v is not None}
        async with self._session.request(
            verb, f"{self.url}/control/{route}", json=body, params=params
        ) as response:
            answer = await response.json()
        if not answer.get("ok"):
            raise ControlRequestError(response.status, str(answer.get("error")))
        return answer["result"]

    async def requests(self) -> list[JSON]:
        """Every API request the stand-in answered, and its errcode."""
        result: list[JSON] = await self.call("GET", "requests")
        return result

    async def violations(self) -> list[JSON]:
        """The API requests refused for breaking api.json."""
        result: list[JSON] = await self.call("GET", "violations")
        return result

    async def advance(self, seconds: float) -> float:
        """Move the stand-in's clock on; its time after."""
        result: float = await self.call("POST", "clock", {"advance": seconds})
        return result

    async def fault(
        self,
        kind: str,
        method: str | None = None,
        *,
        count: int = 1,
        errcode: int = -1,
        delay: float = 5.0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (``errcode``, ``http_500``,
        ``drop`` or ``slow``)."""
        body = {"method": method, "kind": kind, "count": count, "errcode": errcode, "delay": delay}
        await self.call("POST", "faults", body)
