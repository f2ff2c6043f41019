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

from typing import Any

from local_servers.common.client import ControlClient, ControlRequestError

__all__ = ["ControlRequestError", "WechatControl"]

JSON = dict[str, Any]


class WechatControl(ControlClient):
    """Control a :class:`~local_servers.wechat.server.LocalWechat` at ``url`` (its root)."""

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
