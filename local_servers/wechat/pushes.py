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

import asyncio
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from local_servers.wechat import crypto

__all__ = ["Attempt", "PushRecord", "Pusher", "push_xml"]

JSON = dict[str, Any]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def push_xml(elements: Sequence[tuple[str, str | int]]) -> str:
    """A push's XML: integers bare, strings in CDATA, in the given order (§5)."""
    inner = "".join(
        f"<{name}>{value}</{name}>"
        if isinstance(value, int)
        else f"<{name}>{_cdata(value)}</{name}>"
        for name, value in elements
    )
    return f"<xml>{inner}</xml>"


class _NoDoctype(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise ValueError("a document type declaration")


def _fields(text: str) -> dict[str, str] | None:
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(text)
        root = parser.close()
    except (ET.ParseError, ValueError):
        return None
    return {child.tag: child.text or "" for child in root}


@dataclass(slots=True)
class Attempt:
    """One delivery: the bot's HTTP status and body, or the error instead."""

    status: int | None
    body: str
    error: str | None = None

    def to_json(self) -> JSON:
        return {"status": self.status, "body": self.body, "error": self.error}


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


class Pusher:
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
        self.deliveries = deliveries
        self.retry_delay_s = retry_delay_s
        self.timeout_s = timeout_s
        self.records: list[PushRecord] = []
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

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
        fields = _fields(body)
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

    async def push(self, kind: str, openid: str, xml: str) -> PushRecord:
        """Deliver ``xml`` until the bot acknowledges it or the deliveries run out."""
        record = PushRecord(0, kind, openid, xml)
        for number in range(self.deliveries if self.callback_url is not None else 0):
            if number:
                await asyncio.sleep(self.retry_delay_s)
            attempt = await self._deliver(openid, xml)
            record.attempts.append(attempt)
            if attempt.status == 200 and attempt.body.strip() in ("", "success"):
                record.acked = True
            elif attempt.status == 200 and (reply := self._read_reply(attempt.body)) is not None:
                record.acked, record.reply = True, reply
            if record.acked:
                break
        record.seq = len(self.records) + 1
        self.records.append(record)
        self._notify()
        return record

    async def _deliver(self, openid: str, xml: str) -> Attempt:
        assert self.callback_url is not None
        query, body = self._request(openid, xml)
        try:
            async with self._http().post(
                self.callback_url,
                params=query,
                data=body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as response:
                return Attempt(response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt(None, "", f"{type(exc).__name__}: {exc}")

    async def verify_url(self) -> bool:
        """The console's server check: does the bot echo ``echostr`` for a good signature?"""
        if self.callback_url is None:
            return False
        echostr = str(secrets.randbits(63))
        query = self._signed_query() | {"echostr": echostr}
        try:
            async with self._http().get(
                self.callback_url,
                params=query,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as response:
                return response.status == 200 and await response.text() == echostr
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, after: int, timeout: float) -> list[PushRecord]:
        """The finished pushes after the first ``after``, waiting up to ``timeout`` for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.records) <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        return self.records[after:]
