"""What WeCom pushes to the application's callback, read into typed values.

The decrypted XML of docs/wecom/callbacks.md §7: every push carries the corp
id, the member's ``userid`` (the identity the product stores), ``CreateTime``,
``MsgType`` and ``AgentID``. Read here: text (§7.1), image (§7.2), the member
added to or removed from the app's visible range (§7.3), opening the app
(§7.4), a card's button click (§7.5) and a menu click (§7.6); anything else
is :class:`Unsupported`, acknowledged and ignored. Event names are lower case
on WeCom. ``MsgId`` is 64-bit: kept as a string. The reading itself (no
document types, flat elements) is WeChat's (:func:`bot.channels.wechat.xml.read_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.wechat.xml import MalformedXml, read_fields

__all__ = [
    "CardClick",
    "EnterAgent",
    "Image",
    "MemberAdded",
    "MemberRemoved",
    "MenuClick",
    "Push",
    "Text",
    "Unsupported",
    "parse_push",
]


@dataclass(frozen=True, slots=True)
class Push:
    """What every push carries."""

    corp_id: str
    userid: str
    create_time: int
    agent_id: int | None

    @property
    def dedupe_key(self) -> str:
        """A retry repeats it (callbacks.md §6): ``MsgId``, else sender and time and what."""
        return f"{self.userid}:{self.create_time}:{type(self).__name__}"


@dataclass(frozen=True, slots=True)
class Text(Push):
    content: str
    msg_id: str

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class Image(Push):
    msg_id: str

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class MemberAdded(Push):
    pass


@dataclass(frozen=True, slots=True)
class MemberRemoved(Push):
    pass


@dataclass(frozen=True, slots=True)
class EnterAgent(Push):
    pass


@dataclass(frozen=True, slots=True)
class MenuClick(Push):
    key: str


@dataclass(frozen=True, slots=True)
class CardClick(Push):
    """A button of a template card: its key, the card's task id, the code to update it."""

    key: str
    task_id: str
    response_code: str

    @property
    def dedupe_key(self) -> str:
        # Two clicks of one card are one decision (callbacks.md §6): the card and the member.
        return f"card:{self.task_id}:{self.userid}"


@dataclass(frozen=True, slots=True)
class Unsupported(Push):
    msg_type: str
    event: str


def _integer(fields: dict[str, str], name: str) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise MalformedXml(f"<{name}> is not an integer")
    return int(text)


def parse_push(xml: str | bytes) -> Push:
    """The push in ``xml`` (already decrypted); :class:`MalformedXml` when unreadable."""
    fields = read_fields(xml)
    userid = fields.get("FromUserName", "").strip()
    create_time = _integer(fields, "CreateTime")
    if not userid or create_time is None:
        raise MalformedXml("<FromUserName> and <CreateTime> are required")
    head = (fields.get("ToUserName", "").strip(), userid, create_time, _integer(fields, "AgentID"))
    msg_type = fields.get("MsgType", "").strip()
    event = fields.get("Event", "").strip().lower()
    if msg_type in ("text", "image"):
        msg_id = fields.get("MsgId", "").strip()
        if not msg_id.isascii() or not msg_id.isdigit():
            raise MalformedXml("<MsgId> is missing or not a number")
        if msg_type == "text":
            return Text(*head, content=fields.get("Content", "").strip(), msg_id=msg_id)
        return Image(*head, msg_id=msg_id)
    if msg_type == "event":
        match event:
            case "subscribe":
                return MemberAdded(*head)
            case "unsubscribe":
                return MemberRemoved(*head)
            case "enter_agent":
                return EnterAgent(*head)
            case "click":
                return MenuClick(*head, key=fields.get("EventKey", ""))
            case "template_card_event":
                task_id = fields.get("TaskId", "").strip()
                code = fields.get("ResponseCode", "").strip()
                if not task_id:
                    raise MalformedXml("<TaskId> is missing")
                return CardClick(
                    *head, key=fields.get("EventKey", ""), task_id=task_id, response_code=code
                )
    return Unsupported(*head, msg_type=msg_type, event=event)
