"""Async client for the local WeCom server's control interface (``/control/...``).

For a test or a rehearsal driving a bot in another process::

    async with WecomControl("http://127.0.0.1:8083") as control:
        await control.settings(callback_url="http://127.0.0.1:8080/wecom/callback")
        await control.add_member("nurse-li")
        push = await control.text("nurse-li", "/status")
        assert push["acked"]

Each method is one route of :mod:`local_servers.wecom.control` and returns
its ``result``; a refused action raises :class:`ControlRequestError`.
"""

from __future__ import annotations

import base64
from typing import Any

from local_servers.common.client import ControlClient, ControlRequestError

__all__ = ["ControlRequestError", "WecomControl"]

JSON = dict[str, Any]


class WecomControl(ControlClient):
    """Control a :class:`~local_servers.wecom.server.LocalWecom` at ``url`` (its root)."""

    async def _post(self, route: str, **body: Any) -> JSON:
        result: JSON = await self.call("POST", route, body)
        return result

    async def add_member(
        self, userid: str | None = None, name: str | None = None, *, visible: bool = True
    ) -> JSON:
        """A member of the corp, in the app's visible range unless ``visible`` is false."""
        return await self._post("members", userid=userid, name=name, visible=visible)

    async def members(self) -> list[JSON]:
        result: list[JSON] = await self.call("GET", "members")
        return result

    async def subscribe(self, userid: str) -> JSON:
        """An admin adds ``userid`` to the app's visible range; the push."""
        return await self._post("subscribe", userid=userid)

    async def unsubscribe(self, userid: str) -> JSON:
        """An admin removes ``userid`` from the app's visible range; the push."""
        return await self._post("unsubscribe", userid=userid)

    async def text(self, userid: str, content: str) -> JSON:
        """``userid`` types ``content``; the push."""
        return await self._post("text", userid=userid, content=content)

    async def image(
        self, userid: str, data: bytes | None = None, filename: str = "photo.png"
    ) -> JSON:
        """``userid`` sends a picture (a 1x1 PNG if no ``data``); the push."""
        encoded = None if data is None else base64.b64encode(data).decode()
        return await self._post("image", userid=userid, data=encoded, filename=filename)

    async def enter(self, userid: str) -> JSON:
        """``userid`` opens the app; the push."""
        return await self._post("enter", userid=userid)

    async def menu(self, userid: str, key: str) -> JSON:
        """``userid`` taps the app-menu button ``key``; the push."""
        return await self._post("menu", userid=userid, key=key)

    async def click(
        self,
        userid: str,
        task_id: str,
        *,
        key: str | None = None,
        index: int | None = None,
        expired: bool = False,
    ) -> JSON:
        """``userid`` taps a button (by ``key`` or ``index``) of card ``task_id``; the push."""
        return await self._post(
            "click", userid=userid, task_id=task_id, key=key, index=index, expired=expired
        )

    async def settings(self, **values: Any) -> JSON:
        return await self._post("settings", **values)

    async def verify(self) -> JSON:
        """The console's URL check of the bot's callback: ``ok``, ``status``, ``body``..."""
        return await self._post("verify")

    async def push_fault(self, kind: str, count: int = 1) -> list[str]:
        """Spoil the next ``count`` pushes (bad_signature, wrong_receiveid, duplicate)."""
        result: list[str] = await self.call("POST", "push_faults", {"kind": kind, "count": count})
        return result

    async def invalidate_tokens(self) -> None:
        await self.call("POST", "invalidate_tokens", {})

    async def pushes(self, after: int = 0, timeout: float = 0.0) -> list[JSON]:
        result: list[JSON] = await self.call("GET", "pushes", after=after, timeout=timeout)
        return result

    async def sent(
        self, touser: str | None = None, after: int = 0, timeout: float = 0.0
    ) -> list[JSON]:
        """What reached ``touser`` (every accepted send, if None) after the first ``after``."""
        result: list[JSON] = await self.call(
            "GET", "sent", touser=touser, after=after, timeout=timeout
        )
        return result

    async def cards(self) -> dict[str, JSON]:
        """Every card sent, by task_id."""
        result: dict[str, JSON] = await self.call("GET", "cards")
        return result

    async def media(self) -> list[JSON]:
        result: list[JSON] = await self.call("GET", "media")
        return result

    async def warnings(self) -> list[str]:
        result: list[str] = await self.call("GET", "warnings")
        return result
