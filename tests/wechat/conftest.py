"""A local WeChat server, the bot's client pointed at it, and a callback receiver built from
the bot's own crypto and XML reading, as the WeChat adapter will use them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bot.channels import wxcrypto
from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.xml import Inbound, parse_envelope, parse_push
from local_servers.wechat import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
)
from tests.support.wall_clock import FakeClock

TEMPLATE = "T" * 43
KEYS = ("thing1", "time2", "character_string3")
VALUES = {"thing1": "输液提醒", "time2": "2026年12月5日 09:00", "character_string3": "P02"}


@pytest.fixture
def server_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client_clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
async def wechat(server_clock: FakeClock) -> AsyncIterator[LocalWechat]:
    server = LocalWechat(templates={TEMPLATE: KEYS}, clock=server_clock, retry_delay_s=0.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def api(wechat: LocalWechat, client_clock: FakeClock) -> AsyncIterator[WechatApi]:
    async with WechatApi(
        DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=wechat.url, clock=client_clock
    ) as client:
        yield client


@dataclass
class Receiver:
    """The bot's side of the callback: every push verified with wxcrypto, then read.

    ``answers`` are given out one per request (then ``success``); ``refused``
    counts pushes whose signature or encryption did not check out.
    """

    clock: Callable[[], float]
    token: str = DEFAULT_TOKEN
    key: bytes = field(default_factory=lambda: wxcrypto.aes_key(DEFAULT_AES_KEY))
    app_id: str = DEFAULT_APP_ID
    answers: list[web.Response] = field(default_factory=list)
    got: list[Inbound] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            try:
                echo = wxcrypto.verify_url(
                    self.token,
                    query["timestamp"],
                    query["nonce"],
                    query["signature"],
                    query["echostr"],
                    now=self.clock(),
                )
            except wxcrypto.WxCryptoError as exc:
                self.refused.append(type(exc).__name__)
                return web.Response(status=403)
            return web.Response(text=echo)
        body = await request.text()
        try:
            wxcrypto.verify_signature(
                self.token, query["timestamp"], query["nonce"], query["signature"], now=self.clock()
            )
            if query.get("encrypt_type") == "aes":
                xml = wxcrypto.open_push(
                    self.token,
                    self.key,
                    self.app_id,
                    query["timestamp"],
                    query["nonce"],
                    query["msg_signature"],
                    parse_envelope(body).encrypt,
                    now=self.clock(),
                )
            else:
                xml = body
        except wxcrypto.WxCryptoError as exc:
            self.refused.append(type(exc).__name__)
            return web.Response(status=403)
        self.raw.append(xml)
        self.got.append(parse_push(xml))
        return self.answers.pop(0) if self.answers else web.Response(text=wxcrypto.SUCCESS)


@pytest.fixture
async def receiver(wechat: LocalWechat, server_clock: FakeClock) -> AsyncIterator[Receiver]:
    """A receiver listening on a free port, set as the local server's callback URL."""
    handler = Receiver(server_clock)
    app = web.Application()
    app.router.add_route("*", "/wechat/callback", handler.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    wechat.pusher.callback_url = f"http://127.0.0.1:{port}/wechat/callback"
    try:
        yield handler
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
