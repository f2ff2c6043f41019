"""End-to-end harness for the WeCom staff channel: the bot's web server with the WeCom callback,
built by ``web_routes`` from WeCom settings, against the local WeCom server over HTTP, beside
the Telegram harness (``world``) whose coordinator invites.

The local server plays members of staff (type, tap a card's button, be removed) and pushes
what they do, encrypted, to the bot's ``/wecom/callback``; the bot answers through the local
server's API. A push is acknowledged before it is handled, so :meth:`WecomWorld.act` waits
for the channel to have handled everything stored (no sleeping). On leaving, fails if any
request the bot made broke docs/wecom/api.json.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.channels.wecom.callback import CALLBACK_PATH
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.pacing import MemberPacer
from bot.context import Services
from bot.runner import web_routes
from bot.settings import Settings
from bot.web.server import WebServer
from core.store.db import read_session
from core.store.identities import identity
from core.store.models import Channel, InviteRole, Staff
from local_servers.wecom import (
    DEFAULT_AES_KEY,
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    LocalWecom,
)
from local_servers.wecom.world import SentMessage
from tests.support.bot_harness import World
from tests.support.wechat_world import free_port

JSON = dict[str, Any]


def wecom_settings(api_url: str, port: int) -> Settings:
    """The bot's settings with WeCom on, against the local server's application."""
    return Settings.model_validate(
        {
            "WECOM_CORP_ID": DEFAULT_CORP_ID,
            "WECOM_AGENT_ID": str(DEFAULT_AGENT_ID),
            "WECOM_SECRET": DEFAULT_SECRET,
            "WECOM_TOKEN": DEFAULT_TOKEN,
            "WECOM_ENCODING_AES_KEY": DEFAULT_AES_KEY,
            "WECOM_API_BASE_URL": api_url,
            "WEB_PORT": str(port),
        }
    )


def shown(message: SentMessage) -> str:
    """What the member reads: a text, or a card's title, body and button texts."""
    body = message.body
    if body["msgtype"] == "text":
        return str(body["text"]["content"])
    if body["msgtype"] == "template_card":
        card = body["template_card"]
        parts = [card["main_title"].get("title", ""), card.get("sub_title_text", "")]
        parts += [f"[{b['text']}]" for b in card["button_list"]]
        return "\n".join(p for p in parts if p)
    return f"[{body['msgtype']}]"


def card_keys(message: SentMessage) -> list[str]:
    if message.body["msgtype"] != "template_card":
        return []
    return [str(b["key"]) for b in message.body["template_card"]["button_list"]]


@dataclass
class WecomWorld:
    tg: World
    wecom: LocalWecom
    channel: WecomChannel
    server: WebServer
    settings: Settings

    @property
    def services(self) -> Services:
        return self.tg.services

    async def settled(self) -> None:
        await self.channel.callback.queue.idle()

    def sent(self, userid: str) -> list[SentMessage]:
        return [m for m in self.wecom.sent if m.touser.lower() == userid.lower()]

    async def act(self, userid: str, action: Awaitable[object]) -> list[SentMessage]:
        """A member does something in WeCom; what the app sent them in answer."""
        before = len(self.sent(userid))
        await action
        await self.settled()
        return self.sent(userid)[before:]

    async def write(self, userid: str, text: str) -> list[SentMessage]:
        return await self.act(userid, self.wecom.staff.text(userid, text))

    async def click(self, userid: str, card: SentMessage, key_end: str) -> list[SentMessage]:
        """Tap the button whose key ends with ``key_end`` on ``card``."""
        task_id = card.body["template_card"]["task_id"]
        key = next(k for k in card_keys(card) if k.endswith(key_end))
        return await self.act(userid, self.wecom.staff.click(userid, task_id, key=key))

    def member(self, userid: str | None = None) -> str:
        return self.wecom.world.add_member(userid).userid

    async def join(self, role: InviteRole, userid: str | None = None) -> str:
        """A member of staff with a WeCom account, joined with a code; their userid."""
        member = self.member(userid)
        token = self.tg.invite(role)
        answer = await self.write(member, token)
        assert answer, "no welcome"
        return member

    def staff(self, userid: str) -> Staff | None:
        with read_session(self.services.engine) as session:
            found = identity(session, Channel.WECOM, userid)
            return (
                None
                if found is None or found.staff_id is None
                else session.get(Staff, found.staff_id)
            )


async def open_wecom_world(
    tg: World, pacer: MemberPacer | None = None, **server: Any
) -> AsyncIterator[WecomWorld]:
    wecom = LocalWecom(retry_delay_s=0.0, **server)
    await wecom.start()
    port = free_port()
    settings = wecom_settings(wecom.url, port)
    channel = WecomChannel(tg.services, settings.wecom(), pacer=pacer)  # type: ignore[arg-type]
    routes = web_routes(tg.services, settings, channel)
    server_ = WebServer(routes, "127.0.0.1", port)
    try:
        await server_.start()
        wecom.pusher.callback_url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
        yield WecomWorld(tg, wecom, channel, server_, settings)
        await channel.callback.queue.idle()
    finally:
        await server_.stop()
        await wecom.stop()
    assert not wecom.violations, f"requests that broke api.json: {wecom.violations}"


@pytest.fixture
async def wc(world: World) -> AsyncIterator[WecomWorld]:
    """The WeCom channel beside the Telegram ``world``, both over HTTP."""
    async for opened in open_wecom_world(world):
        yield opened
