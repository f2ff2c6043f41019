"""``/wecom/callback``: WeCom's pushes checked, stored once, answered at once, handled after.

docs/wecom/callbacks.md:

* ``GET`` is the console's URL check (§3): ``msg_signature`` over the
  encrypted ``echostr``, which must decrypt for this corp; the answer is the
  decrypted text exactly;
* ``POST`` is a push, always encrypted (§4): ``msg_signature`` over the
  ``Encrypt`` text and a recent timestamp, then the AES decryption naming
  this corp (§5), then the decrypted ``AgentID`` must be this application's
  (several apps of one corp may share a URL). Anything that fails is refused
  with 403 and nothing is stored;
* a push that passed is stored under the key a retry repeats (``MsgId``; a
  card's task and member; sender, time and kind for other events: §6) and
  answered 200 with an empty body at once; a repeat is answered and nothing
  else. It is then handled in the background
  (:class:`~bot.channels.push_queue.PushQueue`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from aiohttp import web

from bot.channels import wxcrypto
from bot.channels.push_queue import PushQueue
from bot.channels.wechat.xml import WechatXmlError, parse_envelope
from bot.channels.wecom import xml as wc
from bot.channels.wecom.adapter import WecomAdapter
from bot.settings import WecomSettings
from core.store.models import Channel
from core.store.wechat import WECOM_KEY_PREFIX

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
# A WeCom userid: 1 to 64 of letters, digits, "-", "_", "." and "@" (api.json).
_USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def _refused(check: str) -> web.Response:
    log.warning("WeCom callback refused: %s", check)
    return web.Response(status=403, text="forbidden")


class WecomCallback:
    """The callback's two handlers; ``wall_clock`` is the Unix time WeCom signs with."""

    def __init__(
        self,
        adapter: WecomAdapter,
        settings: WecomSettings,
        *,
        wall_clock: Callable[[], float] = time.time,
        max_skew_s: float = wxcrypto.DEFAULT_MAX_SKEW_S,
    ) -> None:
        self.adapter = adapter
        self.token = settings.token
        self.corp_id = settings.corp_id
        self.agent_id = settings.agent_id
        self.key = wxcrypto.aes_key(settings.encoding_aes_key)
        self._now = wall_clock
        self._max_skew = max_skew_s
        self.queue = PushQueue(adapter.conversations.services, Channel.WECOM, self._handle)

    async def verify(self, request: web.Request) -> web.Response:
        """``GET``: the URL check; the decrypted ``echostr`` back."""
        query = request.query
        try:
            echo = wxcrypto.verify_url_encrypted(
                self.token,
                self.key,
                self.corp_id,
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("msg_signature", ""),
                query.get("echostr", ""),
                now=self._now(),
                max_skew=self._max_skew,
            )
        except wxcrypto.WxCryptoError as refusal:
            return _refused(type(refusal).__name__)
        return web.Response(text=echo)

    async def receive(self, request: web.Request) -> web.Response:
        """``POST``: a push, checked and stored before the empty 200 (see the module)."""
        query = request.query
        try:
            envelope = parse_envelope(await request.read())
            body = wxcrypto.open_push(
                self.token,
                self.key,
                self.corp_id,
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("msg_signature", ""),
                envelope.encrypt,
                now=self._now(),
                max_skew=self._max_skew,
            )
        except WechatXmlError as error:
            return _refused(type(error).__name__)
        except wxcrypto.WxCryptoError as refusal:
            return _refused(type(refusal).__name__)
        try:
            push = wc.parse_push(body)
        except WechatXmlError as error:
            # Genuine but unreadable: a retry would not read better, so it is acknowledged.
            log.warning("WeCom push not read: %s", type(error).__name__)
            return web.Response(text="")
        if push.agent_id != self.agent_id:
            return _refused("a push for another application")
        if not _USERID.fullmatch(push.userid):
            log.warning("WeCom push from a userid of an unknown form, not handled")
            return web.Response(text="")
        if not self.queue.store(WECOM_KEY_PREFIX + push.dedupe_key, push.userid, body):
            log.info("WeCom push repeated (%s); handled once", type(push).__name__)
        return web.Response(text="")

    async def _handle(self, body: str) -> None:
        await self.adapter.handle(wc.parse_push(body))
