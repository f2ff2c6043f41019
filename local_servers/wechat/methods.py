"""The stand-in's API methods: what each does once its request has passed api.json's shape check.

One handler per method of docs/wechat-oa/api.json. Each takes the query and
the JSON body and returns WeChat's answer, or raises a
:class:`~local_servers.wechat.spec.Refusal` with WeChat's code: 40013/40125
for a wrong AppID or secret, 40037 for a template not in the account's list,
47003 naming ``data.<key>.value`` for a value its field type does not allow
or a key the template does not have, 40003 for an openid the account does
not know, 43004 (configurable) for a person who does not follow, 45015 and
45047 outside or past the customer-service window, 44004 for empty text,
40200 for a menu message from an account not allowed one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from local_servers.common.records import Journal
from local_servers.wechat.spec import ApiSpec, Refusal
from local_servers.wechat.template_rules import value_problem
from local_servers.wechat.world import QR_DEFAULT_EXPIRE_S, World, WxUser

__all__ = ["Handler", "SentMessage", "WechatMethods"]

JSON = dict[str, Any]
Handler = Callable[[dict[str, str], Any], Awaitable[JSON]]
OK: JSON = {"errcode": 0, "errmsg": "ok"}
_STRING_SCENES = frozenset({"QR_STR_SCENE", "QR_LIMIT_STR_SCENE"})
_PERMANENT = frozenset({"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})
PERMANENT_SCENE_IDS = range(1, 100_001)


@dataclass(slots=True)
class SentMessage:
    """A message the account sent: a template message (with ``msgid``) or a custom one.

    ``receipt`` is the template message's delivery Status once pushed.
    """

    method: str
    touser: str
    body: JSON
    msgid: int | None = None
    receipt: str | None = None

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "touser": self.touser,
            "body": self.body,
            "msgid": self.msgid,
            "receipt": self.receipt,
        }


class WechatMethods:
    """The handlers, by api.json method name (:attr:`handlers`)."""

    def __init__(
        self, world: World, spec: ApiSpec, on_template_sent: Callable[[SentMessage], None]
    ) -> None:
        self.world = world
        self.spec = spec
        self._sent: Journal[SentMessage] = Journal()
        self._on_template_sent = on_template_sent
        self.handlers: dict[str, Handler] = {
            "getAccessToken": self.get_access_token,
            "getStableAccessToken": self.get_stable_access_token,
            "sendTemplateMessage": self.send_template_message,
            "sendCustomMessage": self.send_custom_message,
            "createQRCode": self.create_qr_code,
            "getUserInfo": self.get_user_info,
            "createMenu": self.create_menu,
        }

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the account sent, in order."""
        return self._sent.items

    def _record(self, sent: SentMessage) -> None:
        self._sent.append(sent)

    def sent_to(self, touser: str | None = None) -> list[SentMessage]:
        """What the account sent (to ``touser`` only, when given), in order."""
        return [s for s in self.sent if touser in (None, s.touser)]

    async def wait_sent(
        self, after: int, timeout: float, touser: str | None = None
    ) -> list[SentMessage]:
        """The messages sent (to ``touser``) after the first ``after``, waiting up to
        ``timeout`` seconds for one."""
        return await self._sent.wait(after, timeout, lambda s: touser in (None, s.touser))

    def _refuse(self, errcode: int, field: str | None = None, violation: bool = False) -> Refusal:
        return self.spec.refusal(errcode, field=field, violation=violation)

    def _credentials(self, appid: str, secret: str) -> None:
        if appid != self.world.app_id:
            raise self._refuse(40013)
        if secret != self.world.app_secret:
            raise self._refuse(40125)

    def _recipient(self, openid: str) -> WxUser:
        user = self.world.users.get(openid)
        if user is None:
            raise self._refuse(40003)
        if not user.following:
            raise self._refuse(self.world.non_follower_errcode)
        return user

    # --- tokens -------------------------------------------------------------------------

    async def get_access_token(self, query: dict[str, str], body: Any) -> JSON:
        self._credentials(query["appid"], query["secret"])
        token, expires_in = self.world.plain_token()
        return {"access_token": token, "expires_in": expires_in}

    async def get_stable_access_token(self, query: dict[str, str], body: Any) -> JSON:
        self._credentials(body["appid"], body["secret"])
        token, expires_in = self.world.stable_token(bool(body.get("force_refresh", False)))
        return {"access_token": token, "expires_in": expires_in}

    # --- messages -----------------------------------------------------------------------

    def _template_values(self, template_id: str, data: JSON) -> dict[str, str]:
        template = self.world.templates.get(template_id)
        if template is None:
            raise self._refuse(40037, violation=True)
        values: dict[str, str] = {}
        for key, item in data.items():
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("value"), str)
                or not set(item) <= {"value", "color"}
                or not isinstance(item.get("color", ""), str)
            ):
                raise self._refuse(47001, f"data.{key}", violation=True)
            values[key] = item["value"]
        for key in template.keys:
            if key not in values:
                raise self._refuse(self.spec.argument_errcode, f"data.{key}.value", True)
        for key, value in values.items():
            allowed = template.values.get(key, frozenset())
            if key not in template.keys or value_problem(
                key, value, self.spec.field_types, allowed
            ):
                raise self._refuse(self.spec.argument_errcode, f"data.{key}.value", True)
        return values

    async def send_template_message(self, query: dict[str, str], body: Any) -> JSON:
        self._template_values(body["template_id"], body["data"])
        self._recipient(body["touser"])
        sent = SentMessage("sendTemplateMessage", body["touser"], body, self.world.next_msgid())
        self._record(sent)
        self._on_template_sent(sent)
        return OK | {"msgid": sent.msgid}

    async def send_custom_message(self, query: dict[str, str], body: Any) -> JSON:
        msgtype = body["msgtype"]
        content = body.get(msgtype)
        extra = {"text", "msgmenu"} - {msgtype}
        if content is None or any(name in body for name in extra):
            raise self._refuse(47001, msgtype, violation=True)
        if msgtype == "text" and not content["content"]:
            raise self._refuse(44004, "text.content", violation=True)
        if msgtype == "msgmenu" and not self.world.msgmenu_allowed:
            raise self._refuse(40200)
        user = self._recipient(body["touser"])
        errcode = self.world.window_error(user)
        if errcode is not None:
            raise self._refuse(errcode)
        assert user.window is not None
        user.window.used += 1
        if msgtype == "msgmenu":
            user.last_menu = content
        self._record(SentMessage("sendCustomMessage", user.openid, body))
        return dict(OK)

    # --- QR codes, people, the menu -----------------------------------------------------

    async def create_qr_code(self, query: dict[str, str], body: Any) -> JSON:
        action = body["action_name"]
        scene = body["action_info"]["scene"]
        name = "scene_str" if action in _STRING_SCENES else "scene_id"
        if name not in scene:
            raise self._refuse(47001, f"action_info.scene.{name}", violation=True)
        value = scene[name]
        permanent = action in _PERMANENT
        if name == "scene_id":
            # api.json: a permanent code's scene_id is 1..100000, a temporary one's 32 bits, not 0.
            valid = value in PERMANENT_SCENE_IDS if permanent else 0 < value < 2**32
            if not valid:
                raise self._refuse(self.spec.argument_errcode, "action_info.scene.scene_id", True)
        expire = None if permanent else body.get("expire_seconds", QR_DEFAULT_EXPIRE_S)
        code = self.world.create_qr(str(value), expire)
        answer: JSON = {"ticket": code.ticket, "url": code.url}
        if expire is not None:
            answer["expire_seconds"] = expire
        return answer

    async def get_user_info(self, query: dict[str, str], body: Any) -> JSON:
        user = self.world.users.get(query["openid"])
        if user is None:
            raise self._refuse(40003)
        return user.info()

    async def create_menu(self, query: dict[str, str], body: Any) -> JSON:
        button_spec = self.spec.methods["createMenu"].body or ()
        (buttons_field,) = (f for f in button_spec if f.name == "button")
        leaf_fields = tuple(f for f in buttons_field.item_fields if f.name != "sub_button")
        buttons: list[JSON] = body["button"]
        for index, button in enumerate(buttons):
            path = f"button[{index}]"
            children = button.get("sub_button")
            if children:
                for number, child in enumerate(children):
                    self.spec.check_fields(f"{path}.sub_button[{number}].", child, leaf_fields)
                    self._check_action(f"{path}.sub_button[{number}]", child)
            else:
                self._check_action(path, button)
        self.world.menu = buttons
        return dict(OK)

    def _check_action(self, path: str, button: JSON) -> None:
        """A button that acts needs its type, and the key (click) or url (view) for it."""
        kind = button.get("type")
        needed = {"click": "key", "view": "url"}.get(str(kind))
        if kind is None or (needed is not None and not button.get(needed)):
            raise self._refuse(47001, f"{path}.{needed or 'type'}", violation=True)
