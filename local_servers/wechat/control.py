"""The control interface over HTTP (``/control/...``): play patients and read what the bot did.

JSON in and out (:mod:`local_servers.common.control`): answers are
``{"ok": true, "result": ...}``, or ``{"ok": false, "error": ...}`` with
status 400 for an action the world does not allow. Routes:

==========================  ===============================================================
``POST users``              ``{openid?, language?}``: a WeChat user who does not follow yet
``POST scan``               ``{openid, scene | ticket}``: scan a QR code (follow or SCAN)
``POST follow``             ``{openid}``: follow without a QR code
``POST unfollow``           ``{openid}``
``POST write``              ``{openid, content}``: a text message
``POST choose``             ``{openid, label}``: tap an option of the last menu message
``POST click`` / ``view``   ``{openid, key}`` / ``{openid, url}``: tap a custom-menu button
``POST block``              ``{openid, blocked?}``: refuse the account's template messages
``POST templates``          ``{template_id, keys, values?}``: add a template to the account
``POST settings``           ``{callback_url?, safe_mode?, deliveries?, retry_delay_s?,
                            receipt_failure_rate?, menu_option_fault?}``
``POST verify``             the console's URL check of the callback: true if it passed
``POST faults``             ``{method?, kind, count?, errcode?, delay?}``; ``DELETE faults``
``POST clock``              ``{advance}``: move the world's time on (seconds)
``GET sent``                ``?touser=&after=&timeout=``: what the account sent (after the
                            first ``after``, waiting up to ``timeout`` s for one)
``GET qrcodes``             every QR code the account created (ticket, scene, url), as a
                            phone reads them: the join token a scan carries
``GET requests``            every API request and its errcode
``GET violations``          requests refused for breaking api.json
``GET pushes``              ``?after=&timeout=``: finished pushes, waiting for one
==========================  ===============================================================

Push results are :class:`~local_servers.wechat.pushes.PushRecord` in JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from local_servers.common.control import Action, ControlError, add_routes, common_routes
from local_servers.wechat.patients import MENU_OPTION_FAULTS

if TYPE_CHECKING:
    from local_servers.wechat.server import LocalWechat

__all__ = ["ControlApi"]

JSON = dict[str, Any]


class ControlApi:
    """The ``/control/`` routes of one :class:`~local_servers.wechat.server.LocalWechat`."""

    def __init__(self, server: LocalWechat) -> None:
        self.server = server
        self.patients = server.patients

    def add_routes(self, app: web.Application) -> None:
        posts: dict[str, Action] = {
            "users": self._users,
            "scan": self._scan,
            "follow": self._follow,
            "unfollow": self._unfollow,
            "write": self._write,
            "choose": self._choose,
            "click": self._click,
            "view": self._view,
            "block": self._block,
            "templates": self._templates,
            "settings": self._settings,
            "verify": self._verify,
        }
        gets: dict[str, Action] = {
            "sent": self._sent,
            "qrcodes": self._qrcodes,
            "pushes": self._pushes,
        }
        add_routes(app, {"POST": posts, "GET": gets})
        add_routes(app, common_routes(self.server))

    # --- patients -----------------------------------------------------------------------

    async def _users(self, body: JSON, query: Mapping[str, str]) -> JSON:
        user = self.server.world.add_user(body.get("openid"), str(body.get("language", "zh_CN")))
        return {"openid": user.openid, "following": user.following}

    async def _scan(self, body: JSON, query: Mapping[str, str]) -> JSON:
        record = await self.patients.scan(
            str(body["openid"]), ticket=body.get("ticket"), scene=body.get("scene")
        )
        return record.to_json()

    async def _follow(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.follow(str(body["openid"]))).to_json()

    async def _unfollow(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.unfollow(str(body["openid"]))).to_json()

    async def _write(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.write(str(body["openid"]), str(body["content"]))).to_json()

    async def _choose(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.choose(str(body["openid"]), str(body["label"]))).to_json()

    async def _click(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.click(str(body["openid"]), str(body["key"]))).to_json()

    async def _view(self, body: JSON, query: Mapping[str, str]) -> JSON:
        return (await self.patients.view(str(body["openid"]), str(body["url"]))).to_json()

    async def _block(self, body: JSON, query: Mapping[str, str]) -> bool:
        self.patients.block(str(body["openid"]), bool(body.get("blocked", True)))
        return True

    # --- the account and the stand-in ---------------------------------------------------

    async def _templates(self, body: JSON, query: Mapping[str, str]) -> bool:
        keys = [str(key) for key in body["keys"]]
        self.server.register_template(str(body["template_id"]), keys, body.get("values"))
        return True

    async def _settings(self, body: JSON, query: Mapping[str, str]) -> JSON:
        pusher, patients = self.server.pusher, self.patients
        if "callback_url" in body:
            pusher.callback_url = body["callback_url"]
        if "safe_mode" in body:
            pusher.safe_mode = bool(body["safe_mode"])
        if "deliveries" in body:
            pusher.deliveries = int(body["deliveries"])
        if "retry_delay_s" in body:
            pusher.retry_delay_s = float(body["retry_delay_s"])
        if "receipt_failure_rate" in body:
            rate = float(body["receipt_failure_rate"])
            if not 0.0 <= rate <= 1.0:
                raise ControlError("receipt_failure_rate is between 0 and 1")
            patients.receipt_failure_rate = rate
        if "menu_option_fault" in body:
            fault = body["menu_option_fault"]
            if fault is not None and fault not in MENU_OPTION_FAULTS:
                raise ControlError(
                    f"menu_option_fault is null or one of {sorted(MENU_OPTION_FAULTS)}"
                )
            patients.menu_option_fault = fault
        return {
            "callback_url": pusher.callback_url,
            "safe_mode": pusher.safe_mode,
            "deliveries": pusher.deliveries,
            "retry_delay_s": pusher.retry_delay_s,
            "receipt_failure_rate": patients.receipt_failure_rate,
            "menu_option_fault": patients.menu_option_fault,
        }

    async def _verify(self, body: JSON, query: Mapping[str, str]) -> bool:
        return await self.server.pusher.verify_url()

    # --- what happened ------------------------------------------------------------------

    async def _sent(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        touser = query.get("touser")
        after = int(query.get("after", "0"))
        timeout = float(query.get("timeout", "0"))
        sent = await self.server.methods.wait_sent(after, timeout, touser)
        return [s.to_json() for s in sent]

    async def _qrcodes(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        return [
            {"ticket": c.ticket, "scene": c.scene, "url": c.url, "expires_at": c.expires_at}
            for c in self.server.world.qr_codes.values()
        ]

    async def _pushes(self, body: JSON, query: Mapping[str, str]) -> list[JSON]:
        after = int(query.get("after", "0"))
        timeout = float(query.get("timeout", "0"))
        return [p.to_json() for p in await self.server.pusher.wait(after, timeout)]
