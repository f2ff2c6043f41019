"""The pages are served whenever PUBLIC_BASE_URL is set, with a key to sign their links,
and act through the patient's WeChat account when they have one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from bot.context import Services
from bot.runner import NotConfigured, check_settings, web_routes
from bot.settings import Settings
from bot.web.page_tokens import verify
from bot.web.pages.acting import page_account, visitor
from bot.web.pages.links import page_url
from core.protocol import load_protocol
from core.store.db import make_engine
from core.store.models import Channel, ChannelIdentity
from scheduler.clock import FakeClock
from tests.support.patient_pages import bind, enroll

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    return Services(engine, load_protocol(), FakeClock(NOW), ZoneInfo("Asia/Shanghai"))


def test_pages_are_served_only_when_public_base_url_is_set(services: Services) -> None:
    assert web_routes(services, Settings.model_validate({})) == []
    settings = Settings.model_validate(
        {"PUBLIC_BASE_URL": "https://trial.example.cn", "PAGE_SECRET": "p" * 32}
    )
    paths = {(route.method, route.path) for route in web_routes(services, settings)}
    assert ("GET", "/r/{token}") in paths
    assert ("POST", "/r/{token}") in paths
    assert ("GET", "/r/{token}/calendar.ics") in paths
    assert ("POST", "/r/{token}/report-details") in paths


def test_pages_without_a_key_stop_the_bot_naming_page_secret() -> None:
    with pytest.raises(NotConfigured, match="PAGE_SECRET is not set"):
        check_settings(Settings.model_validate({"PUBLIC_BASE_URL": "https://trial.example.cn"}))
    with pytest.raises(NotConfigured, match="PUBLIC_BASE_URL must be an http"):
        check_settings(
            Settings.model_validate(
                {"PUBLIC_BASE_URL": "trial.example.cn", "PAGE_SECRET": "p" * 32}
            )
        )
    check_settings(
        Settings.model_validate(
            {"PUBLIC_BASE_URL": "https://trial.example.cn", "PAGE_SECRET": "p" * 32}
        )
    )


def test_a_link_opens_the_pages_for_the_protocol_files_days(services: Services) -> None:
    url = page_url(
        "https://trial.example.cn/",
        b"k" * 32,
        services.protocol,
        patient_id=3,
        reminder_id=9,
        now=NOW,
    )
    assert url.startswith("https://trial.example.cn/r/")
    grant = verify(b"k" * 32, url.rsplit("/", 1)[1], NOW)
    assert (grant.patient_id, grant.reminder_id) == (3, 9)
    assert grant.expires_at == NOW + timedelta(days=services.protocol.pages.link_days)


def _account(channel: Channel, account: str) -> ChannelIdentity:
    return ChannelIdentity(channel=channel, account=account, chat=account, created_at=NOW)


def test_a_page_acts_through_wechat_else_the_preferred_channel_else_the_oldest() -> None:
    telegram = _account(Channel.TELEGRAM, "5001")
    memory = _account(Channel.MEMORY, "m1")
    wechat = _account(Channel.WECHAT, "openid")
    assert page_account([telegram, wechat], Channel.TELEGRAM) is wechat
    assert page_account([telegram, memory], Channel.MEMORY) is memory
    assert page_account([memory, telegram], None) is memory


def test_a_patient_without_an_account_has_no_pages(services: Services) -> None:
    patient = enroll(services, "P01", "en")
    assert patient.id is not None
    assert visitor(services, patient.id) is None
    bind(services, patient, Channel.TELEGRAM, "5001")
    found = visitor(services, patient.id)
    assert found is not None and found.active
    assert (found.account.channel, found.person.patient and found.person.patient.study_id) == (
        Channel.TELEGRAM,
        "P01",
    )
    assert visitor(services, 999) is None
