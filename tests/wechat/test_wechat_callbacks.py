"""Callbacks end to end: the local WeChat server pushes signed, encrypted XML to a receiver that
checks it with the bot's wxcrypto and reads it with the bot's XML module."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.channels import wxcrypto
from bot.channels.wechat.api import MenuButton, WechatApi
from bot.channels.wechat.xml import (
    ClickEvent,
    DeliveryStatus,
    ScanEvent,
    SubscribeEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnsubscribeEvent,
    ViewEvent,
    text_reply,
)
from local_servers.wechat import LocalWechat
from local_servers.wechat.world import FIRST_MSGID
from tests.support.wall_clock import START
from tests.wechat.conftest import TEMPLATE, VALUES, Receiver

pytestmark = pytest.mark.e2e

OPENID = "oPatient0000000000000000001"


async def test_a_new_patient_scans_the_invitation_then_scans_it_again(
    wechat: LocalWechat, api: WechatApi, receiver: Receiver
) -> None:
    code = await api.create_qr_code("invite-7Qk2", 600)
    first = await wechat.patients.scan(OPENID, ticket=code.ticket)
    again = await wechat.patients.scan(OPENID, scene="invite-7Qk2")
    assert first.acked and again.acked
    assert receiver.got == [
        SubscribeEvent(wechat.world.account, OPENID, int(START), "invite-7Qk2", code.ticket),
        ScanEvent(wechat.world.account, OPENID, int(START), "invite-7Qk2", code.ticket),
    ]
    assert receiver.refused == []


async def test_safe_mode_pushes_carry_only_the_envelope(
    wechat: LocalWechat, receiver: Receiver
) -> None:
    wechat.world.add_user(OPENID)
    record = await wechat.patients.follow(OPENID)
    assert "<Encrypt>" not in record.xml and OPENID in record.xml
    assert receiver.raw == [record.xml]
    assert receiver.got == [SubscribeEvent(wechat.world.account, OPENID, int(START), None, None)]


async def test_a_patient_writes_taps_and_leaves(
    wechat: LocalWechat, api: WechatApi, receiver: Receiver
) -> None:
    await api.create_menu(
        [
            MenuButton("我的日程", key="SCHEDULE"),
            MenuButton("联系团队", url="https://example.org/contact"),
        ]
    )
    wechat.world.add_user(OPENID)
    await wechat.patients.follow(OPENID)
    await wechat.patients.write(OPENID, "明天的输液能改到下午吗？")
    await wechat.patients.click(OPENID, "SCHEDULE")
    await wechat.patients.view(OPENID, "https://example.org/contact")
    await api.send_menu(OPENID, "改到几点？", [(101, "14:00"), (102, "16:00")], "")
    await wechat.patients.choose(OPENID, "16:00")
    await wechat.patients.unfollow(OPENID)
    account, now = wechat.world.account, int(START)
    text, click, view, tap, left = receiver.got[1:]
    assert text == TextMessage(account, OPENID, now, "明天的输液能改到下午吗？", FIRST_MSGID, None)
    assert click == ClickEvent(account, OPENID, now, "SCHEDULE")
    assert isinstance(view, ViewEvent) and view.url == "https://example.org/contact"
    assert isinstance(tap, TextMessage) and (tap.content, tap.menu_option_id) == ("16:00", 102)
    assert left == UnsubscribeEvent(account, OPENID, now)
    assert wechat.violations == []


@pytest.mark.parametrize("fault", ["zero", "omit"])
async def test_a_tap_may_lose_its_option_id(
    wechat: LocalWechat, api: WechatApi, receiver: Receiver, fault: str
) -> None:
    wechat.world.add_user(OPENID)
    await wechat.patients.follow(OPENID)
    await api.send_menu(OPENID, "完成了吗？", [(101, "已完成")], "")
    wechat.patients.menu_option_fault = fault
    await wechat.patients.choose(OPENID, "已完成")
    tap = receiver.got[-1]
    assert isinstance(tap, TextMessage) and (tap.content, tap.menu_option_id) == ("已完成", None)


@pytest.mark.parametrize(
    ("blocked", "failure_rate", "status"),
    [
        (False, 0.0, DeliveryStatus.SUCCESS),
        (True, 0.0, DeliveryStatus.USER_BLOCK),
        (False, 1.0, DeliveryStatus.SYSTEM_FAILED),
    ],
)
async def test_every_template_message_gets_its_receipt(
    wechat: LocalWechat,
    api: WechatApi,
    receiver: Receiver,
    blocked: bool,
    failure_rate: float,
    status: DeliveryStatus,
) -> None:
    wechat.world.add_user(OPENID)
    await wechat.patients.follow(OPENID)
    wechat.patients.block(OPENID, blocked)
    wechat.patients.receipt_failure_rate = failure_rate
    msgid = await api.send_template(OPENID, TEMPLATE, VALUES)
    (receipt,) = await wechat.pusher.wait(after=1, timeout=5)
    assert receipt.acked
    assert receiver.got[-1] == TemplateSendJobFinishEvent(
        wechat.world.account, OPENID, int(START), msgid, status, status.value
    )
    assert wechat.sent[-1].receipt == status.value


async def test_failed_receipts_come_at_the_configured_rate() -> None:
    async with LocalWechat(templates={TEMPLATE: tuple(VALUES)}, seed=7) as wechat:
        wechat.world.add_user(OPENID)
        await wechat.patients.follow(OPENID)
        wechat.patients.receipt_failure_rate = 0.25
        async with WechatApi(
            "wx0123456789abcdef", wechat.world.app_secret, base_url=wechat.url
        ) as api:
            for _ in range(200):
                await api.send_template(OPENID, TEMPLATE, VALUES)
        failed = [s for s in wechat.sent if s.receipt == "failed: system failed"]
        assert 30 <= len(failed) <= 70


async def test_a_push_the_bot_does_not_acknowledge_is_delivered_three_times(
    wechat: LocalWechat, receiver: Receiver
) -> None:
    receiver.answers = [web.Response(status=500) for _ in range(3)]
    wechat.world.add_user(OPENID)
    record = await wechat.patients.follow(OPENID)
    assert not record.acked
    assert [a.status for a in record.attempts] == [500, 500, 500]
    assert len(receiver.got) == 3 and len(set(receiver.got)) == 1  # the same push each time


@pytest.mark.parametrize(
    ("answers", "deliveries", "acked"),
    [
        (["<html>error</html>", ""], 2, True),
        (["ok", "fail", "nope", "success"], 4, True),
    ],
)
async def test_only_success_or_an_empty_body_acknowledges(
    wechat: LocalWechat, receiver: Receiver, answers: list[str], deliveries: int, acked: bool
) -> None:
    wechat.pusher.deliveries = 4
    receiver.answers = [web.Response(text=a) for a in answers]
    wechat.world.add_user(OPENID)
    record = await wechat.patients.follow(OPENID)
    assert (len(record.attempts), record.acked) == (deliveries, acked)


async def test_an_encrypted_passive_reply_is_read_by_the_server(
    wechat: LocalWechat, receiver: Receiver
) -> None:
    wechat.world.add_user(OPENID)
    await wechat.patients.follow(OPENID)
    push = receiver.got[0]
    reply = text_reply(push, "欢迎关注！", int(START))
    sealed = wxcrypto.seal(
        receiver.token,
        receiver.key,
        receiver.app_id,
        reply,
        timestamp=str(int(START)),
        nonce="1320562132",
        random16=b"0123456789abcdef",
    )
    receiver.answers = [web.Response(text=wxcrypto.reply_envelope(sealed))]
    record = await wechat.patients.write(OPENID, "你好")
    assert record.acked and record.reply == reply


async def test_a_bot_with_another_token_refuses_every_push(
    wechat: LocalWechat, receiver: Receiver
) -> None:
    receiver.token = "not-the-token"
    wechat.world.add_user(OPENID)
    record = await wechat.patients.follow(OPENID)
    assert not record.acked and receiver.got == []
    assert receiver.refused == ["BadSignature"] * 3


async def test_a_bot_with_another_appid_refuses_every_push(
    wechat: LocalWechat, receiver: Receiver
) -> None:
    receiver.app_id = "wxffffffffffffffff"
    wechat.world.add_user(OPENID)
    record = await wechat.patients.follow(OPENID)
    assert not record.acked and receiver.refused == ["WrongReceiveId"] * 3


async def test_the_console_url_check(wechat: LocalWechat, receiver: Receiver) -> None:
    assert await wechat.pusher.verify_url()
    receiver.token = "not-the-token"
    assert not await wechat.pusher.verify_url()


async def test_plain_mode_pushes_the_xml_itself(wechat: LocalWechat, receiver: Receiver) -> None:
    wechat.pusher.safe_mode = False
    wechat.world.add_user(OPENID)
    await wechat.patients.follow(OPENID)
    await wechat.patients.write(OPENID, "你好")
    assert isinstance(receiver.got[-1], TextMessage) and receiver.got[-1].content == "你好"
