"""End-to-end harness for the WeChat channel: the bot's web server, built by ``web_routes``
from WeChat settings, against the local WeChat server over HTTP, beside the Telegram
harness (``world``) its staff use.

The local server plays the patients (scan, follow, write, tap) and pushes their
messages, signed and encrypted, to the bot's ``/wechat/callback``; the bot answers
through the local server's API. A push is acknowledged before it is handled, so
:meth:`WechatWorld.act` waits for the channel to have handled everything stored
(no sleeping). On leaving, fails if any request the bot made broke
docs/wechat-oa/api.json.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.channels.wechat.callback import CALLBACK_PATH
from bot.channels.wechat.channel import WechatChannel
from bot.channels.wechat.join_codes import JOIN_SCENE
from bot.context import Services
from bot.runner import web_routes
from bot.settings import Settings
from bot.web.server import WebServer
from core.store.db import read_session
from core.store.identities import account_on
from core.store.models import Channel, InviteRole, Patient
from local_servers.wechat import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
)
from local_servers.wechat.methods import SentMessage
from tests.support.bot_harness import World

JSON = dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wechat_settings(api_url: str, port: int) -> Settings:
    """The bot's settings with WeChat on, against the local server's account."""
    return Settings.model_validate(
        {
            "WECHAT_APP_ID": DEFAULT_APP_ID,
            "WECHAT_APP_SECRET": DEFAULT_APP_SECRET,
            "WECHAT_TOKEN": DEFAULT_TOKEN,
            "WECHAT_ENCODING_AES_KEY": DEFAULT_AES_KEY,
            "WECHAT_API_BASE_URL": api_url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "WEB_PORT": str(port),
        }
    )


def shown(message: SentMessage) -> str:
    """What the person reads: a text, or a menu's head and its option labels."""
    body = message.body
    if message.method != "sendCustomMessage":
        return str(body)
    if body["msgtype"] == "text":
        return str(body["text"]["content"])
    menu = body["msgmenu"]
    return "\n".join([menu["head_content"], *(o["content"] for o in menu["list"])])


def labels(message: SentMessage) -> list[str]:
    """The option labels of a menu message (none for a text)."""
    if message.body.get("msgtype") != "msgmenu":
        return []
    return [str(o["content"]) for o in message.body["msgmenu"]["list"]]


@dataclass
class WechatWorld:
    tg: World
    wechat: LocalWechat
    channel: WechatChannel
    server: WebServer
    settings: Settings

    @property
    def services(self) -> Services:
        return self.tg.services

    @property
    def callback_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{CALLBACK_PATH}"

    async def settled(self) -> None:
        """Wait until every push the bot acknowledged has been handled."""
        await self.channel.callback.idle()

    def sent(self, openid: str) -> list[SentMessage]:
        return self.wechat.methods.sent_to(openid)

    async def act(self, openid: str, action: Awaitable[object]) -> list[SentMessage]:
        """A person does something in WeChat; what the bot sent them in answer."""
        before = len(self.sent(openid))
        await action
        await self.settled()
        return self.sent(openid)[before:]

    async def write(self, openid: str, text: str) -> list[SentMessage]:
        return await self.act(openid, self.wechat.patients.write(openid, text))

    async def choose(self, openid: str, label: str) -> list[SentMessage]:
        return await self.act(openid, self.wechat.patients.choose(openid, label))

    async def click(self, openid: str, key: str) -> list[SentMessage]:
        return await self.act(openid, self.wechat.patients.click(openid, key))

    def user(self, language: str = "zh_CN") -> str:
        """A WeChat user who does not follow the account yet."""
        return self.wechat.world.add_user(language=language).openid

    async def join(self, study_id: str, lang: str = "en") -> str:
        """Patient ``study_id`` (enrolled) scans their QR code and chooses ``lang``
        ("en" or "zh"), reading the three welcome messages; their openid."""
        token = self.tg.invite(InviteRole.PATIENT, self.tg.patient(study_id))
        expires = self.services.clock.now() + timedelta(days=7)
        await self.services.join_codes[Channel.WECHAT].make(token, expires)
        openid = self.user("en" if lang == "en" else "zh_CN")
        await self.act(openid, self.wechat.patients.scan(openid, scene=JOIN_SCENE + token))
        welcome = await self.choose(openid, "English" if lang == "en" else "中文")
        assert len(welcome) == 3, [shown(m) for m in welcome]
        return openid

    def openid_of(self, patient: Patient) -> str | None:
        with read_session(self.services.engine) as session:
            account = account_on(session, patient, Channel.WECHAT)
        return None if account is None else account.account


async def open_wechat_world(tg: World) -> AsyncIterator[WechatWorld]:
    wechat = LocalWechat(retry_delay_s=0.0)
    await wechat.start()
    port = free_port()
    settings = wechat_settings(wechat.url, port)
    routes = web_routes(tg.services, settings)
    (channel,) = {id(r.service): r.service for r in routes if r.service is not None}.values()
    assert isinstance(channel, WechatChannel)
    server = WebServer(routes, "127.0.0.1", port)
    try:
        await server.start()
        wechat.pusher.callback_url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
        yield WechatWorld(tg, wechat, channel, server, settings)
        await channel.callback.idle()
    finally:
        await server.stop()
        await wechat.stop()
    assert not wechat.violations, f"requests that broke api.json: {wechat.violations}"


@pytest.fixture
async def wx(world: World) -> AsyncIterator[WechatWorld]:
    """The WeChat channel beside the Telegram ``world``, both over HTTP."""
    async for opened in open_wechat_world(world):
        yield opened
