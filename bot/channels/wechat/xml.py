"""What WeChat pushes to an Official Account's callback, read into typed values; the passive reply.

Every push is a flat ``<xml>`` of named elements (docs/wechat-oa/callbacks.md
§5): strings in CDATA, integers bare, order and CDATA-or-not not to be
relied on. :func:`parse_push` turns one into a frozen dataclass per kind we
use (text, image, follow with or without a QR scene, scan, unfollow, menu
click and link, template delivery receipt) and anything else into
:class:`UnsupportedPush`, which the callback acknowledges and ignores.

The XML comes from the network: a document type declaration (and so any
entity declaration, the billion-laughs and external-entity attacks) is
refused before it is read (:class:`XmlRefused`). Message ids are 64-bit and
can exceed 2**53 (§5.1, §5.7), so they are Python ints, never floats.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.channels.wxcrypto import cdata

__all__ = [
    "ClickEvent",
    "DeliveryStatus",
    "Envelope",
    "ImageMessage",
    "MalformedXml",
    "Push",
    "ScanEvent",
    "SubscribeEvent",
    "TemplateSendJobFinishEvent",
    "TextMessage",
    "UnsubscribeEvent",
    "UnsupportedPush",
    "ViewEvent",
    "WechatXmlError",
    "XmlRefused",
    "parse_envelope",
    "parse_push",
    "read_fields",
    "text_reply",
]

QR_SCENE_PREFIX = "qrscene_"


class WechatXmlError(ValueError):
    """A push that cannot be read."""


class XmlRefused(WechatXmlError):
    """The XML declares a document type (where entities are declared): never read."""


class MalformedXml(WechatXmlError):
    """Not well-formed, not an ``<xml>`` root, or a required element missing or not an integer."""


class _NoDoctype(ET.TreeBuilder):
    # ElementTree's parser calls the target's doctype() as the declaration
    # starts, before any entity inside it is declared or expanded.
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise XmlRefused("a document type declaration is not accepted")


def read_fields(xml: str | bytes) -> dict[str, str]:
    """The text of each child of the ``<xml>`` root, by element name.

    Nested elements (events we do not use carry some) are skipped; a name
    that appears twice is refused, since either reading could be the wrong one.
    """
    if isinstance(xml, bytes):
        try:
            xml = xml.decode()
        except UnicodeDecodeError:
            raise MalformedXml("the push is not UTF-8") from None
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(xml)
        root = parser.close()
    except ET.ParseError as exc:
        raise MalformedXml(f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise MalformedXml("the root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields:
            raise MalformedXml(f"<{child.tag}> appears twice")
        fields[child.tag] = child.text or ""
    return fields


@dataclass(frozen=True, slots=True)
class Envelope:
    """A safe-mode push before decryption (callbacks.md §4.2); other elements are ignored."""

    to_user: str
    encrypt: str


def parse_envelope(body: str | bytes) -> Envelope:
    """The ``ToUserName`` and ``Encrypt`` of a safe-mode push body."""
    fields = read_fields(body)
    encrypt = fields.get("Encrypt", "").strip()
    if not encrypt:
        raise MalformedXml("a safe-mode push carries <Encrypt>")
    return Envelope(fields.get("ToUserName", ""), encrypt)


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None or not value.strip():
        raise MalformedXml(f"<{name}> is missing")
    return value


def _integer(text: str, name: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise MalformedXml(f"<{name}> is not an integer")
    return int(text)


def _optional_integer(fields: dict[str, str], name: str) -> int | None:
    value = fields.get(name, "")
    return _integer(value, name) if value.strip() else None


@dataclass(frozen=True, slots=True)
class Push:
    """What every push carries: the account (``gh_...``), the user's openid, Unix seconds."""

    to_user: str
    from_user: str
    create_time: int

    @property
    def dedupe_key(self) -> str:
        """The key a redelivery repeats (§4.5): events by sender and time, messages by MsgId."""
        return f"event:{self.from_user}:{self.create_time}"


@dataclass(frozen=True, slots=True)
class TextMessage(Push):
    """The user wrote ``content`` (§5.1), or tapped an option of a menu message.

    ``menu_option_id`` is the tapped option's ``bizmsgmenuid``; it is None
    when absent or ``0``, which happens (§5.1), and then the option is found
    by its label, ``content``. ``msg_id`` may be missing on such taps too.
    """

    content: str
    msg_id: int | None
    menu_option_id: int | None

    @property
    def dedupe_key(self) -> str:
        if self.msg_id is None:
            return f"event:{self.from_user}:{self.create_time}"
        return f"msg:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class ImageMessage(Push):
    """The user sent a picture: ``PicUrl`` and ``MediaId``.

    The image message is not among the samples of callbacks.md; its
    elements are those of Tencent's page on ordinary messages, the common
    ones of §5 plus these two and ``MsgId``.
    """

    pic_url: str
    media_id: str
    msg_id: int | None

    @property
    def dedupe_key(self) -> str:
        if self.msg_id is None:
            return f"event:{self.from_user}:{self.create_time}"
        return f"msg:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class SubscribeEvent(Push):
    """The user followed the account (§5.2): through a parametric QR code when ``scene`` is set.

    ``scene`` is the ``EventKey`` without its ``qrscene_`` prefix; a plain
    follow has no EventKey, or an empty one.
    """

    scene: str | None
    ticket: str | None


@dataclass(frozen=True, slots=True)
class ScanEvent(Push):
    """A follower scanned a parametric QR code (§5.4): ``scene`` as created, no prefix."""

    scene: str
    ticket: str | None


@dataclass(frozen=True, slots=True)
class UnsubscribeEvent(Push):
    """The user unfollowed the account (§5.3)."""


@dataclass(frozen=True, slots=True)
class ClickEvent(Push):
    """The user tapped a custom-menu button of type ``click`` (§5.5): its ``key``."""

    key: str


@dataclass(frozen=True, slots=True)
class ViewEvent(Push):
    """The user tapped a custom-menu link (§5.6): the ``url`` it opens."""

    url: str
    menu_id: str | None


class DeliveryStatus(enum.Enum):
    """A template message's fate (§5.7)."""

    SUCCESS = "success"
    USER_BLOCK = "failed:user block"
    SYSTEM_FAILED = "failed: system failed"
    #: Any other status (``failed:freq limit`` has been reported): not delivered.
    OTHER_FAILURE = "failed"

    @classmethod
    def of(cls, status: str) -> DeliveryStatus:
        """Read tolerantly: spaces are ignored, as SDKs spell them differently (§5.7)."""
        compact = "".join(status.split()).lower()
        for member in (cls.SUCCESS, cls.USER_BLOCK, cls.SYSTEM_FAILED):
            if compact == "".join(member.value.split()):
                return member
        return cls.OTHER_FAILURE

    @property
    def delivered(self) -> bool:
        return self is DeliveryStatus.SUCCESS


@dataclass(frozen=True, slots=True)
class TemplateSendJobFinishEvent(Push):
    """The receipt of template message ``msg_id`` (the send's ``msgid``), §5.7."""

    msg_id: int
    status: DeliveryStatus
    raw_status: str

    @property
    def dedupe_key(self) -> str:
        """By message: two reminders to one person can finish in the same second."""
        return f"receipt:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class UnsupportedPush(Push):
    """Any other message or event (voice, location, ...): acknowledged, not handled."""

    msg_type: str
    event: str | None


Inbound = (
    TextMessage
    | ImageMessage
    | SubscribeEvent
    | ScanEvent
    | UnsubscribeEvent
    | ClickEvent
    | ViewEvent
    | TemplateSendJobFinishEvent
    | UnsupportedPush
)


def parse_push(xml: str | bytes) -> Inbound:
    """The typed form of one decrypted push (see the module docstring)."""
    fields = read_fields(xml)
    to_user = _required(fields, "ToUserName")
    from_user = _required(fields, "FromUserName")
    created = _integer(_required(fields, "CreateTime"), "CreateTime")
    msg_type = _required(fields, "MsgType").strip()
    if msg_type == "text":
        option = _optional_integer(fields, "bizmsgmenuid")
        return TextMessage(
            to_user,
            from_user,
            created,
            fields.get("Content", ""),
            _optional_integer(fields, "MsgId"),
            option or None,
        )
    if msg_type == "image":
        return ImageMessage(
            to_user,
            from_user,
            created,
            fields.get("PicUrl", "").strip(),
            fields.get("MediaId", "").strip(),
            _optional_integer(fields, "MsgId"),
        )
    if msg_type != "event":
        return UnsupportedPush(to_user, from_user, created, msg_type, None)
    event = _required(fields, "Event").strip()
    key = fields.get("EventKey", "").strip()
    ticket = fields.get("Ticket", "").strip() or None
    match event.lower():
        case "subscribe":
            scene = key[len(QR_SCENE_PREFIX) :] if key.startswith(QR_SCENE_PREFIX) else None
            return SubscribeEvent(to_user, from_user, created, scene or None, ticket)
        case "scan":
            return ScanEvent(to_user, from_user, created, _required(fields, "EventKey"), ticket)
        case "unsubscribe":
            return UnsubscribeEvent(to_user, from_user, created)
        case "click":
            return ClickEvent(to_user, from_user, created, _required(fields, "EventKey"))
        case "view":
            menu_id = fields.get("MenuId", "").strip() or None
            return ViewEvent(to_user, from_user, created, _required(fields, "EventKey"), menu_id)
        case "templatesendjobfinish":
            name = "MsgID" if "MsgID" in fields else "MsgId"
            raw = _required(fields, "Status").strip()
            return TemplateSendJobFinishEvent(
                to_user,
                from_user,
                created,
                _integer(_required(fields, name), name),
                DeliveryStatus.of(raw),
                raw,
            )
    return UnsupportedPush(to_user, from_user, created, msg_type, event)


def text_reply(to: Push, content: str, create_time: int) -> str:
    """A passive text reply to push ``to``: from the account, to the user who wrote.

    In safe mode it is sealed with :func:`bot.channels.wxcrypto.seal` and
    wrapped by :func:`bot.channels.wxcrypto.reply_envelope` (§4.4).
    """
    return (
        "<xml>\n"
        f"<ToUserName>{cdata(to.from_user)}</ToUserName>\n"
        f"<FromUserName>{cdata(to.to_user)}</FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        f"<MsgType>{cdata('text')}</MsgType>\n"
        f"<Content>{cdata(content)}</Content>\n"
        "</xml>"
    )
