"""Pushes to the bot's callback URL, as WeCom sends them (docs/wecom/callbacks.md §2-§6, §8).

Every push is encrypted: there is no plain mode for a self-built app. The
message XML of callbacks.md §7 is encrypted with a fresh random 16-byte
prefix and the corp's CorpID as receiveid, wrapped in the §4 envelope
``<xml><ToUserName/><AgentID/><Encrypt/></xml>`` and POSTed with only
``msg_signature``, ``timestamp`` and ``nonce`` in the query (a fresh
timestamp and nonce per push). An HTTP 200 within 5 s is a delivery; any
other status or none, and the **identical** body and query are sent again:
3 deliveries in all by default (§6: 3 or 4 is unverified), ``retry_delay_s``
apart (5 s by default). A 200 whose body is not empty is read as an
encrypted passive reply (§6.1) and kept; if it is not one (``success``, say,
which WeCom may not accept) that is kept too, as ``reply_error``.

Faults for the next pushes (:data:`PUSH_FAULTS`, §8.4): ``bad_signature``
(a ``msg_signature`` made with another token), ``wrong_receiveid`` (sealed
for another corp), ``duplicate`` (delivered once more after the bot took it,
as when its answer was lost).

:meth:`Pusher.verify_url` is the console's check of the URL (§3): a GET
with a freshly encrypted random numeric ``echostr``, whose answer must be
the decrypted number, byte for byte, within 1 s.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_servers.common import crypto
from local_servers.common.control import ControlError
from local_servers.common.delivery import Attempt, Deliverer, push_xml, xml_fields
from local_servers.common.records import Journal

__all__ = ["PUSH_FAULTS", "WRONG_RECEIVE_ID", "PushRecord", "Pusher", "Verification"]

JSON = dict[str, Any]

PUSH_FAULTS = frozenset({"bad_signature", "wrong_receiveid", "duplicate"})
#: The receiveid a ``wrong_receiveid`` push is sealed for: a corp that is not ours.
WRONG_RECEIVE_ID = "ww0000000000000000"


@dataclass(slots=True)
class PushRecord:
    """A finished push and what became of it: ``acked`` once the bot answered HTTP 200.

    ``query`` and ``body`` are what every delivery of it carried; ``seq``
    counts finished pushes from 1; with no callback URL nothing is delivered.
    """

    seq: int
    kind: str
    userid: str
    xml: str
    query: dict[str, str]
    body: str
    fault: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    acked: bool = False
    reply: str | None = None
    reply_error: str | None = None

    def to_json(self) -> JSON:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "userid": self.userid,
            "xml": self.xml,
            "query": self.query,
            "body": self.body,
            "fault": self.fault,
            "attempts": [a.to_json() for a in self.attempts],
            "acked": self.acked,
            "reply": self.reply,
            "reply_error": self.reply_error,
        }


@dataclass(frozen=True, slots=True)
class Verification:
    """One URL check: passed (``ok``) if the answer was 200 and exactly ``expected``."""

    ok: bool
    status: int | None
    body: str
    expected: str
    error: str | None = None

    def to_json(self) -> JSON:
        return {
            "ok": self.ok,
            "status": self.status,
            "body": self.body,
            "expected": self.expected,
            "error": self.error,
        }


class Pusher(Deliverer):
    """Delivers the app's pushes; ``records`` keeps every push in order."""

    def __init__(
        self,
        corp_id: str,
        agent_id: int,
        *,
        token: str,
        encoding_aes_key: str,
        clock: Callable[[], float],
        callback_url: str | None = None,
        deliveries: int = 3,
        retry_delay_s: float = 5.0,
        timeout_s: float = 5.0,
        verify_timeout_s: float = 1.0,
    ) -> None:
        super().__init__(deliveries=deliveries, retry_delay_s=retry_delay_s, timeout_s=timeout_s)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.key = crypto.aes_key(encoding_aes_key)
        self._clock = clock
        self.callback_url = callback_url
        self.verify_timeout_s = verify_timeout_s
        self.faults: list[str] = []
        self.verifications: list[Verification] = []
        self._records: Journal[PushRecord] = Journal()

    @property
    def records(self) -> list[PushRecord]:
        """Every finished push, in order."""
        return self._records.items

    async def wait(self, after: int, timeout: float) -> list[PushRecord]:
        """The finished pushes after the first ``after``, waiting up to ``timeout`` for one."""
        return await self._records.wait(after, timeout)

    def add_fault(self, kind: str, count: int = 1) -> None:
        """Spoil the next ``count`` pushes with ``kind`` (:data:`PUSH_FAULTS`)."""
        if kind not in PUSH_FAULTS:
            raise ControlError(f"push fault must be one of {sorted(PUSH_FAULTS)}")
        self.faults.extend([kind] * count)

    def _signed(self, text: str) -> dict[str, str]:
        timestamp = str(int(self._clock()))
        nonce = str(100_000_000 + secrets.randbelow(900_000_000))
        return {
            "msg_signature": crypto.sign(self.token, timestamp, nonce, text),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def seal(self, xml: str, fault: str | None = None) -> tuple[dict[str, str], str]:
        """The query and body of a push of ``xml`` (spoilt by ``fault``), made now: for
        :meth:`push`, or for a test that tampers with or replays one."""
        receive_id = WRONG_RECEIVE_ID if fault == "wrong_receiveid" else self.corp_id
        sealed = crypto.encrypt(self.key, receive_id, xml, secrets.token_bytes(16))
        query = self._signed(sealed)
        if fault == "bad_signature":
            query["msg_signature"] = crypto.sign(
                "not-" + self.token, query["timestamp"], query["nonce"], sealed
            )
        body = push_xml(
            [("ToUserName", self.corp_id), ("AgentID", str(self.agent_id)), ("Encrypt", sealed)]
        )
        return query, body

    def _read_reply(self, record: PushRecord, body: str) -> None:
        """Keep the passive reply in a non-empty answer, or why it is not one (§6.1)."""
        fields = xml_fields(body)
        needed = ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")
        if fields is None or any(name not in fields for name in needed):
            record.reply_error = "not an encrypted passive reply"
            return
        expected = crypto.sign(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if not crypto.same(expected, fields["MsgSignature"]):
            record.reply_error = "the reply's MsgSignature does not match"
            return
        try:
            record.reply = crypto.decrypt(self.key, self.corp_id, fields["Encrypt"])
        except (crypto.CryptoError, UnicodeDecodeError) as exc:
            record.reply_error = f"the reply does not decrypt: {exc}"

    async def push(self, kind: str, userid: str, xml: str) -> PushRecord:
        """Deliver ``xml`` until the bot answers 200 or the deliveries run out."""
        fault = self.faults.pop(0) if self.faults else None
        query, body = self.seal(xml, fault)
        record = PushRecord(0, kind, userid, xml, query, body, fault)
        if self.callback_url is not None:
            url = self.callback_url

            async def deliver() -> Attempt:
                return await self.post(url, query, body)

            record.attempts, record.acked = await self.until_answered(
                deliver, lambda attempt: attempt.status == 200
            )
            if record.acked and record.attempts[-1].body:
                self._read_reply(record, record.attempts[-1].body)
            if record.acked and fault == "duplicate":
                record.attempts.append(await deliver())
        record.seq = len(self.records) + 1
        self._records.append(record)
        return record

    async def verify_url(self) -> Verification:
        """The console's check of the callback URL (module docstring)."""
        plain = str(secrets.randbits(63))
        if self.callback_url is None:
            result = Verification(False, None, "", plain, "no callback URL")
        else:
            echostr = crypto.encrypt(self.key, self.corp_id, plain, secrets.token_bytes(16))
            query = self._signed(echostr) | {"echostr": echostr}
            attempt = await self.get(self.callback_url, query, self.verify_timeout_s)
            ok = attempt.status == 200 and attempt.body == plain
            result = Verification(ok, attempt.status, attempt.body, plain, attempt.error)
        self.verifications.append(result)
        return result
