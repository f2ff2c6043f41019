"""``/wechat/callback``: WeChat's pushes checked, stored once, answered at once, handled after.

docs/wechat-oa/callbacks.md:

* ``GET`` is the console's server check (§3): a good ``signature`` with a
  timestamp within five minutes of now is answered with ``echostr``
  exactly;
* ``POST`` is a push in safe mode (§4.2): ``signature``, then
  ``msg_signature`` over the ``Encrypt`` text, the timestamp, then the AES
  decryption, which must name this account's AppID (§4.3). A push that
  fails any of these is refused with 403 and nothing is stored or done: a
  forged push, a recorded one replayed after five minutes, a plain-mode
  push (the project runs in safe mode only);
* a push that passed is stored under the key a retry repeats (``MsgId``, or
  sender, ``CreateTime`` and what the event is for an event; §4.5,
  :func:`push_key`) and answered ``success`` at
  once, well within WeChat's 5 seconds (§4.4); a repeat of a stored push is
  answered ``success`` and nothing else. The push is then handled in the
  background (:class:`~bot.channels.wechat.adapter.WechatAdapter`) by
  :class:`~bot.channels.push_queue.PushQueue`: one person's pushes in the
  order they came, and those left when the bot stopped at the next start.

Refusals are logged by the check that failed, never with the push's content.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable

from aiohttp import web

from bot.channels import wxcrypto
from bot.channels.push_queue import PushQueue, Settle, Settled
from bot.channels.wechat import xml as wx
from bot.channels.wechat.adapter import WechatAdapter
from bot.channels.wechat.receipts import SettleReceipt
from bot.settings import WeChatSettings
from core.store.models import Channel
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wechat/callback"
# An openid is 28 characters of base64url in practice; anything else is not stored.
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def push_key(push: wx.Inbound) -> str:
    """The key a retry of ``push`` repeats, and no other push has.

    A message has its ``MsgId``. An event is known by sender and
    ``CreateTime`` (callbacks.md §4.5), which two events of one person in the
    same second share: a follow and the scan right after it, two receipts of
    reminders sent together. What tells them apart (the event, and its scene,
    key or template msgid) is added, hashed to keep the key short; a retry
    repeats the same XML, so the same key.
    """
    base = push.dedupe_key
    if base.startswith("msg:"):
        return base
    match push:
        case wx.TemplateSendJobFinishEvent(msg_id=msg_id):
            detail = f"receipt:{msg_id}"
        case wx.SubscribeEvent(scene=scene):
            detail = f"subscribe:{scene or ''}"
        case wx.ScanEvent(scene=scene):
            detail = f"scan:{scene}"
        case wx.ClickEvent(key=key):
            detail = f"click:{key}"
        case wx.ViewEvent(url=url):
            detail = f"view:{url}"
        case wx.TextMessage(content=content):
            detail = f"text:{content}"
        case wx.UnsupportedPush(msg_type=msg_type, event=event):
            detail = f"{msg_type}:{event}"
        case _:
            detail = type(push).__name__
    return f"{base}:{hashlib.sha256(detail.encode()).hexdigest()[:16]}"


def _receipt_settler(settle: SettleReceipt, event: wx.TemplateSendJobFinishEvent) -> Settle:
    """A delivery receipt recorded in the transaction storing its push, when it can be."""

    def run(uow: UnitOfWork) -> Settled | None:
        return settle(uow, event)

    return run


def _refused(check: str) -> web.Response:
    log.warning("WeChat callback refused: %s", check)
    return web.Response(status=403, text="forbidden")


class WechatCallback:
    """The callback's two handlers and the background handling of what they stored.

    ``wall_clock`` gives Unix seconds, the time WeChat signs with (never the
    rehearsal clock).
    """

    def __init__(
        self,
        adapter: WechatAdapter,
        settings: WeChatSettings,
        *,
        wall_clock: Callable[[], float] = time.time,
        max_skew_s: float = wxcrypto.DEFAULT_MAX_SKEW_S,
        settle_receipt: SettleReceipt | None = None,
    ) -> None:
        self.adapter = adapter
        self.settle_receipt = settle_receipt
        self.token = settings.token
        self.app_id = settings.app_id
        self.key = wxcrypto.aes_key(settings.encoding_aes_key)
        self._now = wall_clock
        self._max_skew = max_skew_s
        self.queue = PushQueue(adapter.conversations.services, Channel.WECHAT, self._handle)

    # --- HTTP ----------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """``GET``: the server check; ``echostr`` back for a good signature."""
        query = request.query
        try:
            echo = wxcrypto.verify_url(
                self.token,
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("signature", ""),
                query.get("echostr", ""),
                now=self._now(),
                max_skew=self._max_skew,
            )
        except wxcrypto.WxCryptoError as refusal:
            return _refused(type(refusal).__name__)
        return web.Response(text=echo)

    async def receive(self, request: web.Request) -> web.Response:
        """``POST``: a push, checked and stored before ``success`` (see the module docstring)."""
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if query.get("encrypt_type") != "aes":
            return _refused("not a safe-mode push")
        try:
            envelope = wx.parse_envelope(await request.read())
            wxcrypto.verify_signature(
                self.token,
                timestamp,
                nonce,
                query.get("signature", ""),
                now=self._now(),
                max_skew=self._max_skew,
            )
            body = wxcrypto.open_push(
                self.token,
                self.key,
                self.app_id,
                timestamp,
                nonce,
                query.get("msg_signature", ""),
                envelope.encrypt,
                now=self._now(),
                max_skew=self._max_skew,
            )
        except wx.WechatXmlError as error:
            return _refused(type(error).__name__)
        except wxcrypto.WxCryptoError as refusal:
            return _refused(type(refusal).__name__)
        try:
            push = wx.parse_push(body)
        except wx.WechatXmlError as error:
            # Genuine but unreadable: a retry would not read better, so it is acknowledged.
            log.warning("WeChat push not read: %s", type(error).__name__)
            return web.Response(text=wxcrypto.SUCCESS)
        if not _OPENID.fullmatch(push.from_user):
            log.warning("WeChat push from an account id of an unknown form, not handled")
            return web.Response(text=wxcrypto.SUCCESS)
        self._store(push, body)
        return web.Response(text=wxcrypto.SUCCESS)

    def _store(self, push: wx.Inbound, body: str) -> None:
        settle: Settle | None = None
        if isinstance(push, wx.TemplateSendJobFinishEvent) and self.settle_receipt is not None:
            settle = _receipt_settler(self.settle_receipt, push)
        if not self.queue.store(push_key(push), push.from_user, body, settle):
            log.info("WeChat push repeated (%s); handled once", type(push).__name__)

    async def _handle(self, body: str) -> None:
        await self.adapter.handle(wx.parse_push(body))

    def recover(self) -> int:
        """Handle the pushes stored but not handled before the last stop; how many."""
        return self.queue.recover()

    async def idle(self) -> None:
        """Wait until every push stored so far has been handled."""
        await self.queue.idle()

    async def stop(self) -> None:
        """Let pushes being handled finish for a moment; the rest wait for the next start."""
        await self.queue.stop()
