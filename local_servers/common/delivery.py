"""Pushes to the bot's callback URL: the XML, the HTTP deliveries and their retries.

Both platforms POST XML to the callback and, when the answer is not what
they wait for (a status other than 200, a wrong body, nothing within 5 s),
deliver it again: 3 deliveries in all by default (whether "重试三次" means 3
or 4 is unverified on both, hence configurable), ``retry_delay_s`` apart.
:class:`Deliverer` does that; what is sent and what counts as an answer is
the platform's (``local_servers.wechat.pushes``, ``local_servers.wecom.pushes``).
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

__all__ = ["Attempt", "Deliverer", "push_xml", "xml_fields"]

JSON = dict[str, Any]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def push_xml(elements: Sequence[tuple[str, str | int]]) -> str:
    """A push's XML: integers bare, strings in CDATA, in the given order."""
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


def xml_fields(text: str) -> dict[str, str] | None:
    """The top-level elements of an XML answer, or None if it is not XML (or declares a
    document type, as no answer should)."""
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


class Deliverer:
    """HTTP deliveries to the callback: ``deliveries`` tries, ``retry_delay_s`` apart, each
    given ``timeout_s`` for its answer."""

    def __init__(
        self, *, deliveries: int = 3, retry_delay_s: float = 1.0, timeout_s: float = 5.0
    ) -> None:
        self.deliveries = deliveries
        self.retry_delay_s = retry_delay_s
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def post(self, url: str, query: Mapping[str, str], body: str) -> Attempt:
        """One POST of ``body`` as XML; its answer, or the error (a timeout too)."""
        try:
            async with self._http().post(
                url,
                params=query,
                data=body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as response:
                return Attempt(response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt(None, "", f"{type(exc).__name__}: {exc}")

    async def get(
        self, url: str, query: Mapping[str, str], timeout_s: float | None = None
    ) -> Attempt:
        """One GET (the console's URL check); its answer, or the error."""
        total = self.timeout_s if timeout_s is None else timeout_s
        try:
            async with self._http().get(
                url, params=query, timeout=aiohttp.ClientTimeout(total=total)
            ) as response:
                return Attempt(response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt(None, "", f"{type(exc).__name__}: {exc}")

    async def until_answered(
        self,
        send: Callable[[], Awaitable[Attempt]],
        answered: Callable[[Attempt], bool],
        deliveries: int | None = None,
    ) -> tuple[list[Attempt], bool]:
        """Call ``send`` until an attempt is ``answered`` or the deliveries run out: the
        attempts, and whether the last one was answered."""
        attempts: list[Attempt] = []
        for number in range(self.deliveries if deliveries is None else deliveries):
            if number:
                await asyncio.sleep(self.retry_delay_s)
            attempt = await send()
            attempts.append(attempt)
            if answered(attempt):
                return attempts, True
        return attempts, False
