"""An in-process channel: people are ids, the chat is a list of messages.

It is the second adapter of the conversation layer, and it needs nothing
from the layer that Telegram does not: it builds an
:class:`~bot.conversations.events.Inbound` for what a person typed or
chose, and keeps what the layer replied. Tests run the same flows through
it and through Telegram with the same assertions; it reaches no one
outside the process.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.conversations.dispatch import Conversations
from bot.conversations.events import (
    Attachment,
    FileRef,
    Inbound,
    InboundKind,
    Limits,
    MessageRef,
    Options,
    Reply,
    StoredFile,
    Text,
)
from core.store.models import Channel

# What one message holds here: Telegram's limits, so the same conversation shows
# the same messages on both channels.
MEMORY_LIMITS = Limits(text=4096, caption=1024, token_bytes=64, notice=200)


@dataclass(slots=True)
class Shown:
    """A message as the person sees it now (an edit changes it in place)."""

    id: int
    chat: str
    text: str
    options: list[list[tuple[str, str]]] = field(default_factory=list)
    attachment: Attachment | None = None
    file: FileRef | None = None

    def token_for(self, label: str) -> str:
        """The token of the option labelled ``label`` (KeyError if there is none)."""
        for row in self.options:
            for shown_label, token in row:
                if shown_label == label:
                    return token
        raise KeyError(label)

    def labels(self) -> list[str]:
        return [label for row in self.options for label, _ in row]


def _rows(options: Options | None) -> list[list[tuple[str, str]]]:
    return [list(row) for row in options or ()]


class MemoryTransport:
    """Delivers into the in-memory chats (the router's transport for this channel)."""

    def __init__(self) -> None:
        self.chats: dict[str, list[Shown]] = {}
        self._ids = itertools.count(1)

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        if isinstance(reply, Text):
            shown = Shown(next(self._ids), chat, reply.text, _rows(reply.options))
        elif isinstance(reply, StoredFile):
            shown = Shown(next(self._ids), chat, reply.caption, file=reply.file)
        else:
            shown = Shown(next(self._ids), chat, reply.caption, attachment=reply)
        self.chats.setdefault(chat, []).append(shown)
        return MessageRef(chat, str(shown.id))

    def find(self, ref: MessageRef) -> Shown | None:
        for shown in self.chats.get(ref.chat, []):
            if str(shown.id) == ref.message:
                return shown
        return None


class MemoryReplies:
    """The layer's replies to one event, kept in the chat; toasts kept apart."""

    def __init__(
        self,
        transport: MemoryTransport,
        chat: str,
        toasts: list[str | None],
        limits: Limits = MEMORY_LIMITS,
    ) -> None:
        self.transport = transport
        self.chat = chat
        self.toasts = toasts
        self.limits = limits

    async def send(self, reply: Reply) -> MessageRef:
        return await self.transport.deliver(self.chat, reply)

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        shown = self.transport.find(ref)
        if shown is not None:
            shown.text, shown.options = text, _rows(options)

    async def remove_options(self, ref: MessageRef) -> None:
        shown = self.transport.find(ref)
        if shown is not None:
            shown.options = []

    async def toast(self, text: str | None = None) -> None:
        self.toasts.append(text)


class MemoryChannel:
    """People talking to the conversation layer in process, on one channel."""

    def __init__(
        self,
        conversations: Conversations,
        channel: Channel = Channel.MEMORY,
        limits: Limits = MEMORY_LIMITS,
    ) -> None:
        self.conversations = conversations
        self.channel = channel
        self.limits = limits
        self.transport = MemoryTransport()
        self.toasts: list[str | None] = []
        self._sent = itertools.count(1)

    def messages(self, person: str) -> list[Shown]:
        """Everything the bot showed ``person`` (their chat is their account)."""
        return self.transport.chats.get(person, [])

    async def say(
        self, person: str, text: str, language: str | None = "en", *, file: FileRef | None = None
    ) -> list[Shown]:
        """``person`` writes ``text`` (with ``file``, its caption); the messages the bot
        showed them in answer."""
        before = len(self.messages(person))
        inbound = self._inbound(person, text, language, file)
        await self.conversations.handle(inbound, self._out(person))
        return self.messages(person)[before:]

    async def choose(
        self, person: str, message: Shown, label: str, language: str | None = "en"
    ) -> list[Shown]:
        """``person`` chooses the option ``label`` under ``message``; the new messages."""
        before = len(self.messages(person))
        inbound = Inbound(
            channel=self.channel,
            account=person,
            chat=person,
            kind=InboundKind.OPTION,
            token=message.token_for(label),
            message=MessageRef(message.chat, str(message.id)),
            language=language,
        )
        await self.conversations.handle(inbound, self._out(person))
        return self.messages(person)[before:]

    def _out(self, person: str) -> MemoryReplies:
        return MemoryReplies(self.transport, person, self.toasts, self.limits)

    def _inbound(
        self, person: str, text: str, language: str | None, file: FileRef | None
    ) -> Inbound:
        words = text.split()
        sent = MessageRef(person, f"in{next(self._sent)}")
        if words and words[0].startswith("/") and file is None:
            command = words[0].removeprefix("/").lower()
            known = command in self.conversations.tables.commands
            return Inbound(
                channel=self.channel,
                account=person,
                chat=person,
                kind=InboundKind.COMMAND,
                text=text,
                command=command if known else "",
                args=tuple(words[1:]),
                language=language,
                sent=sent,
            )
        return Inbound(
            channel=self.channel,
            account=person,
            chat=person,
            kind=InboundKind.TEXT,
            text=text,
            language=language,
            sent=sent,
            file=file,
        )
