"""A local WeCom server on a fake clock, raw HTTP requests to it, and a callback receiver
built from the bot's own crypto (bot/channels/wxcrypto.py), which the stand-in does not share."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels import wxcrypto
from local_servers.wecom import (
    DEFAULT_AES_KEY,
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    LocalWecom,
)
from tests.support.wall_clock import FakeClock

NURSE = "nurse-li"
DOCTOR = "dr-wang"
SEND = "/cgi-bin/message/send"
UPDATE = "/cgi-bin/message/update_template_card"
UPLOAD = "/cgi-bin/media/upload"
CALLBACK_PATH = "/wecom/callback"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def wecom(clock: FakeClock) -> AsyncIterator[LocalWecom]:
    """The stand-in with a nurse and a doctor in the app's visible range; pushes are retried
    at once (no delay between deliveries)."""
    server = LocalWecom(clock=clock, retry_delay_s=0.0)
    server.world.add_member(NURSE, "李护士")
    server.world.add_member(DOCTOR, "王医生")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Raw:
    """Requests as a client writes them, with a valid token unless told otherwise."""

    def __init__(self, wecom: LocalWecom, http: aiohttp.ClientSession) -> None:
        self.wecom = wecom
        self.http = http
        self.token = ""
        self.refresh()

    def refresh(self) -> None:
        """Take the world's current token (a new one once the last expired)."""
        self.token, _ = self.wecom.world.token()

    async def post(
        self, path: str, body: Any = None, *, token: str | None = "", raw: bytes | None = None
    ) -> dict[str, Any]:
        query = {} if token is None else {"access_token": token or self.token}
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        async with self.http.post(self.wecom.url + path, params=query, data=data) as response:
            assert response.status == 200
            answer: dict[str, Any] = await response.json()
            return answer

    async def get(self, path: str, **query: str) -> dict[str, Any]:
        async with self.http.get(self.wecom.url + path, params=query) as response:
            answer: dict[str, Any] = await response.json()
            return answer

    async def upload(
        self,
        kind: str,
        data: bytes,
        filename: str = "plot.png",
        content_type: str = "image/png",
        field_name: str = "media",
    ) -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field(field_name, data, filename=filename, content_type=content_type)
        query = {"access_token": self.token, "type": kind}
        async with self.http.post(self.wecom.url + UPLOAD, params=query, data=form) as response:
            answer: dict[str, Any] = await response.json()
            return answer


@pytest.fixture
def raw(wecom: LocalWecom, http: aiohttp.ClientSession) -> Raw:
    return Raw(wecom, http)


def text(content: str = "您好", touser: str = NURSE, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "touser": touser,
        "msgtype": "text",
        "agentid": DEFAULT_AGENT_ID,
        "text": {"content": content},
    }
    body.update(changes)
    return body


def card(task_id: str = "ae-P01-0001", **changes: Any) -> dict[str, Any]:
    """A Confirm/Cancel card as api.json's recommended project card."""
    template_card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": "确认不良事件 / Confirm adverse event", "desc": "P01"},
        "sub_title_text": "肺部感染 G3, serious = 住院",
        "horizontal_content_list": [{"keyname": "Grade", "value": "3"}],
        "task_id": task_id,
        "button_list": [
            {"text": "确认 Confirm", "style": 1, "key": f"ae:confirm:{task_id}"},
            {"text": "取消 Cancel", "style": 2, "key": f"ae:cancel:{task_id}"},
        ],
    }
    template_card.update(changes)
    return {
        "touser": NURSE,
        "msgtype": "template_card",
        "agentid": DEFAULT_AGENT_ID,
        "template_card": template_card,
    }


def errcode(answer: dict[str, Any]) -> int:
    code: int = answer["errcode"]
    return code


@dataclass
class Receiver:
    """The bot's side of the callback, as the WeCom adapter will do it: every push's
    ``msg_signature`` checked and its ``Encrypt`` opened with wxcrypto, the URL check
    answered with the decrypted ``echostr``.

    ``answers`` are given out one per POST (then an empty 200); an answer that is an
    :class:`asyncio.Event` holds the request until it is set (an absent answer).
    ``refused`` names the pushes that did not check out; ``requests`` keeps every
    POST's query and body as it came.
    """

    clock: Callable[[], float]
    token: str = DEFAULT_TOKEN
    key: bytes = field(default_factory=lambda: wxcrypto.aes_key(DEFAULT_AES_KEY))
    corp_id: str = DEFAULT_CORP_ID
    answers: list[web.Response | asyncio.Event] = field(default_factory=list)
    xml: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    requests: list[tuple[dict[str, str], str]] = field(default_factory=list)
    held: list[asyncio.Event] = field(default_factory=list)
    echo_raw: bool = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            if self.echo_raw:  # an Official Account's check: wrong for WeCom
                return web.Response(text=query["echostr"])
            try:
                echo = wxcrypto.verify_url_encrypted(
                    self.token,
                    self.key,
                    self.corp_id,
                    query["timestamp"],
                    query["nonce"],
                    query["msg_signature"],
                    query["echostr"],
                    now=self.clock(),
                )
            except wxcrypto.WxCryptoError as exc:
                self.refused.append(type(exc).__name__)
                return web.Response(status=403)
            return web.Response(text=echo)
        body = await request.text()
        self.requests.append((dict(query), body))
        envelope = {child.tag: child.text or "" for child in ET.fromstring(body)}
        try:
            xml = wxcrypto.open_push(
                self.token,
                self.key,
                self.corp_id,
                query["timestamp"],
                query["nonce"],
                query["msg_signature"],
                envelope["Encrypt"],
                now=self.clock(),
            )
        except wxcrypto.WxCryptoError as exc:
            self.refused.append(type(exc).__name__)
            return web.Response(status=403)
        self.xml.append(xml)
        answer = self.answers.pop(0) if self.answers else web.Response(text="")
        if isinstance(answer, asyncio.Event):
            self.held.append(answer)
            await answer.wait()
            return web.Response(text="")
        return answer


@pytest.fixture
async def receiver(wecom: LocalWecom, clock: FakeClock) -> AsyncIterator[Receiver]:
    """A receiver on a free port, set as the stand-in's callback URL."""
    handler = Receiver(clock)
    app = web.Application()
    app.router.add_route("*", CALLBACK_PATH, handler.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    wecom.pusher.callback_url = f"http://127.0.0.1:{runner.addresses[0][1]}{CALLBACK_PATH}"
    try:
        yield handler
    finally:
        for answer in [*handler.answers, *handler.held]:
            if isinstance(answer, asyncio.Event):
                answer.set()
        await runner.cleanup()


__all__ = [
    "CALLBACK_PATH",
    "DEFAULT_SECRET",
    "DOCTOR",
    "NURSE",
    "SEND",
    "UPDATE",
    "UPLOAD",
    "FakeClock",
    "Raw",
    "Receiver",
    "card",
    "errcode",
    "text",
]
