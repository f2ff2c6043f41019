"""Delivering to a Telegram chat, and what Telegram's errors mean for the scheduler.

:class:`TelegramTransport` is the Telegram channel's
:class:`~bot.routing.Transport`: a reply becomes ``sendMessage`` (options as
an inline keyboard), ``sendPhoto`` or ``sendDocument`` (a file a person sent
earlier by its ``file_id``). :data:`TELEGRAM_LIMITS` are what one message may hold. Every text is plain
text escaped for the HTML parse mode, so a patient's own words reach staff
exactly as typed. :func:`classify` turns python-telegram-bot's errors into
what the scheduler must know:

==============================================  =================================
Telegram / the network                          outcome
==============================================  =================================
``RetryAfter`` (429)                            ``NotDelivered(retry_after)``
``TimedOut`` while connecting or waiting for a  ``NotDelivered`` (the request
pooled connection                               never left)
``NetworkError`` from a refused connection      ``NotDelivered`` (the request
(``httpx.ConnectError``)                        never left)
``Forbidden`` (403: blocked, account deleted)   ``Blocked``
``BadRequest`` (400), ``ChatMigrated``          ``Rejected``
``TimedOut`` otherwise (read or write timeout)  ``MaybeDelivered``
any other ``NetworkError``: a 5xx (Telegram's   ``MaybeDelivered``
or a proxy's), a connection dropped or reset
after the request left
any other ``TelegramError`` (e.g. an            ``MaybeDelivered``
unreadable 200 answer)
==============================================  =================================

Only what certainly delivered nothing is ``NotDelivered`` (sent again as
new). A 500 or 502 is not such a failure: Telegram (or a proxy in front of
it) may answer one after the message went out, and a connection cut after
the request left may have cut only the answer; resending those unmarked
once gave a patient the same medication reminder three times. So they are
``MaybeDelivered``: the scheduler's uncertain policy sends one repeat that
says it is one, never more.

PTB raises ``TimedOut`` for connect, pool, read and write timeouts alike,
and ``NetworkError`` for a refused connection and a dropped one alike; the
httpx exception it wraps (``__cause__``) tells them apart.
"""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.conversations.events import Attachment, Limits, MessageRef, Options, Reply, StoredFile
from core.store.models import AttachmentKind
from scheduler.pacing import PaceLimits
from scheduler.ports import Blocked, MaybeDelivered, NotDelivered, Rejected, SendOutcome

# httpx errors raised before a byte of the request left: nothing can have been delivered.
_NEVER_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError)

# What the reminder engine keeps to on Telegram (scheduler.pacing): one message a second to
# a chat and 28 a second in all, under the Bots FAQ's 30; the bot's replies use the rest.
TELEGRAM_PACE = PaceLimits()

# The Bot API's limits: a message's text 1-4096 characters and a caption 0-1024
# (after entity parsing, counted in UTF-16), callback_data 1-64 bytes, a callback
# query's answer 0-200 characters.
TELEGRAM_LIMITS = Limits(text=4096, caption=1024, token_bytes=64, notice=200)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> SendOutcome:
    """The scheduler outcome for a Telegram error (see the module's table)."""
    reason = f"{type(error).__name__}: {error.message}"
    if isinstance(error, RetryAfter):
        return NotDelivered(reason, retry_after=_seconds(error._retry_after))
    if isinstance(error, Forbidden):
        return Blocked(reason)
    if isinstance(error, BadRequest | ChatMigrated):
        return Rejected(error.message)
    if isinstance(error, NetworkError) and isinstance(error.__cause__, _NEVER_SENT):
        return NotDelivered(reason)
    return MaybeDelivered(reason)


def keyboard(options: Options | None) -> InlineKeyboardMarkup | None:
    """Options as an inline keyboard; a token is the button's ``callback_data``."""
    if not options:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=token) for label, token in row]
            for row in options
        ]
    )


def escaped(text: str) -> str:
    """Plain text for the HTML parse mode every message is sent in."""
    return html.escape(text, quote=False)


def ref_of(message: Message) -> MessageRef:
    return MessageRef(str(message.chat_id), str(message.message_id))


class TelegramTransport:
    """Sends to Telegram chats with one ``Bot``, errors classified for the scheduler."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        try:
            return ref_of(await self._send(int(chat), reply))
        except TelegramError as error:
            raise classify(error) from error

    async def _send(self, chat: int, reply: Reply) -> Message:
        if isinstance(reply, StoredFile):
            caption = escaped(reply.caption) or None
            if reply.file.kind == AttachmentKind.IMAGE:
                return await self.bot.send_photo(
                    chat, photo=reply.file.id, caption=caption, parse_mode=ParseMode.HTML
                )
            return await self.bot.send_document(
                chat, document=reply.file.id, caption=caption, parse_mode=ParseMode.HTML
            )
        if isinstance(reply, Attachment):
            file = InputFile(reply.data, filename=reply.filename)
            caption = escaped(reply.caption) or None  # no caption rather than an empty one
            if reply.image:
                return await self.bot.send_photo(
                    chat, photo=file, caption=caption, parse_mode=ParseMode.HTML
                )
            return await self.bot.send_document(
                chat, document=file, caption=caption, parse_mode=ParseMode.HTML
            )
        return await self.bot.send_message(
            chat,
            escaped(reply.text),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply.options),
        )
