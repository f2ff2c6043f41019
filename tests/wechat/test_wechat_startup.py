"""Start-up with WeChat on: the callback among the web routes, the menu created, wrong
credentials stop the bot naming what to check, and the rehearsal clock only against a local
WeChat server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import SQLModel

from bot.context import Services
from bot.runner import NotConfigured, rehearsal_clock, web_routes
from bot.settings import SettingError, Settings
from bot.web.server import WebServer
from core.protocol import load_protocol
from core.store.db import make_engine
from core.store.models import Channel
from local_servers.wechat import LocalWechat
from scheduler.clock import FakeClock
from tests.support.wechat_world import free_port, wechat_settings

pytestmark = pytest.mark.e2e

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    return Services(engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"))


@pytest.fixture
async def local_wechat() -> AsyncIterator[LocalWechat]:
    server = LocalWechat(app_secret="f" * 32)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_without_wechat_the_bot_serves_no_web_routes(services: Services) -> None:
    assert web_routes(services, Settings.model_validate({})) == []
    assert services.join_codes == {}


async def test_with_wechat_the_callback_is_served_and_the_menu_created(
    services: Services, local_wechat: LocalWechat
) -> None:
    settings = wechat_settings(local_wechat.url, free_port())
    settings = settings.model_copy(update={"wechat_app_secret": SecretStr("f" * 32)})
    routes = web_routes(services, settings)
    assert {(r.method, r.path) for r in routes} >= {
        ("GET", "/wechat/callback"),
        ("POST", "/wechat/callback"),
    }
    assert Channel.WECHAT in services.join_codes
    server = WebServer(routes, "127.0.0.1", settings.web_port)
    await server.start()
    try:
        assert [button["key"] for button in local_wechat.world.menu] == [
            "schedule",
            "report",
            "contacts",
        ]
    finally:
        await server.stop()


async def test_wrong_credentials_stop_the_start_naming_what_to_check(
    services: Services, local_wechat: LocalWechat
) -> None:
    settings = wechat_settings(local_wechat.url, free_port())  # the default secret: wrong
    server = WebServer(web_routes(services, settings), "127.0.0.1", settings.web_port)
    with pytest.raises(SettingError, match="WECHAT_APP_ID, WECHAT_APP_SECRET"):
        await server.start()
    assert local_wechat.world.menu == []


async def test_a_wechat_out_of_reach_at_start_leaves_the_menu_and_starts(
    services: Services,
) -> None:
    settings = wechat_settings(f"http://127.0.0.1:{free_port()}", free_port())
    server = WebServer(web_routes(services, settings), "127.0.0.1", settings.web_port)
    await server.start()
    await server.stop()


def _rehearsal(tmp_path: Path, wechat_url: str) -> Settings:
    settings = wechat_settings(wechat_url, 8080)
    return settings.model_copy(
        update={
            "telegram_base_url": "http://127.0.0.1:8081/bot",
            "database_url": f"sqlite:///{tmp_path / 'trial.db'}",
        }
    )


@pytest.mark.parametrize("url", ["https://api.weixin.qq.com", "http://10.0.0.5:8082"])
def test_the_rehearsal_clock_is_refused_unless_wechat_is_local(tmp_path: Path, url: str) -> None:
    with pytest.raises(NotConfigured, match="WECHAT_API_BASE_URL"):
        rehearsal_clock(_rehearsal(tmp_path, url), START, 3600)
    assert rehearsal_clock(_rehearsal(tmp_path, "http://127.0.0.1:8082"), START, 3600)
