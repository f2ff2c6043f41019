"""Escalations and the daily digest, end to end: who is told, when, and only once."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.escalations import (
    escalate_serious_events,
    escalate_unconfirmed_infusions,
    nudge_unstarted_collections,
    periodic_jobs,
    send_daily_digest,
    send_weekly_summary,
)
from bot.routing import Router
from core.schedule import EventKind, Slot
from core.store.anchor import anchor_of
from core.store.db import read_session
from core.store.models import (
    AdverseEvent,
    AuditHead,
    Channel,
    EscalationNotice,
    InviteRole,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.reports import file_patient_report
from core.store.uow import UnitOfWork
from scheduler.jobs import weekly_at
from tests.support.bot_harness import START, World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def add_serious_event(world: World, awareness: datetime) -> int:
    patient = world.patient("P01")
    assert patient.id is not None
    with UnitOfWork(world.services.engine, "system", awareness) as uow:
        ae = uow.add(
            AdverseEvent(
                patient_id=patient.id,
                ctcae_version="5.0",
                term="lung_infection",
                verbatim="lung infection",
                coded=True,
                grade=3,
                hospitalization=True,
                onset_date=date(2026, 11, 29),
                awareness_at=awareness,
                reported_by="system",
                reported_at=awareness,
            ),
            "adverse_event.reported",
        )
    assert ae.id is not None
    return ae.id


def bot(world: World) -> Router:
    """The router escalations send through (the Application's bot on Telegram)."""
    assert world.services.router is not None
    return world.services.router


async def test_serious_event_reminders_at_1_4_12_hours_and_once_each(world: World) -> None:
    world.enroll("P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    ae_id = add_serious_event(world, START)
    before = len(world.api.messages_to(coordinator))

    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(minutes=59))
        == 0
    )
    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(hours=1)) == 1
    )
    first = await world.api.wait_for_message(coordinator, contains=f"AE{ae_id}")
    assert "is not acknowledged yet: 23 h left to report" in first.shown
    assert f"/ack AE{ae_id}" in first.shown
    # Run again for the same instant (a restart): nothing twice.
    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(hours=1)) == 0
    )
    # Down from 1 h to 13 h: one reminder (the 12-hour one), not two.
    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(hours=13)) == 1
    )
    second = await world.api.wait_for_message(coordinator, contains=f"AE{ae_id}")
    assert "11 h left to report" in second.shown
    assert len(world.api.messages_to(coordinator)) == before + 2
    assert not [m for m in world.api.messages_to(nurse) if f"AE{ae_id}" in m.shown]
    # Past the deadline.
    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(hours=25)) == 1
    )
    late = await world.api.wait_for_message(coordinator, contains=f"AE{ae_id}")
    assert "overdue by 1 h" in late.shown
    # Acknowledged: escalation stops.
    with UnitOfWork(world.services.engine, "system", START + timedelta(hours=26)) as uow:
        row = uow.session.get(AdverseEvent, ae_id)
        assert row is not None
        uow.update(
            row, "adverse_event.acknowledged", acknowledged_at=uow.now, acknowledged_by="system"
        )
    assert (
        await escalate_serious_events(bot(world), world.services, START + timedelta(hours=48)) == 0
    )


async def test_unconfirmed_infusion_alerts_the_nurses_the_evening_before(world: World) -> None:
    # Day 0 on 17 Nov puts infusion 1 (week 2) on 1 Dec at 09:00.
    world.enroll("P01", day0=date(2026, 11, 17))
    world.enroll("P02", day0=date(2026, 11, 17))
    await world.join_patient("P01")
    nurse = await world.join_staff(InviteRole.NURSE, "zh-hans")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    with read_session(world.services.engine) as session:
        infusion = session.exec(
            select(PlannedEventRow).where(
                PlannedEventRow.patient_id == world.patient("P02").id,
                PlannedEventRow.kind == EventKind.BELIMUMAB_INFUSION,
                PlannedEventRow.number == 1,
            )
        ).one()
        confirmed = session.exec(
            select(Reminder).where(
                Reminder.event_id == infusion.id, Reminder.slot == Slot.INFUSION_EVENING_BEFORE
            )
        ).one()
    # P02 said "I'll be there"; P01 said nothing.
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(Reminder, confirmed.id)
        assert row is not None
        uow.update(
            row, "reminder.answered", status=ReminderStatus.SENT, response="yes", responded_at=START
        )
    evening = local(date(2026, 11, 30), 21)
    assert (
        await escalate_unconfirmed_infusions(
            bot(world), world.services, evening - timedelta(minutes=1)
        )
        == 0
    )
    assert await escalate_unconfirmed_infusions(bot(world), world.services, evening) == 1
    alert = await world.api.wait_for_message(nurse, contains="P01")
    assert "P01" in alert.shown
    assert "贝利尤单抗输注 1" in alert.shown
    assert "P02" not in alert.shown
    assert (
        await escalate_unconfirmed_infusions(
            bot(world), world.services, evening + timedelta(hours=1)
        )
        == 0
    )
    assert not [m for m in world.api.messages_to(coordinator) if "P01" in m.shown]


async def test_urine_collection_not_started_by_noon_gets_one_nudge_with_buttons(
    world: World,
) -> None:
    # Day 0 on 3 Nov: the week-4 visit is 1 Dec, its collection starts 30 Nov at 07:00.
    world.enroll("P01", day0=date(2026, 11, 3), language="en")
    patient_user = await world.join_patient("P01")
    with read_session(world.services.engine) as session:
        start = session.exec(
            select(Reminder)
            .join(PlannedEventRow, col(PlannedEventRow.id) == Reminder.event_id)
            .where(
                Reminder.patient_id == world.patient("P01").id,
                Reminder.slot == Slot.URINE_START,
                PlannedEventRow.number == 2,
            )
        ).one()
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(Reminder, start.id)
        assert row is not None
        uow.update(row, "reminder.sent", status=ReminderStatus.SENT, message_id=1)
    noon = local(date(2026, 11, 30), 12)
    assert (
        await nudge_unstarted_collections(bot(world), world.services, noon - timedelta(minutes=1))
        == 0
    )
    assert await nudge_unstarted_collections(bot(world), world.services, noon) == 1
    nudge = await world.api.wait_for_message(patient_user, contains="24-hour urine collection")
    assert "Have you started your 24-hour urine collection today?" in nudge.shown
    assert nudge.data_for("Started") == f"rem:{start.id}:started"
    assert (
        await nudge_unstarted_collections(bot(world), world.services, noon + timedelta(minutes=15))
        == 0
    )
    await world.api.user_presses(patient_user, nudge.message_id, nudge.data_for("Started"))
    await world.api.wait_until(lambda: any(a.text for a in world.api.callback_answers))
    with read_session(world.services.engine) as session:
        assert session.get(Reminder, start.id).response == "started"  # type: ignore[union-attr]


async def test_no_nudge_for_a_collection_whose_start_reminder_was_not_sent(
    world: World,
) -> None:
    """The nudge follows a start reminder that went out, always with its buttons."""
    world.enroll("P01", day0=date(2026, 11, 3), language="zh_Hans")
    patient_user = await world.join_patient("P01", "zh-hans", choose="中文")
    with read_session(world.services.engine) as session:
        start = session.exec(
            select(Reminder)
            .join(PlannedEventRow, col(PlannedEventRow.id) == Reminder.event_id)
            .where(
                Reminder.patient_id == world.patient("P01").id,
                Reminder.slot == Slot.URINE_START,
                PlannedEventRow.number == 2,
            )
        ).one()
    noon = local(date(2026, 11, 30), 12)
    # Still pending (never sent), then failed: no nudge, nothing recorded.
    assert await nudge_unstarted_collections(bot(world), world.services, noon) == 0
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(Reminder, start.id)
        assert row is not None
        uow.update(row, "reminder.failed", status=ReminderStatus.FAILED)
    assert (
        await nudge_unstarted_collections(bot(world), world.services, noon + timedelta(minutes=5))
        == 0
    )
    with read_session(world.services.engine) as session:
        assert not session.exec(
            select(EscalationNotice).where(EscalationNotice.kind == "urine")
        ).all()
    assert not [m for m in world.api.messages_to(patient_user) if "尿液收集了吗" in m.shown]
    # Sent after all (its resend went through): the nudge goes out, with the buttons.
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(Reminder, start.id)
        assert row is not None
        uow.update(row, "reminder.sent", status=ReminderStatus.SENT, message_id=1)
    assert (
        await nudge_unstarted_collections(bot(world), world.services, noon + timedelta(minutes=10))
        == 1
    )
    nudge = await world.api.wait_for_message(patient_user, contains="尿液收集了吗")
    assert nudge.data_for("已开始") == f"rem:{start.id}:started"


async def test_daily_digest_lists_today_overdue_and_open_serious_clocks(world: World) -> None:
    world.enroll("P01", day0=date(2026, 11, 17))  # infusion 1 on 1 Dec
    world.enroll("P02", day0=date(2026, 11, 3))  # urine collection 2 starts 30 Nov, visit 1 Dec
    world.enroll("P03", day0=date(2026, 11, 16))  # infusion 1 on 30 Nov: overdue on 1 Dec
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    add_serious_event(world, local(date(2026, 11, 30), 10))
    morning = local(date(2026, 12, 1), 8, 30)
    assert await send_daily_digest(bot(world), world.services, morning) == 1
    digest = await world.api.wait_for_message(coordinator, contains="Daily digest")
    text = digest.shown
    assert "Daily digest for Tue, Dec 1, 2026." in text
    assert "Today: 3." in text  # P01 infusion 1; P02 infusion 2 and renal assessment 2
    assert "P01: Belimumab infusion 1" in text
    assert "P02: Renal assessment 2" in text
    assert "Overdue:" in text
    assert "P03: Belimumab infusion 1" in text
    assert "Serious adverse events not acknowledged: 1." in text
    assert "AE1 P01: 1 h left" in text


def test_weekly_schedule_is_monday_at_nine_in_the_trial_zone() -> None:
    schedule = weekly_at(0, datetime(2000, 1, 1, 9, 0).time(), SHANGHAI)
    first = schedule(datetime(2026, 12, 2, 0, 0, tzinfo=UTC))  # a Wednesday
    assert first.astimezone(SHANGHAI) == datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    assert schedule(first) - first == timedelta(days=7)


def test_every_escalation_is_a_periodic_job(world: World) -> None:
    names = {job.name for job in periodic_jobs(bot(world), world.services)}
    assert names == {
        "sae-escalations",
        "infusion-confirmation",
        "urine-nudge",
        "daily-digest",
        "weekly-summary",
    }


async def test_a_patient_who_unblocks_the_bot_is_reachable_again(world: World) -> None:
    world.enroll("P01", language="en")
    user = await world.join_patient("P01")
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(type(world.patient("P01")), world.patient("P01").id)
        assert row is not None
        uow.update(row, "patient.unreachable", unreachable_since=START)
    answer = await world.say(user, "/schedule")
    assert "Your next study events:" in answer.shown
    assert world.patient("P01").unreachable_since is None


async def test_escalation_messages_wait_for_the_engines_pacer(world: World) -> None:
    """Jobs share Telegram's budget with the reminders (one pacer for both, in the lane of
    the channel each message goes by)."""
    world.enroll("P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    add_serious_event(world, START)
    paced: list[tuple[Hashable, Hashable]] = []

    async def pace(recipient: Hashable, lane: Hashable) -> float:
        paced.append((recipient, lane))
        return 0.0

    sent = await escalate_serious_events(
        bot(world), world.services, START + timedelta(hours=1), pace
    )
    assert sent == 1
    member = world.staff_with_telegram_user(coordinator)
    assert member is not None
    assert paced == [(f"staff:{member.id}", Channel.TELEGRAM)]


DIGEST = {
    "en": {
        "urine": "  Nov 30 {study_id}: 24-hour urine collection 2",
        "infusion": "  Nov 30 P03: Belimumab infusion 1",
        "waiting": "Overdue and already on 3 digests, left for the weekly summary: ",
        "weekly": "Overdue after 3 daily digests, listed here once and then no more: ",
    },
    "zh": {
        "urine": "  11月30日 {study_id}：第 2 次 24 小时尿液收集",
        "infusion": "  11月30日 P03：贝利尤单抗输注 1",
        "waiting": "已逾期且已在 3 份简报中列出、留待每周汇总的事项：",
        "weekly": "已在 3 份每日简报中列出、仍逾期的事项（在此列出一次，之后不再列出）：",
    },
}
LANGUAGE_CODES = {"en": "en", "zh": "zh-hans"}


def answer_finished(world: World, study_id: str, number: int) -> None:
    """The patient pressed Finished on the last reminder of urine collection ``number``."""
    with read_session(world.services.engine) as session:
        end = session.exec(
            select(Reminder)
            .join(PlannedEventRow, col(PlannedEventRow.id) == Reminder.event_id)
            .where(
                Reminder.patient_id == world.patient(study_id).id,
                Reminder.slot == Slot.URINE_END,
                PlannedEventRow.number == number,
            )
        ).one()
    with UnitOfWork(world.services.engine, "system", START) as uow:
        row = uow.session.get(Reminder, end.id)
        assert row is not None
        uow.update(
            row,
            "reminder.answered",
            status=ReminderStatus.SENT,
            response="finished",
            responded_at=START,
        )


async def digest_on(world: World, coordinator: int, day: date) -> list[str]:
    """The daily digest of ``day`` as the coordinator reads it, line by line."""
    assert await send_daily_digest(bot(world), world.services, local(day, 8, 30)) == 1
    sent = await world.api.wait_for_message(
        coordinator, lambda m: "Daily digest for" in m.shown or "每日简报" in m.shown
    )
    return sent.shown.splitlines()


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_collection_answered_finished_is_not_overdue(world: World, lang: str) -> None:
    # Day 0 on 3 Nov: urine collection 2 runs from 30 Nov to the visit on 1 Dec.
    world.enroll("P02", day0=date(2026, 11, 3))
    world.enroll("P04", day0=date(2026, 11, 3))
    coordinator = await world.join_staff(InviteRole.COORDINATOR, LANGUAGE_CODES[lang])
    answer_finished(world, "P02", 2)
    lines = await digest_on(world, coordinator, date(2026, 12, 2))
    texts = DIGEST[lang]
    assert texts["urine"].format(study_id="P04") in lines
    assert texts["urine"].format(study_id="P02") not in lines


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_an_overdue_item_is_on_three_digests_then_once_in_the_weekly_summary(
    world: World, lang: str
) -> None:
    world.enroll("P03", day0=date(2026, 11, 16))  # infusion 1 on 30 Nov: overdue from 1 Dec
    coordinator = await world.join_staff(InviteRole.COORDINATOR, LANGUAGE_CODES[lang])
    texts = DIGEST[lang]
    for day in (1, 2, 3):
        lines = await digest_on(world, coordinator, date(2026, 12, day))
        assert texts["infusion"] in lines
    # The digest of 3 Dec sent again (a restart): it still lists the item, counted once.
    lines = await digest_on(world, coordinator, date(2026, 12, 3))
    assert texts["infusion"] in lines

    lines = await digest_on(world, coordinator, date(2026, 12, 4))
    assert texts["infusion"] not in lines
    assert any(line.startswith(texts["waiting"]) for line in lines), lines

    monday = local(date(2026, 12, 7), 9)
    assert await send_weekly_summary(bot(world), world.services, monday) == 1
    summary = await world.api.wait_for_message(coordinator, contains=texts["weekly"])
    block = summary.shown.splitlines()
    heading = block.index(next(line for line in block if line.startswith(texts["weekly"])))
    assert texts["infusion"] in block[heading:]

    lines = await digest_on(world, coordinator, date(2026, 12, 8))
    assert texts["infusion"] not in lines
    assert not any(line.startswith(texts["waiting"]) for line in lines)
    before = len(world.api.messages_to(coordinator))
    assert await send_weekly_summary(bot(world), world.services, monday + timedelta(days=7)) == 1
    await world.api.wait_until(lambda: len(world.api.messages_to(coordinator)) > before)
    assert not [
        m for m in world.api.messages_to(coordinator)[before:] if texts["weekly"] in m.shown
    ]
    with read_session(world.services.engine) as session:
        infusion = session.exec(
            select(PlannedEventRow).where(
                PlannedEventRow.patient_id == world.patient("P03").id,
                PlannedEventRow.kind == EventKind.BELIMUMAB_INFUSION,
                PlannedEventRow.number == 1,
            )
        ).one()
        steps = session.exec(
            select(EscalationNotice.step).where(
                EscalationNotice.kind == "digest",
                EscalationNotice.subject == f"event:{infusion.id}",
            )
        ).all()
    assert sorted(steps) == [
        "daily:2026-12-01",
        "daily:2026-12-02",
        "daily:2026-12-03",
        "weekly",
    ]


AUDIT_ANCHORS = {
    "en": "Audit trail: {count} records, anchor {anchor}.",
    "zh": "审计记录：共 {count} 条，锚点 {anchor}。",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_daily_digest_carries_the_audit_anchor(world: World, lang: str) -> None:
    """The coordinators keep, outside the database, the head's record count and its
    anchor signed with AUDIT_KEY: what `audit verify --anchor` checks later."""
    key = b"k" * 40
    world.services.audit_key = key
    world.enroll("P01", day0=date(2026, 11, 17))
    coordinator = await world.join_staff(InviteRole.COORDINATOR, LANGUAGE_CODES[lang])
    with read_session(world.services.engine) as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        count, head_hash = head.last_seq, head.last_hash
    lines = await digest_on(world, coordinator, date(2026, 12, 1))
    shown = AUDIT_ANCHORS[lang].format(count=count, anchor=anchor_of(key, count, head_hash))
    assert lines[-1] == shown


NEW = {
    "en": {
        "first": "New since the previous digest (Mon, Nov 30, 2026, 08:30): 3.",
        "ae": "  AE2 P02: Headache, grade 1",
        "report": "  R1 P02: patient report, Fever or signs of infection",
        "unconfirmed": "  P01: Belimumab infusion 1 on Dec 1 not confirmed by the patient",
        "nothing": "Nothing new since the previous digest (Tue, Dec 1, 2026, 08:30).",
        "today": "Today: ",
    },
    "zh": {
        "first": "自上次简报（2026年11月30日周一 08:30）以来的新情况：3 项。",
        "ae": "  AE2 P02：头痛，1 级",
        "report": "  R1 P02：受试者报告，发热或感染迹象",
        "unconfirmed": "  P01：12月1日 的贝利尤单抗输注 1，受试者未确认",
        "nothing": "自上次简报（2026年12月1日周二 08:30）以来无新情况。",
        "today": "今天：",
    },
}


def add_headache(world: World, study_id: str, at: datetime) -> None:
    patient = world.patient(study_id)
    assert patient.id is not None
    with UnitOfWork(world.services.engine, "system", at) as uow:
        uow.add(
            AdverseEvent(
                patient_id=patient.id,
                ctcae_version="5.0",
                term="headache",
                verbatim="headache",
                coded=True,
                grade=1,
                onset_date=date(2026, 11, 30),
                awareness_at=at,
                reported_by="system",
                reported_at=at,
            ),
            "adverse_event.reported",
        )


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_daily_digest_shows_what_is_new_since_the_previous_one_first(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=date(2026, 11, 17))  # infusion 1 on 1 Dec, not confirmed
    world.enroll("P02", day0=date(2026, 11, 10))  # infusion 1 long past
    coordinator = await world.join_staff(InviteRole.COORDINATOR, LANGUAGE_CODES[lang])
    texts = NEW[lang]
    # Before the first digest: a serious event (new on 30 Nov's digest, not on 1 Dec's).
    add_serious_event(world, local(date(2026, 11, 30), 7))
    first = await digest_on(world, coordinator, date(2026, 11, 30))
    assert any("AE1 P01" in line for line in first[1:3]), first
    # During the day: a headache recorded, a report filed, the infusion escalated.
    add_headache(world, "P02", local(date(2026, 11, 30), 11))
    with UnitOfWork(world.services.engine, "system", local(date(2026, 11, 30), 12)) as uow:
        file_patient_report(
            uow,
            world.patient("P02").id or 0,
            category="fever_infection",
            severity="mild",
            onset="today",
            details=None,
        )
    evening = local(date(2026, 11, 30), 21)
    assert await escalate_unconfirmed_infusions(bot(world), world.services, evening) == 1

    lines = await digest_on(world, coordinator, date(2026, 12, 1))
    assert lines[1] == texts["first"]
    assert lines[2:5] == [texts["ae"], texts["report"], texts["unconfirmed"]]
    today = next(i for i, line in enumerate(lines) if line.startswith(texts["today"]))
    assert today > 5
    assert not [line for line in lines[:today] if "AE1 " in line]

    # The next morning nothing happened: one line says so, then the standing list.
    lines = await digest_on(world, coordinator, date(2026, 12, 2))
    assert lines[1] == texts["nothing"]
    assert lines[3].startswith(texts["today"])
