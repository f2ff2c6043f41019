"""Pushes from the local WeCom server, opened by the bot's own crypto (docs/wecom/callbacks.md
§8): the envelope and query, each message and event, retries with the identical request, the
injected faults, passive replies and the URL verification."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from local_servers.common.control import ControlError
from local_servers.wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, LocalWecom
from local_servers.wecom.staff import TINY_PNG
from local_servers.wecom.world import FIRST_MSGID
from tests.support.wall_clock import FakeClock
from tests.wecom.conftest import NURSE, SEND, Raw, Receiver, card, text

pytestmark = pytest.mark.e2e

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "crypto-vectors.json").read_text(
        encoding="utf-8"
    )
)["vectors"]


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


async def test_a_text_push_is_encrypted_in_the_wecom_envelope(
    wecom: LocalWecom, receiver: Receiver, clock: FakeClock
) -> None:
    push = await wecom.staff.text(NURSE, "/ae P01 肺部感染 G3 serious=住院")
    assert (push.acked, len(push.attempts), receiver.refused) == (True, 1, [])
    ((query, body),) = receiver.requests
    assert sorted(query) == ["msg_signature", "nonce", "timestamp"]
    assert query["timestamp"] == str(int(clock.now))
    envelope = fields(body)
    assert list(envelope) == ["ToUserName", "AgentID", "Encrypt"]
    assert (envelope["ToUserName"], envelope["AgentID"]) == (DEFAULT_CORP_ID, str(DEFAULT_AGENT_ID))
    (xml,) = receiver.xml
    message = fields(xml)
    assert message == {
        "ToUserName": DEFAULT_CORP_ID,
        "FromUserName": NURSE,
        "CreateTime": str(int(clock.now)),
        "MsgType": "text",
        "Content": "/ae P01 肺部感染 G3 serious=住院",
        "MsgId": str(FIRST_MSGID),
        "AgentID": str(DEFAULT_AGENT_ID),
    }
    assert int(message["MsgId"]) > 2**53
    second = await wecom.staff.text(NURSE, "again")
    assert fields(second.xml)["MsgId"] == str(FIRST_MSGID + 1)
    # A fresh timestamp, nonce and random prefix per push.
    assert receiver.requests[1][0]["nonce"] != query["nonce"]


async def test_every_push_is_sealed_afresh(wecom: LocalWecom) -> None:
    xml = "<xml><Content><![CDATA[same]]></Content></xml>"
    first, second = wecom.pusher.seal(xml), wecom.pusher.seal(xml)
    assert fields(first[1])["Encrypt"] != fields(second[1])["Encrypt"]


async def test_a_picture_is_kept_as_media_and_served_at_its_url(
    wecom: LocalWecom, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    push = await wecom.staff.image(NURSE)
    message = fields(receiver.xml[0])
    assert (message["MsgType"], message["AgentID"]) == ("image", str(DEFAULT_AGENT_ID))
    assert list(message) == [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "PicUrl",
        "MediaId",
        "MsgId",
        "AgentID",
    ]
    assert wecom.world.media[message["MediaId"]].data == TINY_PNG
    async with http.get(message["PicUrl"]) as response:
        assert (response.content_type, await response.read()) == ("image/png", TINY_PNG)
    assert push.kind == "image"


@pytest.mark.parametrize(
    ("action", "event", "extra"),
    [
        ("enter", "enter_agent", {"EventKey": ""}),
        ("menu", "click", {"EventKey": "status"}),
        ("unsubscribe", "unsubscribe", {}),
    ],
)
async def test_events(
    wecom: LocalWecom, receiver: Receiver, clock: FakeClock, action: str, event: str, extra: Any
) -> None:
    if action == "menu":
        await wecom.staff.menu(NURSE, "status")
    else:
        await getattr(wecom.staff, action)(NURSE)
    assert fields(receiver.xml[0]) == {
        "ToUserName": DEFAULT_CORP_ID,
        "FromUserName": NURSE,
        "CreateTime": str(int(clock.now)),
        "MsgType": "event",
        "Event": event,
        **extra,
        "AgentID": str(DEFAULT_AGENT_ID),
    }


async def test_a_member_removed_from_the_visible_range_gets_nothing(
    wecom: LocalWecom, receiver: Receiver, raw: Raw
) -> None:
    await wecom.staff.unsubscribe(NURSE)
    assert (await raw.post(SEND, text("x")))["errcode"] == 81013
    with pytest.raises(ControlError, match="outside the app's visible range"):
        await wecom.staff.text(NURSE, "hello?")
    push = await wecom.staff.subscribe(NURSE)
    assert fields(push.xml)["Event"] == "subscribe"
    await wecom.staff.text(NURSE, "back")
    assert [fields(x).get("Event", "text") for x in receiver.xml] == [
        "unsubscribe",
        "subscribe",
        "text",
    ]


async def test_a_new_member_added_to_the_visible_range(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    await wecom.staff.subscribe("coordinator-zhao")
    assert fields(receiver.xml[0])["FromUserName"] == "coordinator-zhao"
    assert wecom.world.member("Coordinator-Zhao").visible


async def test_a_card_click_push(
    wecom: LocalWecom, receiver: Receiver, raw: Raw, clock: FakeClock
) -> None:
    await raw.post(SEND, card())
    push = await wecom.staff.click(NURSE, "ae-P01-0001", index=0)
    message = fields(receiver.xml[0])
    code = message.pop("ResponseCode")
    assert message == {
        "ToUserName": DEFAULT_CORP_ID,
        "FromUserName": NURSE,
        "CreateTime": str(int(clock.now)),
        "MsgType": "event",
        "Event": "template_card_event",
        "EventKey": "ae:confirm:ae-P01-0001",
        "TaskId": "ae-P01-0001",
        "CardType": "button_interaction",
        "AgentID": str(DEFAULT_AGENT_ID),
    }
    assert wecom.world.codes[code].userid == NURSE
    assert push.kind == "template_card_event"


# --- retries, faults, replies --------------------------------------------------------------


async def test_a_push_is_retried_with_the_identical_request(
    wecom: LocalWecom, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.answers = [web.Response(status=500), web.Response(status=503)]
    push = await wecom.staff.text(NURSE, "retry me")
    assert [a.status for a in push.attempts] == [500, 503, 200]
    assert push.acked
    assert len(receiver.requests) == 3
    assert all(request == receiver.requests[0] for request in receiver.requests)
    assert receiver.requests[0] == (push.query, push.body)
    assert len(set(receiver.xml)) == 1


async def test_three_deliveries_then_it_gives_up(wecom: LocalWecom, receiver: Receiver) -> None:
    receiver.answers = [web.Response(status=500) for _ in range(4)]
    push = await wecom.staff.text(NURSE, "nobody home")
    assert ([a.status for a in push.attempts], push.acked) == ([500, 500, 500], False)
    wecom.pusher.deliveries = 4
    push = await wecom.staff.text(NURSE, "once more")
    assert [a.status for a in push.attempts] == [500, 200]


async def test_an_absent_answer_times_out_and_is_retried(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    wecom.pusher.timeout_s = 0.2
    receiver.answers = [asyncio.Event()]
    push = await wecom.staff.text(NURSE, "slow bot")
    assert push.attempts[0].status is None
    assert push.attempts[0].error is not None
    assert (push.attempts[1].status, push.acked) == (200, True)
    assert receiver.requests[0] == receiver.requests[1]


@pytest.mark.parametrize(
    ("fault", "refused"),
    [("bad_signature", "BadSignature"), ("wrong_receiveid", "WrongReceiveId")],
)
async def test_spoilt_pushes_are_refused_by_the_bots_crypto(
    wecom: LocalWecom, receiver: Receiver, fault: str, refused: str
) -> None:
    wecom.pusher.add_fault(fault)
    push = await wecom.staff.text(NURSE, "forged")
    assert (push.fault, push.acked, [a.status for a in push.attempts]) == (
        fault,
        False,
        [403, 403, 403],
    )
    assert receiver.refused == [refused] * 3
    assert (await wecom.staff.text(NURSE, "genuine")).acked


async def test_a_duplicate_delivery(wecom: LocalWecom, receiver: Receiver) -> None:
    wecom.pusher.add_fault("duplicate")
    push = await wecom.staff.text(NURSE, "twice")
    assert ([a.status for a in push.attempts], push.acked) == ([200, 200], True)
    assert receiver.requests[0] == receiver.requests[1]
    assert receiver.xml[0] == receiver.xml[1]


async def test_a_body_that_is_not_a_passive_reply_is_noted(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    receiver.answers = [web.Response(text="success")]
    push = await wecom.staff.text(NURSE, "hi")
    assert (push.acked, push.reply, push.reply_error) == (
        True,
        None,
        "not an encrypted passive reply",
    )


async def test_the_published_encrypted_reply_is_read(clock: FakeClock) -> None:
    (vector,) = [v for v in VECTORS if v["id"] == "wechatpy-encrypt-reply"]
    wecom = LocalWecom(
        clock=clock,
        corp_id=vector["receiveid"],
        token=vector["token"],
        encoding_aes_key=vector["encoding_aes_key"],
        retry_delay_s=0.0,
    )
    wecom.world.add_member(NURSE)

    async def reply(request: web.Request) -> web.Response:
        return web.Response(text=vector["expected_reply_xml"])

    app = web.Application()
    app.router.add_post("/wecom/callback", reply)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    wecom.pusher.callback_url = f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/callback"
    try:
        async with wecom:
            push = await wecom.staff.text(NURSE, "hi")
    finally:
        await runner.cleanup()
    assert (push.reply, push.reply_error) == (vector["plaintext_msg"], None)


async def test_no_callback_url_delivers_nothing(wecom: LocalWecom) -> None:
    push = await wecom.staff.text(NURSE, "into the void")
    assert (push.attempts, push.acked, push.seq) == ([], False, 1)
    assert [p.kind for p in await wecom.pusher.wait(0, 0)] == ["text"]


# --- URL verification ----------------------------------------------------------------------


async def test_url_verification_expects_the_decrypted_echostr(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    result = await wecom.pusher.verify_url()
    assert result.ok
    assert result.body == result.expected
    assert result.expected.isdigit()
    assert receiver.refused == []


async def test_url_verification_fails_for_an_official_account_echo(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    receiver.echo_raw = True
    result = await wecom.pusher.verify_url()
    assert (result.ok, result.status) == (False, 200)
    assert result.body != result.expected


async def test_url_verification_fails_without_the_right_token(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    receiver.token = "another-token"
    result = await wecom.pusher.verify_url()
    assert (result.ok, result.status, receiver.refused) == (False, 403, ["BadSignature"])
    wecom.pusher.callback_url = None
    assert not (await wecom.pusher.verify_url()).ok
