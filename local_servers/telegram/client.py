"""Async client for the local Bot API server's HTTP control interface (``/control/...``).

For a test or the demo that drives a bot running in another process: it acts
as users and reads what the bot sent, over the same routes the server
documents in :mod:`local_servers.telegram.server`::

    async with LocalApiClient("http://127.0.0.1:8081") as control:
        await control.add_user(1001, "Li", language_code="zh-hans")
        await control.send(1001, "/start abc")
        reply = await control.wait(1001)
"""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any

import aiohttp

from local_servers.telegram.server import CallbackAnswer, SentMessage

__all__ = ["ControlRequestError", "LocalApiClient"]


class ControlRequestError(Exception):
    """The server refused a control request (unknown user, absent button, bad fault...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class LocalApiClient:
    """Control a :class:`local_servers.telegram.server.LocalBotApi` at ``url`` (its root, not ``/bot``)."""

    def __init__(self, url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> LocalApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _call(
        self,
        verb: str,
        route: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> Any:
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        async with self._http().request(
            verb,
            f"{self.url}/control/{route}",
            json=body,
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            payload = await response.json()
        if response.status == 408:
            raise TimeoutError(payload.get("error", "timed out"))
        if not payload.get("ok"):
            raise ControlRequestError(response.status, str(payload.get("error")))
        return payload["result"]

    async def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Create a user (POST /control/users); returns the Bot API User object."""
        body = {
            "user_id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        result: dict[str, Any] = await self._call("POST", "users", body=body)
        return result

    async def add_group(
        self, chat_id: int, title: str = "Test group", member_ids: list[int] | None = None
    ) -> dict[str, Any]:
        """Create a group chat (POST /control/groups); returns the Bot API Chat object."""
        body = {"chat_id": chat_id, "title": title, "member_ids": member_ids or []}
        result: dict[str, Any] = await self._call("POST", "groups", body=body)
        return result

    async def send(
        self, user_id: int, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> int:
        """The user sends ``text`` (POST /control/send); returns the new message_id."""
        body = {"user_id": user_id, "text": text, "chat_id": chat_id, "reply_to": reply_to}
        result = await self._call("POST", "send", body=body)
        return int(result["message_id"])

    async def send_photo(
        self,
        user_id: int,
        caption: str | None = None,
        *,
        data: bytes | None = None,
        chat_id: int | None = None,
    ) -> int:
        """The user sends a photo (``data``, else a 1x1 PNG) with ``caption`` if given
        (POST /control/photo); returns the new message_id."""
        body: dict[str, Any] = {"user_id": user_id, "caption": caption, "chat_id": chat_id}
        if data is not None:
            body["data_base64"] = base64.b64encode(data).decode()
        result = await self._call("POST", "photo", body=body)
        return int(result["message_id"])

    async def edit(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> None:
        """The user edits their message ``message_id`` to ``text`` (POST /control/edit)."""
        body = {"user_id": user_id, "message_id": message_id, "text": text, "chat_id": chat_id}
        await self._call("POST", "edit", body=body)

    async def press(
        self,
        user_id: int,
        message_id: int,
        data: str | None = None,
        *,
        label: str | None = None,
        chat_id: int | None = None,
    ) -> str:
        """The user presses a button by ``data`` or ``label`` (POST /control/press).

        Returns the callback query id; refused if the message has no such button.
        """
        if (data is None) == (label is None):
            raise ValueError("give exactly one of data and label")
        body = {
            "user_id": user_id,
            "message_id": message_id,
            "data": data,
            "label": label,
            "chat_id": chat_id,
        }
        result = await self._call("POST", "press", body=body)
        return str(result["callback_query_id"])

    async def messages(self, chat_id: int, *, after: int = 0) -> list[SentMessage]:
        """Bot messages to ``chat_id`` after message_id ``after`` (GET /control/messages)."""
        result = await self._call("GET", "messages", query={"chat_id": chat_id, "after": after})
        return [SentMessage.from_json(item) for item in result]

    async def wait(
        self,
        chat_id: int,
        *,
        after: int | None = None,
        timeout: float = 10.0,
        contains: str | None = None,
    ) -> SentMessage:
        """Long-poll for the next bot message to ``chat_id`` (GET /control/wait).

        Without ``after`` the server's per-chat cursor is used (the message
        after the last one returned). Raises :class:`TimeoutError` with the
        server's account of what the chat received.
        """
        result = await self._call(
            "GET",
            "wait",
            query={"chat_id": chat_id, "after": after, "timeout": timeout, "contains": contains},
            timeout=timeout + 10.0,
        )
        return SentMessage.from_json(result)

    async def block(self, user_id: int, *, blocked: bool = True) -> None:
        """The user blocks (or with ``blocked=False`` unblocks) the bot (POST /control/block)."""
        await self._call("POST", "block", body={"user_id": user_id, "blocked": blocked})

    async def inject_fault(
        self, method: str | None, kind: str, count: int = 1, **params: Any
    ) -> None:
        """Fail the next ``count`` calls of ``method`` (None: any send); POST /control/faults."""
        body = {"method": method, "kind": kind, "count": count, "params": params}
        await self._call("POST", "faults", body=body)

    async def clear_faults(self) -> None:
        """Forget faults not yet consumed (DELETE /control/faults)."""
        await self._call("DELETE", "faults")

    async def violations(self) -> list[dict[str, Any]]:
        """Requests refused for a spec reason (GET /control/violations)."""
        result: list[dict[str, Any]] = await self._call("GET", "violations")
        return result

    async def callback_answers(self) -> list[CallbackAnswer]:
        """The bot's answerCallbackQuery calls (GET /control/callback_answers)."""
        result = await self._call("GET", "callback_answers")
        return [CallbackAnswer(**item) for item in result]

    async def events(self, *, after: int = 0, timeout: float = 0.0) -> list[dict[str, Any]]:
        """What the bot did (sent, edited, deleted, answered) after seq ``after``.

        GET /control/events; long-polls up to ``timeout`` seconds when there is none yet.
        """
        result: list[dict[str, Any]] = await self._call(
            "GET", "events", query={"after": after, "timeout": timeout}, timeout=timeout + 10.0
        )
        return result

    async def stats(self) -> dict[str, Any]:
        """Counts: delivered messages per chat, flood_errors, violations... (GET /control/stats)."""
        result: dict[str, Any] = await self._call("GET", "stats")
        return result
