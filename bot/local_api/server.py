"""A local Telegram Bot API server for rehearsals, end-to-end tests, the demo and benchmarks.

The bot (python-telegram-bot with ``base_url`` set to :attr:`LocalBotApi.base_url`,
i.e. ``TELEGRAM_BASE_URL``) talks to this server exactly as it talks to
Telegram: ``{base_url}{token}/{method}`` with form, multipart or JSON bodies,
answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}``. Every request is checked against the Bot API schema
(:mod:`bot.local_api.spec`); a refusal for a spec reason is kept in
:attr:`LocalBotApi.violations`, which a test suite asserts stays empty.

Behaviour modelled on Telegram ("Bots FAQ: My bot is hitting limits"; Bot API
"getUpdates"):

* ``getUpdates`` long-polls; ``offset`` confirms earlier updates; a second
  poll terminates a waiting one with 409 "Conflict: terminated by other
  getUpdates request" (one process per token).
* flood limits: about one message per second per private chat with short
  bursts, 20 a minute per group, 30 a second overall, answered 429 with
  ``retry_after`` (token buckets; :class:`FloodPolicy`).
* users and groups are simulated through a control interface: as Python
  methods (same event loop) or over HTTP under ``/control/`` (another process;
  see :mod:`bot.local_api.client`). Users send text, press inline buttons, block
  the bot; a test reads what the bot sent and injects faults.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import mimetypes
import re
import secrets
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from aiohttp import web

from bot.local_api.html import ParsedText, plain_text
from bot.local_api.spec import BotApiSchema, SpecError, UploadedFile, load_schema

__all__ = [
    "BLOCKED_DESCRIPTION",
    "CONFLICT_DESCRIPTION",
    "FAULT_KINDS",
    "ApiError",
    "CallbackAnswer",
    "ControlError",
    "Event",
    "Fault",
    "FloodLimiter",
    "FloodPolicy",
    "InlineButton",
    "LocalBotApi",
    "RequestRecord",
    "SentFile",
    "SentMessage",
    "SimChat",
    "SimUser",
    "TokenBucket",
    "Violation",
    "is_sending_method",
    "serve_forever",
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
    {"http_500", "http_429", "http_400", "forbidden", "drop", "timeout_after_delivery"}
)
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")
#: "send*" methods that deliver no message and so do not count towards message limits.
_NOT_MESSAGES = frozenset({"sendChatAction", "sendMessageDraft"})
#: Update types Telegram delivers when allowed_updates is empty or never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


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


# --- flood limits -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    """Telegram's message limits as token buckets (capacity = burst, rate = tokens per second).

    Source: Bots FAQ "avoid sending more than one message per second" to a
    chat, "not able to send more than 20 messages per minute to the same
    group", "no more than 30 messages per second" in total.
    """

    chat_capacity: float = 3.0
    chat_rate: float = 1.0
    group_capacity: float = 3.0
    group_rate: float = 20.0 / 60.0
    global_capacity: float = 30.0
    global_rate: float = 30.0


class TokenBucket:
    """A token bucket on an injectable clock: ``capacity`` tokens, refilled at ``rate``/s."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0.0 when one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def tokens(self) -> float:
        """The tokens available now."""
        self._refill()
        return self._tokens

    def take(self) -> None:
        """Use one token (call only when :meth:`wait_time` is 0)."""
        self._refill()
        self._tokens -= 1.0


class FloodLimiter:
    """Per-chat and global buckets; a message passes only when both have a token."""

    def __init__(self, policy: FloodPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._global = TokenBucket(policy.global_capacity, policy.global_rate, clock)
        self._chats: dict[int, TokenBucket] = {}

    def acquire(self, chat_id: int, *, group: bool) -> int:
        """0 if a message to ``chat_id`` may go now (tokens taken), else ``retry_after`` seconds.

        ``retry_after`` is the wait until both buckets have a token, rounded
        up to whole seconds and at least 1, as Telegram reports it.
        """
        bucket = self._chats.get(chat_id)
        if bucket is None:
            p = self.policy
            bucket = (
                TokenBucket(p.group_capacity, p.group_rate, self._clock)
                if group
                else TokenBucket(p.chat_capacity, p.chat_rate, self._clock)
            )
            self._chats[chat_id] = bucket
        wait = max(bucket.wait_time(), self._global.wait_time())
        if wait > 0:
            return max(1, math.ceil(wait - 1e-9))
        bucket.take()
        self._global.take()
        return 0

    def allowance(self, chat_id: int) -> float:
        """Tokens in ``chat_id``'s bucket now (a full bucket for a chat never sent to)."""
        bucket = self._chats.get(chat_id)
        if bucket is None:
            return self.policy.chat_capacity
        return bucket.tokens()


# --- the simulated world ------------------------------------------------------------------


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
            "request": _loggable(self.request),
            "edits": [_loggable(edit) for edit in self.edits],
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


class _Signal:
    """Wakes every waiter on :meth:`notify`; callable from synchronous code.

    A waiter checks its condition and calls :meth:`wait` without awaiting in
    between, so a notification cannot slip past it.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        if timeout <= 0:
            return
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass


def _loggable(params: Mapping[str, Any]) -> JSON:
    """``params`` with uploaded files replaced by a JSON summary."""
    result: JSON = {}
    for key, value in params.items():
        if isinstance(value, UploadedFile):
            result[key] = {"file": value.filename, "size": len(value.data)}
        else:
            result[key] = value
    return result


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG image; (1, 1) when not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 1, 1


def _error_body(status: int, description: str, retry_after: int | None = None) -> JSON:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _error_response(status: int, description: str, retry_after: int | None = None) -> web.Response:
    return web.json_response(_error_body(status, description, retry_after), status=status)


def _normal_markup(markup: Any) -> Any:
    """Reply markup for comparison: an empty inline keyboard is no keyboard."""
    if isinstance(markup, dict) and markup.get("inline_keyboard") == []:
        return None
    return markup


class LocalBotApi:
    """The local Bot API server and the simulated world behind it.

    ``flood_limits=False`` turns Telegram's message limits off (most tests);
    ``clock`` drives the flood buckets (inject a fake one to test limits
    without sleeping); ``wall_clock`` gives message dates. ``token`` restricts
    the server to one token; by default any token of Telegram's shape is
    accepted and the bot's id is the token's number. With ``group_privacy``
    (Telegram's default privacy mode) the bot receives only commands and
    replies to its own messages from groups.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        flood_limits: bool = True,
        flood_policy: FloodPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        bot_username: str = "trial_companion_bot",
        bot_first_name: str = "Trial Companion",
        group_privacy: bool = True,
        schema: BotApiSchema | None = None,
    ) -> None:
        self.token = token
        self.flood_limits = flood_limits
        self.flood_policy = flood_policy or FloodPolicy()
        self.clock = clock
        self.wall_clock = wall_clock
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.group_privacy = group_privacy
        self.schema = schema or load_schema()
        self.bot_id = int(token.split(":", 1)[0]) if token else 123456

        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.events: list[Event] = []
        self.unimplemented: list[str] = []
        self.faults: list[Fault] = []
        self.fired_faults: list[tuple[str, str]] = []
        self.flood_errors = 0

        self._limiter = FloodLimiter(self.flood_policy, clock)
        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, SimChat] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._cursors: dict[int, int] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0
        self._waiting_readers = 0
        self._callbacks: dict[str, CallbackAnswer] = {}
        self._answered: set[str] = set()
        self._files: dict[str, SentFile] = {}
        self._file_counter = 0
        self._commands: dict[str, list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._bot_texts: dict[str, str] = {}
        self._updates_signal = _Signal()
        self._activity = _Signal()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._methods: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._set_bot_text("description"),
            "getMyDescription": self._get_bot_text("description"),
            "setMyShortDescription": self._set_bot_text("short_description"),
            "getMyShortDescription": self._get_bot_text("short_description"),
            "setMyName": self._set_bot_text("name"),
            "getMyName": self._get_bot_text("name"),
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """What to give PTB as ``base_url`` (``TELEGRAM_BASE_URL``): ``{url}/bot``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give PTB as ``base_file_url``: ``{url}/file/bot``."""
        return f"{self.url}/file/bot"

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        return self._port

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API and the control interface."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        routes = app.router
        routes.add_route("*", "/bot{token}/{method}", self._handle_api)
        routes.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        routes.add_post("/control/users", self._c_users)
        routes.add_post("/control/groups", self._c_groups)
        routes.add_post("/control/send", self._c_send)
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
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`base_url`)."""
        self._closing.clear()
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Answer waiting polls and held responses at once, then close the server."""
        self._closing.set()
        self._updates_signal.notify()
        self._activity.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalBotApi:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- simulated users and chats ------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimUser:
        """Create (or replace) a user; their private chat with the bot has id ``user_id``."""
        if user_id <= 0:
            raise ControlError("user ids are positive")
        user = SimUser(user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self._chats[user_id] = SimChat(
            user_id, "private", first_name=first_name, last_name=last_name, username=username
        )
        return user

    def add_group(
        self, chat_id: int, title: str = "Test group", member_ids: Iterable[int] = ()
    ) -> SimChat:
        """Create a group chat (negative id) the bot is a member of."""
        if chat_id >= 0:
            raise ControlError("group chat ids are negative")
        chat = SimChat(chat_id, "group", title=title, members=set(member_ids))
        self._chats[chat_id] = chat
        return chat

    def user(self, user_id: int) -> SimUser:
        """The simulated user ``user_id``."""
        try:
            return self._users[user_id]
        except KeyError:
            raise ControlError(f"no user {user_id}; add it with add_user first") from None

    def chat(self, chat_id: int) -> SimChat:
        """The simulated chat ``chat_id``."""
        try:
            return self._chats[chat_id]
        except KeyError:
            raise ControlError(f"no chat {chat_id}") from None

    def _new_message_id(self, chat_id: int) -> int:
        # Telegram numbers a private chat's messages from both sides in one sequence.
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _enqueue(self, kind: str, payload: JSON) -> int:
        allowed = self._allowed_updates
        if allowed is None:
            if kind in _DEFAULT_EXCLUDED_UPDATES:
                return 0
        elif kind not in allowed:
            return 0
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._updates_signal.notify()
        self._activity.notify()
        return update_id

    def _message_json(self, chat_id: int, message_id: int) -> JSON | None:
        sent = self._sent_index.get((chat_id, message_id))
        if sent is not None:
            return None if sent.deleted else sent.as_message()
        return self._user_messages.get((chat_id, message_id))

    async def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """User ``user_id`` sends ``text`` (privately, or in group ``chat_id``); returns message_id.

        Like Telegram, a leading ``/command`` gets a ``bot_command`` entity. In
        a group with privacy mode on, only commands and replies to the bot's
        messages reach the bot. A user who blocked the bot cannot write to it.
        """
        user = self.user(user_id)
        target = user_id if chat_id is None else chat_id
        chat = self.chat(target)
        if user.blocked and not chat.is_group:
            raise ControlError(f"user {user_id} has blocked the bot; unblock first")
        if chat.is_group:
            chat.members.add(user_id)
        if not text:
            raise ControlError("Telegram clients do not send empty messages")
        message_id = self._new_message_id(target)
        message: JSON = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": int(self.wall_clock()),
            "text": text,
        }
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group(0))}
            ]
        replied_to_bot = False
        if reply_to is not None:
            original = self._message_json(target, reply_to)
            if original is None:
                raise ControlError(f"no message {reply_to} in chat {target} to reply to")
            message["reply_to_message"] = original
            replied_to_bot = (target, reply_to) in self._sent_index
        self._user_messages[(target, message_id)] = message
        if chat.is_group and self.group_privacy and not command and not replied_to_bot:
            return message_id
        self._enqueue("message", message)
        return message_id

    async def user_presses(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """User ``user_id`` presses the inline button with ``data`` on the bot's message.

        Refused (:class:`ControlError`) unless that message is the bot's, still
        exists and carries a button with exactly this ``callback_data``: a user
        cannot press a button that is not there. Returns the callback query id.
        """
        user = self.user(user_id)
        target = user_id if chat_id is None else chat_id
        if user.blocked and not self.chat(target).is_group:
            raise ControlError(f"user {user_id} has blocked the bot; unblock first")
        sent = self._sent_index.get((target, message_id))
        if sent is None or sent.deleted:
            raise ControlError(f"the bot has no message {message_id} in chat {target}")
        if data not in sent.callback_data():
            raise ControlError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"its buttons: {[(b.text, b.callback_data) for b in sent.buttons()]}"
            )
        query_id = str(secrets.randbits(62))
        while query_id in self._callbacks:
            query_id = str(secrets.randbits(62))
        self._callbacks[query_id] = CallbackAnswer(query_id, user_id, target, message_id, data)
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": sent.as_message(),
                "chat_instance": str((target * 2654435761 + self.bot_id) % (1 << 62)),
                "data": data,
            },
        )
        return query_id

    def _member_update(self, user: SimUser, old: str, new: str) -> None:
        bot = self._bot_user()
        self._enqueue(
            "my_chat_member",
            {
                "chat": self._chats[user.id].to_dict(),
                "from": user.to_dict(),
                "date": int(self.wall_clock()),
                "old_chat_member": {"status": old, "user": bot}
                | ({"until_date": 0} if old == "kicked" else {}),
                "new_chat_member": {"status": new, "user": bot}
                | ({"until_date": 0} if new == "kicked" else {}),
            },
        )

    def block(self, user_id: int) -> None:
        """User ``user_id`` blocks the bot: sends to them get 403; their updates stop.

        Telegram tells the bot with a ``my_chat_member`` update (member -> kicked).
        """
        user = self.user(user_id)
        if not user.blocked:
            user.blocked = True
            self._member_update(user, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        """User ``user_id`` unblocks the bot (``my_chat_member`` kicked -> member)."""
        user = self.user(user_id)
        if user.blocked:
            user.blocked = False
            self._member_update(user, "kicked", "member")

    # --- reading what the bot did ---------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to ``chat_id``, oldest first (deleted ones flagged)."""
        return list(self._sent.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """The bot's message ``message_id`` in ``chat_id``."""
        try:
            return self._sent_index[(chat_id, message_id)]
        except KeyError:
            raise ControlError(f"the bot has no message {message_id} in chat {chat_id}") from None

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a ``getUpdates`` offset."""
        return list(self._updates)

    @property
    def waiting_polls(self) -> int:
        """How many ``getUpdates`` calls are waiting for an update right now."""
        return self._waiting_polls

    def send_allowance(self, chat_id: int) -> float:
        """How many messages the bot could send ``chat_id`` right now without a 429.

        For scripted users who act at a human pace (the demo): waiting until
        the bot may answer in full, rather than provoking flood errors no
        person typing at a keyboard would. Unlimited without flood limits.
        """
        if not self.flood_limits:
            return math.inf
        return self._limiter.allowance(chat_id)

    @property
    def waiting_readers(self) -> int:
        """How many :meth:`wait_for_message` calls (local or over HTTP) are waiting right now."""
        return self._waiting_readers

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command list set with ``setMyCommands`` for ``scope`` and ``language_code``."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def _dump(self, chat_id: int, after: int) -> str:
        lines = [f"messages the bot sent to chat {chat_id} (cursor after message_id {after}):"]
        for sent in self._sent.get(chat_id, []):
            lines.append(f"  #{sent.message_id} {sent.method}: {sent.shown[:200]!r}")
        if len(lines) == 1:
            lines.append("  (none)")
        failures = [r for r in self.requests if r.status not in (None, 200)][-5:]
        if failures:
            lines.append("last failed requests:")
            lines.extend(f"  {r.method} -> {r.status} {r.description}" for r in failures)
        if self.violations:
            lines.append("spec violations:")
            lines.extend(f"  {v.method}: {v.description} ({v.reason})" for v in self.violations)
        return "\n".join(lines)

    def _find_message(
        self,
        chat_id: int,
        after: int,
        predicate: Callable[[SentMessage], bool] | None,
        contains: str | None = None,
    ) -> SentMessage | None:
        for sent in self._sent.get(chat_id, []):
            if sent.message_id <= after or sent.deleted:
                continue
            if contains is not None and contains not in sent.shown:
                continue
            if predicate is None or predicate(sent):
                return sent
        return None

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        after: int | None = None,
        contains: str | None = None,
    ) -> SentMessage:
        """The first message to ``chat_id`` after the cursor that matches; waits for one.

        The cursor is ``after`` (a message_id) or, by default, the last message
        this method returned for the chat, so successive calls walk through the
        conversation. Woken by every send and edit (no polling). Raises
        :class:`TimeoutError` listing what the chat did receive.
        """
        cursor = self._cursors.get(chat_id, 0) if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting_readers += 1
        self._activity.notify()
        try:
            while True:
                found = self._find_message(chat_id, cursor, predicate, contains)
                if found is not None:
                    self._cursors[chat_id] = found.message_id
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing.is_set():
                    raise TimeoutError(
                        f"no matching message to chat {chat_id} within {timeout} s\n"
                        + self._dump(chat_id, cursor)
                    )
                await self._activity.wait(remaining)
        finally:
            self._waiting_readers -= 1

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until ``condition()`` holds; re-checked whenever the server's state changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what} not reached within {timeout} s")
            await self._activity.wait(remaining)

    def _event(self, kind: str, chat_id: int | None, message_id: int | None, data: JSON) -> None:
        self.events.append(Event(len(self.events) + 1, kind, chat_id, message_id, data))
        self._activity.notify()

    # --- faults and stats ------------------------------------------------------------------

    def inject_fault(self, method: str | None, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` calls of ``method`` (None: any sending method) fail.

        Kinds: ``http_500``; ``http_429`` (``retry_after``, default 1);
        ``http_400`` (``description``); ``forbidden`` (``description``);
        ``drop`` (connection closed, no answer); ``timeout_after_delivery``
        (the call takes effect, the answer is held ``delay`` seconds, default 5).
        Only the first three and ``forbidden``/``drop`` deliver nothing.
        """
        if kind not in FAULT_KINDS:
            raise ControlError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ControlError("count must be at least 1")
        if method is not None:
            canonical = self.schema.canonical_method(method)
            if canonical is None:
                raise ControlError(f"unknown Bot API method {method!r}")
            method = canonical
        self.faults.append(Fault(method, kind, count, dict(params)))

    def clear_faults(self) -> None:
        """Forget faults not yet consumed."""
        self.faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                self.fired_faults.append((method, fault.kind))
                return fault
        return None

    def stats(self) -> JSON:
        """Counts for reports: messages delivered per chat, flood errors, violations..."""
        return {
            "delivered": {
                str(chat_id): sum(1 for m in sent if not m.deleted)
                for chat_id, sent in self._sent.items()
            },
            "delivered_total": sum(len(sent) for sent in self._sent.values()),
            "edits": sum(len(m.edits) for sent in self._sent.values() for m in sent),
            "flood_errors": self.flood_errors,
            "violations": len(self.violations),
            "requests": len(self.requests),
            "requests_by_method": _count(r.method for r in self.requests),
            "pending_updates": len(self._updates),
            "callback_answers": len(self.callback_answers),
            "faults_fired": len(self.fired_faults),
            "unimplemented": sorted(set(self.unimplemented)),
        }

    # --- HTTP: Bot API -------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: request body must be a JSON object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.fullmatch(token) or (self.token is not None and token != self.token):
            return _error_response(401, "Unauthorized")
        self.bot_id = int(token.split(":", 1)[0])
        name = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ApiError as exc:
            return _error_response(exc.status, exc.description)
        record = RequestRecord(name, _loggable(params) | _loggable(files))
        self.requests.append(record)
        self._activity.notify()
        try:
            method = self.schema.canonical_method(name) or name
            record.method = method
            try:
                coerced = self.schema.validate_request(method, params, files)
            except SpecError as exc:
                self.violations.append(
                    Violation(method, exc.field, exc.reason, exc.description, record.params)
                )
                record.status, record.description = exc.status, exc.description
                return _error_response(exc.status, exc.description)
            record.params = coerced
            return await self._answer(request, method, coerced, record)
        finally:
            self._activity.notify()

    async def _answer(
        self, request: web.Request, method: str, params: JSON, record: RequestRecord
    ) -> web.StreamResponse:
        fault = self._take_fault(method)
        if fault is not None and fault.kind != "timeout_after_delivery":
            return self._fault_response(request, fault, record)
        handler = self._methods.get(method)
        try:
            if handler is None:
                self.unimplemented.append(method)
                raise ApiError(
                    501, f"Not Implemented: the local Bot API server does not simulate {method}"
                )
            result = await handler(params)
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            return _error_response(exc.status, exc.description, exc.retry_after)
        record.status = 200
        if fault is not None:
            delay = float(fault.params.get("delay", 5.0))
            try:
                async with asyncio.timeout(delay):
                    await self._closing.wait()
            except TimeoutError:
                pass
        return web.json_response({"ok": True, "result": result})

    def _fault_response(
        self, request: web.Request, fault: Fault, record: RequestRecord
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "drop":
            record.status, record.description = 0, "connection dropped (injected)"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if kind == "http_500":
            status, description, retry = 500, "Internal Server Error", None
        elif kind == "http_429":
            retry = int(fault.params.get("retry_after", 1))
            status, description = 429, f"Too Many Requests: retry after {retry}"
        elif kind == "http_400":
            status, retry = 400, None
            description = str(fault.params.get("description", "Bad Request: injected fault"))
        else:
            status, retry = 403, None
            description = str(fault.params.get("description", BLOCKED_DESCRIPTION))
        record.status, record.description = status, description
        return _error_response(status, description, retry)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.fullmatch(token) or (self.token is not None and token != self.token):
            return _error_response(401, "Unauthorized")
        path = request.match_info["path"]
        for sent_file in self._files.values():
            if _file_path(sent_file) == path and sent_file.data is not None:
                return web.Response(
                    body=sent_file.data,
                    content_type=sent_file.mime_type or "application/octet-stream",
                )
        return _error_response(404, "Not Found")

    # --- Bot API methods -----------------------------------------------------------------

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(int(params.get("timeout", 0)), 0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            # Telegram keeps the last allowed_updates; an empty list means the default set.
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # a waiting older poll now sees it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting_polls += 1
        self._activity.notify()
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, CONFLICT_DESCRIPTION)
                if self._updates or self._closing.is_set():
                    return self._updates[:limit]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._updates_signal.wait(remaining)
        finally:
            self._waiting_polls -= 1

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _resolve_chat(self, chat_id: Any) -> SimChat:
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
            if chat is not None:
                return chat
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == chat_id[1:].lower():
                    return chat
        raise ApiError(400, "Bad Request: chat not found")

    def _writable_chat(self, params: JSON) -> SimChat:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._resolve_chat(params["chat_id"])
        if not chat.is_group and self._users[chat.id].blocked:
            raise ApiError(403, BLOCKED_DESCRIPTION)
        return chat

    def _check_flood(self, chat: SimChat) -> None:
        if not self.flood_limits:
            return
        retry_after = self._limiter.acquire(chat.id, group=chat.is_group)
        if retry_after:
            self.flood_errors += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _reply_target(self, chat: SimChat, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = chat.id
        if "chat_id" in reply:
            target_chat = self._resolve_chat(reply["chat_id"]).id
        original = self._message_json(target_chat, reply["message_id"])
        if original is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return original

    def _new_sent(
        self, chat: SimChat, method: str, params: JSON, reply_to: JSON | None
    ) -> SentMessage:
        return SentMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat.id),
            method=method,
            date=int(self.wall_clock()),
            chat=chat.to_dict(),
            sender=self._bot_user(),
            reply_markup=params.get("reply_markup"),
            reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            request=dict(params),
        )

    def _deliver(self, sent: SentMessage, reply_to: JSON | None) -> JSON:
        self._sent.setdefault(sent.chat_id, []).append(sent)
        self._sent_index[(sent.chat_id, sent.message_id)] = sent
        self._event("sent", sent.chat_id, sent.message_id, sent.as_message())
        return sent.as_message(reply_to)

    @staticmethod
    def _parsed(text: str, parse_mode: str | None, entities: list[JSON] | None) -> ParsedText:
        if entities is not None and parse_mode is None:
            return ParsedText(text.strip(" \t\r\n\v\f"), ())
        return plain_text(text, parse_mode)

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        reply_to = self._reply_target(chat, params)
        parsed = self._parsed(params["text"], params.get("parse_mode"), params.get("entities"))
        self._check_flood(chat)
        sent = self._new_sent(chat, "sendMessage", params, reply_to)
        sent.text = params["text"]
        sent.parse_mode = params.get("parse_mode")
        sent.visible_text = parsed.text
        sent.entities = params.get("entities") or [e.to_dict() for e in parsed.entities]
        return self._deliver(sent, reply_to)

    def _file(self, value: Any, kind: str) -> SentFile:
        if isinstance(value, UploadedFile):
            self._file_counter += 1
            name = value.filename
            mime = (mimetypes.guess_type(name)[0] if name else None) or value.content_type
            if kind == "photo":
                name = None
            sent_file = SentFile(
                file_id=f"{kind[:2].upper()}AC{self._file_counter:04d}{secrets.token_hex(12)}",
                file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}",
                file_name=name,
                mime_type=None if kind == "photo" else (mime or "application/octet-stream"),
                data=value.data,
            )
            if kind == "photo":
                sent_file.width, sent_file.height = _image_size(value.data)
            self._files[sent_file.file_id] = sent_file
            return sent_file
        text = str(value)
        if text in self._files:
            return self._files[text]
        if text.startswith(("http://", "https://")):
            self._file_counter += 1
            name = text.rsplit("/", 1)[-1] or None
            sent_file = SentFile(
                file_id=f"URL{self._file_counter:04d}{secrets.token_hex(12)}",
                file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}",
                file_name=name if kind != "photo" else None,
                url=text,
                width=1 if kind == "photo" else 0,
                height=1 if kind == "photo" else 0,
            )
            self._files[sent_file.file_id] = sent_file
            return sent_file
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _send_file(self, params: JSON, method: str, kind: str) -> JSON:
        chat = self._writable_chat(params)
        reply_to = self._reply_target(chat, params)
        caption = params.get("caption")
        parsed = (
            self._parsed(caption, params.get("parse_mode"), params.get("caption_entities"))
            if caption is not None
            else None
        )
        sent_file = self._file(params[kind], kind)
        self._check_flood(chat)
        sent = self._new_sent(chat, method, params, reply_to)
        if kind == "photo":
            sent.photo = sent_file
        else:
            sent.document = sent_file
        if parsed is not None:
            sent.caption = caption
            sent.parse_mode = params.get("parse_mode")
            sent.visible_caption = parsed.text
            sent.caption_entities = params.get("caption_entities") or [
                e.to_dict() for e in parsed.entities
            ]
        return self._deliver(sent, reply_to)

    async def _send_document(self, params: JSON) -> JSON:
        return await self._send_file(params, "sendDocument", "document")

    async def _send_photo(self, params: JSON) -> JSON:
        return await self._send_file(params, "sendPhoto", "photo")

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params)
        return True

    def _editable(self, params: JSON) -> tuple[SimChat, SentMessage]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._writable_chat(params)
        if "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        sent = self._sent_index.get((chat.id, params["message_id"]))
        if sent is None or sent.deleted:
            if (chat.id, params["message_id"]) in self._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, sent

    def _apply_edit(self, sent: SentMessage, params: JSON) -> JSON:
        sent.reply_markup = params.get("reply_markup")
        sent.edits.append(dict(params))
        sent.edit_date = int(self.wall_clock())
        self._event("edited", sent.chat_id, sent.message_id, sent.as_message())
        return sent.as_message()

    async def _edit_message_text(self, params: JSON) -> JSON:
        if "rich_message" in params:
            self.unimplemented.append("editMessageText(rich_message)")
            raise ApiError(501, "Not Implemented: rich messages are not simulated")
        chat, sent = self._editable(params)
        if "text" not in params:
            raise ApiError(400, "Bad Request: message text is empty")
        if sent.visible_text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = self._parsed(params["text"], params.get("parse_mode"), params.get("entities"))
        entities = params.get("entities") or [e.to_dict() for e in parsed.entities]
        if (
            parsed.text == sent.visible_text
            and entities == sent.entities
            and _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        sent.text = params["text"]
        sent.parse_mode = params.get("parse_mode")
        sent.visible_text = parsed.text
        sent.entities = entities
        return self._apply_edit(sent, params)

    async def _edit_message_caption(self, params: JSON) -> JSON:
        chat, sent = self._editable(params)
        if sent.document is None and sent.photo is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = params.get("caption", "")
        parsed = self._parsed(caption, params.get("parse_mode"), params.get("caption_entities"))
        entities = params.get("caption_entities") or [e.to_dict() for e in parsed.entities]
        if (
            parsed.text == (sent.visible_caption or "")
            and entities == sent.caption_entities
            and _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        sent.caption = caption
        sent.parse_mode = params.get("parse_mode")
        sent.visible_caption = parsed.text
        sent.caption_entities = entities
        return self._apply_edit(sent, params)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, sent = self._editable(params)
        if _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        return self._apply_edit(sent, params)

    def _delete_one(self, chat: SimChat, message_id: int) -> bool:
        sent = self._sent_index.get((chat.id, message_id))
        if sent is not None and not sent.deleted:
            sent.deleted = True
            self._event("deleted", chat.id, message_id, {})
            return True
        if self._user_messages.pop((chat.id, message_id), None) is not None:
            self._event("deleted", chat.id, message_id, {})
            return True
        return False

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        if not self._delete_one(chat, params["message_id"]):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _delete_messages(self, params: JSON) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        for message_id in params["message_ids"]:
            self._delete_one(chat, message_id)
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params["callback_query_id"]
        press = self._callbacks.get(query_id)
        if press is None or query_id in self._answered:
            raise ApiError(400, QUERY_INVALID_DESCRIPTION)
        self._answered.add(query_id)
        answer = CallbackAnswer(
            query_id,
            press.user_id,
            press.chat_id,
            press.message_id,
            press.data,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self.callback_answers.append(answer)
        self._event("callback_answer", press.chat_id, press.message_id, answer.to_json())
        return True

    @staticmethod
    def _commands_key(scope: Mapping[str, Any] | None, language_code: str | None) -> str:
        scope_json = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return f"{scope_json}|{language_code or ''}"

    async def _set_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = list(params["commands"])
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        self._menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        default = self._menu_buttons.get(None, {"type": "commands"})
        return self._menu_buttons.get(chat_id, default)

    def _set_bot_text(self, key: str) -> Callable[[JSON], Awaitable[Any]]:
        async def setter(params: JSON) -> bool:
            self._bot_texts[f"{key}|{params.get('language_code', '')}"] = params.get(key, "")
            return True

        return setter

    def _get_bot_text(self, key: str) -> Callable[[JSON], Awaitable[Any]]:
        async def getter(params: JSON) -> JSON:
            value = self._bot_texts.get(f"{key}|{params.get('language_code', '')}", "")
            if key == "name" and not value:
                value = self.bot_first_name
            return {key: value}

        return getter

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params["chat_id"])
        return chat.to_dict() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_file(self, params: JSON) -> JSON:
        sent_file = self._files.get(params["file_id"])
        if sent_file is None or sent_file.data is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": sent_file.file_id,
            "file_unique_id": sent_file.file_unique_id,
            "file_size": sent_file.size,
            "file_path": _file_path(sent_file),
        }

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


def _file_path(sent_file: SentFile) -> str:
    folder = "photos" if sent_file.file_id.startswith("PH") else "documents"
    return f"{folder}/{sent_file.file_unique_id}"


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8081,
    flood_limits: bool = True,
    *,
    token: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a :class:`LocalBotApi` until cancelled, printing the base URL the bot should use."""
    api = LocalBotApi(token=token, flood_limits=flood_limits)
    await api.start(host=host, port=port)
    stream = out if out is not None else sys.stdout
    print(f"TELEGRAM_BASE_URL={api.base_url}", file=stream)
    print(f"control interface: {api.url}/control/", file=stream, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()
