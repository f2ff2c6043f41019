"""The stand-in's world: the account's followers, its tokens, QR codes, menu and templates.

Plain state with the rules api.json gives for it, and no HTTP:

* **tokens** (``getStableAccessToken``): normal mode returns the current
  token until five minutes before it expires, then a new one, the old one
  still valid until its own expiry; ``force_refresh`` replaces it at once,
  at most once in 30 s. ``getAccessToken`` issues a new token each call, the
  previous one valid five more minutes. An unknown token is 40001, an
  expired one 42001.
* **customer-service windows** (``sendCustomMessage.window_rules``): a
  person's latest action opens a budget: 5 messages in 48 hours after they
  write, 3 in one minute after a menu click, a follow or a scan. The latest
  action replaces the budget (api.json's suggested model; how they really
  combine is unverified). Outside it 45015, over it 45047.
* **followers**: only a follower receives messages; a non-follower's send is
  refused with 43004 by default (43004 or 40003 is unverified).
"""

from __future__ import annotations

import base64
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_servers.common.control import ControlError

__all__ = [
    "FIRST_MSGID",
    "WINDOWS",
    "ControlError",
    "QrCode",
    "Template",
    "Token",
    "Window",
    "World",
    "WxUser",
]

JSON = dict[str, Any]

#: Message ids start above 2**53, as real ones do (api.json: 3662956322040938501),
#: so a client that reads them as floats is caught.
FIRST_MSGID = 3_662_956_322_040_938_501
#: Trigger -> (messages allowed, for how many seconds): api.json ``window_rules``.
WINDOWS = {
    "message": (5, 48 * 3600),
    "menu": (3, 60),
    "follow": (3, 60),
    "scan": (3, 60),
}
TOKEN_OVERLAP_S = 300
FORCE_REFRESH_INTERVAL_S = 30
QR_DEFAULT_EXPIRE_S = 30


@dataclass(slots=True)
class Window:
    """A customer-service budget: ``quota`` messages within ``validity_s`` of ``opened_at``."""

    trigger: str
    opened_at: float
    quota: int
    validity_s: float
    used: int = 0


@dataclass(slots=True)
class WxUser:
    """A WeChat user of the account, by openid."""

    openid: str
    following: bool = False
    blocked: bool = False
    language: str = "zh_CN"
    subscribe_time: int | None = None
    qr_scene_str: str = ""
    window: Window | None = None
    last_menu: JSON | None = None

    def info(self) -> JSON:
        """``user/info``'s answer (api.json ``getUserInfo``): only openid for a non-follower."""
        if not self.following:
            return {"subscribe": 0, "openid": self.openid}
        return {
            "subscribe": 1,
            "openid": self.openid,
            "language": self.language,
            "subscribe_time": self.subscribe_time,
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_QR_CODE" if self.qr_scene_str else "ADD_SCENE_OTHERS",
            "qr_scene": 0,
            "qr_scene_str": self.qr_scene_str,
        }


@dataclass(slots=True)
class Token:
    value: str
    expires_at: float


@dataclass(slots=True)
class QrCode:
    """A parametric QR code the account created."""

    ticket: str
    url: str
    scene: str
    expires_at: float | None


@dataclass(slots=True)
class Template:
    """A template in the account's list: its keys, and the values of its enum/const keys."""

    template_id: str
    keys: tuple[str, ...]
    values: dict[str, frozenset[str]] = field(default_factory=dict)


class World:
    """The state behind the stand-in's API and control routes.

    ``clock`` gives Unix seconds; :meth:`advance` moves the world's time on
    (tokens and windows expire) without waiting.
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        clock: Callable[[], float],
        token_lifetime_s: int = 7200,
        non_follower_errcode: int = 43004,
        msgmenu_allowed: bool = True,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.account = "gh_" + secrets.token_hex(6)
        self._clock = clock
        self._offset = 0.0
        self.token_lifetime_s = token_lifetime_s
        self.non_follower_errcode = non_follower_errcode
        self.msgmenu_allowed = msgmenu_allowed
        self.users: dict[str, WxUser] = {}
        self.tokens: dict[str, Token] = {}
        self._stable: str | None = None
        self._last_force: float | None = None
        self.qr_codes: dict[str, QrCode] = {}
        self.templates: dict[str, Template] = {}
        self.menu: list[JSON] = []
        self._msgids = itertools.count(FIRST_MSGID)
        self._menu_ids = itertools.count(400_000_001)

    # --- time ---------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the world's clock on by ``seconds``."""
        self._offset += seconds

    def next_msgid(self) -> int:
        return next(self._msgids)

    def next_menu_id(self) -> int:
        return next(self._menu_ids)

    # --- tokens -------------------------------------------------------------------------

    def _issue(self, lifetime: float) -> Token:
        token = Token(secrets.token_urlsafe(96), self.now() + lifetime)
        self.tokens[token.value] = token
        return token

    def stable_token(self, force: bool) -> tuple[str, int]:
        """``stable_token``: (token, expires_in) by the rules of the module docstring."""
        now = self.now()
        current = self.tokens.get(self._stable or "")
        if current is not None and current.expires_at <= now:
            current = None
        if force:
            last = self._last_force
            if current is not None and last is not None and now - last < FORCE_REFRESH_INTERVAL_S:
                return current.value, int(current.expires_at - now)
            self._last_force = now
            if current is not None:
                del self.tokens[current.value]
        elif current is not None and current.expires_at - now > TOKEN_OVERLAP_S:
            return current.value, int(current.expires_at - now)
        token = self._issue(self.token_lifetime_s)
        self._stable = token.value
        return token.value, self.token_lifetime_s

    def plain_token(self) -> tuple[str, int]:
        """``/cgi-bin/token``: a new token; the previous ones expire within five minutes."""
        now = self.now()
        for token in self.tokens.values():
            if token.value != self._stable:
                token.expires_at = min(token.expires_at, now + TOKEN_OVERLAP_S)
        return self._issue(self.token_lifetime_s).value, self.token_lifetime_s

    def token_error(self, value: str | None) -> int | None:
        """41001 without a token, 40001 for one never issued (or replaced), 42001 if expired."""
        if not value:
            return 41001
        token = self.tokens.get(value)
        if token is None:
            return 40001
        return 42001 if token.expires_at <= self.now() else None

    # --- people -------------------------------------------------------------------------

    def user(self, openid: str) -> WxUser:
        try:
            return self.users[openid]
        except KeyError:
            raise ControlError(f"no WeChat user {openid}") from None

    def add_user(self, openid: str | None = None, language: str = "zh_CN") -> WxUser:
        """A WeChat user who does not follow the account yet (a new openid if none given)."""
        openid = openid or "o" + secrets.token_urlsafe(20)[:27]
        if openid in self.users:
            raise ControlError(f"WeChat user {openid} exists")
        user = self.users[openid] = WxUser(openid, language=language)
        return user

    def open_window(self, user: WxUser, trigger: str) -> None:
        quota, validity = WINDOWS[trigger]
        user.window = Window(trigger, self.now(), quota, validity)

    def window_error(self, user: WxUser) -> int | None:
        """45015 outside the person's window, 45047 when its messages are used up."""
        window = user.window
        if window is None or self.now() > window.opened_at + window.validity_s:
            return 45015
        if window.used >= window.quota:
            return 45047
        return None

    def follow(self, user: WxUser, scene: str = "") -> None:
        user.following = True
        user.subscribe_time = int(self.now())
        user.qr_scene_str = scene

    def unfollow(self, user: WxUser) -> None:
        user.following = False
        user.window = None
        user.qr_scene_str = ""

    # --- QR codes -----------------------------------------------------------------------

    def create_qr(self, scene: str, expire_seconds: int | None) -> QrCode:
        # Tickets are standard base64 ("+", "/", "="), as api.json's example is.
        ticket = base64.b64encode(secrets.token_bytes(70)).decode()
        expires_at = None if expire_seconds is None else self.now() + expire_seconds
        url = "http://weixin.qq.com/q/" + secrets.token_urlsafe(16)
        code = self.qr_codes[ticket] = QrCode(ticket, url, scene, expires_at)
        return code

    def qr_code(self, *, ticket: str | None = None, scene: str | None = None) -> QrCode:
        """The code by ticket, or the latest with ``scene``; refused once expired."""
        if ticket is not None:
            code = self.qr_codes.get(ticket)
        else:
            codes = [c for c in self.qr_codes.values() if c.scene == scene]
            code = codes[-1] if codes else None
        if code is None:
            raise ControlError("no such QR code")
        if code.expires_at is not None and code.expires_at <= self.now():
            raise ControlError("the QR code has expired")
        return code

    # --- menu ---------------------------------------------------------------------------

    def menu_buttons(self) -> list[JSON]:
        """Every button that acts (click or view), top level and below."""
        found: list[JSON] = []
        for button in self.menu:
            found.extend(button.get("sub_button") or [button])
        return found
