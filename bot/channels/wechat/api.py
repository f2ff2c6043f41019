"""An async client for the WeChat Official Account server API calls the patient channel makes.

The methods are those of docs/wechat-oa/api.json: ``getStableAccessToken``
(the access token), ``sendTemplateMessage`` (reminders), ``sendCustomMessage``
(replies in the customer-service window: text, and a menu of options),
``createQRCode`` (an invitation's QR code), ``getUserInfo`` and
``createMenu``. Conventions kept (api.json ``conventions``): the token goes in
the query; bodies are UTF-8 JSON with non-ASCII characters unescaped; an
answer is judged by ``errcode`` alone; ids stay Python ints.

The access token comes from ``stable_token`` in its normal mode, is cached,
and is fetched again ``refresh_margin_s`` before it expires: the platform
issues the next token five minutes before expiry, both valid meanwhile, so a
margin under five minutes gets the new one at once. A call refused with
40001 (token invalid or not the latest) or 42001 (expired) fetches a token
and is made once more; when the platform hands back the very token it just
refused, the fetch is forced (``force_refresh``, limited to 20 a day). Any
other failure raises :class:`~bot.channels.wechat.outcomes.WechatApiError`
with its :class:`~bot.channels.wechat.outcomes.Outcome`. A template message's
values are checked against their field types before anything is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp

from bot.channels.token_api import DEFAULT_TIMEOUT, JSON, Token, TokenApi
from bot.channels.wechat.outcomes import Outcome, WechatApiError
from core.template_fields import TemplateValueError, check_template_data

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "MenuButton",
    "QrCode",
    "UserInfo",
    "WechatApi",
]

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
#: api.json ``createQRCode``: a temporary code lives at most 30 days; scene_str is 1..64.
QR_MAX_EXPIRE_S = 2_592_000
QR_SCENE_MAX = 64
#: api.json ``createMenu``: 1..3 buttons, each with at most 5 below it.
MENU_TOP_MAX = 3
MENU_SUB_MAX = 5
_TOKEN_ERRCODES = frozenset({40001, 42001})


@dataclass(frozen=True, slots=True)
class QrCode:
    """A parametric QR code: its ``ticket``, the ``url`` it encodes, how long it lives."""

    ticket: str
    url: str
    expire_seconds: int | None

    @property
    def image_url(self) -> str:
        """Where WeChat serves the code's image (api.json ``createQRCode``, ``ticket``)."""
        return "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + quote(self.ticket, safe="")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What ``user/info`` says of a person; a non-follower has only ``openid`` (api.json)."""

    openid: str
    subscribed: bool
    language: str | None = None
    subscribe_time: int | None = None
    subscribe_scene: str | None = None
    qr_scene_str: str | None = None


@dataclass(frozen=True, slots=True)
class MenuButton:
    """A custom-menu button: a ``click`` one (``key``), a ``view`` link (``url``), or a group."""

    name: str
    key: str | None = None
    url: str | None = None
    children: tuple[MenuButton, ...] = field(default=())

    def to_json(self) -> JSON:
        if self.children:
            return {"name": self.name, "sub_button": [child.to_json() for child in self.children]}
        if self.key is not None:
            return {"type": "click", "name": self.name, "key": self.key}
        if self.url is not None:
            return {"type": "view", "name": self.name, "url": self.url}
        raise ValueError(f"menu button {self.name!r} has no key, url or children")


class WechatApi(TokenApi):
    """The server API of one Official Account (``app_id``, ``app_secret``) at ``base_url``.

    ``clock`` (monotonic seconds) times the token; ``timeout`` is aiohttp's.
    Use as ``async with WechatApi(...) as api`` or call :meth:`close`.
    """

    token_errcodes = _TOKEN_ERRCODES

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin_s: float = 120.0,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(
            base_url,
            session=session,
            clock=clock,
            refresh_margin_s=refresh_margin_s,
            timeout=timeout,
        )
        self.app_id = app_id
        self._secret = app_secret

    async def _fetch_token(self, *, force: bool) -> Token:
        body: JSON = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self._secret,
        }
        if force:
            body["force_refresh"] = True
        return await self._token_call(
            "getStableAccessToken", "POST", "/cgi-bin/stable_token", {}, body
        )

    # --- the calls --------------------------------------------------------------------

    async def send_template(
        self,
        touser: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """Send a template message; its ``msgid``, which the delivery receipt repeats.

        ``data`` maps each key (``thing1``...) to its value; a value its type
        does not allow raises ``REJECTED`` naming ``data.<key>.value`` and
        nothing is sent.
        """
        method = "sendTemplateMessage"
        try:
            check_template_data(data)
        except TemplateValueError as exc:
            raise WechatApiError(method, Outcome.REJECTED, exc.reason, field=exc.field) from exc
        body: JSON = {
            "touser": touser,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url is not None:
            body["url"] = url
        if client_msg_id is not None:
            body["client_msg_id"] = client_msg_id
        answer = await self._call(method, "POST", "/cgi-bin/message/template/send", body=body)
        msgid = answer.get("msgid")
        if isinstance(msgid, str) and msgid.isdigit():
            msgid = int(msgid)
        if not isinstance(msgid, int) or isinstance(msgid, bool):
            raise WechatApiError(method, Outcome.UNCERTAIN, "no msgid in the answer")
        return msgid

    async def send_text(self, touser: str, content: str) -> None:
        """A customer-service text message (only inside the person's window)."""
        body: JSON = {"touser": touser, "msgtype": "text", "text": {"content": content}}
        await self._call("sendCustomMessage", "POST", "/cgi-bin/message/custom/send", body=body)

    async def send_menu(
        self, touser: str, head: str, options: Sequence[tuple[int, str]], tail: str
    ) -> None:
        """A customer-service message with options to tap (``msgmenu``): ``(id, label)`` each.

        Ids are numbers because a tap's ``bizmsgmenuid`` comes back as one
        (api.json ``sendCustomMessage``, ``msgmenu.list``).
        """
        body: JSON = {
            "touser": touser,
            "msgtype": "msgmenu",
            "msgmenu": {
                "head_content": head,
                "list": [{"id": str(option), "content": label} for option, label in options],
                "tail_content": tail,
            },
        }
        await self._call("sendCustomMessage", "POST", "/cgi-bin/message/custom/send", body=body)

    async def create_qr_code(self, scene: str, expire_seconds: int) -> QrCode:
        """A temporary QR code (``QR_STR_SCENE``) whose scan carries ``scene``."""
        method = "createQRCode"
        if not 1 <= len(scene) <= QR_SCENE_MAX:
            raise WechatApiError(
                method,
                Outcome.REJECTED,
                f"scene_str is 1 to {QR_SCENE_MAX} characters",
                field="action_info.scene.scene_str",
            )
        if not 1 <= expire_seconds <= QR_MAX_EXPIRE_S:
            raise WechatApiError(
                method,
                Outcome.REJECTED,
                f"expire_seconds is 1 to {QR_MAX_EXPIRE_S}",
                field="expire_seconds",
            )
        body: JSON = {
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        answer = await self._call(method, "POST", "/cgi-bin/qrcode/create", body=body)
        ticket, url = answer.get("ticket"), answer.get("url")
        if not isinstance(ticket, str) or not isinstance(url, str):
            raise WechatApiError(method, Outcome.RETRY_LATER, "no ticket in the answer")
        expires = answer.get("expire_seconds")
        return QrCode(ticket, url, expires if isinstance(expires, int) else None)

    async def user_info(self, openid: str, lang: str = "zh_CN") -> UserInfo:
        """Whether ``openid`` follows the account, with their language and follow scene."""
        answer = await self._call(
            "getUserInfo", "GET", "/cgi-bin/user/info", query={"openid": openid, "lang": lang}
        )

        def text(name: str) -> str | None:
            value = answer.get(name)
            return value if isinstance(value, str) else None

        subscribed_at = answer.get("subscribe_time")
        return UserInfo(
            openid=str(answer.get("openid", openid)),
            subscribed=answer.get("subscribe") == 1,
            language=text("language"),
            subscribe_time=subscribed_at if isinstance(subscribed_at, int) else None,
            subscribe_scene=text("subscribe_scene"),
            qr_scene_str=text("qr_scene_str") or None,
        )

    async def create_menu(self, buttons: Sequence[MenuButton]) -> None:
        """Replace the account's custom menu (1..3 buttons, at most 5 under each)."""
        method = "createMenu"
        if not 1 <= len(buttons) <= MENU_TOP_MAX or any(
            len(button.children) > MENU_SUB_MAX for button in buttons
        ):
            raise WechatApiError(
                method,
                Outcome.REJECTED,
                f"1 to {MENU_TOP_MAX} buttons, at most {MENU_SUB_MAX} under each",
                field="button",
            )
        body: JSON = {"button": [button.to_json() for button in buttons]}
        await self._call(method, "POST", "/cgi-bin/menu/create", body=body)
