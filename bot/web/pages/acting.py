"""What a patient does on a page, done through the conversation layer as in the chat.

A page never records anything itself. A choice under a reminder becomes the
:class:`~bot.conversations.events.Inbound` its chat button would have made
(the same option token, ``rem:<reminder>:<choice>``), the schedule and the
calendar are the ``/schedule`` and ``/calendar`` commands, and the symptom
form is the ``/report`` flow answered step by step. Each goes to
:meth:`Conversations.handle` with :class:`PageReplies`, a Replies port that
keeps the answers so the page can show them: the same records, alerts and
sentences as the chat, once.

Whose account acts: the patient's WeChat account when they have one (the
channel the pages were made for), else the account on their preferred
channel, else any account they have. A patient with no account has not
joined: no reminder has reached them and there is nothing a page could act
for, so :func:`visitor` finds no one. The event is marked ``via_page``, so it
never counts as a sign that the channel reaches the patient again.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.context import Person, Services, identify
from bot.conversations.dispatch import Conversations
from bot.conversations.events import (
    Attachment,
    Inbound,
    InboundKind,
    Limits,
    MessageRef,
    Options,
    Reply,
    Text,
)
from core.store.db import read_session
from core.store.identities import accounts_of
from core.store.models import Channel, ChannelIdentity, Patient

# Names of the messages a page "shows", unique in the process so that a flow's question
# asked on one request is never mistaken for another's.
_MESSAGE_IDS = itertools.count(1)

# A page shows what the chat would: the same limits, so the same sentences fit.
PAGE_LIMITS = Limits(text=4096, caption=1024, token_bytes=64, notice=200)


@dataclass(slots=True)
class PageReplies:
    """The Replies port of one page request: keeps every reply and notice in order.

    Editing or taking options off an earlier message has nothing to act on:
    a page shows only the answer to this request.
    """

    chat: str
    limits: Limits = PAGE_LIMITS
    shown: list[tuple[MessageRef, Reply]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    async def send(self, reply: Reply) -> MessageRef:
        ref = MessageRef(self.chat, f"page-{next(_MESSAGE_IDS)}")
        self.shown.append((ref, reply))
        return ref

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        return None

    async def remove_options(self, ref: MessageRef) -> None:
        return None

    async def toast(self, text: str | None = None) -> None:
        if text:
            self.notices.append(text)

    def texts(self) -> list[str]:
        """The text messages shown, in order."""
        return [reply.text for _, reply in self.shown if isinstance(reply, Text)]

    def attachments(self) -> list[Attachment]:
        return [reply for _, reply in self.shown if isinstance(reply, Attachment)]

    def last_question(self) -> MessageRef | None:
        """The last message shown with options under it (a flow's question)."""
        for ref, reply in reversed(self.shown):
            if isinstance(reply, Text) and reply.options:
                return ref
        return None


@dataclass(frozen=True, slots=True)
class Visitor:
    """The patient a page acts for: their account and who the bot takes them for."""

    patient_id: int
    account: ChannelIdentity
    person: Person

    @property
    def active(self) -> bool:
        """Still in the study: the bot acts for them (a withdrawn patient has no role)."""
        return self.person.role is not None and self.person.patient is not None


def page_account(accounts: Sequence[ChannelIdentity], preferred: Channel | None) -> ChannelIdentity:
    """The account a page acts through: WeChat's, else the preferred channel's, else the
    oldest (``accounts`` are oldest first and not empty)."""
    for wanted in (Channel.WECHAT, preferred):
        for account in accounts:
            if account.channel == wanted:
                return account
    return accounts[0]


def _inbound(
    account: ChannelIdentity,
    kind: InboundKind,
    *,
    text: str = "",
    command: str | None = None,
    token: str | None = None,
    message: MessageRef | None = None,
) -> Inbound:
    return Inbound(
        channel=account.channel,
        account=account.account,
        chat=account.chat,
        kind=kind,
        text=text,
        command=command,
        token=token,
        message=message,
        via_page=True,
    )


def visitor(services: Services, patient_id: int) -> Visitor | None:
    """Who a page for ``patient_id`` acts as, or None when the patient has no account."""
    with read_session(services.engine) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            return None
        accounts = accounts_of(session, patient)
        if not accounts:
            return None
        account = page_account(accounts, patient.preferred_channel)
    person = identify(services, _inbound(account, InboundKind.OTHER))
    return Visitor(patient_id, account, person)


class PageActions:
    """Each thing a page can do, as the conversation layer's events for the visitor."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def _handle(self, who: Visitor, out: PageReplies, inbound: Inbound) -> PageReplies:
        await self.conversations.handle(inbound, out)
        return out

    async def command(self, who: Visitor, name: str) -> PageReplies:
        """``/name`` as if typed in the chat."""
        inbound = _inbound(who.account, InboundKind.COMMAND, text=f"/{name}", command=name)
        return await self._handle(who, PageReplies(who.account.chat), inbound)

    async def choose(
        self, who: Visitor, token: str, message: MessageRef | None = None
    ) -> PageReplies:
        """The option ``token`` chosen (under ``message``, a flow's question)."""
        inbound = _inbound(who.account, InboundKind.OPTION, token=token, message=message)
        return await self._handle(who, PageReplies(who.account.chat), inbound)

    async def write(self, who: Visitor, text: str) -> PageReplies:
        """Free text, as if typed in the chat (the answer to a flow's text step)."""
        inbound = _inbound(who.account, InboundKind.TEXT, text=text)
        return await self._handle(who, PageReplies(who.account.chat), inbound)

    async def flow(
        self, who: Visitor, command: str, tokens: Sequence[str], text: str | None = None
    ) -> PageReplies:
        """A guided flow answered in one go: ``/command``, then each option token under
        the question before it, then ``text`` for a final text step.

        Returns the replies to the last step: what the chat shows at the end. If a step
        asks no further question (the flow ended early, or the layer refused the
        option), that step's replies are returned and nothing more is sent.
        """
        out = await self.command(who, command)
        for token in tokens:
            question = out.last_question()
            if question is None:
                return out
            out = await self.choose(who, token, question)
        if text is not None and out.last_question() is not None:
            out = await self.write(who, text)
        return out
