"""The control interface over HTTP (``/control/...``): play staff members and read what the bot did.

JSON in and out (:mod:`local_servers.common.control`): answers are
``{"ok": true, "result": ...}``, or ``{"ok": false, "error": ...}`` with
status 400 for an action the world does not allow. Routes:

===========================  ==============================================================
``POST members``             ``{userid?, name?, visible?}``: a member of the corp (in the
                             app's visible range unless ``visible`` is false); no push
``POST subscribe``           ``{userid}``: an admin adds them to the visible range
``POST unsubscribe``         ``{userid}``: an admin removes them from it
``POST text``                ``{userid, content}``: the member types a message
``POST image``               ``{userid, data?, filename?}``: sends a picture (``data`` in
                             base64; a 1x1 PNG if none)
``POST enter``               ``{userid}``: opens the app (``enter_agent``)
``POST menu``                ``{userid, key}``: taps an app-menu button (``click``)
``POST click``               ``{userid, task_id, key? | index?, expired?}``: taps a button
                             of a card sent to them (``template_card_event``)
``POST settings``            ``{callback_url?, verify_callback?, deliveries?, retry_delay_s?,
                             push_timeout_s?, rate_limit_errcode?, response_code_lifetime_s?}``:
                             a callback URL is checked first (the console's URL check) and
                             refused if the check fails, unless ``verify_callback`` is false
``POST verify``              the console's URL check of the callback (ok, status, body,
                             expected)
``POST push_faults``         ``{kind, count?}``: spoil the next pushes (bad_signature,
                             wrong_receiveid, duplicate); ``DELETE push_faults``
``POST invalidate_tokens``   WeCom drops the access token early (then 40014)
``POST faults``              ``{method?, kind, count?, errcode?, delay?}`` for API methods:
                             errcode, http_500, drop, slow; ``DELETE faults``
``POST clock``               ``{advance}``: move the world's time on (seconds)
``GET members``              every member and whether the app can see them
``GET sent``                 ``?touser=&after=&timeout=``: what reached a member (or every
                             accepted send), waiting up to ``timeout`` s for one
``GET cards``                every card sent, by task_id: recipients, clicks, updates and
                             each recipient's copy now
``GET media``                every upload (and picture from a member), without the bytes;
                             ``GET media/{media_id}``: the bytes
``GET pushes``               ``?after=&timeout=``: finished pushes, waiting for one
``GET requests``             every API request and its errcode
``GET violations``           requests refused for breaking api.json
``GET warnings``             card texts longer than api.json suggests
===========================  ==============================================================
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from local_servers.common.control import Action, ControlError, add_routes, common_routes

if TYPE_CHECKING:
    from local_servers.wecom.server import LocalWecom

__all__ = ["ControlApi"]

JSON = dict[str, Any]


class ControlApi:
    """The ``/control/`` routes of one :class:`~local_servers.wecom.server.LocalWecom`."""

    def __init__(self, server: LocalWecom) -> None:
        self.server = server
        self.world = server.world
        self.staff = server.staff

    def add_routes(self, app: web.Application) -> None:
        posts: dict[str, Action] = {
            "members": self._members,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "text": self._text,
            "image": self._image,
            "enter": self._enter,
            "menu": self._menu,
            "click": self._click,
            "settings": self._settings,
            "verify": self._verify,
            "push_faults": self._push_faults,
            "invalidate_tokens": self._invalidate_tokens,
        }
        gets: dict[str, Action] = {
            "members": self._list_members,
            "sent": self._sent,
            "cards": self._cards,
            "media": self._media,
            "pushes": self._pushes,
            "warnings": self._warnings,
        }
        add_routes(app, {"POST": posts, "GET": gets, "DELETE": {"push_faults": self._clear}})
        add_routes(app, common_routes(self.server))
        app.router.add_get("/control/media/{media_id}", self._media_bytes)

    # --- staff ----------------------------------------------------------------------------

    async def _members(self, body: JSON, query: Mapping[str, str]) -> JSON:
        member = self.world.add_member(
            body.get("userid"), body.get("name"), visible=bool(body.get("visible", True))
        )
        return member.to_json()

    async def _subscribe(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.staff.subscribe(str(body["userid"]))).to_json()

    async def _unsubscribe(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.staff.unsubscribe(str(body["userid"]))).to_json()

    async def _text(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.staff.text(str(body["userid"]), str(body["content"]))).to_json()

    async def _image(self, body: JSON, query: Mapping[str, str]) -> JSON:
        userid = str(body["userid"])
        filename = str(body.get("filename", "photo.png"))
        if body.get("data") is None:
            return (await self.staff.image(userid, filename=filename)).to_json()
        data = base64.b64decode(str(body["data"]), validate=True)
        return (await self.staff.image(userid, data, filename)).to_json()

    async def _enter(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.staff.enter(str(body["userid"]))).to_json()

    async def _menu(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.staff.menu(str(body["userid"]), str(body["key"]))).to_json()

    async def _click(self, body: JSON, query: Mapping[str, str]) -> JSON:
        index = body.get("index")
        record = await self.staff.click(
            str(body["userid"]),
            str(body["task_id"]),
            key=None if body.get("key") is None else str(body["key"]),
            index=None if index is None else int(index),
            expired=bool(body.get("expired", False)),
        )
        return record.to_json()

    # --- the app and the stand-in -------------------------------------------------------

    async def _settings(self, body: JSON, query: Mapping[str, str]) -> JSON:
        pusher, settings = self.server.pusher, self.server.methods.settings
        if "callback_url" in body:
            url = body["callback_url"]
            verify = bool(body.get("verify_callback", True))
            await self.server.register_callback(None if url is None else str(url), verify=verify)
        if "deliveries" in body:
            pusher.deliveries = int(body["deliveries"])
        if "retry_delay_s" in body:
            pusher.retry_delay_s = float(body["retry_delay_s"])
        if "push_timeout_s" in body:
            pusher.timeout_s = float(body["push_timeout_s"])
        if "rate_limit_errcode" in body:
            code = body["rate_limit_errcode"]
            settings.rate_limit_errcode = None if code is None else int(code)
        if "response_code_lifetime_s" in body:
            lifetime = float(body["response_code_lifetime_s"])
            if lifetime <= 0:
                raise ControlError("response_code_lifetime_s is positive")
            self.world.response_code_lifetime_s = lifetime
        return {
            "callback_url": pusher.callback_url,
            "deliveries": pusher.deliveries,
            "retry_delay_s": pusher.retry_delay_s,
            "push_timeout_s": pusher.timeout_s,
            "rate_limit_errcode": settings.rate_limit_errcode,
            "response_code_lifetime_s": self.world.response_code_lifetime_s,
        }

    async def _verify(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.server.pusher.verify_url()).to_json()

    async def _push_faults(self, body: JSON, query: Mapping[str, str]) -> list[str]:
        self.server.pusher.add_fault(str(body["kind"]), int(body.get("count", 1)))
        return self.server.pusher.faults

    async def _clear(self, body: JSON, query: Mapping[str, str]) -> bool:
        self.server.pusher.faults.clear()
        return True

    async def _invalidate_tokens(self, body: JSON, query: Mapping[str, str]) -> bool:
        self.world.invalidate_tokens()
        return True

    # --- what happened ------------------------------------------------------------------

    async def _list_members(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        return [m.to_json() for m in self.world.members.values()]

    async def _sent(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        after = int(query.get("after", "0"))
        timeout = float(query.get("timeout", "0"))
        sent = await self.server.methods.wait_sent(after, timeout, query.get("touser"))
        return [s.to_json() for s in sent]

    async def _cards(self, body: JSON, query: Mapping[str, str]) -> dict[str, JSON]:
        return {task_id: card.to_json() for task_id, card in self.world.cards.items()}

    async def _media(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        return [m.to_json() for m in self.world.media.values()]

    async def _media_bytes(self, request: web.Request) -> web.Response:
        media = self.world.media.get(request.match_info["media_id"])
        if media is None:
            return web.json_response({"ok": False, "error": "no such media"}, status=404)
        return web.Response(body=media.data, headers={"Content-Type": media.content_type})

    async def _pushes(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        after = int(query.get("after", "0"))
        timeout = float(query.get("timeout", "0"))
        return [p.to_json() for p in await self.server.pusher.wait(after, timeout)]

    async def _warnings(self, body: JSON, query: Mapping[str, str]) -> list[str]:
        return self.server.methods.warnings
