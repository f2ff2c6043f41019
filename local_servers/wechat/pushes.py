"""Pushes to the bot's callback URL, as WeChat sends them (docs/wechat-oa/callbacks.md §3-§6).

Each push is the XML of callbacks.md §5, POSTed to the configured callback
URL with ``signature``, ``timestamp``, ``nonce`` and ``openid`` in the query;
in safe mode (the default, and the project's) the XML is encrypted with a
random prefix, wrapped in ``<xml><ToUserName/><Encrypt/></xml>``, and signed
with ``msg_signature`` too (§4.2). The bot must answer ``success`` or an
empty body within 5 s (§4.4); any other answer or none is a failed delivery
and the same XML is sent again, 3 deliveries in all by default (§4.5: 3 or 4
is unverified, hence configurable). An encrypted passive reply is accepted,
checked and decrypted, and kept with the push.

:meth:`Pusher.verify_url` is the console's server check (§3): a GET whose
answer must be the ``echostr`` exactly.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_servers.common import crypto
from local_servers.common.delivery import Attempt, Deliverer, push_xml, xml_fields
from local_servers.common.records import Journal

__all__ = ["Attempt", "PushRecord", "Pusher", "push_xml"]

JSON = dict[str, Any]


@dataclass(slots=True)
class PushRecord:
    """A finished push and what became of it: ``acked`` once the bot answered as it should.

    ``seq`` counts finished pushes from 1; with no callback URL nothing is delivered.
    """

    seq: int
    kind: str
    openid: str
    xml: str
    attempts: list[Attempt] = field(default_factory=list)
    acked: bool = False
    reply: str | None = None

    def to_json(self) -> JSON:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "openid": self.openid,
            "xml": self.xml,
            "attempts": [a.to_json() for a in self.attempts],
            "acked": self.acked,
            "reply": self.reply,
        }


class Pusher(Deliverer):
    """Delivers pushes for one account; ``records`` keeps every push in order."""

    def __init__(
        self,
        app_id: str,
        account: str,
        *,
        token: str,
        encoding_aes_key: str,
        clock: Callable[[], float],
        callback_url: str | None = None,
        safe_mode: bool = True,
        deliveries: int = 3,
        retry_delay_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.app_id = app_id
        self.account = account
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.key = crypto.aes_key(encoding_aes_key)
        self._clock = clock
        self.callback_url = callback_url
        self.safe_mode = safe_mode
        super().__init__(deliveries=deliveries, retry_delay_s=retry_delay_s, timeout_s=timeout_s)
        self._records: Journal[PushRecord] = Journal()

    @property
    def records(self) -> list[PushRecord]:
        """Every finished push, in order."""
        return self._records.items

    def _signed_query(self) -> dict[str, str]:
        timestamp = str(int(self._clock()))
        nonce = str(100_000_000 + secrets.randbelow(900_000_000))
        return {
            "signature": crypto.sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def signed(self, openid: str, xml: str) -> tuple[dict[str, str], str]:
        """The query and body of one delivery of ``xml``, as :meth:`push` would POST them
        now (for a test that tampers with or replays one)."""
        return self._request(openid, xml)

    def _request(self, openid: str, xml: str) -> tuple[dict[str, str], str]:
        query = self._signed_query() | {"openid": openid}
        if not self.safe_mode:
            return query, xml
        sealed = crypto.encrypt(self.key, self.app_id, xml, secrets.token_bytes(16))
        query["encrypt_type"] = "aes"
        query["msg_signature"] = crypto.sign(self.token, query["timestamp"], query["nonce"], sealed)
        body = push_xml([("ToUserName", self.account), ("Encrypt", sealed)])
        return query, body

    def _read_reply(self, body: str) -> str | None:
        """The passive reply inside an answer, or None if it is not a valid one (§4.4)."""
        fields = xml_fields(body)
        if fields is None:
            return None
        if not self.safe_mode:
            return body
        needed = ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")
        if any(name not in fields for name in needed):
            return None
        expected = crypto.sign(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if not crypto.same(expected, fields["MsgSignature"]):
            return None
        try:
            return crypto.decrypt(self.key, self.app_id, fields["Encrypt"])
        except (crypto.CryptoError, UnicodeDecodeError):
            return None

    def _acknowledged(self, record: PushRecord, attempt: Attempt) -> bool:
        """``success`` or an empty body, or a valid passive reply (kept with the push)."""
        if attempt.status != 200:
            return False
        if attempt.body.strip() in ("", "success"):
            return True
        reply = self._read_reply(attempt.body)
        if reply is not None:
            record.reply = reply
        return reply is not None

    async def push(self, kind: str, openid: str, xml: str) -> PushRecord:
        """Deliver ``xml`` until the bot acknowledges it or the deliveries run out."""
        record = PushRecord(0, kind, openid, xml)
        if self.callback_url is not None:
            url = self.callback_url

            async def deliver() -> Attempt:
                # Signed afresh each time, as before: WeChat's own retries carry the same XML.
                return await self.post(url, *self._request(openid, xml))

            record.attempts, record.acked = await self.until_answered(
                deliver, lambda attempt: self._acknowledged(record, attempt)
            )
        record.seq = len(self.records) + 1
        self._records.append(record)
        return record

    async def verify_url(self) -> bool:
        """The console's server check: does the bot echo ``echostr`` for a good signature?"""
        if self.callback_url is None:
            return False
        echostr = str(secrets.randbits(63))
        attempt = await self.get(self.callback_url, self._signed_query() | {"echostr": echostr})
        return attempt.status == 200 and attempt.body == echostr

    async def wait(self, after: int, timeout: float) -> list[PushRecord]:
        """The finished pushes after the first ``after``, waiting up to ``timeout`` for one."""
        return await self._records.wait(after, timeout)
