"""WeChat's transport is wired in when WeChat is on: the engine's router and the services'
router (escalations, alerts) both reach WeChat patients through it."""

from __future__ import annotations

import pytest

from bot.channels.wechat.transport import WechatTransport
from bot.runner import NotConfigured, attach_wechat, check_settings, engine_router
from bot.settings import Settings, derived_secret
from core.store.models import Channel
from tests.support.bot_harness import World

pytestmark = pytest.mark.e2e

WECHAT = {
    "WECHAT_APP_ID": "wx5823bf96d3bd56c7",
    "WECHAT_APP_SECRET": "secret",
    "WECHAT_TOKEN": "QDG6eK",
    "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECHAT_API_BASE_URL": "http://127.0.0.1:8082",
    "PUBLIC_BASE_URL": "https://trial.example.cn/",
}


def settings(**env: str) -> Settings:
    return Settings.model_validate(env)


async def test_without_wechat_nothing_is_added(world: World) -> None:
    assert world.app is not None and world.services.router is not None
    assert attach_wechat(world.app, world.services, settings()) is None
    assert set(world.services.router.transports) == {Channel.TELEGRAM}
    assert set(engine_router(world.app, world.services).transports) == {Channel.TELEGRAM}


async def test_with_wechat_both_routers_reach_wechat_patients(world: World) -> None:
    assert world.app is not None and world.services.router is not None
    transport = attach_wechat(world.app, world.services, settings(**WECHAT))
    assert isinstance(transport, WechatTransport)
    assert world.services.router.transports[Channel.WECHAT] is transport
    router = engine_router(world.app, world.services, transport)
    assert set(router.transports) == {Channel.TELEGRAM, Channel.WECHAT}
    assert router.transports[Channel.WECHAT] is transport
    # The client talks to the configured server; links go to the public address, signed
    # with the page key derived from the app secret, for the protocol file's days.
    assert transport.api.base_url == "http://127.0.0.1:8082"
    assert transport.links.public_base_url == "https://trial.example.cn"
    assert transport.links.key == derived_secret("secret")
    assert transport.links.protocol is world.services.protocol
    assert transport.templates == world.services.protocol.wechat
    await transport.api.close()


def test_a_page_secret_too_short_for_the_reminders_links_stops_the_bot() -> None:
    with pytest.raises(NotConfigured, match="PAGE_SECRET must be at least 32 characters"):
        check_settings(settings(**WECHAT, PAGE_SECRET="short"))
    check_settings(settings(**WECHAT, PAGE_SECRET="s" * 32))
