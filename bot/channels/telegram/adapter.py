"""Telegram updates in, Bot API calls out: the translation, and nothing else.

Each python-telegram-bot handler here turns an ``Update`` into an
:class:`~bot.conversations.events.Inbound` and hands it to the conversation
layer with a :class:`TelegramReplies` port for the answers: a text with
options is a message with an inline keyboard, an attachment a photo or a
document, an edit ``editMessageText``, a toast the callback query's answer.
A photo a person sends is text (its caption) with a file reference (the
largest size's ``file_id``); an edited command is the command again, flagged
as an edit of its message. Other edits change nothing.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram.transport import (
    TELEGRAM_LIMITS,
    TelegramTransport,
    classify,
    escaped,
    keyboard,
)
from bot.conversations.dispatch import Conversations
from bot.conversations.events import FileRef, Inbound, InboundKind, MessageRef, Options, Reply
from core.store.models import AttachmentKind, Channel

log = logging.getLogger(__name__)


class TelegramReplies:
    """The conversation layer's replies to one update, as Bot API calls."""

    limits = TELEGRAM_LIMITS

    def __init__(
        self, transport: TelegramTransport, chat: str, query: CallbackQuery | None
    ) -> None:
        self.transport = transport
        self.chat = chat
        self.query = query

    async def send(self, reply: Reply) -> MessageRef:
        return await self.transport.deliver(self.chat, reply)

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        try:
            await self.transport.bot.edit_message_text(
                escaped(text),
                chat_id=int(ref.chat),
                message_id=int(ref.message),
                reply_markup=keyboard(options),
            )
        except BadRequest as error:  # the text shown is already this one
            log.debug("message not edited: %s", error.message)
        except TelegramError as error:
            raise classify(error) from error

    async def remove_options(self, ref: MessageRef) -> None:
        """Take the buttons off a message whose question has been answered.

        Only if it still has buttons: Telegram refuses an edit that changes
        nothing. PTB fills the default parse_mode into every edit, and
        editMessageReplyMarkup has no such parameter; a None in api_kwargs
        drops it from the request.

        Taking the buttons off is cosmetic and comes after the answer was
        stored: if Telegram refuses the edit (not modified, the message is
        gone or can no longer be edited), the choice still succeeded, so the
        refusal is only logged. Raising would make the layer say "nothing was
        saved", which is false.
        """
        message = self.query.message if self.query is not None else None
        if not isinstance(message, Message) or ref != MessageRef(
            str(message.chat_id), str(message.message_id)
        ):
            return
        if message.reply_markup is None or not message.reply_markup.inline_keyboard:
            return
        try:
            await message.edit_reply_markup(reply_markup=None, api_kwargs={"parse_mode": None})
        except TelegramError as error:
            log.info("buttons not removed from message %s: %s", message.message_id, error.message)

    async def toast(self, text: str | None = None) -> None:
        if self.query is None:
            return
        try:
            await self.query.answer(text)
        except TelegramError as error:
            raise classify(error) from error


class TelegramAdapter:
    """The Application's handlers: every update becomes one inbound event."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def _handle(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, inbound: Inbound | None
    ) -> None:
        if inbound is None:
            return
        services = self.conversations.services
        if services.bot_username is None:
            # Join links name the bot; an initialised Application knows its name.
            services.bot_username = context.bot.username
        transport = TelegramTransport(context.bot)
        out = TelegramReplies(transport, inbound.chat, update.callback_query)
        await self.conversations.handle(inbound, out)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command of the authorization table (PTB has parsed it)."""
        message = update.effective_message
        text = (message.text or "") if message is not None else ""
        command = text.split()[0].removeprefix("/").partition("@")[0].lower() if text else ""
        await self._handle(
            update,
            context,
            _inbound(update, InboundKind.COMMAND, command=command, args=tuple(context.args or ())),
        )

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._handle(update, context, _inbound(update, InboundKind.COMMAND, command=""))

    async def on_option(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._handle(update, context, _inbound(update, InboundKind.OPTION))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._handle(update, context, _inbound(update, InboundKind.TEXT))

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo (with or without a caption): its caption as text, the photo as a file."""
        message = update.effective_message
        if message is None or not message.photo:
            return
        # Telegram sends every size it made; the last is the largest.
        file = FileRef(AttachmentKind.IMAGE, message.photo[-1].file_id)
        await self._handle(update, context, _inbound(update, InboundKind.TEXT, file=file))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: a command in a private chat is answered again as an edit
        of its message (its earlier preview replaced); any other edit changes nothing."""
        message = update.edited_message
        chat = update.effective_chat
        text = (message.text or "") if message is not None else ""
        if chat is None or chat.type != ChatType.PRIVATE or not text.startswith("/"):
            return
        words = text.split()
        name = words[0].removeprefix("/").partition("@")[0].lower()
        command = name if name in self.conversations.tables.commands else ""
        inbound = _inbound(
            update, InboundKind.COMMAND, command=command, args=tuple(words[1:]), edited=True
        )
        await self._handle(update, context, inbound)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._handle(update, context, _inbound(update, InboundKind.OTHER))


def _inbound(
    update: Update,
    kind: InboundKind,
    *,
    command: str | None = None,
    args: tuple[str, ...] = (),
    file: FileRef | None = None,
    edited: bool = False,
) -> Inbound | None:
    """What the person did, in the layer's terms (None for an update with no chat)."""
    user = update.effective_user
    chat = update.effective_chat
    if chat is None:
        return None
    private = chat.type == ChatType.PRIVATE
    if user is None and private:
        return None
    query = update.callback_query
    message = update.effective_message
    ref = None
    if query is not None and isinstance(query.message, Message):
        ref = MessageRef(str(query.message.chat_id), str(query.message.message_id))
    sent = None
    text = ""
    if message is not None and query is None:
        sent = MessageRef(str(message.chat_id), str(message.message_id))
        text = message.text or message.caption or ""
    return Inbound(
        channel=Channel.TELEGRAM,
        # A group message may come from no user (a channel post): it gets the group answer.
        account=str(user.id if user is not None else chat.id),
        chat=str(chat.id),
        kind=kind,
        text=text,
        command=command,
        args=args,
        token=query.data if query is not None else None,
        message=ref,
        language=user.language_code if user is not None else None,
        # Buttons are only ever sent in private chats; a press is answered as one.
        private=private or query is not None,
        sent=sent,
        edited=edited,
        file=file,
    )
