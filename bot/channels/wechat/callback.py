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
  background (:class:`~bot.channels.wechat.adapter.WechatAdapter`), one
  person's pushes in the order they came, as WeChat advises (§4.5: store,
  answer, process asynchronously, reply with customer-service messages);
* pushes stored but not handled when the bot stopped are handled at the next
  start (:meth:`WechatCallback.recover`), so an acknowledged push is never
  lost.

Refusals are logged by the check that failed, never with the push's content.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable

from aiohttp import web

from bot.channels import wxcrypto
from bot.channels.wechat import xml as wx
from bot.channels.wechat.adapter import WechatAdapter
from bot.settings import WeChatSettings
from core.store.audit import SYSTEM
from core.store.db import read_session
from core.store.models import Channel, person_key
from core.store.uow import UnitOfWork
from core.store.wechat import StoredPush, push_handled, receive_push, unhandled_pushes

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wechat/callback"
# An openid is 28 characters of base64url in practice; anything else is not stored.
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# How long stopping waits for pushes being handled (the rest are handled at the next start).
STOP_WAIT_S = 5.0


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
    ) -> None:
        self.adapter = adapter
        self.token = settings.token
        self.app_id = settings.app_id
        self.key = wxcrypto.aes_key(settings.encoding_aes_key)
        self._now = wall_clock
        self._max_skew = max_skew_s
        self._tasks: set[asyncio.Task[None]] = set()
        # Each person's latest task: their next push is handled after it.
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._submitted: set[int] = set()

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
        services = self.adapter.conversations.services
        actor = person_key(Channel.WECHAT, push.from_user)
        with UnitOfWork(services.engine, actor, services.clock.now(), "WeChat push") as uow:
            stored = receive_push(uow, push_key(push), push.from_user, body)
        if stored is None:
            log.info("WeChat push repeated (%s); handled once", type(push).__name__)
            return
        self._submit(StoredPush(stored, push.from_user, body))

    # --- handling ------------------------------------------------------------------------

    def _submit(self, push: StoredPush) -> None:
        if push.id in self._submitted:
            return
        self._submitted.add(push.id)
        before = self._tails.get(push.account)
        task = asyncio.get_running_loop().create_task(self._handle(push, before))
        self._tasks.add(task)
        self._tails[push.account] = task
        task.add_done_callback(lambda done: self._done(push, done))

    def _done(self, push: StoredPush, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._submitted.discard(push.id)
        if self._tails.get(push.account) is task:
            del self._tails[push.account]

    async def _handle(self, push: StoredPush, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.adapter.handle(wx.parse_push(push.body))
        except Exception as error:
            # The conversation layer answers its own failures; this is anything around it.
            log.error("WeChat push %d failed: %s", push.id, type(error).__name__, exc_info=error)
        services = self.adapter.conversations.services
        with UnitOfWork(
            services.engine, SYSTEM, services.clock.now(), "WeChat push handled"
        ) as uow:
            push_handled(uow, push.id)

    def recover(self) -> int:
        """Handle the pushes stored but not handled before the last stop; how many."""
        with read_session(self.adapter.conversations.services.engine) as session:
            waiting = unhandled_pushes(session)
        for push in waiting:
            self._submit(push)
        if waiting:
            log.info("%d WeChat pushes from before the restart are handled now", len(waiting))
        return len(waiting)

    async def idle(self) -> None:
        """Wait until every push stored so far has been handled."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        """Let pushes being handled finish for a moment; the rest wait for the next start."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=STOP_WAIT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
