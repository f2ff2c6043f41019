"""The simulated world's records: users, chats, the bot's messages and files, what was asked.

Plain data with their JSON forms (the control interface's, and Telegram's
``User``, ``Chat`` and ``Message`` objects), the Bot API error answers, and
the constants the server's answers quote word for word from Telegram.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local_servers.telegram.spec import UploadedFile

__all__ = [
    "BLOCKED_DESCRIPTION",
    "CONFLICT_DESCRIPTION",
    "FAULT_KINDS",
    "JSON",
    "NOT_MODIFIED_DESCRIPTION",
    "QUERY_INVALID_DESCRIPTION",
    "TOKEN_PATTERN",
    "ApiError",
    "CallbackAnswer",
    "ControlError",
    "Event",
    "Fault",
    "InlineButton",
    "RequestRecord",
    "SentFile",
    "SentMessage",
    "SimChat",
    "SimUser",
    "Violation",
    "file_path",
    "is_sending_method",
    "loggable",
]

JSON = dict[str, Any]

#: Lenient form of Telegram's token shape ``123456:ABC-DEF...``.
TOKEN_PATTERN = re.compile(r"\d+:[\w-]+")
BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"
CONFLICT_DESCRIPTION = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED_DESCRIPTION = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID_DESCRIPTION = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
#: Kinds accepted by :meth:`LocalBotApi.inject_fault`.
FAULT_KINDS = frozenset(
    {
        "http_500",
        "http_429",
        "http_400",
        "forbidden",
        "drop",
        "timeout_after_delivery",
        "http_500_after_delivery",
        "http_502_after_delivery",
        "drop_after_delivery",
    }
)
#: Kinds that let the call take effect (the message is delivered) before failing its answer.
AFTER_DELIVERY = frozenset(k for k in FAULT_KINDS if k.endswith("_after_delivery"))
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")
#: "send*" methods that deliver no message and so do not count towards message limits.
_NOT_MESSAGES = frozenset({"sendChatAction", "sendMessageDraft"})


def is_sending_method(method: str) -> bool:
    """Whether ``method`` delivers or changes a message (send*, edit*, copy*, forward*).

    These are the calls Telegram's message limits count and the calls a fault
    injected for "any sending method" applies to; ``sendChatAction`` is not one.
    """
    return method.startswith(_SENDING_PREFIXES) and method not in _NOT_MESSAGES


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description, optional ``retry_after``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class ControlError(Exception):
    """A control action the simulated world does not allow (unknown user, absent button...)."""


@dataclass(slots=True)
class SimUser:
    """A simulated Telegram user (their private chat with the bot has the same id)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False

    def to_dict(self) -> JSON:
        """The Bot API ``User`` object."""
        result: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


@dataclass(slots=True)
class SimChat:
    """A chat the bot is in: a user's private chat or a simulated group (negative id)."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    members: set[int] = field(default_factory=set)

    @property
    def is_group(self) -> bool:
        """Whether this is a group or supergroup (group limits and privacy mode apply)."""
        return self.type in ("group", "supergroup")

    def to_dict(self) -> JSON:
        """The Bot API ``Chat`` object."""
        result: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


@dataclass(slots=True)
class SentFile:
    """A file the bot sent: uploaded bytes, or a file_id / URL it referred to."""

    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    data: bytes | None = None
    url: str | None = None
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int | None:
        """Size in bytes when the bytes are known."""
        return None if self.data is None else len(self.data)

    def to_json(self) -> JSON:
        """Control-interface form (bytes as base64)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "data_base64": None if self.data is None else base64.b64encode(self.data).decode(),
            "url": self.url,
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentFile:
        """Inverse of :meth:`to_json`."""
        raw = data.get("data_base64")
        return cls(
            file_id=data["file_id"],
            file_unique_id=data["file_unique_id"],
            file_name=data.get("file_name"),
            mime_type=data.get("mime_type"),
            data=None if raw is None else base64.b64decode(raw),
            url=data.get("url"),
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
        )


@dataclass(frozen=True, slots=True)
class InlineButton:
    """One inline keyboard button as the bot sent it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, with edits applied in place.

    ``text``/``caption`` are as the bot sent them (HTML tags included);
    ``visible_text``/``visible_caption`` are what the user sees after entity
    parsing. ``request`` is the original request's parameters, ``edits`` the
    parameters of every later edit.
    """

    chat_id: int
    message_id: int
    method: str
    date: int
    chat: JSON
    sender: JSON
    text: str | None = None
    parse_mode: str | None = None
    visible_text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    visible_caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: SentFile | None = None
    photo: SentFile | None = None
    reply_to_message_id: int | None = None
    request: JSON = field(default_factory=dict)
    edits: list[JSON] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False

    def buttons(self) -> list[InlineButton]:
        """The inline keyboard's buttons, row by row (empty without an inline keyboard)."""
        markup = self.reply_markup or {}
        return [
            InlineButton(b.get("text", ""), b.get("callback_data"), b.get("url"))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def callback_data(self) -> list[str]:
        """Every ``callback_data`` on the message's inline keyboard."""
        return [b.callback_data for b in self.buttons() if b.callback_data is not None]

    def data_for(self, label: str) -> str:
        """The ``callback_data`` of the button whose text is ``label`` (or contains it)."""
        buttons = self.buttons()
        for exact in (True, False):
            for button in buttons:
                hit = button.text == label if exact else label in button.text
                if hit and button.callback_data is not None:
                    return button.callback_data
        raise ControlError(
            f"message {self.message_id} has no button labelled {label!r}; "
            f"buttons: {[b.text for b in buttons]}"
        )

    @property
    def shown(self) -> str:
        """What the user reads: the visible text, else the visible caption, else ""."""
        return self.visible_text or self.visible_caption or ""

    def as_message(self, reply_to: JSON | None = None) -> JSON:
        """The Bot API ``Message`` object Telegram would return for this message now."""
        message: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if self.visible_text is not None:
            message["text"] = self.visible_text
            if self.entities:
                message["entities"] = self.entities
        if self.document is not None:
            doc: JSON = {
                "file_id": self.document.file_id,
                "file_unique_id": self.document.file_unique_id,
            }
            if self.document.file_name is not None:
                doc["file_name"] = self.document.file_name
            if self.document.mime_type is not None:
                doc["mime_type"] = self.document.mime_type
            if self.document.size is not None:
                doc["file_size"] = self.document.size
            message["document"] = doc
        if self.photo is not None:
            size: JSON = {
                "file_id": self.photo.file_id,
                "file_unique_id": self.photo.file_unique_id,
                "width": self.photo.width,
                "height": self.photo.height,
            }
            if self.photo.size is not None:
                size["file_size"] = self.photo.size
            message["photo"] = [size]
        if self.visible_caption:
            message["caption"] = self.visible_caption
            if self.caption_entities:
                message["caption_entities"] = self.caption_entities
        # Telegram echoes only inline keyboards, and not an empty one.
        if self.reply_markup and self.reply_markup.get("inline_keyboard"):
            message["reply_markup"] = self.reply_markup
        return message

    def to_json(self) -> JSON:
        """Control-interface form (files with base64 bytes; uploaded parts summarised)."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "date": self.date,
            "chat": self.chat,
            "sender": self.sender,
            "text": self.text,
            "parse_mode": self.parse_mode,
            "visible_text": self.visible_text,
            "entities": self.entities,
            "caption": self.caption,
            "visible_caption": self.visible_caption,
            "caption_entities": self.caption_entities,
            "reply_markup": self.reply_markup,
            "document": None if self.document is None else self.document.to_json(),
            "photo": None if self.photo is None else self.photo.to_json(),
            "reply_to_message_id": self.reply_to_message_id,
            "request": loggable(self.request),
            "edits": [loggable(edit) for edit in self.edits],
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentMessage:
        """Inverse of :meth:`to_json` (uploaded parts in ``request`` stay summaries)."""
        return cls(
            chat_id=data["chat_id"],
            message_id=data["message_id"],
            method=data["method"],
            date=data["date"],
            chat=data["chat"],
            sender=data["sender"],
            text=data.get("text"),
            parse_mode=data.get("parse_mode"),
            visible_text=data.get("visible_text"),
            entities=list(data.get("entities") or []),
            caption=data.get("caption"),
            visible_caption=data.get("visible_caption"),
            caption_entities=list(data.get("caption_entities") or []),
            reply_markup=data.get("reply_markup"),
            document=None if data.get("document") is None else SentFile.from_json(data["document"]),
            photo=None if data.get("photo") is None else SentFile.from_json(data["photo"]),
            reply_to_message_id=data.get("reply_to_message_id"),
            request=dict(data.get("request") or {}),
            edits=list(data.get("edits") or []),
            edit_date=data.get("edit_date"),
            deleted=bool(data.get("deleted")),
        )


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """An ``answerCallbackQuery`` call, with the press it answers."""

    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None

    def to_json(self) -> JSON:
        """Control-interface form."""
        return {
            "callback_query_id": self.callback_query_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "cache_time": self.cache_time,
        }


@dataclass(frozen=True, slots=True)
class Violation:
    """A request refused for a spec reason (a bot bug, or Telegram would refuse it)."""

    method: str
    field: str | None
    reason: str
    description: str
    params: JSON

    def to_json(self) -> JSON:
        """Control-interface form."""
        return {
            "method": self.method,
            "field": self.field,
            "reason": self.reason,
            "description": self.description,
            "params": self.params,
        }


@dataclass(slots=True)
class RequestRecord:
    """One Bot API call: method, coerced parameters, and the answer's status."""

    method: str
    params: JSON
    status: int | None = None
    description: str | None = None


@dataclass(slots=True)
class Fault:
    """A fault waiting for the next ``remaining`` calls of ``method`` (None: any sending call)."""

    method: str | None
    kind: str
    remaining: int
    params: JSON

    def matches(self, method: str) -> bool:
        """Whether a call of ``method`` consumes this fault."""
        return method == self.method if self.method is not None else is_sending_method(method)


@dataclass(frozen=True, slots=True)
class Event:
    """Something the bot did that a driver may wait for (sent, edited, deleted, answered)."""

    seq: int
    kind: str
    chat_id: int | None
    message_id: int | None
    data: JSON

    def to_json(self) -> JSON:
        """Control-interface form."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
        }


def loggable(params: Mapping[str, Any]) -> JSON:
    """``params`` with uploaded files replaced by a JSON summary."""
    result: JSON = {}
    for key, value in params.items():
        if isinstance(value, UploadedFile):
            result[key] = {"file": value.filename, "size": len(value.data)}
        else:
            result[key] = value
    return result


def file_path(sent_file: SentFile) -> str:
    """Where ``/file/bot<token>/`` serves the file: photos and documents apart."""
    folder = "photos" if sent_file.file_id.startswith("PH") else "documents"
    return f"{folder}/{sent_file.file_unique_id}"
