"""WeChat pushes in, customer-service messages out: the translation, and nothing else.

Each push (already verified, decrypted and read by :mod:`bot.channels.wechat.callback`)
becomes an :class:`~bot.conversations.events.Inbound` for the conversation
layer, answered through :class:`WechatReplies`:

===========================================  ==============================================
push (docs/wechat-oa/callbacks.md §5)        what the layer gets
===========================================  ==============================================
text ``/name words``                         the command ``name``
text that taps an option of a menu message   that option (found by ``bizmsgmenuid``, else
(or types its label)                         by the label of the latest menu sent)
other text                                   free text (a patient's is offered as a report)
``subscribe`` / ``SCAN`` with a join scene   ``/start <token>``: joining
``subscribe`` without one                    ``/start``: a welcome, or how to join
menu ``CLICK`` (schedule, report, contacts)  ``/schedule``, ``/report``, ``/contacts``
a picture, voice, location...                something the bot cannot read
``unsubscribe``                              no answer (none can reach them): the patient
                                             is marked unreachable, coordinators told once
``TEMPLATESENDJOBFINISH``                    the injected ``on_receipt``
``VIEW``, other events                       nothing
===========================================  ==============================================

Replies are customer-service messages (``message/custom/send``), allowed
in the window a person's own action opens: a text is a text message; a
text with options a menu message (``msgmenu``, api.json
``sendCustomMessage``), its options kept by numeric id
(:mod:`core.store.wechat`); a file a link (:mod:`bot.channels.wechat.files`:
api.json has no media upload). A sent message cannot be edited or
withdrawn on WeChat: an edit is sent as a new message whose options answer
for the one it replaces, options are never taken off (a handler finds an
old tap stale, as it finds an old Telegram button), and a short notice
(Telegram's toast) is a text message.

A picture a patient sends is not read: api.json has no way to fetch it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from bot.channels.wechat import xml as wx
from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.files import FileLinks
from bot.channels.wechat.join_codes import join_token
from bot.channels.wechat.menu import MENU_COMMANDS
from bot.channels.wechat.outcomes import Outcome, WechatApiError
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
from core.store.audit import SYSTEM, patient_actor
from core.store.db import read_session
from core.store.identities import identity, patient_by_account
from core.store.models import Channel, PatientStatus
from core.store.uow import UnitOfWork
from core.store.wechat import MenuOption, latest_menu_option, menu_option, record_menu
from scheduler.outbox import mark_unreachable
from scheduler.ports import (
    Blocked,
    MaybeDelivered,
    NotDelivered,
    PatientUnreachable,
    Rejected,
    SendOutcome,
)

log = logging.getLogger(__name__)

# What one message holds on WeChat. The customer-service text limit is unverified
# (api.json ``text.content.max_length``); 600 characters stay under the 2,048 bytes
# reported for it even in Chinese (3 bytes a character). Tokens never leave the bot
# (a menu option goes out as a number), so they are held to Telegram's 64 bytes, and
# the same handlers fit both channels.
WECHAT_LIMITS = Limits(text=600, caption=500, token_bytes=64, notice=200)
UNFOLLOWED = "unfollowed the WeChat account"

OnReceipt = Callable[[wx.TemplateSendJobFinishEvent], Awaitable[None]]


async def ignore_receipt(event: wx.TemplateSendJobFinishEvent) -> None:
    """The receipt handler until one is given: the receipt is only logged."""
    log.debug("template message %d: %s", event.msg_id, event.status.value)


def send_outcome(error: WechatApiError) -> SendOutcome:
    """The conversation layer's outcome of a failed customer-service message."""
    reason = str(error)
    match error.outcome:
        case Outcome.RETRY_LATER | Outcome.OUTSIDE_WINDOW:
            return NotDelivered(reason)
        case Outcome.UNCERTAIN:
            return MaybeDelivered(reason)
        case Outcome.UNREACHABLE:
            return Blocked(reason)
    return Rejected(reason)


def _new_ref() -> str:
    """A name for a message the bot sent: WeChat gives a customer-service message none."""
    return secrets.token_hex(8)


class WechatReplies:
    """The conversation layer's replies to one push, as customer-service messages."""

    limits = WECHAT_LIMITS

    def __init__(self, adapter: WechatAdapter, openid: str) -> None:
        self.adapter = adapter
        self.openid = openid

    async def send(self, reply: Reply) -> MessageRef:
        if isinstance(reply, Text):
            if reply.options:
                return await self.adapter.send_menu(
                    self.openid, _new_ref(), reply.text, reply.options
                )
            return await self.adapter.send_text(self.openid, reply.text)
        if isinstance(reply, Attachment):
            link = self.adapter.files.publish(reply)
            text = f"{reply.caption}\n{link}" if reply.caption else link
            return await self.adapter.send_text(self.openid, text)
        # A file someone sent on another channel cannot be shown here: its caption only.
        log.info("a stored file was not shown on WeChat (%s)", reply.file.kind.value)
        if not reply.caption:
            return MessageRef(self.openid, _new_ref())
        return await self.adapter.send_text(self.openid, reply.caption)

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        if options:
            await self.adapter.send_menu(self.openid, ref.message, text, options)
        else:
            await self.adapter.send_text(self.openid, text)

    async def remove_options(self, ref: MessageRef) -> None:
        """A sent WeChat message cannot change; a later tap of its options is found stale."""

    async def toast(self, text: str | None = None) -> None:
        if text:
            await self.adapter.send_text(self.openid, text)


class WechatAdapter:
    """Hands each push to the conversation layer, or to what else answers it."""

    def __init__(
        self,
        conversations: Conversations,
        api: WechatApi,
        files: FileLinks,
        *,
        on_receipt: OnReceipt = ignore_receipt,
    ) -> None:
        self.conversations = conversations
        self.api = api
        self.files = files
        self.on_receipt = on_receipt

    async def handle(self, push: wx.Inbound) -> None:
        """Answer one push (see the module's table)."""
        if isinstance(push, wx.TemplateSendJobFinishEvent):
            await self.on_receipt(push)
            return
        if isinstance(push, wx.UnsubscribeEvent):
            await self._unfollowed(push.from_user)
            return
        inbound = await self._inbound(push)
        if inbound is not None:
            await self.conversations.handle(inbound, WechatReplies(self, push.from_user))

    # --- out ------------------------------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> MessageRef:
        try:
            await self.api.send_text(openid, text)
        except WechatApiError as error:
            raise send_outcome(error) from error
        return MessageRef(openid, _new_ref())

    async def send_menu(self, openid: str, message: str, text: str, options: Options) -> MessageRef:
        """A menu message whose options answer as options under ``message``."""
        choices = [(label, token) for row in options for label, token in row]
        services = self.conversations.services
        with UnitOfWork(services.engine, SYSTEM, services.clock.now(), "menu sent") as uow:
            ids = record_menu(uow, openid, message, choices)
        listed = [(number, label) for number, (label, _token) in zip(ids, choices, strict=True)]
        try:
            await self.api.send_menu(openid, text, listed, "")
        except WechatApiError as error:
            raise send_outcome(error) from error
        return MessageRef(openid, message)

    # --- in -------------------------------------------------------------------------------

    async def _inbound(self, push: wx.Inbound) -> Inbound | None:
        openid = push.from_user
        match push:
            case wx.TextMessage():
                return await self._text(push)
            case wx.SubscribeEvent(scene=scene):
                token = join_token(scene)
                return await self._command(openid, "start", () if token is None else (token,))
            case wx.ScanEvent(scene=scene):
                token = join_token(scene)
                return None if token is None else await self._command(openid, "start", (token,))
            case wx.ClickEvent(key=key):
                command = MENU_COMMANDS.get(key)
                if command is None:
                    log.info("menu key %r is not the bot's", key[:32])
                    return None
                return await self._command(openid, command, ())
            case wx.ImageMessage():
                return await self._other(openid)
            case wx.UnsupportedPush(msg_type=msg_type) if msg_type != "event":
                return await self._other(openid)
        return None  # VIEW and events the bot does not use

    async def _text(self, push: wx.TextMessage) -> Inbound:
        openid = push.from_user
        content = push.content
        option = self._option(openid, push)
        sent = MessageRef(openid, str(push.msg_id or push.create_time))
        if option is not None or push.menu_option_id is not None:
            # An option WeChat names but the bot does not know is stale: an empty token.
            return Inbound(
                channel=Channel.WECHAT,
                account=openid,
                chat=openid,
                kind=InboundKind.OPTION,
                token=option.token if option is not None else "",
                message=MessageRef(openid, option.message) if option is not None else None,
                language=await self._language(openid),
            )
        words = content.split()
        if words and words[0].startswith("/"):
            name = words[0].removeprefix("/").lower()
            known = name in self.conversations.tables.commands
            return Inbound(
                channel=Channel.WECHAT,
                account=openid,
                chat=openid,
                kind=InboundKind.COMMAND,
                text=content,
                command=name if known else "",
                args=tuple(words[1:]),
                language=await self._language(openid),
                sent=sent,
            )
        return Inbound(
            channel=Channel.WECHAT,
            account=openid,
            chat=openid,
            kind=InboundKind.TEXT,
            text=content,
            language=await self._language(openid),
            sent=sent,
        )

    def _option(self, openid: str, push: wx.TextMessage) -> MenuOption | None:
        """The option a text taps: by its id; without one, by the latest menu's label."""
        with read_session(self.conversations.services.engine) as session:
            if push.menu_option_id is not None:
                return menu_option(session, openid, push.menu_option_id)
            return latest_menu_option(session, openid, push.content)

    async def _command(self, openid: str, name: str, args: tuple[str, ...]) -> Inbound:
        return Inbound(
            channel=Channel.WECHAT,
            account=openid,
            chat=openid,
            kind=InboundKind.COMMAND,
            text=" ".join((f"/{name}", *args)),
            command=name,
            args=args,
            language=await self._language(openid),
        )

    async def _other(self, openid: str) -> Inbound:
        return Inbound(
            channel=Channel.WECHAT,
            account=openid,
            chat=openid,
            kind=InboundKind.OTHER,
            language=await self._language(openid),
        )

    async def _language(self, openid: str) -> str | None:
        """The language of someone the bot does not know yet, as their WeChat is set.

        A patient or member of staff has a stored language; a push carries
        none, so a stranger's is asked of ``user/info`` (api.json ``getUserInfo``).
        """
        with read_session(self.conversations.services.engine) as session:
            if identity(session, Channel.WECHAT, openid) is not None:
                return None
        try:
            info = await self.api.user_info(openid)
        except WechatApiError as error:
            log.info("language of a WeChat user not known: %s", error.outcome.value)
            return None
        return info.language

    async def _unfollowed(self, openid: str) -> None:
        """A patient reminded on WeChat unfollowed: unreachable, coordinators told once.

        As when Telegram answers 403 (:mod:`scheduler.sending`): only the
        change from reachable to unreachable alerts; following again makes
        them reachable (:meth:`Conversations.handle`).
        """
        services = self.conversations.services
        with read_session(services.engine) as session:
            patient = patient_by_account(session, Channel.WECHAT, openid)
        if (
            patient is None
            or patient.id is None
            or patient.status != PatientStatus.ACTIVE
            or patient.preferred_channel != Channel.WECHAT
        ):
            return
        actor = patient_actor(patient.study_id)
        with UnitOfWork(services.engine, actor, services.clock.now(), UNFOLLOWED) as uow:
            newly = mark_unreachable(uow, patient.id)
        if newly is None:
            return
        log.warning("patient %s unfollowed the WeChat account; reminders stop", patient.study_id)
        if services.router is not None:
            await services.router.alert(PatientUnreachable(patient.study_id))
