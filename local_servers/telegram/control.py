"""The control interface over HTTP (``/control/...``): the simulated world for another process.

Each route is one :class:`~local_servers.telegram.world.SimulatedWorld` method, with
JSON bodies and answers ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error": ...}`` (400; 404 for a message that is not there); the client is
:class:`local_servers.telegram.client.LocalApiClient`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from aiohttp import web

from local_servers.telegram.records import JSON, ControlError
from local_servers.telegram.world import SimulatedWorld

__all__ = ["ControlRoutes"]


class ControlRoutes(SimulatedWorld):
    """The ``/control/`` routes; :meth:`add_control_routes` puts them on an application."""

    def add_control_routes(self, app: web.Application) -> None:
        """Serve the control interface under ``/control/`` on ``app``."""
        routes = app.router
        routes.add_post("/control/users", self._c_users)
        routes.add_post("/control/groups", self._c_groups)
        routes.add_post("/control/send", self._c_send)
        routes.add_post("/control/photo", self._c_photo)
        routes.add_post("/control/edit", self._c_edit)
        routes.add_post("/control/press", self._c_press)
        routes.add_get("/control/messages", self._c_messages)
        routes.add_get("/control/wait", self._c_wait)
        routes.add_post("/control/block", self._c_block)
        routes.add_post("/control/faults", self._c_faults)
        routes.add_delete("/control/faults", self._c_clear_faults)
        routes.add_get("/control/violations", self._c_violations)
        routes.add_get("/control/callback_answers", self._c_callback_answers)
        routes.add_get("/control/events", self._c_events)
        routes.add_get("/control/stats", self._c_stats)

    # --- HTTP: control interface ----------------------------------------------------------

    @staticmethod
    async def _body(request: web.Request) -> JSON:
        try:
            body = await request.json()
        except ValueError:
            raise ControlError("the control interface takes a JSON object body") from None
        if not isinstance(body, dict):
            raise ControlError("the control interface takes a JSON object body")
        return body

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _control_error(exc: Exception, status: int = 400) -> web.Response:
        return web.json_response({"ok": False, "error": str(exc)}, status=status)

    @staticmethod
    def _int_query(request: web.Request, name: str, default: int | None = None) -> int | None:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ControlError(f"query parameter {name} must be an integer") from None

    async def _c_users(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            user = self.add_user(
                int(body["user_id"]),
                str(body.get("first_name", "Test")),
                last_name=body.get("last_name"),
                username=body.get("username"),
                language_code=body.get("language_code", "en"),
            )
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok(user.to_dict())

    async def _c_groups(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            chat = self.add_group(
                int(body["chat_id"]),
                str(body.get("title", "Test group")),
                [int(m) for m in body.get("member_ids", [])],
            )
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok(chat.to_dict())

    async def _c_send(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            message_id = await self.user_sends(
                int(body["user_id"]),
                str(body["text"]),
                chat_id=None if body.get("chat_id") is None else int(body["chat_id"]),
                reply_to=None if body.get("reply_to") is None else int(body["reply_to"]),
            )
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok({"message_id": message_id})

    async def _c_photo(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            raw = body.get("data_base64")
            extra: dict[str, Any] = {}
            if raw is not None:
                extra["data"] = base64.b64decode(str(raw), validate=True)
            message_id = await self.user_sends_photo(
                int(body["user_id"]),
                None if body.get("caption") is None else str(body["caption"]),
                chat_id=None if body.get("chat_id") is None else int(body["chat_id"]),
                **extra,
            )
        except (ControlError, KeyError, TypeError, ValueError, binascii.Error) as exc:
            return self._control_error(exc)
        return self._ok({"message_id": message_id})

    async def _c_edit(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            await self.user_edits(
                int(body["user_id"]),
                int(body["message_id"]),
                str(body["text"]),
                chat_id=None if body.get("chat_id") is None else int(body["chat_id"]),
            )
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok(True)

    async def _c_press(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            user_id = int(body["user_id"])
            chat_id = None if body.get("chat_id") is None else int(body["chat_id"])
            message_id = int(body["message_id"])
            data = body.get("data")
            if data is None:
                target = user_id if chat_id is None else chat_id
                data = self.message(target, message_id).data_for(str(body["label"]))
            query_id = await self.user_presses(user_id, message_id, str(data), chat_id=chat_id)
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok({"callback_query_id": query_id})

    async def _c_messages(self, request: web.Request) -> web.Response:
        try:
            chat_id = self._int_query(request, "chat_id")
            after = self._int_query(request, "after", 0) or 0
            if chat_id is None:
                raise ControlError("chat_id is required")
        except ControlError as exc:
            return self._control_error(exc)
        messages = [m.to_json() for m in self.messages_to(chat_id) if m.message_id > after]
        return self._ok(messages)

    async def _c_wait(self, request: web.Request) -> web.Response:
        try:
            chat_id = self._int_query(request, "chat_id")
            if chat_id is None:
                raise ControlError("chat_id is required")
            after = self._int_query(request, "after")
            timeout = float(request.query.get("timeout", "10"))
        except (ControlError, ValueError) as exc:
            return self._control_error(exc)
        try:
            message = await self.wait_for_message(
                chat_id, timeout=timeout, after=after, contains=request.query.get("contains")
            )
        except TimeoutError as exc:
            return self._control_error(exc, status=408)
        return self._ok(message.to_json())

    async def _c_block(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            if body.get("blocked", True):
                self.block(int(body["user_id"]))
            else:
                self.unblock(int(body["user_id"]))
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok(True)

    async def _c_faults(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            params = body.get("params") or {}
            if not isinstance(params, dict):
                raise ControlError("params must be an object")
            self.inject_fault(
                body.get("method"), str(body["kind"]), int(body.get("count", 1)), **params
            )
        except (ControlError, KeyError, TypeError, ValueError) as exc:
            return self._control_error(exc)
        return self._ok(True)

    async def _c_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return self._ok(True)

    async def _c_violations(self, request: web.Request) -> web.Response:
        return self._ok([v.to_json() for v in self.violations])

    async def _c_callback_answers(self, request: web.Request) -> web.Response:
        return self._ok([a.to_json() for a in self.callback_answers])

    async def _c_events(self, request: web.Request) -> web.Response:
        try:
            after = self._int_query(request, "after", 0) or 0
            timeout = float(request.query.get("timeout", "0"))
        except (ControlError, ValueError) as exc:
            return self._control_error(exc)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.events) <= after and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._activity.wait(remaining)
        return self._ok([e.to_json() for e in self.events[after:]])

    async def _c_stats(self, request: web.Request) -> web.Response:
        return self._ok(self.stats())
