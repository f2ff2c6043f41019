"""WeCom pushes in, application messages out: the translation, and nothing else.

=========================================  ================================================
push (docs/wecom/callbacks.md §7)          what the conversation layer gets
=========================================  ================================================
text ``/name words`` or ``name words``     the command ``name`` (the slash is optional on
(a known command's name first)             WeCom, which gives it no meaning)
text that is a join code, from a member    ``/start <code>``: joining as staff
the bot does not know yet
other text                                 free text
a card's button click                      that option, on the card's message
an image                                   something the bot cannot read
menu ``click`` whose key is a command      that command
the member opening the app, added to or    nothing
removed from its visible range, others
=========================================  ================================================

Replies are application messages (``message/send``). A text is a text
message; a text with options a button-interaction template card
(api.json ``template_card.button_interaction``): its title is the text's
first line and its body the rest when they fit a card, otherwise the text
goes first as a text message and the card follows; more than six options
take more than one card. Each button's key is the option's token, so a
click comes back as the option itself. A card cannot be edited as a
message; once clicked, the click's single-use code greys its buttons out
with the outcome: a short notice when the handler gives one ("Already
stored as AE12"), else the first sentence of the handler's next reply
("Stored as AE12."), else a tick. A file is uploaded (``media/upload``) and
sent as an image or a file after its caption.

Every message to a member waits for WeCom's per-member limits
(:mod:`bot.channels.wecom.pacing`): queued, never dropped.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence

from bot.channels.wechat.adapter import send_outcome
from bot.channels.wechat.outcomes import WechatApiError
from bot.channels.wecom import xml as wc
from bot.channels.wecom.api import (
    CARD_BODY_MAX,
    CARD_BUTTONS_MAX,
    CARD_TITLE_MAX,
    Card,
    WecomApi,
)
from bot.channels.wecom.pacing import MemberPacer
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
from core.store.identities import identity
from core.store.models import Channel

log = logging.getLogger(__name__)

# A text message holds 2,048 bytes (api.json): 600 characters stay under it in Chinese.
# Card keys hold 1,024 bytes; tokens are held to Telegram's 64 so the handlers fit all.
WECOM_LIMITS = Limits(text=600, caption=500, token_bytes=64, notice=200)
# What the greyed-out buttons of a clicked card say at most.
OUTCOME_MAX = 40
# A join code as /invite ... wecom gives it: one word of URL-safe base64.
_JOIN_CODE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SENTENCE = re.compile(r"^(.+?[.。!！])(\s|$)")
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _task_id() -> str:
    return "c" + secrets.token_hex(12)


def _title(line: str) -> str:
    """A card's title: the text's first line, cut to what a card shows in full."""
    return line if len(line) <= CARD_TITLE_MAX else line[: CARD_TITLE_MAX - 1] + "…"


def _short(text: str) -> str:
    """The outcome a clicked card shows: the first sentence of ``text``, cut to fit."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    sentence = _SENTENCE.match(first)
    if sentence is not None:
        first = sentence.group(1)
    return first if len(first) <= OUTCOME_MAX else first[: OUTCOME_MAX - 1] + "…"


class WecomOut:
    """Messages to members: paced, then sent through the API; a failure as the layer's outcome."""

    def __init__(self, api: WecomApi, pacer: MemberPacer) -> None:
        self.api = api
        self.pacer = pacer

    async def text(self, userid: str, text: str) -> MessageRef:
        await self.pacer.acquire(userid)
        try:
            sent = await self.api.send_text(userid, text)
        except WechatApiError as error:
            raise send_outcome(error) from error
        return MessageRef(userid, sent.msgid or _task_id())

    async def cards(self, userid: str, text: str, options: Options) -> MessageRef:
        """``text`` with its options as buttons; the message the options answer for."""
        buttons = [(token, label) for row in options for label, token in row]
        first, _, rest = text.strip().partition("\n")
        fits = len(first) <= CARD_TITLE_MAX and len(rest) <= CARD_BODY_MAX
        if not fits:
            await self.text(userid, text)
        task = _task_id()
        for start in range(0, len(buttons), CARD_BUTTONS_MAX):
            card = Card(
                task_id=task if start == 0 else _task_id(),
                title=_title(first) if start == 0 or fits else "…",
                body=rest.strip() if fits and start == 0 else "",
                buttons=buttons[start : start + CARD_BUTTONS_MAX],
            )
            await self.pacer.acquire(userid)
            try:
                await self.api.send_card(userid, card)
            except WechatApiError as error:
                raise send_outcome(error) from error
        return MessageRef(userid, task)

    async def file(self, userid: str, reply: Attachment) -> MessageRef:
        if reply.caption:
            await self.text(userid, reply.caption)
        suffix = "." + reply.filename.rsplit(".", 1)[-1].lower() if "." in reply.filename else ""
        image = reply.image and suffix in _IMAGE_TYPES
        kind = "image" if image else "file"
        content_type = _IMAGE_TYPES.get(suffix, "application/octet-stream")
        try:
            media_id = await self.api.upload(kind, reply.filename, reply.data, content_type)
            await self.pacer.acquire(userid)
            sent = await self.api.send_media(userid, kind, media_id)
        except WechatApiError as error:
            raise send_outcome(error) from error
        return MessageRef(userid, sent.msgid or _task_id())

    async def deliver(self, userid: str, reply: Reply) -> MessageRef:
        """Any reply to a member (the router's alerts and digests come this way too)."""
        if isinstance(reply, Text):
            if reply.options:
                return await self.cards(userid, reply.text, reply.options)
            return await self.text(userid, reply.text)
        if isinstance(reply, Attachment):
            return await self.file(userid, reply)
        # A file someone sent on another channel cannot be shown here: its caption only.
        return await self.text(userid, reply.caption) if reply.caption else MessageRef(userid, "")


class WecomTransport:
    """The router's way to members on WeCom (alerts, digests, the weekly summary)."""

    def __init__(self, out: WecomOut) -> None:
        self.out = out

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        return await self.out.deliver(chat, reply)


class WecomReplies:
    """The layer's replies to one push; a clicked card's code kept to grey it out once."""

    limits = WECOM_LIMITS

    def __init__(self, out: WecomOut, userid: str, click: wc.CardClick | None = None) -> None:
        self.out = out
        self.userid = userid
        self._click = click
        self._outcome_pending = False

    async def _close_card(self, text: str) -> None:
        click, self._click = self._click, None
        self._outcome_pending = False
        if click is None or not click.response_code:
            return
        try:
            await self.out.api.update_card_button(self.userid, click.response_code, text or "✓")
        except WechatApiError as error:
            # The decision is stored; only the card's look is stale (a used or old code).
            log.info("a WeCom card was not updated: %s", error.outcome.value)

    async def send(self, reply: Reply) -> MessageRef:
        if self._outcome_pending and isinstance(reply, Text):
            await self._close_card(_short(reply.text))
        return await self.out.deliver(self.userid, reply)

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        if self._click is not None and ref.message == self._click.task_id:
            await self._close_card(_short(text))
        if options:
            await self.out.cards(self.userid, text, options)
        else:
            await self.out.text(self.userid, text)

    async def remove_options(self, ref: MessageRef) -> None:
        """The card's buttons go grey with what the handler says next (see the module)."""
        if self._click is not None and ref.message == self._click.task_id:
            self._outcome_pending = True

    async def toast(self, text: str | None = None) -> None:
        if self._click is not None and text:
            await self._close_card(_short(text))
        elif text:
            await self.out.text(self.userid, text)

    async def finish(self) -> None:
        """After the handler: a clicked card not greyed out yet gets a tick."""
        if self._click is not None:
            await self._close_card("✓")


class WecomAdapter:
    """Hands each push to the conversation layer."""

    def __init__(self, conversations: Conversations, out: WecomOut) -> None:
        self.conversations = conversations
        self.out = out

    async def handle(self, push: wc.Push) -> None:
        inbound = self._inbound(push)
        if inbound is None:
            return
        click = push if isinstance(push, wc.CardClick) else None
        replies = WecomReplies(self.out, push.userid, click)
        try:
            await self.conversations.handle(inbound, replies)
        finally:
            await replies.finish()

    def _inbound(self, push: wc.Push) -> Inbound | None:
        userid = push.userid
        match push:
            case wc.Text(content=content, msg_id=msg_id):
                return self._text(userid, content, MessageRef(userid, msg_id))
            case wc.CardClick(key=key, task_id=task_id):
                return Inbound(
                    channel=Channel.WECOM,
                    account=userid,
                    chat=userid,
                    kind=InboundKind.OPTION,
                    token=key,
                    message=MessageRef(userid, task_id),
                )
            case wc.MenuClick(key=key) if key in self.conversations.tables.commands:
                return self._command(userid, key, (), f"/{key}", None)
            case wc.Image():
                return Inbound(
                    channel=Channel.WECOM, account=userid, chat=userid, kind=InboundKind.OTHER
                )
        return None

    def _known(self, userid: str) -> bool:
        with read_session(self.conversations.services.engine) as session:
            return identity(session, Channel.WECOM, userid) is not None

    def _text(self, userid: str, content: str, sent: MessageRef) -> Inbound:
        words = content.split()
        name = words[0].removeprefix("/").casefold() if words else ""
        if words and name in self.conversations.tables.commands:
            text = content if content.startswith("/") else "/" + content
            return self._command(userid, name, tuple(words[1:]), text, sent)
        if len(words) == 1 and _JOIN_CODE.fullmatch(words[0]) and not self._known(userid):
            return self._command(userid, "start", (words[0],), content, sent)
        if words and words[0].startswith("/"):
            # An unknown command: the layer says which exist.
            return self._command(userid, "", tuple(words[1:]), content, sent)
        return Inbound(
            channel=Channel.WECOM,
            account=userid,
            chat=userid,
            kind=InboundKind.TEXT,
            text=content,
            sent=sent,
        )

    def _command(
        self,
        userid: str,
        name: str,
        args: Sequence[str],
        text: str,
        sent: MessageRef | None,
    ) -> Inbound:
        return Inbound(
            channel=Channel.WECOM,
            account=userid,
            chat=userid,
            kind=InboundKind.COMMAND,
            text=text,
            command=name,
            args=tuple(args),
            sent=sent,
        )
