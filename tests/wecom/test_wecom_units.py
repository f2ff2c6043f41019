"""The WeCom channel's pure parts: its settings, the pushes' XML, the per-member pacing and
what a clicked card shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.channels.wechat.xml import MalformedXml, XmlRefused
from bot.channels.wecom import xml as wc
from bot.channels.wecom.adapter import _short
from bot.channels.wecom.pacing import MemberPacer
from bot.runner import NotConfigured, rehearsal_clock
from bot.settings import SettingError, Settings
from scheduler.clock import FakeMonotonic

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECOM = {
    "WECOM_CORP_ID": "wx5823bf96d3bd56c7",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "s" * 43,
    "WECOM_TOKEN": "QDG6eK",
    "WECOM_ENCODING_AES_KEY": AES_KEY,
}


def test_wecom_is_off_unless_set_and_a_half_or_wrong_setting_is_named() -> None:
    assert Settings.model_validate({}).wecom() is None
    settings = Settings.model_validate(WECOM).wecom()
    assert settings is not None
    assert (settings.agent_id, settings.api_base_url) == (1000002, "https://qyapi.weixin.qq.com")
    with pytest.raises(SettingError, match="WeCom is half configured: WECOM_SECRET not set"):
        Settings.model_validate({**WECOM, "WECOM_SECRET": ""}).wecom()
    with pytest.raises(SettingError, match="WECOM_AGENT_ID must be the application's AgentId"):
        Settings.model_validate({**WECOM, "WECOM_AGENT_ID": "app"}).wecom()
    with pytest.raises(SettingError, match="WECOM_ENCODING_AES_KEY must be the 43-character"):
        Settings.model_validate({**WECOM, "WECOM_ENCODING_AES_KEY": AES_KEY[:-1]}).wecom()
    with pytest.raises(SettingError, match="WECOM_API_BASE_URL must be an http"):
        Settings.model_validate({**WECOM, "WECOM_API_BASE_URL": "qyapi"}).wecom()


def _xml(*elements: str) -> str:
    head = (
        "<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        "<FromUserName><![CDATA[nurse.li]]></FromUserName><CreateTime>1409659813</CreateTime>"
        "<AgentID>1000002</AgentID>"
    )
    return "<xml>" + head + "".join(elements) + "</xml>"


def test_the_pushes_staff_make_are_read() -> None:
    text = wc.parse_push(
        _xml(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ /status ]]></Content>",
            "<MsgId>4561255354251345929</MsgId>",
        )
    )
    assert text == wc.Text(
        "wx5823bf96d3bd56c7",
        "nurse.li",
        1409659813,
        1000002,
        content="/status",
        msg_id="4561255354251345929",
    )
    assert text.dedupe_key == "msg:4561255354251345929"
    click = wc.parse_push(
        _xml(
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>",
            "<EventKey><![CDATA[act:12:ok]]></EventKey><TaskId><![CDATA[c0a1]]></TaskId>",
            "<CardType><![CDATA[button_interaction]]></CardType>",
            "<ResponseCode><![CDATA[rc-1]]></ResponseCode>",
        )
    )
    assert isinstance(click, wc.CardClick)
    assert (click.key, click.task_id, click.response_code) == ("act:12:ok", "c0a1", "rc-1")
    # Two clicks on one card are one decision: the same key.
    assert click.dedupe_key == "card:c0a1:nurse.li"
    for event, kind in [
        ("subscribe", wc.MemberAdded),
        ("unsubscribe", wc.MemberRemoved),
        ("enter_agent", wc.EnterAgent),
        ("CLICK", wc.MenuClick),
        ("view", wc.Unsupported),
    ]:
        push = wc.parse_push(
            _xml(f"<MsgType>event</MsgType><Event>{event}</Event><EventKey>status</EventKey>")
        )
        assert type(push) is kind, event


def test_unreadable_pushes_are_refused() -> None:
    with pytest.raises(XmlRefused):
        wc.parse_push('<!DOCTYPE x [<!ENTITY a "b">]><xml><FromUserName>&a;</FromUserName></xml>')
    with pytest.raises(MalformedXml):
        wc.parse_push(_xml("<MsgType>text</MsgType><Content>hi</Content><MsgId>1.5</MsgId>"))
    with pytest.raises(MalformedXml):
        wc.parse_push("<xml><MsgType>text</MsgType></xml>")


async def test_a_member_gets_at_most_30_a_minute_and_1000_an_hour_and_none_is_dropped() -> None:
    mono = FakeMonotonic(0.0)
    pacer = MemberPacer(clock=mono, sleep=mono.sleep)
    for _ in range(30):
        await pacer.acquire("nurse.li")
    assert mono() == 0.0
    await pacer.acquire("nurse.li")  # the 31st waits for the first to leave the minute
    assert mono() == pytest.approx(60.0)
    await pacer.acquire("doctor.wang")  # another member does not wait
    assert mono() == pytest.approx(60.0)
    hourly = MemberPacer(clock=mono, sleep=mono.sleep, windows=((60.0, 30), (3600.0, 40)))
    start = mono()
    for _ in range(41):
        await hourly.acquire("nurse.li")
    # 30 at once, 10 a minute later, the 41st an hour after the first.
    assert mono() - start == pytest.approx(3600.0)


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Cancelled. Nothing was stored.", "Cancelled."),
        ("已取消，未保存任何内容。", "已取消，未保存任何内容。"),
        (
            "Adverse event AE12 is recorded for P01.\nAE12 is serious.",
            "Adverse event AE12 is recorded for P01.",
        ),
        (
            "AE12 stored: lung infection, grade 3, serious, hospitalised",
            "AE12 stored: lung infection, grade 3, s…",
        ),
        ("", ""),
    ],
)
def test_a_clicked_card_shows_the_outcome_short(reply: str, shown: str) -> None:
    assert _short(reply) == shown


@pytest.mark.parametrize("url", ["https://qyapi.weixin.qq.com", "http://10.0.0.5:8083"])
def test_the_rehearsal_clock_is_refused_unless_wecom_is_local(tmp_path: Path, url: str) -> None:
    def settings(api: str) -> Settings:
        return Settings.model_validate(
            {
                **WECOM,
                "WECOM_API_BASE_URL": api,
                "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'trial.db'}",
            }
        )

    start = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    with pytest.raises(NotConfigured, match="WECOM_API_BASE_URL"):
        rehearsal_clock(settings(url), start, 3600)
    assert rehearsal_clock(settings("http://127.0.0.1:8083"), start, 3600)
