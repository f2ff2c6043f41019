"""Staff on WeCom, end to end: the bot's callback and API client against the local WeCom server
over HTTP, the coordinator who invites on Telegram (the local Bot API server).

Joining with a code, the language menu as a card, a stranger told how to join, every staff
command typed with or without its slash, the Confirm card storing exactly once and greyed
out with the outcome, a repeated click, the serious-event alert reaching a coordinator on
WeCom, a plot as an image and the export as files (uploaded first), and a member removed
from the application.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.channels.wechat.outcomes import Outcome
from bot.channels.wecom.outcomes import WecomApiError
from bot.channels.wecom.pacing import MemberPacer
from bot.i18n import Translator
from bot.runner import web_routes
from bot.settings import SettingError
from bot.web.server import WebServer
from core.store.models import (
    AdverseEvent,
    Channel,
    DoseAdministration,
    InviteRole,
    Staff,
    StaffRole,
)
from local_servers.wecom import LocalWecom
from scheduler.clock import FakeMonotonic
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, rows
from tests.support.db_state import AUDIT_TABLES, changed_tables, snapshot
from tests.support.wechat_world import free_port
from tests.support.wecom_world import (
    WecomWorld,
    card_keys,
    open_wecom_world,
    shown,
    wecom_settings,
)

pytestmark = [pytest.mark.e2e]

AE_ZH = "ae P01 肺部感染 G3 serious=住院 onset=2026-12-20"
# Pushes are stored before they are answered: that is the channel's own bookkeeping.
BOOKKEEPING = AUDIT_TABLES | {"wechat_push"}


async def test_a_member_joins_with_the_code_a_coordinator_made_on_telegram(
    wc: WecomWorld,
) -> None:
    world = wc.tg
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    heading = await world.say(coordinator, "/invite nurse wecom")
    assert heading.shown.startswith("One-time code for a nurse to join on WeCom, valid until")
    code = (await world.reply(coordinator)).shown
    assert code not in repr(rows(world, Staff))

    nurse = wc.member("li.na")
    (welcome,) = await wc.write(nurse, code)
    # No language known yet: the site's default, Chinese.
    assert shown(welcome).startswith("欢迎以护士身份加入研究团队。")
    staff = wc.staff(nurse)
    assert staff is not None and staff.role.value == "nurse"
    assert staff.preferred_channel == Channel.WECOM

    # The same code does not work twice.
    other = wc.member("wang.wu")
    (used,) = await wc.write(other, code)
    assert "已被使用" in shown(used)
    assert wc.staff(other) is None

    # /lang: the two languages as a card's buttons; the click greys them out.
    (card,) = await wc.write(nurse, "lang")
    assert card.body["msgtype"] == "template_card"
    assert "[中文]" in shown(card) and "[English]" in shown(card)
    answer = await wc.click(nurse, card, "en")
    assert [shown(m) for m in answer] == ["Language set: English."]
    task = wc.wecom.cards[card.body["template_card"]["task_id"]]
    assert task.greyed(nurse.lower()) == "Language set: English."


async def test_a_stranger_learns_how_to_join_and_staff_commands_store_nothing(
    wc: WecomWorld,
) -> None:
    world = wc.tg
    world.enroll("P01")
    stranger = wc.member("visitor")
    before = snapshot(world.services.engine, skip=BOOKKEEPING)
    answers = await wc.write(stranger, "/status")
    answers += await wc.write(stranger, AE_ZH)
    assert changed_tables(before, snapshot(world.services.engine, skip=BOOKKEEPING)) == {}
    assert answers and all("研究" in shown(m) for m in answers)
    assert not any(card_keys(m) for m in answers)


@pytest.mark.parametrize("typed", [AE_ZH, "/" + AE_ZH], ids=["no-slash", "slash"])
async def test_a_confirm_card_stores_once_and_alerts_a_coordinator_on_wecom(
    wc: WecomWorld, typed: str
) -> None:
    world = wc.tg
    world.enroll("P01")
    coordinator = await wc.join(InviteRole.COORDINATOR, "chen.coord")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    world.clock.set(NOW)

    preview = await wc.write(nurse, typed)
    card = preview[-1]
    assert card.body["msgtype"] == "template_card"
    assert "P01 的不良事件：" in "\n".join(shown(m) for m in preview)
    assert rows(world, AdverseEvent) == []

    world.clock.advance(timedelta(minutes=3))
    before = len(wc.sent(coordinator))
    # WeCom delivers the click twice (a retry after the bot took it): one decision.
    wc.wecom.pusher.add_fault("duplicate")
    done = await wc.click(nurse, card, ":ok")
    assert [shown(m).splitlines()[0] for m in done] == [
        "已为 P01 记录不良事件 AE1。",
        "AE1 为严重不良事件。已通知协调员：1 位。请在 2026年12月22日周二 10:03 前报告（剩余 24 小时）。",
    ]
    (event,) = rows(world, AdverseEvent)
    assert event.serious and event.grade == 3
    task = wc.wecom.cards[card.body["template_card"]["task_id"]]
    assert task.greyed(nurse) == "已为 P01 记录不良事件 AE1。"

    # The coordinator on WeCom got the serious-event alert with its 24-hour clock.
    (alert,) = wc.sent(coordinator)[before:]
    assert shown(alert).startswith("严重不良事件 AE1，受试者 P01：肺部感染，3 级。")
    assert len(rows(world, AdverseEvent)) == 1


async def test_cancel_greys_the_card_out_and_stores_nothing(wc: WecomWorld) -> None:
    world = wc.tg
    world.enroll("P01")
    await wc.join(InviteRole.COORDINATOR, "chen.coord")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    world.clock.set(NOW)
    card = (await wc.write(nurse, AE_ZH))[-1]
    answer = await wc.click(nurse, card, ":no")
    assert [shown(m) for m in answer] == ["已取消，未保存任何内容。"]
    task = wc.wecom.cards[card.body["template_card"]["task_id"]]
    assert task.greyed(nurse) == "已取消，未保存任何内容。"
    assert rows(world, AdverseEvent) == []


async def test_a_plot_arrives_as_an_image_and_the_export_as_files(wc: WecomWorld) -> None:
    world = wc.tg
    world.enroll("P01")
    coordinator = await wc.join(InviteRole.COORDINATOR, "chen.coord")
    plot = await wc.write(coordinator, "plot proteinuria")
    assert [m.body["msgtype"] for m in plot] == ["text", "image"]
    media = wc.wecom.world.media[plot[1].body["image"]["media_id"]]
    assert media.data.startswith(b"\x89PNG")
    export = await wc.write(coordinator, "export")
    files = [
        wc.wecom.world.media[m.body["file"]["media_id"]]
        for m in export
        if m.body["msgtype"] == "file"
    ]
    assert sorted(f.filename.rsplit(".", 1)[-1] for f in files) == ["xlsx", "zip"]


async def test_a_member_removed_from_the_app_is_not_reached_and_the_others_are(
    wc: WecomWorld,
) -> None:
    world = wc.tg
    world.enroll("P01")
    removed = await wc.join(InviteRole.COORDINATOR, "chen.coord")
    on_telegram = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    await wc.act(removed, wc.wecom.staff.unsubscribe(removed))
    before = len(wc.wecom.requests)
    world.clock.set(NOW)
    card = (await wc.write(nurse, AE_ZH))[-1]
    await wc.click(nurse, card, ":ok")
    alert = await world.reply(on_telegram)
    assert alert.shown.startswith("严重不良事件 AE1")
    # The alert to the removed member was tried and refused (none of its users can be
    # reached), which stopped no one else.
    tried = [
        r
        for r in wc.wecom.requests[before:]
        if r.body is not None and r.body.get("touser") == removed
    ]
    assert [r.errcode for r in tried] == [81013]


async def test_an_alert_burst_to_a_member_is_paced_within_wecoms_limits_and_none_dropped(
    world: World,
) -> None:
    """WeCom drops what goes beyond 30 messages a minute to one member without saying so:
    the bot waits instead. Time is the local server's clock, moved by the pacer's waits."""
    # Virtual time that moves only once every other task has had its turn, as real time would.
    clock = FakeMonotonic(time.time())
    pacer = MemberPacer(clock=clock, sleep=clock.sleep)
    async for wc in open_wecom_world(world, pacer=pacer, clock=clock):
        coordinator = await wc.join(InviteRole.COORDINATOR, "chen.coord")
        start = clock()
        router = world.services.router
        assert router is not None

        def alert(n: int) -> Callable[[Translator], str]:
            return lambda t: f"Alert {n}"

        burst = [router.alert_staff(alert(n), roles=[StaffRole.COORDINATOR]) for n in range(45)]
        assert await asyncio.gather(*burst) == [1] * 45
        alerts = [
            m for m in wc.wecom.sent if m.touser == coordinator and shown(m).startswith("Alert")
        ]
        assert sorted(shown(m) for m in alerts) == sorted(f"Alert {n}" for n in range(45))
        assert all(m.delivered == [coordinator] for m in alerts)  # none dropped
        assert not any(m.dropped for m in wc.wecom.sent)
        times = sorted(m.sent_at for m in wc.sent(coordinator))
        assert all(b - a >= 60 for a, b in zip(times, times[30:], strict=False))
        assert clock() - start >= 60


async def test_the_console_check_passes_and_forged_pushes_store_nothing(wc: WecomWorld) -> None:
    world = wc.tg
    check = await wc.wecom.pusher.verify_url()
    assert check.ok, check
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    before = snapshot(world.services.engine, skip=AUDIT_TABLES)
    for fault in ("bad_signature", "wrong_receiveid"):
        wc.wecom.pusher.add_fault(fault)
        push = await wc.wecom.staff.text(nurse, "/status")
        assert not push.acked and {a.status for a in push.attempts} == {403}
    await wc.settled()
    assert changed_tables(before, snapshot(world.services.engine, skip=AUDIT_TABLES)) == {}


async def test_a_token_wecom_invalidated_is_replaced_once_and_the_message_still_goes(
    wc: WecomWorld,
) -> None:
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    before = len(wc.wecom.requests)
    wc.wecom.world.invalidate_tokens()
    (card,) = await wc.write(nurse, "/lang")
    assert "[English]" in shown(card)
    calls = [(r.method, r.errcode) for r in wc.wecom.requests[before:]]
    assert calls == [("sendTemplateCard", 40014), ("getToken", 0), ("sendTemplateCard", 0)]


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [
        (-1, Outcome.RETRY_LATER),
        (45009, Outcome.RETRY_LATER),
        (81013, Outcome.UNREACHABLE),
        (60111, Outcome.UNREACHABLE),
        (40001, Outcome.MISCONFIGURED),
        (60020, Outcome.MISCONFIGURED),
        (60140, Outcome.REJECTED),
        (40058, Outcome.REJECTED),
    ],
)
async def test_each_error_class_of_wecom_becomes_the_senders_outcome(
    wc: WecomWorld, errcode: int, outcome: Outcome
) -> None:
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    wc.wecom.inject_fault("sendText", "errcode", errcode=errcode)
    with pytest.raises(WecomApiError) as refused:
        await wc.channel.api.send_text(nurse, "hello")
    assert (refused.value.errcode, refused.value.outcome) == (errcode, outcome)


async def test_a_patients_invitation_sent_to_the_staff_app_joins_no_one(wc: WecomWorld) -> None:
    world = wc.tg
    patient = world.enroll("P01")
    token = world.invite(InviteRole.PATIENT, patient)
    member = wc.member("li.na")
    before = snapshot(world.services.engine, skip=BOOKKEEPING)
    (answer,) = await wc.write(member, token)
    assert shown(answer) == (
        "这是研究团队的应用。此邀请属于受试者：请交还给受试者，由其在 Telegram 中或在微信中扫描二维码加入。"
    )
    assert changed_tables(before, snapshot(world.services.engine, skip=BOOKKEEPING)) == {}


async def test_a_stale_card_stores_nothing_and_says_why_on_its_buttons(wc: WecomWorld) -> None:
    world = wc.tg
    world.enroll("P01")
    await wc.join(InviteRole.COORDINATOR, "chen.coord")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    world.clock.set(NOW)
    first = (await wc.write(nurse, AE_ZH))[-1]
    second = (await wc.write(nurse, AE_ZH))[-1]
    # Confirmed on the second card; the first, still clickable, is then a stale one.
    await wc.click(nurse, second, ":ok")
    world.clock.advance(timedelta(hours=3))  # past a preview's two hours
    before = snapshot(world.services.engine, skip=BOOKKEEPING)
    answer = await wc.click(nurse, first, ":ok")
    assert answer == []  # the card itself says it, nothing else is sent
    task = wc.wecom.cards[first.body["template_card"]["task_id"]]
    assert task.greyed(nurse) == "此按钮已过期。"
    assert changed_tables(before, snapshot(world.services.engine, skip=BOOKKEEPING)) == {
        "pending_action": (2, 2)
    }
    assert len(rows(world, AdverseEvent)) == 1


async def test_one_coordinator_uses_telegram_and_wecom_as_one_member(wc: WecomWorld) -> None:
    world = wc.tg
    world.enroll("P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    heading = await world.say(coordinator, "/link wecom")
    assert heading.shown.startswith(
        "One-time code to use the bot on WeCom as yourself, valid until"
    )
    code = (await world.reply(coordinator)).shown
    userid = wc.member("chen.coord")
    (linked,) = await wc.write(userid, code)
    assert shown(linked) == (
        "此账号已关联到您在研究团队中的协调员身份：您也可以在这里使用本机器人，今后您的提醒将发送到这里。"
    )
    members = rows(world, Staff)
    assert len(members) == 2  # the coordinator is one member, not two
    member = wc.staff(userid)
    assert member is not None and member.role.value == "coordinator"
    assert member.preferred_channel == Channel.WECOM
    assert world.telegram_user_of(member) == coordinator
    # The coordinator's language stays theirs on the new channel.
    status = await wc.write(userid, "status")
    assert shown(status[0]).startswith("Trial status on")

    # A serious adverse event: the alert reaches the coordinator on WeCom, not twice.
    world.clock.set(NOW)
    card = (await wc.write(nurse, AE_ZH))[-1]
    before = len(world.api.messages_to(coordinator))
    await wc.click(nurse, card, ":ok")
    alerts = [m for m in wc.sent(userid) if shown(m).startswith("SERIOUS ADVERSE EVENT AE1")]
    assert len(alerts) == 1
    assert world.api.messages_to(coordinator)[before:] == []

    # Linking again says so and makes no code.
    again = await world.say(coordinator, "/link wecom")
    assert again.shown.startswith("You already use the bot on WeCom.")


async def test_wrong_credentials_stop_the_start_naming_what_to_check(world: World) -> None:
    wecom = LocalWecom()
    await wecom.start()
    try:
        port = free_port()
        settings = wecom_settings(wecom.url, port).model_copy(
            update={"wecom_secret": SecretStr("not-the-apps-secret")}
        )
        server = WebServer(web_routes(world.services, settings), "127.0.0.1", port)
        with pytest.raises(SettingError, match="WECOM_CORP_ID, WECOM_SECRET"):
            await server.start()
        # WeCom out of reach: the bot starts all the same.
        unreachable = wecom_settings(f"http://127.0.0.1:{free_port()}", free_port())
        server = WebServer(
            web_routes(world.services, unreachable), "127.0.0.1", unreachable.web_port
        )
        await server.start()
        await server.stop()
    finally:
        await wecom.stop()


BELIMUMAB_ON_WECOM = {
    "en": {
        "first": "Preparation:",
        "preview": "Belimumab for P01: Belimumab infusion 1, week 2, booked for Tue, Dec 15, 2026.",
        "dose": "Dose: 620 mg = 10 mg/kg × 62 kg (latest weight).",
        "stored": "Recorded: belimumab 620 mg for P01.",
    },
    "zh": {
        # Chinese is shorter: the whole plan fits one message, preparation included.
        "first": "P01 的贝利尤单抗：",
        "preview": "P01 的贝利尤单抗：贝利尤单抗输注 1，第 2 周，预约于 2026年12月15日周二。",
        "dose": "剂量：620 mg = 10 mg/kg × 62 kg（最近体重）。",
        "stored": "已记录：P01 的贝利尤单抗 620 mg。",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_belimumab_dose_is_recorded_on_wecom_with_the_preparation_first(
    wc: WecomWorld, lang: str
) -> None:
    """In English the whole plan does not fit one WeCom message (600 characters), and a
    preview with Confirm cannot be split: the label's preparation facts come first on their
    own, then the preview with the dose, vials and volume, whose Confirm records the dose."""
    world = wc.tg
    world.enroll("P01")  # day 0 on 1 Dec: infusion 1 on 15 Dec
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    if lang == "en":
        await wc.write(nurse, "lang")
        card = wc.sent(nurse)[-1]
        await wc.click(nurse, card, "en")
    world.clock.set(NOW)
    texts = BELIMUMAB_ON_WECOM[lang]
    answer = await wc.write(nurse, "/dose P01 belimumab date=2026-12-15")
    shown_all = [shown(m) for m in answer]
    assert shown_all[0].startswith(texts["first"]), shown_all
    assert all(len(s) <= 600 for s in shown_all)
    preview = "\n".join(shown_all)
    assert texts["preview"] in preview
    assert texts["dose"] in preview
    card = answer[-1]
    assert card.body["msgtype"] == "template_card"
    assert rows(world, DoseAdministration) == []
    done = await wc.click(nurse, card, ":ok")
    assert texts["stored"] in "\n".join(shown(m) for m in done)
    (dose,) = rows(world, DoseAdministration)
    assert dose.drug == "belimumab" and dose.event_id is not None


async def test_a_new_weight_on_wecom_shows_the_preparation_first_then_its_confirm(
    wc: WecomWorld,
) -> None:
    world = wc.tg
    world.enroll("P01")
    nurse = await wc.join(InviteRole.NURSE, "li.na")
    await wc.write(nurse, "lang")
    await wc.click(nurse, wc.sent(nurse)[-1], "en")
    world.clock.set(NOW)
    answer = await wc.write(nurse, "/weight P01 61.5kg")
    texts = [shown(m) for m in answer]
    assert texts[0].startswith("Preparation:")
    assert "New weight for P01: 61.5 kg (was 62 kg)." in "\n".join(texts[1:])
    assert answer[-1].body["msgtype"] == "template_card"
    done = await wc.click(nurse, answer[-1], ":ok")
    assert "The weight of P01 is now 61.5 kg." in "\n".join(shown(m) for m in done)
