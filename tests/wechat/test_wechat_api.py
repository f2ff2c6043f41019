"""The bot's WeChat client against the local WeChat server, over HTTP.

The token is fetched once, renewed before it expires and after WeChat calls
it invalid (once); every failure comes back as the outcome a sender acts
on; a template value WeChat would refuse never leaves.
"""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import pytest

from bot.channels.wechat.api import MenuButton, QrCode, WechatApi
from bot.channels.wechat.outcomes import Outcome, WechatApiError
from local_servers.wechat import DEFAULT_APP_ID, DEFAULT_APP_SECRET, LocalWechat
from local_servers.wechat.world import FIRST_MSGID
from tests.support.wall_clock import FakeClock
from tests.wechat.conftest import TEMPLATE, VALUES

pytestmark = pytest.mark.e2e

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
# api.json createQRCode.response_example
API_EXAMPLE_TICKET = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw=="


async def follower(wechat: LocalWechat, openid: str = OPENID) -> None:
    wechat.world.add_user(openid)
    await wechat.patients.follow(openid)


def calls(wechat: LocalWechat) -> list[tuple[str, int]]:
    return [(r.method, r.errcode) for r in wechat.requests]


async def test_a_template_message_is_sent_with_one_token_fetch(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    first = await api.send_template(OPENID, TEMPLATE, VALUES, url="https://example.org/r/1")
    second = await api.send_template(OPENID, TEMPLATE, VALUES)
    assert (first, second) == (FIRST_MSGID, FIRST_MSGID + 1)
    assert isinstance(first, int) and float(first) != first
    assert calls(wechat) == [
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 0),
        ("sendTemplateMessage", 0),
    ]
    assert wechat.requests[0].body == {"grant_type": "client_credential", "appid": DEFAULT_APP_ID}
    assert wechat.sent[0].body["data"] == {k: {"value": v} for k, v in VALUES.items()}
    assert wechat.sent[0].body["url"] == "https://example.org/r/1"
    assert wechat.violations == []


async def test_the_token_is_renewed_before_it_expires(
    wechat: LocalWechat, api: WechatApi, server_clock: FakeClock, client_clock: FakeClock
) -> None:
    await follower(wechat)
    await api.send_template(OPENID, TEMPLATE, VALUES)
    old = await api.access_token()
    for clock in (server_clock, client_clock):
        clock.advance(7200 - 100)
    await api.send_template(OPENID, TEMPLATE, VALUES)
    new = await api.access_token()
    for clock in (server_clock, client_clock):
        clock.advance(150)  # the old token has expired by now
    await api.send_template(OPENID, TEMPLATE, VALUES)
    assert new != old
    assert calls(wechat) == [
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 0),
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 0),
        ("sendTemplateMessage", 0),
    ]


async def test_a_token_is_kept_until_its_margin(
    wechat: LocalWechat, api: WechatApi, client_clock: FakeClock
) -> None:
    await api.access_token()
    client_clock.advance(7200 - 121)
    await api.access_token()
    client_clock.advance(1)
    await api.access_token()
    assert [m for m, _ in calls(wechat)] == ["getStableAccessToken"] * 2


async def test_an_expired_token_is_fetched_again_and_the_call_made_again(
    wechat: LocalWechat, api: WechatApi, server_clock: FakeClock
) -> None:
    await follower(wechat)
    await api.access_token()
    server_clock.advance(7201)  # the client's clock has not moved: it thinks the token fresh
    assert await api.send_template(OPENID, TEMPLATE, VALUES) == FIRST_MSGID
    assert calls(wechat) == [
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 42001),
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 0),
    ]


async def test_a_token_replaced_elsewhere_is_fetched_again(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    await api.access_token()
    wechat.world.stable_token(force=True)  # another process forced a refresh
    await api.send_template(OPENID, TEMPLATE, VALUES)
    assert calls(wechat) == [
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 40001),
        ("getStableAccessToken", 0),
        ("sendTemplateMessage", 0),
    ]


async def test_a_token_refused_twice_is_a_misconfiguration_after_one_forced_refresh(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    await api.access_token()
    wechat.inject_fault("sendTemplateMessage", "errcode", count=2, errcode=40001)
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, TEMPLATE, VALUES)
    assert (caught.value.outcome, caught.value.errcode) == (Outcome.MISCONFIGURED, 40001)
    token_bodies = [r.body for r in wechat.requests if r.method == "getStableAccessToken"]
    assert token_bodies[1:] == [
        {"grant_type": "client_credential", "appid": DEFAULT_APP_ID},
        {"grant_type": "client_credential", "appid": DEFAULT_APP_ID, "force_refresh": True},
    ]
    assert [m for m, _ in calls(wechat)].count("sendTemplateMessage") == 2


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"kind": "errcode", "errcode": -1}, Outcome.RETRY_LATER),
        ({"kind": "errcode", "errcode": 45009}, Outcome.RETRY_LATER),
        ({"kind": "http_500"}, Outcome.RETRY_LATER),
        ({"kind": "drop"}, Outcome.RETRY_LATER),
        ({"kind": "errcode", "errcode": 43101}, Outcome.UNREACHABLE),
        ({"kind": "errcode", "errcode": 48001}, Outcome.MISCONFIGURED),
    ],
    ids=["system-busy", "quota", "http-500", "dropped", "refuses", "unauthorized"],
)
async def test_each_failure_has_its_outcome(
    wechat: LocalWechat, api: WechatApi, fault: dict[str, object], outcome: Outcome
) -> None:
    await follower(wechat)
    await api.access_token()
    wechat.inject_fault("sendTemplateMessage", **fault)  # type: ignore[arg-type]
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, TEMPLATE, VALUES)
    assert caught.value.outcome is outcome
    assert await api.send_template(OPENID, TEMPLATE, VALUES) > 0  # the fault was one call


async def test_no_answer_in_time_is_uncertain_and_the_message_was_sent(wechat: LocalWechat) -> None:
    await follower(wechat)
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=0.3)
    async with WechatApi(
        DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=wechat.url, timeout=timeout
    ) as api:
        await api.access_token()
        wechat.inject_fault("sendTemplateMessage", "slow", delay=5.0)
        with pytest.raises(WechatApiError) as caught:
            await api.send_template(OPENID, TEMPLATE, VALUES)
    assert caught.value.outcome is Outcome.UNCERTAIN
    assert len(wechat.sent) == 1


async def test_a_server_that_is_not_there_is_retry_later() -> None:
    async with WechatApi(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url="http://127.0.0.1:9") as api:
        with pytest.raises(WechatApiError) as caught:
            await api.send_text(OPENID, "hello")
    assert (caught.value.outcome, caught.value.method) == (
        Outcome.RETRY_LATER,
        "getStableAccessToken",
    )


async def test_a_wrong_secret_is_a_misconfiguration(wechat: LocalWechat) -> None:
    async with WechatApi(DEFAULT_APP_ID, "wrong", base_url=wechat.url) as api:
        with pytest.raises(WechatApiError) as caught:
            await api.access_token()
    assert (caught.value.outcome, caught.value.errcode) == (Outcome.MISCONFIGURED, 40125)


async def test_a_person_who_does_not_follow_is_unreachable(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    await wechat.patients.unfollow(OPENID)
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, TEMPLATE, VALUES)
    assert (caught.value.outcome, caught.value.errcode) == (Outcome.UNREACHABLE, 43004)


async def test_an_unknown_template_is_rejected_naming_template_id(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, "X" * 43, VALUES)
    error = caught.value
    assert (error.outcome, error.errcode, error.field) == (Outcome.REJECTED, 40037, "template_id")


async def test_a_missing_template_value_is_rejected_naming_its_key(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, TEMPLATE, {"thing1": "输液提醒", "time2": "09:00"})
    error = caught.value
    assert (error.outcome, error.errcode) == (Outcome.REJECTED, 47003)
    assert error.field == "data.character_string3.value"


@pytest.mark.parametrize(
    ("key", "value"),
    [("thing1", "输" * 21), ("character_string3", "编号"), ("time2", "明天上午")],
)
async def test_a_value_its_type_refuses_is_rejected_before_anything_is_sent(
    wechat: LocalWechat, api: WechatApi, key: str, value: str
) -> None:
    await follower(wechat)
    with pytest.raises(WechatApiError) as caught:
        await api.send_template(OPENID, TEMPLATE, {**VALUES, key: value})
    assert (caught.value.outcome, caught.value.field) == (Outcome.REJECTED, f"data.{key}.value")
    assert caught.value.errcode is None
    assert wechat.requests == []


async def test_a_customer_service_message_outside_the_window(
    wechat: LocalWechat, api: WechatApi, server_clock: FakeClock
) -> None:
    await follower(wechat)
    server_clock.advance(61)  # the follow's minute is over
    with pytest.raises(WechatApiError) as caught:
        await api.send_text(OPENID, "您好")
    assert (caught.value.outcome, caught.value.errcode) == (Outcome.OUTSIDE_WINDOW, 45015)
    await wechat.patients.write(OPENID, "我想改约")
    await api.send_text(OPENID, "好的，我们会联系您。")
    assert wechat.sent[-1].body == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "好的，我们会联系您。"},
    }


async def test_a_menu_message_carries_numeric_option_ids(
    wechat: LocalWechat, api: WechatApi
) -> None:
    await follower(wechat)
    await api.send_menu(OPENID, "输液已完成吗？", [(101, "已完成"), (102, "需要改约")], "谢谢")
    assert wechat.sent[-1].body["msgmenu"] == {
        "head_content": "输液已完成吗？",
        "list": [{"id": "101", "content": "已完成"}, {"id": "102", "content": "需要改约"}],
        "tail_content": "谢谢",
    }
    assert wechat.violations == []


async def test_a_qr_code_for_an_invitation(wechat: LocalWechat, api: WechatApi) -> None:
    code = await api.create_qr_code("invite-7Qk2", 7 * 24 * 3600)
    assert code.expire_seconds == 7 * 24 * 3600
    assert code.url.startswith("http://weixin.qq.com/q/")
    assert code.image_url == (
        "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + quote(code.ticket, safe="")
    )
    assert wechat.requests[-1].body == {
        "expire_seconds": 604800,
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "invite-7Qk2"}},
    }
    assert wechat.world.qr_code(ticket=code.ticket).scene == "invite-7Qk2"


@pytest.mark.parametrize(
    ("scene", "expire", "field"),
    [
        ("s" * 65, 600, "action_info.scene.scene_str"),
        ("", 600, "action_info.scene.scene_str"),
        ("invite", 2_592_001, "expire_seconds"),
        ("invite", 0, "expire_seconds"),
    ],
)
async def test_a_qr_code_wechat_would_refuse_is_not_asked_for(
    wechat: LocalWechat, api: WechatApi, scene: str, expire: int, field: str
) -> None:
    with pytest.raises(WechatApiError) as caught:
        await api.create_qr_code(scene, expire)
    assert (caught.value.outcome, caught.value.field) == (Outcome.REJECTED, field)
    assert wechat.requests == []


def test_the_qr_image_url_quotes_the_ticket() -> None:
    ticket = API_EXAMPLE_TICKET
    assert QrCode(ticket, "http://weixin.qq.com/q/x", 60).image_url == (
        "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
        + ticket.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")
    )


async def test_user_info_tells_a_follower_from_a_stranger(
    wechat: LocalWechat, api: WechatApi
) -> None:
    code = await api.create_qr_code("invite-7Qk2", 600)
    await wechat.patients.scan(OPENID, ticket=code.ticket)
    info = await api.user_info(OPENID)
    assert (info.subscribed, info.language, info.qr_scene_str, info.subscribe_scene) == (
        True,
        "zh_CN",
        "invite-7Qk2",
        "ADD_SCENE_QR_CODE",
    )
    await wechat.patients.unfollow(OPENID)
    stranger = await api.user_info(OPENID)
    assert (stranger.subscribed, stranger.language, stranger.qr_scene_str) == (False, None, None)


async def test_the_menu_is_created(wechat: LocalWechat, api: WechatApi) -> None:
    await api.create_menu(
        [
            MenuButton("我的日程", key="SCHEDULE"),
            MenuButton(
                "更多",
                children=(
                    MenuButton("报告症状", key="REPORT"),
                    MenuButton("联系团队", url="https://example.org/contact"),
                ),
            ),
        ]
    )
    assert wechat.world.menu == [
        {"type": "click", "name": "我的日程", "key": "SCHEDULE"},
        {
            "name": "更多",
            "sub_button": [
                {"type": "click", "name": "报告症状", "key": "REPORT"},
                {"type": "view", "name": "联系团队", "url": "https://example.org/contact"},
            ],
        },
    ]
    assert wechat.violations == []


async def test_a_menu_wechat_would_refuse_is_not_sent(wechat: LocalWechat, api: WechatApi) -> None:
    with pytest.raises(WechatApiError) as caught:
        await api.create_menu([MenuButton(str(n), key=str(n)) for n in range(4)])
    assert (caught.value.outcome, caught.value.field) == (Outcome.REJECTED, "button")
    assert wechat.requests == []
