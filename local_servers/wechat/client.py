"""Async client for the local WeChat server's control interface (``/control/...``).

For a test or a rehearsal driving a bot in another process::

    async with WechatControl("http://127.0.0.1:8082") as control:
        await control.settings(callback_url="http://127.0.0.1:8080/wechat/callback")
        push = await control.scan("o-patient-1", scene="invite-abc")
        assert push["acked"]

Each method is one route of :mod:`local_servers.wechat.control` and returns
its ``result``; a refused action raises :class:`ControlRequestError`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

__all__ = ["ControlRequestError", "WechatControl"]

JSON = dict[str, Any]


class ControlRequestError(Exception):
    """The server refused a control request (unknown person, expired QR code...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class WechatControl:
    """Control a :class:`~local_servers.wechat.server.LocalWechat` at ``url`` (its root)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WechatControl:
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

    async def add_user(self, openid: str | None = None, language: str = "zh_CN") -> JSON:
        result: JSON = await self.call("POST", "users", {"openid": openid, "language": language})
        return result

    async def scan(
        self, openid: str, *, scene: str | None = None, ticket: str | None = None
    ) -> JSON:
        result: JSON = await self.call(
            "POST", "scan", {"openid": openid, "scene": scene, "ticket": ticket}
        )
        return result

    async def act(self, action: str, openid: str, **fields: Any) -> JSON:
        """``follow``, ``unfollow``, ``write`` (content), ``choose`` (label), ``click`` (key),
        ``view`` (url): what the person does, and the push it made."""
        result: JSON = await self.call("POST", action, {"openid": openid, **fields})
        return result

    async def settings(self, **values: Any) -> JSON:
        result: JSON = await self.call("POST", "settings", values)
        return result

    async def pushes(self, after: int = 0, timeout: float = 0.0) -> list[JSON]:
        result: list[JSON] = await self.call("GET", "pushes", after=after, timeout=timeout)
        return result

    async def sent(
        self, touser: str | None = None, after: int = 0, timeout: float = 0.0
    ) -> list[JSON]:
        result: list[JSON] = await self.call(
            "GET", "sent", touser=touser, after=after, timeout=timeout
        )
        return result

    async def qr_codes(self) -> list[JSON]:
        """The QR codes the account created, oldest first."""
        result: list[JSON] = await self.call("GET", "qrcodes")
        return result

    async def violations(self) -> list[JSON]:
        result: list[JSON] = await self.call("GET", "violations")
        return result
