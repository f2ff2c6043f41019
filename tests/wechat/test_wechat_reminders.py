"""Reminders to WeChat patients, end to end: the engine, the router's WeChat transport, the
bot's API client over HTTP against the local WeChat server, and the delivery receipts it pushes
back (signed and encrypted) to a callback receiver that hands them to the receipt handler.

Staff are on Telegram (the local Bot API server of ``world``): the coordinators' alerts are
read there. The WeChat patients are bound to their openid directly in the database (joining
by QR code is the callback's business).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.receipts import ReceiptHandler
from bot.channels.wechat.transport import PageLinks, WechatTransport
from bot.channels.wechat.xml import DeliveryStatus, TemplateSendJobFinishEvent, parse_push
from bot.conversations.events import Attachment
from bot.i18n import Translator
from bot.routing import REJECTED, Router
from bot.runner import engine_router
from bot.web.page_tokens import verify
from core.reminder_templates import ReminderKind
from core.schedule import REMINDER_KINDS, Slot
from core.store.db import read_session
from core.store.identities import bind_account
from core.store.models import (
    Channel,
    InviteRole,
    Patient,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.services import claim_due_reminders, mark_reminder_sent
from core.store.uow import UnitOfWork
from core.template_fields import check_template_data
from local_servers.wechat import DEFAULT_APP_ID, DEFAULT_APP_SECRET, LocalWechat
from local_servers.wechat.methods import SentMessage
from local_servers.wechat.world import FIRST_MSGID
from scheduler.clock import FakeMonotonic
from scheduler.engine import Engine
from scheduler.pacing import Pacer
from scheduler.ports import Sender, Undeliverable
from tests.support.bot_harness import World
from tests.support.scheduler_fakes import reminder, reminders, run_until
from tests.support.wall_clock import FakeClock
from tests.wechat.conftest import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PUBLIC = "https://trial.example-hospital.cn"
KEY = b"a page key of thirty-two bytes!!"
SHANGHAI_0700_DEC_1 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
SHANGHAI_0900_DEC_1 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@dataclass
class Wx:
    world: World
    wechat: LocalWechat
    receiver: Receiver
    api: WechatApi
    transport: WechatTransport
    router: Router
    engine: Engine
    receipts: ReceiptHandler
    coordinator: int
    server_clock: FakeClock


def _engine(world: World, router: Router, sender: Sender | None = None) -> Engine:
    mono = FakeMonotonic()
    return Engine(
        world.services.engine,
        world.clock,
        sender or router,
        router,
        pacer=Pacer(monotonic=mono, sleep=mono.sleep),
        worker="testhost-1",
    )


def _transport(world: World, api: WechatApi) -> WechatTransport:
    links = PageLinks(PUBLIC, KEY, world.services.protocol, world.clock)
    return WechatTransport(api, world.services.protocol.wechat, links, world.services.zone)


@pytest.fixture
async def wx(
    world: World,
    wechat: LocalWechat,
    receiver: Receiver,
    api: WechatApi,
    server_clock: FakeClock,
) -> Wx:
    # The account has the protocol file's templates, with the keys it fills.
    for template in world.services.protocol.wechat.templates.values():
        wechat.register_template(template.template_id, list(template.fields))
    coordinator = await world.join_staff(InviteRole.COORDINATOR)
    transport = _transport(world, api)
    assert world.app is not None
    # The engine's router as the bot builds it: Telegram's own bot, and WeChat.
    router = engine_router(world.app, world.services, transport)
    assert set(router.transports) == {Channel.TELEGRAM, Channel.WECHAT}
    engine = _engine(world, router)
    # Receipts are applied by the tests once the send is recorded: no second look needed.
    receipts = ReceiptHandler(world.services, look_again_after=())
    return Wx(
        world, wechat, receiver, api, transport, router, engine, receipts, coordinator, server_clock
    )


async def wechat_patient(
    wx: Wx, study_id: str, language: str = "en", *, daily_doses: bool = True
) -> tuple[Patient, str]:
    """A patient enrolled and bound to a WeChat account that follows the account."""
    wx.world.enroll(study_id, language=language, daily_doses=daily_doses)
    openid = f"o_{study_id}_" + "x" * (27 - len(study_id))
    wx.wechat.world.add_user(openid)
    await wx.wechat.patients.follow(openid)
    with UnitOfWork(wx.world.services.engine, "system", wx.world.clock.now()) as uow:
        row = uow.session.get(Patient, wx.world.patient(study_id).id)
        assert row is not None
        bind_account(uow, row, Channel.WECHAT, openid, openid)
    return wx.world.patient(study_id), openid


def templates_to(wx: Wx, openid: str) -> list[SentMessage]:
    return [s for s in wx.wechat.sent if s.method == "sendTemplateMessage" and s.touser == openid]


def values(sent: SentMessage) -> dict[str, str]:
    return {key: item["value"] for key, item in sent.body["data"].items()}


def receipts_got(wx: Wx) -> list[TemplateSendJobFinishEvent]:
    return [e for e in wx.receiver.got if isinstance(e, TemplateSendJobFinishEvent)]


async def receipts_for(wx: Wx, count: int) -> list[TemplateSendJobFinishEvent]:
    """The first ``count`` receipts the local server pushed, waiting for those still on their way."""
    while len(receipts_got(wx)) < count:
        more = await wx.wechat.pusher.wait(len(wx.wechat.pusher.records), timeout=5)
        assert more, f"only {len(receipts_got(wx))} of {count} receipts arrived"
    return receipts_got(wx)[:count]


async def apply_receipts(wx: Wx, count: int) -> list[TemplateSendJobFinishEvent]:
    """Hand the first ``count`` receipts to the handler, as the WeChat callback does."""
    got = await receipts_for(wx, count)
    for event in got:
        await wx.receipts.on_receipt(event)
    return got


async def first_pending(wx: Wx, study_id: str, language: str = "en") -> tuple[Patient, str, int]:
    """A WeChat patient and their first pending reminder, the clock at its due instant."""
    patient, openid = await wechat_patient(wx, study_id, language)
    assert patient.id is not None
    first = next(
        r
        for r in reminders(wx.world.services.engine, patient.id)
        if r.status == ReminderStatus.PENDING
    )
    assert first.id is not None
    wx.world.clock.set(first.due_at)
    return patient, openid, first.id


def alerts_since(wx: Wx, after: int) -> list[str]:
    return [m.shown for m in wx.world.api.messages_to(wx.coordinator) if m.message_id > after]


def last_alert_id(wx: Wx) -> int:
    sent = wx.world.api.messages_to(wx.coordinator)
    return sent[-1].message_id if sent else 0


def by_slot(wx: Wx, patient: Patient, slot: Slot, number: int) -> Reminder:
    with read_session(wx.world.services.engine) as session:
        for r in reminders(wx.world.services.engine, patient.id):
            event = session.get(PlannedEventRow, r.event_id)
            assert event is not None
            if r.slot == slot and event.number == number:
                return r
    raise AssertionError(f"no {slot} reminder for event {number}")


# --- each kind of reminder as its template message -----------------------------------------

# (slot, event number) -> (thing2, time3) in English and Chinese; character_string1 is the
# study ID and thing4 the note. Day 0 is Tue 1 Dec 2026: infusion 1 on 15 Dec at 09:00, renal
# assessment 2 on 29 Dec at 08:00 after urine collection 2 from 28 Dec 07:00, and that
# morning's dose an hour after the draw; the daily doses at 08:00 and 20:00 (a dose's
# event number is its study day).
EXPECTED: dict[str, dict[tuple[Slot, int], tuple[str, str]]] = {
    "en": {
        (Slot.INFUSION_EVENING_BEFORE, 1): ("Infusion 1", "2026年12月15日 09:00"),
        (Slot.INFUSION_MORNING, 1): ("Infusion 1", "2026年12月15日 09:00"),
        (Slot.URINE_INSTRUCTIONS, 2): ("Urine collection 2", "2026年12月28日 07:00"),
        (Slot.URINE_START, 2): ("Urine 2: start now", "2026年12月28日 07:00"),
        (Slot.URINE_END, 2): ("Urine 2: last void", "2026年12月29日 07:00"),
        (Slot.VISIT_EVENING_BEFORE, 2): ("Study visit", "2026年12月29日 08:00"),
        (Slot.DOSE_1, 1): ("Take your medicines", "2026年12月2日 08:00"),
        (Slot.DOSE_2, 1): ("Take your medicines", "2026年12月2日 20:00"),
        (Slot.DOSE_AFTER_DRAW, 28): ("Medicines after draw", "2026年12月29日 09:00"),
    },
    "zh_Hans": {
        (Slot.INFUSION_EVENING_BEFORE, 1): ("第 1 次输注", "2026年12月15日 09:00"),
        (Slot.INFUSION_MORNING, 1): ("第 1 次输注", "2026年12月15日 09:00"),
        (Slot.URINE_INSTRUCTIONS, 2): ("第 2 次 24 小时尿液收集", "2026年12月28日 07:00"),
        (Slot.URINE_START, 2): ("第 2 次尿液收集：现在开始", "2026年12月28日 07:00"),
        (Slot.URINE_END, 2): ("第 2 次尿液收集：最后一次", "2026年12月29日 07:00"),
        (Slot.VISIT_EVENING_BEFORE, 2): ("研究访视", "2026年12月29日 08:00"),
        (Slot.DOSE_1, 1): ("请按时服药", "2026年12月2日 08:00"),
        (Slot.DOSE_2, 1): ("请按时服药", "2026年12月2日 20:00"),
        (Slot.DOSE_AFTER_DRAW, 28): ("抽血后服药", "2026年12月29日 09:00"),
    },
}
NOTE = {"en": "Tap for details", "zh_Hans": "点击查看详情"}
REPEAT = {"en": "Repeat of a reminder", "zh_Hans": "此为重发的提醒"}


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
async def test_each_kind_of_reminder_is_its_template_message_in_the_patients_language(
    wx: Wx, language: str
) -> None:
    patient, openid = await wechat_patient(wx, "K01", language)
    await run_until(wx.engine, wx.world.clock, datetime(2026, 12, 29, 2, 0, tzinfo=UTC))

    sent = {s.msgid: s for s in templates_to(wx, openid)}
    assert len(sent) > 50
    kinds_seen: set[ReminderKind] = set()
    for (slot, number), (event, time) in EXPECTED[language].items():
        row = by_slot(wx, patient, slot, number)
        assert row.status == ReminderStatus.SENT
        assert row.message_id is not None and row.message_id > 2**53
        message = sent[row.message_id]
        kind = REMINDER_KINDS[slot]
        kinds_seen.add(kind)
        assert (
            message.body["template_id"]
            == wx.world.services.protocol.wechat.template(kind).template_id
        )
        assert values(message) == {
            "character_string1": "K01",
            "thing2": event,
            "time3": time,
            "thing4": NOTE[language],
        }
        # The link opens this reminder's page, for this patient only.
        url = message.body["url"]
        assert url.startswith(f"{PUBLIC}/r/")
        assert row.sent_at is not None
        granted = verify(KEY, url.removeprefix(f"{PUBLIC}/r/"), row.sent_at)
        assert (granted.patient_id, granted.reminder_id) == (patient.id, row.id)
        assert granted.expires_at == row.sent_at + timedelta(days=7)  # pages.link_days
    assert kinds_seen == set(ReminderKind)
    # Every value within its field type's limits, and every request as api.json wants it.
    for message in sent.values():
        check_template_data(values(message))
        assert "url" in message.body
    assert wx.wechat.violations == []
    # Nothing beyond the study ID, the event and its time: no drug, no diagnosis.
    shown = " ".join(" ".join(values(m).values()) for m in sent.values()).lower()
    for word in ("belimumab", "mycophenolate", "tacrolimus", "lupus", "nephritis", "贝利尤单抗"):
        assert word not in shown


def test_every_short_label_fits_a_thing_field_in_both_languages() -> None:
    from bot.views.reminder import DETAILS_NOTE, SHORT_EVENTS, SHORT_REPEAT_NOTE

    for language in ("en", "zh_Hans"):
        t = Translator(language, UTC)
        for slot, label in SHORT_EVENTS.items():
            for number in (1, 7, 99):
                check_template_data({"thing2": t._(label, number=number)})
            assert slot in REMINDER_KINDS
        check_template_data({"thing4": t._(DETAILS_NOTE), "thing5": t._(SHORT_REPEAT_NOTE)})


# --- each class of WeChat's errors through the engine ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "errcode"),
    [
        pytest.param("errcode", -1, id="-1 system busy"),
        pytest.param("errcode", 45009, id="45009 quota"),
        pytest.param("http_500", -1, id="5xx"),
        pytest.param("drop", -1, id="connection dropped"),
    ],
)
async def test_nothing_delivered_is_retried_after_the_backoff(
    wx: Wx, kind: str, errcode: int
) -> None:
    _, openid, rid = await first_pending(wx, "F01")
    wx.wechat.inject_fault("sendTemplateMessage", kind, errcode=errcode)
    report = await wx.engine.run_due()
    assert report.retrying == [rid]
    row = reminder(wx.world.services.engine, rid)
    assert row.status == ReminderStatus.PENDING
    assert row.next_attempt_at == wx.world.clock.now() + timedelta(seconds=2)
    assert templates_to(wx, openid) == []

    wx.world.clock.advance(timedelta(seconds=2))
    await wx.engine.run_due()
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.attempts, row.is_repeat) == (ReminderStatus.SENT, 2, False)
    (message,) = templates_to(wx, openid)
    assert row.message_id == message.msgid


async def test_a_read_timeout_after_the_send_gets_exactly_one_marked_repeat(
    wx: Wx, server_clock: FakeClock
) -> None:
    _, openid, rid = await first_pending(wx, "T01")
    timeout = aiohttp.ClientTimeout(total=None, connect=2.0, sock_read=0.3)
    async with WechatApi(
        DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=wx.wechat.url, timeout=timeout
    ) as impatient:
        router = Router(wx.world.services, {Channel.WECHAT: _transport(wx.world, impatient)})
        engine = _engine(wx.world, router)
        wx.wechat.inject_fault("sendTemplateMessage", "slow", delay=1.0)
        report = await engine.run_due()
    assert report.repeats_scheduled == [rid]
    assert report.sent == [rid]
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.is_repeat) == (ReminderStatus.SENT, True)
    # WeChat took both: the first (whose answer never came) and one repeat that says so.
    first, repeat = templates_to(wx, openid)
    assert values(first)["thing4"] == "Tap for details"
    assert values(repeat)["thing4"] == "Repeat of a reminder"
    assert {k: v for k, v in values(first).items() if k != "thing4"} == {
        k: v for k, v in values(repeat).items() if k != "thing4"
    }
    assert row.message_id == repeat.msgid


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "Patient U01 has unfollowed or blocked the study's WeChat account, so reminders "
            "cannot reach them and are stopped, but for one a day to notice when they are back. "
            "Please contact the patient another way.",
        ),
        (
            "zh-hans",
            "受试者 U01 已取消关注或屏蔽本研究的微信公众号，提醒无法送达，已停止发送，"
            "但每天仍试发一条，以便发现其恢复接收。请通过其他方式联系该受试者。",
        ),
    ],
)
async def test_a_patient_who_unfollowed_is_unreachable_and_coordinators_are_told_once(
    wx: Wx, language: str, expected: str
) -> None:
    wx.coordinator = await wx.world.join_staff(InviteRole.COORDINATOR, language)
    patient, openid, rid = await first_pending(wx, "U01")
    before = last_alert_id(wx)
    await wx.wechat.patients.unfollow(openid)  # WeChat answers 43004 from now on
    await wx.engine.run_due()
    row = reminder(wx.world.services.engine, rid)
    assert row.status == ReminderStatus.FAILED
    assert (await wx.world.reply(wx.coordinator)).shown == expected
    # Two more days: one reminder a day is tried (WeChat refuses it again), the rest are
    # skipped, and no second alert.
    await run_until(wx.engine, wx.world.clock, wx.world.clock.now() + timedelta(days=2))
    assert templates_to(wx, openid) == []
    failed_at = reminder(wx.world.services.engine, rid).due_at
    later = [
        r
        for r in reminders(wx.world.services.engine, patient.id)
        if failed_at < r.due_at <= wx.world.clock.now()
    ]
    assert later and {r.status for r in later} == {ReminderStatus.SKIPPED, ReminderStatus.FAILED}
    zone = ZoneInfo(patient.timezone)
    tried = [r.due_at.astimezone(zone).date() for r in later if r.status == ReminderStatus.FAILED]
    assert failed_at.astimezone(zone).date() not in tried
    assert len(tried) == len(set(tried)) == 2
    assert len(alerts_since(wx, before)) == 1
    with read_session(wx.world.services.engine) as session:
        stored = session.get(Patient, patient.id)
        assert stored is not None and stored.unreachable_since is not None


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_a_value_the_template_refuses_fails_the_reminder_and_the_alert_names_the_field(
    wx: Wx, language: str
) -> None:
    wx.coordinator = await wx.world.join_staff(InviteRole.COORDINATOR, language)
    _, openid, rid = await first_pending(wx, "R01")
    # The site's template in WeChat's console has a thing5 where the file says thing4:
    # WeChat names the field it misses.
    kind = REMINDER_KINDS[reminder(wx.world.services.engine, rid).slot]
    template_id = wx.world.services.protocol.wechat.template(kind).template_id
    wx.wechat.register_template(template_id, ["character_string1", "thing2", "time3", "thing5"])
    await wx.engine.run_due()
    row = reminder(wx.world.services.engine, rid)
    assert row.status == ReminderStatus.FAILED
    reason = "errcode 47003: argument invalid! data.thing5.value invalid"
    assert row.last_error == reason
    alert = (await wx.world.reply(wx.coordinator)).shown
    if language == "en":
        assert alert == (
            f"WeChat refused reminder {rid} to patient R01 ({reason}). It was not sent and "
            "is marked failed."
        )
    else:
        assert (
            alert == f"发给受试者 R01 的提醒 {rid} 被拒绝（微信：{reason}），未发送，已标记为失败。"
        )
    assert templates_to(wx, openid) == []


async def test_a_template_the_account_does_not_have_fails_the_reminder_naming_template_id(
    wx: Wx,
) -> None:
    _, _, rid = await first_pending(wx, "R02")
    kind = REMINDER_KINDS[reminder(wx.world.services.engine, rid).slot]
    del wx.wechat.world.templates[wx.world.services.protocol.wechat.template(kind).template_id]
    await wx.engine.run_due()
    row = reminder(wx.world.services.engine, rid)
    assert row.status == ReminderStatus.FAILED
    assert row.last_error == "errcode 40037: invalid template_id"
    alert = (await wx.world.reply(wx.coordinator)).shown
    t = Translator("en", wx.world.services.zone)
    assert alert == t._(
        REJECTED, channel="WeChat", reminder_id=rid, study_id="R02", reason=row.last_error
    )


# --- the access token ----------------------------------------------------------------------


class ExpireTokenAfter:
    """The engine's sender, expiring WeChat's token on WeChat's side after ``after`` sends."""

    def __init__(self, router: Router, after: int, expire: Callable[[], None]) -> None:
        self.router, self.after, self.expire = router, after, expire
        self.sends = 0

    async def send(self, reminder_id: int, *, repeat: bool) -> int:
        message_id = await self.router.send(reminder_id, repeat=repeat)
        self.sends += 1
        if self.sends == self.after:
            self.expire()
        return message_id

    def confirmed_by_receipt(self, reminder_id: int) -> bool:
        return self.router.confirmed_by_receipt(reminder_id)


async def test_the_token_expiring_mid_burst_is_refreshed_once_and_nothing_is_lost_or_doubled(
    wx: Wx, server_clock: FakeClock
) -> None:
    patients = [await wechat_patient(wx, f"B{n:02}") for n in range(1, 6)]
    # 1 Dec, 07:00: each patient's urine collection ends, and the visit reminder of the
    # evening before (for 08:00) has not gone yet: ten reminders due at once.
    sender = ExpireTokenAfter(wx.router, 3, lambda: server_clock.advance(7200))
    engine = _engine(wx.world, wx.router, sender)
    wx.world.clock.set(SHANGHAI_0700_DEC_1)
    report = await engine.run_due()

    due = [
        r
        for p, _ in patients
        for r in reminders(wx.world.services.engine, p.id)
        if r.due_at <= SHANGHAI_0700_DEC_1 and r.status != ReminderStatus.MISSED
    ]
    assert len(due) == 10
    assert len(report.sent) == len(due)
    assert set(report.sent) == {r.id for r in due}
    assert {r.status for r in due} == {ReminderStatus.SENT}
    sent = [s for s in wx.wechat.sent if s.method == "sendTemplateMessage"]
    assert len(sent) == len(due)  # none doubled
    assert {s.msgid for s in sent} == {r.message_id for r in due}
    calls = [(r.method, r.errcode) for r in wx.wechat.requests]
    assert calls.count(("getStableAccessToken", 0)) == 2
    assert ("sendTemplateMessage", 42001) in calls
    assert calls.count(("sendTemplateMessage", 0)) == len(due)
    assert wx.wechat.violations == []


# --- delivery receipts ---------------------------------------------------------------------


async def test_a_success_receipt_makes_the_reminder_delivered_its_msgid_kept_exactly(
    wx: Wx,
) -> None:
    _, openid, rid = await first_pending(wx, "D01")
    await wx.engine.run_due()
    (message,) = templates_to(wx, openid)
    assert message.msgid is not None and message.msgid >= FIRST_MSGID > 2**53
    row = reminder(wx.world.services.engine, rid)
    # Stored and read back as the exact integer: a float would have lost the last digits.
    assert row.message_id == message.msgid
    assert isinstance(row.message_id, int) and float(row.message_id) != row.message_id
    assert row.status == ReminderStatus.SENT

    (receipt,) = await apply_receipts(wx, 1)
    assert (receipt.msg_id, receipt.raw_status) == (message.msgid, "success")
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.delivered_at) == (ReminderStatus.DELIVERED, wx.world.clock.now())
    # WeChat pushes a receipt again when it hears nothing back: nothing changes.
    await wx.receipts.on_receipt(receipt)
    assert reminder(wx.world.services.engine, rid).status == ReminderStatus.DELIVERED


async def test_a_user_block_receipt_makes_the_patient_unreachable_and_tells_coordinators_once(
    wx: Wx,
) -> None:
    patient, openid, rid = await first_pending(wx, "X01")
    wx.wechat.patients.block(openid)  # WeChat still takes the message, then cannot deliver it
    before = last_alert_id(wx)
    await wx.engine.run_due()
    assert reminder(wx.world.services.engine, rid).status == ReminderStatus.SENT
    (receipt,) = await apply_receipts(wx, 1)
    assert receipt.raw_status == "failed:user block"
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.last_error) == (
        ReminderStatus.FAILED,
        "not delivered: failed:user block",
    )
    assert (await wx.world.reply(wx.coordinator)).shown == (
        "Patient X01 has unfollowed or blocked the study's WeChat account, so reminders "
        "cannot reach them and are stopped, but for one a day to notice when they are back. "
        "Please contact the patient another way."
    )
    await wx.receipts.on_receipt(receipt)  # pushed again: no second alert
    zone = ZoneInfo(patient.timezone)
    next_day = datetime.combine(
        wx.world.clock.now().astimezone(zone).date() + timedelta(days=1), clock_time(0), tzinfo=zone
    )
    await run_until(wx.engine, wx.world.clock, next_day + timedelta(days=1))
    # The next day one reminder is tried; WeChat takes it, but only its receipt can say it
    # arrived: they stay unreachable, and its "user block" receipt tells no one twice.
    assert len(templates_to(wx, openid)) == 2
    (_, trial) = await apply_receipts(wx, 2)
    assert trial.raw_status == "failed:user block"
    assert len(alerts_since(wx, before)) == 1
    with read_session(wx.world.services.engine) as session:
        stored = session.get(Patient, patient.id)
        assert stored is not None and stored.unreachable_since is not None
    # They accept the account's messages again: the next day's trial arrives, its receipt
    # makes them reachable, and coordinators are told.
    wx.wechat.patients.block(openid, blocked=False)
    await run_until(wx.engine, wx.world.clock, next_day + timedelta(days=1, hours=12))
    sent = len(templates_to(wx, openid))
    assert sent == 3
    (*_, back) = await apply_receipts(wx, 3)
    assert back.raw_status == "success"
    assert alerts_since(wx, before)[1:] == [
        "Patient X01 can be reached on WeChat again: today's reminder was delivered, so their "
        "reminders go out as usual from now on."
    ]
    with read_session(wx.world.services.engine) as session:
        stored = session.get(Patient, patient.id)
        assert stored is not None and stored.unreachable_since is None
    await run_until(wx.engine, wx.world.clock, next_day + timedelta(days=2))
    assert len(templates_to(wx, openid)) > sent  # the rest of the day goes as usual


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
async def test_a_system_failed_receipt_gets_one_marked_repeat_and_no_more(
    wx: Wx, language: str
) -> None:
    _, openid, rid = await first_pending(wx, "S01", language)
    wx.wechat.patients.receipt_failure_rate = 1.0  # every receipt: "failed: system failed"
    await wx.engine.run_due()
    (receipt,) = await apply_receipts(wx, 1)
    assert receipt.raw_status == "failed: system failed"
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.last_error) == (
        ReminderStatus.UNCERTAIN,
        "not delivered: failed: system failed",
    )
    # The engine's uncertain policy at its next refill: one repeat, marked as one.
    assert await wx.engine.recover(at_start=False) == [rid]
    report = await wx.engine.run_due()
    assert report.sent == [rid]
    first, repeat = templates_to(wx, openid)
    assert values(first)["thing4"] == NOTE[language]
    assert values(repeat)["thing4"] == REPEAT[language]
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.is_repeat, row.message_id) == (
        ReminderStatus.SENT,
        True,
        repeat.msgid,
    )
    # The repeat fails too: it stays uncertain and is never repeated again.
    await apply_receipts(wx, 2)
    assert reminder(wx.world.services.engine, rid).status == ReminderStatus.UNCERTAIN
    assert await wx.engine.recover(at_start=False) == []
    await wx.engine.run_due()
    assert len(templates_to(wx, openid)) == 2


async def test_any_other_failure_receipt_is_treated_as_a_system_failure(wx: Wx) -> None:
    _, openid, rid = await first_pending(wx, "O01")
    await wx.engine.run_due()
    (message,) = templates_to(wx, openid)
    # A status the documentation does not list ("failed:freq limit" has been reported).
    event = parse_push(
        f"<xml><ToUserName><![CDATA[{wx.wechat.world.account}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1764900000</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
        f"<MsgID>{message.msgid}</MsgID><Status><![CDATA[failed:freq limit]]></Status></xml>"
    )
    assert isinstance(event, TemplateSendJobFinishEvent)
    await wx.receipts.on_receipt(event)
    row = reminder(wx.world.services.engine, rid)
    assert (row.status, row.last_error) == (
        ReminderStatus.UNCERTAIN,
        "not delivered: failed:freq limit",
    )


async def test_a_receipt_that_overtakes_the_record_of_its_send_is_applied_once_it_is_there(
    wx: Wx,
) -> None:
    patient, openid, rid = await first_pending(wx, "Q01")
    db = wx.world.services.engine
    with UnitOfWork(db, "system", wx.world.clock.now()) as uow:
        (claimed,) = [
            r
            for r in claim_due_reminders(uow, limit=10, worker="w", now=wx.world.clock.now())
            if r.id == rid
        ]
    msgid = FIRST_MSGID + 77
    event = TemplateSendJobFinishEvent(
        wx.wechat.world.account, openid, 1764900000, msgid, DeliveryStatus.SUCCESS, "success"
    )
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        # The scheduler records the send while the handler waits.
        waited.append(seconds)
        if len(waited) == 2:
            with UnitOfWork(db, "system", wx.world.clock.now()) as uow:
                row = uow.session.get(Reminder, rid)
                assert row is not None
                mark_reminder_sent(uow, row, message_id=msgid)

    handler = ReceiptHandler(wx.world.services, look_again_after=(0.1, 0.2, 0.4), sleep=sleep)
    await handler.on_receipt(event)
    assert waited == [0.1, 0.2]
    assert reminder(db, rid).status == ReminderStatus.DELIVERED
    assert claimed.patient_id == patient.id


async def test_a_receipt_for_a_message_no_reminder_went_out_as_changes_nothing(
    wx: Wx, caplog: pytest.LogCaptureFixture
) -> None:
    _, openid, rid = await first_pending(wx, "N01")
    event = TemplateSendJobFinishEvent(
        wx.wechat.world.account, openid, 1764900000, 12345, DeliveryStatus.SUCCESS, "success"
    )
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    handler = ReceiptHandler(wx.world.services, look_again_after=(0.1, 0.2), sleep=sleep)
    await handler.on_receipt(event)
    assert waited == [0.1, 0.2]
    assert reminder(wx.world.services.engine, rid).status == ReminderStatus.PENDING
    assert "receipt for message 12345: no reminder went out as it" in caplog.text


# --- /status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Reminders: 3 sent, 2 of them delivered, 0 confirmed, 2 missed, 0 failed"),
        ("zh-hans", "提醒：已发送 3（其中已送达 2），已回复 0，错过 2，发送失败 0"),
    ],
)
async def test_status_shows_a_wechat_patients_reminders_sent_and_delivered(
    wx: Wx, language: str, expected: str
) -> None:
    _, openid = await wechat_patient(wx, "P05")
    # Enrolled on 30 Nov at 09:00: the collection's instructions and start were already past
    # (missed). By 1 Dec 09:00: the visit reminder, the collection's end, the dose after the
    # draw are sent; WeChat reports the first two delivered.
    await run_until(wx.engine, wx.world.clock, SHANGHAI_0900_DEC_1)
    assert len(templates_to(wx, openid)) == 3
    await apply_receipts(wx, 2)
    user = await wx.world.join_staff(InviteRole.COORDINATOR, language)
    shown = (await wx.world.say(user, "/status P05")).shown
    lines = [line.strip() for line in shown.splitlines()]
    assert expected in lines


# --- other messages to a WeChat patient --------------------------------------------------


async def test_other_messages_are_customer_service_texts_sent_only_inside_the_window(
    wx: Wx,
) -> None:
    patient, openid = await wechat_patient(wx, "C01")
    router = wx.world.services.router
    assert router is not None
    router.transports[Channel.WECHAT] = wx.transport
    # Following opened a one-minute window: the nudge goes, as text; its choices are on the
    # reminder's page, not on the message.
    options = [[("Started", "rem:1:started")]]
    assert await router.to_patient(patient, "Has your collection started?", options) is True
    (message,) = [s for s in wx.wechat.sent if s.touser == openid]
    assert message.method == "sendCustomMessage"
    assert message.body == {
        "touser": openid,
        "msgtype": "text",
        "text": {"content": "Has your collection started?"},
    }
    # Two minutes later the window has closed: WeChat would refuse it (45015), so it is
    # not sent, and no one is alerted.
    wx.wechat.world.advance(120)
    before = last_alert_id(wx)
    assert await router.to_patient(patient, "Has your collection started?") is False
    assert len([s for s in wx.wechat.sent if s.touser == openid]) == 1
    assert alerts_since(wx, before) == []
    with pytest.raises(Undeliverable, match="files are not sent"):
        await wx.transport.deliver(openid, Attachment(b"x", "plan.ics", "Your plan"))
