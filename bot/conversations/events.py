"""What a channel hands the conversation layer, and what the layer asks it to show.

A channel adapter (Telegram, WeChat, WeCom, the in-memory one of tests)
turns what a person did into an :class:`Inbound` and shows each reply the
layer emits through its :class:`Replies` port. Nothing here knows a
channel's types: a button is a label and an opaque token, a message already
shown is a :class:`MessageRef`, a file is bytes and a name, and a file a
person sent is a :class:`FileRef` (the channel's id of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.schedule import Slot
from core.store.models import AttachmentKind, Channel, Language, person_key

# Rows of options under a message: (label, token). The token is opaque to the
# channel and comes back unchanged in the Inbound of the person's choice.
Options = Sequence[Sequence[tuple[str, str]]]


class InboundKind(StrEnum):
    COMMAND = "command"  # "/name args" (or a channel's equivalent)
    TEXT = "text"  # free text
    OPTION = "option"  # a button (an option) chosen under an earlier message
    OTHER = "other"  # anything the bot cannot read: a sticker, a voice message, ...


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the bot showed earlier, as its channel names it."""

    chat: str
    message: str

    @property
    def key(self) -> str:
        """The message as one string (``chat:message``), as a preview records its source."""
        return f"{self.chat}:{self.message}"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a person sent (a photo), as their channel names it: shown again by that id."""

    kind: AttachmentKind
    id: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: who, on which channel, and what.

    ``account`` is the channel's id of the person, ``chat`` where replies go;
    ``language`` is the channel's hint of the person's language (``en``,
    ``zh-hans``...), used until they choose one. A command has ``command``
    (lower case, without the slash) and ``args``; an option has ``token`` and
    ``message``, the message it was under. ``private`` is False in a group.
    ``sent`` is the person's own message this came in (commands and text),
    ``edited`` True when they edited that message (a channel that cannot
    edit never sets it); ``file`` is a file they sent with it, the text then
    being its caption. ``via_page`` marks an event from the bot's own web
    page (a link the person was sent), not from the channel's chat: it acts
    for the same account but says nothing about the channel itself.
    """

    channel: Channel
    account: str
    chat: str
    kind: InboundKind
    text: str = ""
    command: str | None = None
    args: tuple[str, ...] = field(default=())
    token: str | None = None
    message: MessageRef | None = None
    language: str | None = None
    private: bool = True
    sent: MessageRef | None = None
    edited: bool = False
    file: FileRef | None = None
    via_page: bool = False

    @property
    def person(self) -> str:
        """The account as one string (owner of flows and drafts)."""
        return person_key(self.channel, self.account)


@dataclass(frozen=True, slots=True)
class Text:
    """A message: plain text (the channel escapes it), with options under it."""

    text: str
    options: Options | None = None


@dataclass(frozen=True, slots=True)
class ReminderFacts:
    """What a reminder is about, for a channel that shows it as short fields, not as text.

    WeChat sends a reminder as a template message (study ID, event, time and
    a note) linking to the patient's page for the reminder; the labels are in
    the patient's ``language`` already. ``at`` is the instant the reminder is
    about (the infusion, the collection's start or end, the visit, the dose).
    """

    reminder_id: int
    patient_id: int
    study_id: str
    slot: Slot
    language: Language
    event: str
    note: str
    at: datetime
    repeat: bool


@dataclass(frozen=True, slots=True)
class ReminderText(Text):
    """A reminder: its whole text and options, and its :class:`ReminderFacts`.

    A channel that shows text (Telegram, the in-memory one) takes it as any
    :class:`Text`; one that shows reminders as fields reads ``facts``.
    """

    facts: ReminderFacts = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to show: an image (``image``), a calendar or any document."""

    data: bytes
    filename: str
    caption: str
    image: bool = False


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file a person sent earlier, shown again by its channel's id, with a caption."""

    file: FileRef
    caption: str


Reply = Text | Attachment | StoredFile


@dataclass(frozen=True, slots=True)
class Limits:
    """What one message on a channel may hold, counted as the channel counts.

    Lengths are in UTF-16 code units (how Telegram counts characters); an
    option's token in UTF-8 bytes. The layer keeps every reply within them
    (:mod:`bot.conversations.guard`).
    """

    text: int
    caption: int
    token_bytes: int
    notice: int


class Replies(Protocol):
    """How the layer answers the person who wrote; a channel adapter implements it.

    Every method delivers at once and raises a :mod:`scheduler.ports`
    outcome (``NotDelivered``, ``Blocked``...) when the channel refused.
    ``limits`` says what one of the channel's messages may hold.
    """

    @property
    def limits(self) -> Limits:
        """The channel's limits on one message."""
        ...

    async def send(self, reply: Reply) -> MessageRef:
        """Show a new message (text with options, or a file) in the person's chat."""
        ...

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        """Replace an earlier message's text and options (an unchanged one is no error)."""
        ...

    async def remove_options(self, ref: MessageRef) -> None:
        """Take the options off an earlier message whose question has been answered."""
        ...

    async def toast(self, text: str | None = None) -> None:
        """Acknowledge the option just chosen, with a short notice if ``text``."""
        ...
