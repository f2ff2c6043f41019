"""The bot's ``/wechat/callback`` over HTTP: the console's URL check, refusals that store
nothing, WeChat's retries handled once, receipts handed on, and pushes stored before a stop
handled after the restart.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import aiohttp
import pytest
from sqlmodel import col, select

from bot.channels.wechat.xml import DeliveryStatus, TemplateSendJobFinishEvent
from core.store.audit import SYSTEM
from core.store.db import read_session
from core.store.models import AuditRecord, PatientReport, ReminderStatus, WechatPush
from core.store.services import claim_due_reminders, mark_reminder_sent
from core.store.uow import UnitOfWork
from core.store.wechat import receive_push
from local_servers.common import crypto
from local_servers.wechat.pushes import push_xml
from scheduler.outbox import mark_handed
from tests.support.db_state import snapshot
from tests.support.scheduler_fakes import reminder, reminders
from tests.support.wechat_world import WechatWorld, shown

pytestmark = pytest.mark.e2e


def text_xml(wx: WechatWorld, openid: str, content: str, msg_id: int) -> str:
    return push_xml(
        [
            ("ToUserName", wx.wechat.world.account),
            ("FromUserName", openid),
            ("CreateTime", int(wx.wechat.world.now())),
            ("MsgType", "text"),
            ("Content", content),
            ("MsgId", msg_id),
        ]
    )


async def post(wx: WechatWorld, query: dict[str, str], body: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(wx.callback_url, params=query, data=body.encode()) as response,
    ):
        return response.status, await response.text()


async def test_the_consoles_url_check_gets_echostr_back_only_when_signed(wx: WechatWorld) -> None:
    assert await wx.wechat.pusher.verify_url()
    timestamp = str(int(wx.wechat.world.now()))
    good = crypto.sign(wx.wechat.pusher.token, timestamp, "123")
    async with aiohttp.ClientSession() as http:
        for signature, stamp in ((good, timestamp), ("0" * 40, timestamp), (good, "1")):
            query = {"signature": signature, "timestamp": stamp, "nonce": "123", "echostr": "42"}
            async with http.get(wx.callback_url, params=query) as response:
                answer = (response.status, await response.text())
            assert (answer == (200, "42")) is (signature == good and stamp == timestamp)


def tamper_signature(query: dict[str, str], body: str) -> tuple[dict[str, str], str]:
    return {**query, "signature": "0" * 40}, body


def tamper_msg_signature(query: dict[str, str], body: str) -> tuple[dict[str, str], str]:
    return {**query, "msg_signature": "0" * 40}, body


def plain_mode(query: dict[str, str], body: str) -> tuple[dict[str, str], str]:
    return {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}, body


Tamper = Callable[[dict[str, str], str], tuple[dict[str, str], str]]


@pytest.mark.parametrize(
    ("tamper", "shift_s"),
    [
        pytest.param(tamper_signature, 0, id="wrong-signature"),
        pytest.param(tamper_msg_signature, 0, id="wrong-msg-signature"),
        pytest.param(None, -600, id="replayed-ten-minutes-later"),
        pytest.param(None, 600, id="timestamp-from-the-future"),
        pytest.param(plain_mode, 0, id="not-safe-mode"),
    ],
)
async def test_a_refused_push_stores_nothing_and_does_nothing(
    wx: WechatWorld, tamper: Tamper | None, shift_s: float
) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    before = snapshot(wx.services.engine, skip=frozenset())
    sent = len(wx.sent(openid))

    wx.wechat.world.advance(shift_s)  # the request is signed at another time than now
    query, body = wx.wechat.pusher.signed(openid, text_xml(wx, openid, "hello", 77))
    wx.wechat.world.advance(-shift_s)
    if tamper is not None:
        query, body = tamper(query, body)
    status, answer = await post(wx, query, body)
    await wx.settled()

    assert (status, answer) == (403, "forbidden")
    assert snapshot(wx.services.engine, skip=frozenset()) == before  # the audit trail too
    assert len(wx.sent(openid)) == sent


async def test_a_push_sealed_for_another_account_is_refused(wx: WechatWorld) -> None:
    pusher = wx.wechat.pusher
    before = snapshot(wx.services.engine, skip=frozenset())
    xml = text_xml(wx, "oSomeone", "hello", 78)
    sealed = crypto.encrypt(pusher.key, "wx0000000000000000", xml, secrets.token_bytes(16))
    query, _ = pusher.signed("oSomeone", xml)
    query["msg_signature"] = crypto.sign(pusher.token, query["timestamp"], query["nonce"], sealed)
    body = push_xml([("ToUserName", wx.wechat.world.account), ("Encrypt", sealed)])
    assert await post(wx, query, body) == (403, "forbidden")
    assert snapshot(wx.services.engine, skip=frozenset()) == before


async def test_wechats_retries_are_handled_once(wx: WechatWorld) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    offer = await wx.write(openid, "I feel dizzy")
    text = wx.wechat.pusher.records[-1]
    # The same message delivered again (WeChat got no answer in time), and the very
    # same signed request replayed at once: one offer, one stored push.
    again = await wx.act(openid, wx.wechat.pusher.push("text", openid, text.xml))
    query, body = wx.wechat.pusher.signed(openid, text.xml)
    assert await post(wx, query, body) == (200, "success")
    assert await post(wx, query, body) == (200, "success")
    await wx.settled()
    assert len(offer) == 1 and again == []
    assert len(wx.sent(openid)) == 5  # the language question, 3 welcome messages, the offer
    with read_session(wx.services.engine) as session:
        keys = [p.dedupe_key for p in session.exec(select(WechatPush))]
    assert len(keys) == len(set(keys)) == 3  # the scan, the language tap, the text

    await wx.choose(openid, "Yes")
    tap = wx.wechat.pusher.records[-1]
    await wx.act(openid, wx.wechat.pusher.push("text", openid, tap.xml))
    with read_session(wx.services.engine) as session:
        assert len(session.exec(select(PatientReport)).all()) == 1


async def test_receipts_go_to_the_receipt_handler_each_once(wx: WechatWorld) -> None:
    got: list[TemplateSendJobFinishEvent] = []

    async def on_receipt(event: TemplateSendJobFinishEvent) -> None:
        got.append(event)

    wx.channel.adapter.on_receipt = on_receipt
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    head: list[tuple[str, str | int]] = [
        ("ToUserName", wx.wechat.world.account),
        ("FromUserName", openid),
        ("CreateTime", int(wx.wechat.world.now())),
        ("MsgType", "event"),
        ("Event", "TEMPLATESENDJOBFINISH"),
    ]
    big = 3_662_956_322_040_938_501  # beyond 2**53, as WeChat's are
    first = push_xml([*head, ("MsgID", big), ("Status", "success")])
    second = push_xml([*head, ("MsgID", big + 1), ("Status", "failed:user block")])
    for xml in (first, second, first):  # two receipts in one second, then a retry
        await wx.wechat.pusher.push("TEMPLATESENDJOBFINISH", openid, xml)
    await wx.settled()
    assert [(e.msg_id, e.status) for e in got] == [
        (big, DeliveryStatus.SUCCESS),
        (big + 1, DeliveryStatus.USER_BLOCK),
    ]


async def test_a_receipt_for_a_sent_reminder_is_recorded_before_wechat_is_answered(
    wx: WechatWorld,
) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    patient_id = wx.tg.patient("P05").id
    pending = [
        r for r in reminders(wx.services.engine, patient_id) if r.status == ReminderStatus.PENDING
    ]
    first = min(pending, key=lambda r: r.due_at)
    msg_id = 3_662_956_322_040_938_777
    with UnitOfWork(wx.services.engine, SYSTEM, first.due_at) as uow:
        (claimed,) = claim_due_reminders(uow, limit=1, worker="testhost-1", now=first.due_at)
        mark_reminder_sent(uow, mark_handed(uow, claimed), message_id=msg_id)
    xml = push_xml(
        [
            ("ToUserName", wx.wechat.world.account),
            ("FromUserName", openid),
            ("CreateTime", int(wx.wechat.world.now())),
            ("MsgType", "event"),
            ("Event", "TEMPLATESENDJOBFINISH"),
            ("MsgID", msg_id),
            ("Status", "success"),
        ]
    )
    record = await wx.wechat.pusher.push("TEMPLATESENDJOBFINISH", openid, xml)
    assert record.acked
    # Answered: the reminder is already delivered and the push handled, in one transaction.
    assert reminder(wx.services.engine, first.id).status == ReminderStatus.DELIVERED
    with read_session(wx.services.engine) as session:
        (push,) = session.exec(
            select(WechatPush).where(col(WechatPush.dedupe_key).contains("receipt"))
        ).all()
        assert push.handled_at is not None and push.body is None
        trail = session.exec(
            select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(2)
        ).all()
    assert [(r.action, r.actor, r.reason) for r in reversed(trail)] == [
        ("reminder.delivered", SYSTEM, "WeChat delivery receipt"),
        ("wechat.push.received", f"wechat:{openid}", "wechat push"),
    ]
    await wx.settled()
    assert reminder(wx.services.engine, first.id).status == ReminderStatus.DELIVERED


async def test_a_push_stored_before_a_stop_is_handled_after_the_restart(wx: WechatWorld) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    sent = len(wx.sent(openid))
    await wx.wechat.patients.write(openid, "/schedule")  # opens the window
    await wx.settled()
    # Acknowledged, then the bot stopped before handling it: it waits in the table.
    xml = text_xml(wx, openid, "Something else", 99)
    with UnitOfWork(wx.services.engine, SYSTEM, wx.services.clock.now()) as uow:
        receive_push(uow, "msg:99", openid, xml)
    await wx.channel.start()  # the start after a restart
    await wx.settled()
    answers = wx.sent(openid)[sent:]
    assert [shown(m).split("\n")[0] for m in answers] == [
        "Your next study events:",
        "Send this to the study team?",
    ]
    with read_session(wx.services.engine) as session:
        waiting = session.exec(select(WechatPush).where(WechatPush.handled_at.is_(None))).all()  # type: ignore[union-attr]
    assert waiting == []
