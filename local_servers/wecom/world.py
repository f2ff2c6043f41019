"""The stand-in's world: one corp, one self-built app, its members, tokens, cards and media.

Plain state with the rules docs/wecom/api.json gives for it, and no HTTP:

* **the token** (``getToken``): the same token until it expires (7200 s),
  then a new one (api.json's stand-in rule); a missing token is 41001, one
  never issued or invalidated early (WeCom may, and the control interface
  can) 40014, an expired one 42001.
* **members** by userid, case-insensitively (``conventions.userid_case``);
  only those in the app's visible range get messages, can be read and can
  use the app.
* **response codes** (``limits.response_code``): each is good for one
  ``update_template_card`` within 72 hours (configurable: older copies of
  the page say 24), whether it came with the send or with a click.
* **app-message limits** (``limits.app_messages``): per member, 30 messages
  a minute and 1000 an hour, counted over the last 60 s and 3600 s.
* **media**: kept 3 days (``limits.media``).
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_servers.common.control import ControlError

__all__ = [
    "FIRST_MSGID",
    "Card",
    "CardState",
    "Media",
    "Member",
    "ResponseCode",
    "SentMessage",
    "World",
]

JSON = dict[str, Any]

#: Inbound MsgIds start above 2**53, as the official sample's (4561255354251345929)
#: is, so a receiver that reads them as floats is caught.
FIRST_MSGID = 4_561_255_354_251_346_001
MEDIA_LIFETIME_S = 3 * 24 * 3600
RECALL_WINDOW_S = 24 * 3600
#: The card types whose buttons ``button.replace_name`` can grey out (api.json
#: ``updateTemplateCard.body.button``).
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})


@dataclass(slots=True)
class Member:
    """A member of the corp; ``visible``: inside the app's visible range."""

    userid: str
    name: str
    visible: bool = True
    department: list[int] = field(default_factory=lambda: [1])

    @property
    def key(self) -> str:
        return self.userid.lower()

    def to_json(self) -> JSON:
        return {"userid": self.userid, "visible": self.visible}


@dataclass(slots=True)
class Media:
    """An uploaded (or member-sent) file: its bytes and what came with them."""

    media_id: str
    type: str
    data: bytes
    filename: str
    content_type: str
    created_at: int

    def to_json(self) -> JSON:
        return {
            "media_id": self.media_id,
            "type": self.type,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class ResponseCode:
    """A code for one card update: from the send (``userid`` None) or from a click."""

    code: str
    task_id: str
    userid: str | None
    expires_at: float
    used_at: float | None = None


@dataclass(slots=True)
class CardState:
    """One recipient's copy of a card after updates: greyed buttons, or a new card."""

    replace_name: str | None = None
    card: JSON | None = None

    def to_json(self) -> JSON:
        return {"replace_name": self.replace_name, "card": self.card}


@dataclass(slots=True)
class Card:
    """A template card the app sent, by ``task_id``, and what became of it."""

    task_id: str
    card: JSON
    msgid: str
    recipients: list[str]
    sent_at: float
    states: dict[str, CardState] = field(default_factory=dict)
    clicks: list[JSON] = field(default_factory=list)
    updates: list[JSON] = field(default_factory=list)

    def current(self, key: str) -> JSON:
        """The card as member ``key`` sees it now."""
        state = self.states.get(key)
        return state.card if state is not None and state.card is not None else self.card

    def greyed(self, key: str) -> str | None:
        """The text on member ``key``'s greyed buttons, if an update greyed them."""
        state = self.states.get(key)
        return None if state is None else state.replace_name

    def to_json(self) -> JSON:
        return {
            "task_id": self.task_id,
            "card": self.card,
            "msgid": self.msgid,
            "recipients": self.recipients,
            "sent_at": self.sent_at,
            "states": {key: state.to_json() for key, state in self.states.items()},
            "clicks": self.clicks,
            "updates": self.updates,
        }


@dataclass(slots=True)
class SentMessage:
    """An accepted ``message/send``: who got it, who did not and why.

    ``delivered`` are the members' keys (lower-cased userids) it reached;
    ``dropped`` the ones over the app-message limits (api.json: excess
    messages are dropped); ``invaliduser`` the unknown or invisible ones;
    ``duplicate``: held back by ``enable_duplicate_check``.
    """

    method: str
    msgtype: str
    touser: str
    body: JSON
    msgid: str
    sent_at: float
    delivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    invaliduser: list[str] = field(default_factory=list)
    duplicate: bool = False
    response_code: str | None = None
    task_id: str | None = None
    media: JSON | None = None
    recalled_at: float | None = None

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "msgtype": self.msgtype,
            "touser": self.touser,
            "body": self.body,
            "msgid": self.msgid,
            "sent_at": self.sent_at,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "invaliduser": self.invaliduser,
            "duplicate": self.duplicate,
            "response_code": self.response_code,
            "task_id": self.task_id,
            "media": self.media,
            "recalled_at": self.recalled_at,
        }


class World:
    """The state behind the stand-in's API and control routes.

    ``clock`` gives Unix seconds; :meth:`advance` moves the world's time on
    (tokens, codes, media and rate windows expire) without waiting.
    """

    def __init__(
        self,
        corp_id: str,
        agent_id: int,
        secret: str,
        *,
        clock: Callable[[], float],
        token_lifetime_s: int = 7200,
        response_code_lifetime_s: float = 72 * 3600,
        per_minute: int = 30,
        per_hour: int = 1000,
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.secret = secret
        self._clock = clock
        self._offset = 0.0
        self.token_lifetime_s = token_lifetime_s
        self.response_code_lifetime_s = response_code_lifetime_s
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.members: dict[str, Member] = {}
        self._token: str | None = None
        self._tokens: dict[str, float] = {}
        self.cards: dict[str, Card] = {}
        self.codes: dict[str, ResponseCode] = {}
        self.media: dict[str, Media] = {}
        self.messages: dict[str, SentMessage] = {}
        self._delivered_at: dict[str, deque[float]] = {}
        self._duplicates: dict[str, float] = {}
        self._msgids = itertools.count(FIRST_MSGID)

    # --- time ---------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the world's clock on by ``seconds``."""
        self._offset += seconds

    def next_msgid(self) -> int:
        """A new 64-bit MsgId for a member's message."""
        return next(self._msgids)

    @staticmethod
    def new_msgid() -> str:
        """A new msgid for a sent message: opaque text, as api.json's 63-character example."""
        return secrets.token_urlsafe(47)

    # --- the token ----------------------------------------------------------------------

    def token(self) -> tuple[str, int]:
        """``gettoken``: the current token and its remaining seconds, a new one once expired."""
        now = self.now()
        token = self._token
        expires_at = self._tokens.get(token or "")
        if token is None or expires_at is None or expires_at <= now:
            # Real tokens run to a few hundred characters (api.json: at most 512 bytes).
            token = self._token = secrets.token_urlsafe(160)
            expires_at = self._tokens[token] = now + self.token_lifetime_s
        return token, int(expires_at - now)

    def token_error(self, value: str | None) -> int | None:
        """41001 without a token, 40014 for one never issued (or invalidated), 42001 if expired."""
        if not value:
            return 41001
        expires_at = self._tokens.get(value)
        if expires_at is None:
            return 40014
        return 42001 if expires_at <= self.now() else None

    def invalidate_tokens(self) -> None:
        """WeCom invalidates the tokens early (api.json ``getToken.behaviour``)."""
        self._tokens.clear()
        self._token = None

    # --- members ------------------------------------------------------------------------

    def add_member(
        self, userid: str | None = None, name: str | None = None, *, visible: bool = True
    ) -> Member:
        """A member of the corp (a new userid if none given), by default in the visible range."""
        userid = userid or "staff" + secrets.token_hex(4)
        if userid.lower() in self.members:
            raise ControlError(f"WeCom member {userid} exists")
        member = Member(userid, name or userid, visible)
        self.members[member.key] = member
        return member

    def member(self, userid: str) -> Member:
        try:
            return self.members[userid.lower()]
        except KeyError:
            raise ControlError(f"no WeCom member {userid}") from None

    def visible_member(self, userid: str) -> Member:
        """A member who can use the app: one in its visible range."""
        member = self.member(userid)
        if not member.visible:
            raise ControlError(f"{userid} is outside the app's visible range")
        return member

    # --- app-message limits -------------------------------------------------------------

    def over_limit(self, key: str) -> str | None:
        """``minute`` or ``hour`` if one more message to member ``key`` breaks that limit."""
        now = self.now()
        times = self._delivered_at.setdefault(key, deque())
        while times and times[0] <= now - 3600:
            times.popleft()
        if sum(1 for t in times if t > now - 60) >= self.per_minute:
            return "minute"
        return "hour" if len(times) >= self.per_hour else None

    def count_delivery(self, key: str) -> None:
        self._delivered_at.setdefault(key, deque()).append(self.now())

    def duplicate(self, body_key: str, interval_s: float) -> bool:
        """Whether an identical request was sent within ``interval_s`` (and remember this one)."""
        now = self.now()
        last = self._duplicates.get(body_key)
        if last is not None and now - last < interval_s:
            return True
        self._duplicates[body_key] = now
        return False

    # --- response codes -----------------------------------------------------------------

    def issue_code(self, task_id: str, userid: str | None, *, expired: bool = False) -> str:
        """A new response code for the card ``task_id`` (already expired if ``expired``)."""
        code = secrets.token_urlsafe(32)
        lifetime = 0.0 if expired else self.response_code_lifetime_s
        self.codes[code] = ResponseCode(code, task_id, userid, self.now() + lifetime)
        return code

    def use_code(self, code: str) -> ResponseCode | None:
        """The code, now used up; None if it is unknown, used or expired (60140)."""
        found = self.codes.get(code)
        if found is None or found.used_at is not None or found.expires_at <= self.now():
            return None
        found.used_at = self.now()
        return found

    # --- media --------------------------------------------------------------------------

    def store_media(self, kind: str, data: bytes, filename: str, content_type: str) -> Media:
        media_id = secrets.token_urlsafe(33)
        media = Media(media_id, kind, data, filename, content_type, int(self.now()))
        self.media[media_id] = media
        return media

    def media_expired(self, media: Media) -> bool:
        return self.now() >= media.created_at + MEDIA_LIFETIME_S
