"""/report: the patient's symptom-report flow and the staff alerts, end to end over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import col, select

from core.store.db import read_session
from core.store.models import (
    AuditRecord,
    Channel,
    Conversation,
    DoseAdministration,
    Drug,
    InviteRole,
    PatientReport,
    TriageStatus,
    person_key,
)
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import World

NO_LONGER_VALID = "This button is no longer valid."


# --- helpers ---------------------------------------------------------------------------


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """For database effects the Bot API server cannot signal: poll until true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.02)


def reports(world: World) -> list[PatientReport]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(PatientReport).order_by(col(PatientReport.id))).all())


def audit_of(world: World, entity_key: str) -> list[AuditRecord]:
    with read_session(world.services.engine) as session:
        query = select(AuditRecord).where(
            AuditRecord.entity == "patient_report", AuditRecord.entity_key == entity_key
        )
        return list(session.exec(query).all())


def conversation_step(world: World, user: int) -> tuple[str, str] | None:
    with read_session(world.services.engine) as session:
        row = session.get(Conversation, person_key(Channel.TELEGRAM, str(user)))
        return None if row is None else (row.flow, row.step)


async def press_and_answer(world: World, user: int, message: SentMessage, label: str) -> str | None:
    """Press a button and wait for the bot's answer to that press; its text."""
    query_id = await world.api.user_presses(user, message.message_id, message.data_for(label))

    def answered() -> bool:
        return any(a.callback_query_id == query_id for a in world.api.callback_answers)

    await world.api.wait_until(answered, what="the callback answer")
    return next(a.text for a in world.api.callback_answers if a.callback_query_id == query_id)


async def patient(world: World, study_id: str, lang: str) -> int:
    world.enroll(study_id)
    if lang == "en":
        return await world.join_patient(study_id)
    return await world.join_patient(study_id, language_code="zh-hans", choose="中文")


async def staff_pair(world: World) -> tuple[int, int]:
    """An English nurse and a Chinese coordinator, both active."""
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    return nurse, coordinator


async def walk_to_details(
    world: World, user: int, labels: tuple[str, str, str, str]
) -> SentMessage:
    """/report, then "none of these", a category, a severity, an onset: the details prompt."""
    none, category, severity, onset = labels
    ask = await world.say(user, "/report")
    await world.press(user, ask, none)
    for label in (category, severity, onset):
        question = await world.reply(user)
        await world.press(user, question, label)
    return await world.reply(user)


EN_LABELS = ("None of these", "Fever or signs of infection", "Moderate", "Yesterday")


# --- the whole flow --------------------------------------------------------------------


async def test_english_patient_walks_the_flow_and_staff_are_alerted_in_their_language(
    world: World,
) -> None:
    user = await patient(world, "P01", "en")
    nurse, coordinator = await staff_pair(world)

    ask = await world.say(user, "/report")
    assert "happening now" in ask.shown
    assert set(ask.callback_data()) == {
        "rep:flag:breathing",
        "rep:flag:chest_pain",
        "rep:flag:fainting",
        "rep:flag:self_harm",
        "rep:flag:none",
    }
    await world.press(user, ask, "None of these")
    categories = await world.reply(user)
    assert len(categories.callback_data()) == 8
    assert "Foamy urine" in [b.text for b in categories.buttons()]
    await world.press(user, categories, "Fever or signs of infection")
    severity = await world.reply(user)
    labels = [b.text for b in severity.buttons()]
    assert "Mild: I can do my usual activities" in labels
    assert "Severe: I cannot do my usual activities" in labels
    await world.press(user, severity, "Moderate: it limits some activities")
    onset = await world.reply(user)
    assert len(onset.callback_data()) == 4
    await world.press(user, onset, "Yesterday")
    details = await world.reply(user)
    assert "own words" in details.shown
    assert details.callback_data() == ["rep:skip"]

    typed = "<b>x</b> & y"
    confirmation = await world.say(user, typed)
    [report] = reports(world)
    assert (report.category, report.severity, report.onset) == (
        "fever_infection",
        "moderate",
        "yesterday",
    )
    assert report.free_text == typed
    assert report.red_flag is False
    assert report.triage_status == TriageStatus.OPEN
    assert report.patient_id == world.patient("P01").id
    assert f"report number {report.id}" in confirmation.shown
    assert "120" in confirmation.shown

    english = await world.reply(nurse)
    assert "P01" in english.shown
    assert "New patient report" in english.shown
    assert "Fever or signs of infection" in english.shown
    assert "moderate" in english.shown
    assert "Yesterday" in english.shown
    assert typed in english.shown  # visible as typed, not parsed as HTML
    assert not english.entities
    chinese = await world.reply(coordinator)
    assert "新的受试者报告" in chinese.shown
    assert "P01" in chinese.shown
    assert "发热或感染迹象" in chinese.shown
    assert typed in chinese.shown
    assert conversation_step(world, user) is None

    # Every press was answered.
    await world.api.wait_until(
        lambda: len([a for a in world.api.callback_answers if a.data.startswith("rep:")]) == 4,
        what="every callback answered",
    )
    actions = {r.action for r in audit_of(world, str(report.id))}
    assert "patient_report.created" in actions
    await eventually(
        lambda: (
            "patient_report.staff_alerted" in {r.action for r in audit_of(world, str(report.id))}
        ),
        "the alert audit record",
    )


async def test_chinese_patient_skips_the_text_and_staff_read_their_own_language(
    world: World,
) -> None:
    user = await patient(world, "P02", "zh")
    nurse, coordinator = await staff_pair(world)

    ask = await world.say(user, "/report")
    assert "您现在是否" in ask.shown
    assert "胸痛" in [b.text for b in ask.buttons()]
    await world.press(user, ask, "以上都没有")
    categories = await world.reply(user)
    await world.press(user, categories, "情绪或睡眠问题")
    severity = await world.reply(user)
    assert "轻度：我能照常进行日常活动" in [b.text for b in severity.buttons()]
    await world.press(user, severity, "重度")
    onset = await world.reply(user)
    await world.press(user, onset, "超过 3 天前")
    details = await world.reply(user)
    await world.press(user, details, "跳过")
    confirmation = await world.reply(user)

    [report] = reports(world)
    assert (report.category, report.severity, report.onset) == (
        "mood_sleep",
        "severe",
        "more_than_3_days",
    )
    assert report.free_text is None
    assert f"编号 {report.id}" in confirmation.shown
    assert "120" in confirmation.shown
    assert "report" not in confirmation.shown.lower()

    english = await world.reply(nurse)
    assert "P02" in english.shown
    assert "Mood or sleep" in english.shown
    assert "no description" in english.shown
    chinese = await world.reply(coordinator)
    assert "P02" in chinese.shown
    assert "情绪或睡眠问题" in chinese.shown
    assert "重度" in chinese.shown


# --- red flags -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "label", "key", "nurse_words", "coordinator_words", "contact_role"),
    [
        ("en", "Trouble breathing", "breathing", "trouble breathing", "呼吸困难", "Research nurse"),
        ("en", "Chest pain", "chest_pain", "chest pain", "胸痛", "Investigator on call"),
        ("zh", "晕厥（昏倒）", "fainting", "fainting", "晕厥", "研究护士"),
        (
            "zh",
            "有伤害自己的念头",
            "self_harm",
            "thoughts of self-harm",
            "自伤念头",
            "值班研究医生",
        ),
    ],
)
async def test_red_flag_gets_emergency_instructions_first_and_an_urgent_alert(
    world: World,
    lang: str,
    label: str,
    key: str,
    nurse_words: str,
    coordinator_words: str,
    contact_role: str,
) -> None:
    user = await patient(world, "P03", lang)
    nurse, coordinator = await staff_pair(world)
    ask = await world.say(user, "/report")
    await world.press(user, ask, label)

    # The very next message is the emergency instructions.
    emergency = await world.reply(user)
    assert emergency.message_id == ask.message_id + 1
    site = world.services.protocol.site
    assert site.emergency_number == "120"
    assert "120" in emergency.shown
    for contact in site.contacts:
        assert contact.phone in emergency.shown
    assert contact_role in emergency.shown

    urgent = await world.reply(nurse)
    assert urgent.shown.startswith("URGENT")
    assert "P03" in urgent.shown
    assert nurse_words in urgent.shown
    assert "09:00" in urgent.shown
    urgent_zh = await world.reply(coordinator)
    assert urgent_zh.shown.startswith("紧急")
    assert "P03" in urgent_zh.shown
    assert coordinator_words in urgent_zh.shown

    [report] = reports(world)
    assert report.red_flag is True
    assert report.category == key
    assert report.triage_status == TriageStatus.OPEN
    assert conversation_step(world, user) is None
    assert "patient_report.red_flag" in {r.action for r in audit_of(world, str(report.id))}
    # The flow has ended: the other red-flag buttons are stale now.
    none = "None of these" if lang == "en" else "以上都没有"
    answer = await press_and_answer(world, user, ask, none)
    assert answer == (NO_LONGER_VALID if lang == "en" else "此按钮已失效。")
    assert len(reports(world)) == 1


# --- the free text ---------------------------------------------------------------------


async def test_over_long_text_is_refused_and_the_flow_waits(world: World) -> None:
    user = await patient(world, "P04", "en")
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    await walk_to_details(world, user, EN_LABELS)

    refusal = await world.say(user, "a" * 1001)
    assert "1000" in refusal.shown
    assert "1001" in refusal.shown
    assert reports(world) == []
    assert conversation_step(world, user) == ("report", "details")

    at_limit = "b" * 1000
    confirmation = await world.say(user, at_limit)
    assert "report number" in confirmation.shown
    [report] = reports(world)
    assert report.free_text == at_limit
    alert = await world.reply(nurse)
    assert at_limit in alert.shown


# --- stale buttons and restarts --------------------------------------------------------


async def test_stale_buttons_change_nothing(world: World) -> None:
    user = await patient(world, "P05", "en")
    await world.join_staff(InviteRole.NURSE, "en")
    ask = await world.say(user, "/report")
    await world.press(user, ask, "None of these")
    categories = await world.reply(user)
    await world.press(user, categories, "Tremor")
    severity = await world.reply(user)

    # An earlier question's button, while the flow is at a later step.
    assert await press_and_answer(world, user, categories, "Foamy urine") == NO_LONGER_VALID
    assert conversation_step(world, user) == ("report", "severity")

    await world.press(user, severity, "Mild")
    onset = await world.reply(user)
    await world.press(user, onset, "Today")
    details = await world.reply(user)
    await world.press(user, details, "Skip")
    await world.reply(user)  # confirmation
    [report] = reports(world)
    assert (report.category, report.severity, report.onset) == ("tremor", "mild", "today")

    # After the flow ended: every old button is stale and changes nothing.
    for message, label in ((details, "Skip"), (onset, "Today"), (ask, "Chest pain")):
        assert await press_and_answer(world, user, message, label) == NO_LONGER_VALID
    assert len(reports(world)) == 1
    assert conversation_step(world, user) is None


async def test_report_again_restarts_and_the_old_question_is_stale(world: World) -> None:
    user = await patient(world, "P06", "en")
    await world.join_staff(InviteRole.NURSE, "en")
    first = await world.say(user, "/report")
    await world.press(user, first, "None of these")
    categories = await world.reply(user)
    await world.press(user, categories, "Foamy urine")
    await world.reply(user)  # severity

    again = await world.say(user, "/report")
    # The step is recorded just after the question is sent.
    await eventually(
        lambda: conversation_step(world, user) == ("report", "red_flag"), "the restart"
    )
    # The first question is at the same step but is not the latest: stale.
    assert await press_and_answer(world, user, first, "Chest pain") == NO_LONGER_VALID
    assert reports(world) == []

    await world.press(user, again, "None of these")
    categories = await world.reply(user)
    await world.press(user, categories, "Something else")
    severity = await world.reply(user)
    await world.press(user, severity, "Mild")
    onset = await world.reply(user)
    await world.press(user, onset, "2-3 days ago")
    details = await world.reply(user)
    await world.press(user, details, "Skip")
    await world.reply(user)
    [report] = reports(world)
    # Nothing of the abandoned report (foamy urine) survives the restart.
    assert (report.category, report.severity, report.onset) == ("other", "mild", "days_2_3")


# --- who may report --------------------------------------------------------------------


async def test_nurse_and_stranger_are_refused(world: World) -> None:
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    refused = await world.say(nurse, "/report")
    assert "not available to you" in refused.shown
    stranger = world.new_user("en")
    answer = await world.say(stranger, "/report")
    assert "open the invitation link" in answer.shown
    assert reports(world) == []
    assert conversation_step(world, nurse) is None
    with read_session(world.services.engine) as session:
        refusals = session.exec(
            select(AuditRecord).where(AuditRecord.action == "access.refused")
        ).all()
    assert [r.entity_key for r in refusals] == ["/report", "/report"]


# --- alerts ----------------------------------------------------------------------------


async def test_staff_who_blocked_the_bot_does_not_stop_the_others(world: World) -> None:
    user = await patient(world, "P07", "en")
    blocked = await world.join_staff(InviteRole.NURSE, "en")
    investigator = await world.join_staff(InviteRole.INVESTIGATOR, "en")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    world.api.block(blocked)
    before = len(world.api.messages_to(blocked))

    ask = await world.say(user, "/report")
    await world.press(user, ask, "Fainting")
    emergency = await world.reply(user)
    assert "120" in emergency.shown
    assert (await world.reply(investigator)).shown.startswith("URGENT")
    assert (await world.reply(coordinator)).shown.startswith("紧急")
    assert len(world.api.messages_to(blocked)) == before
    [report] = reports(world)

    def alerted() -> list[AuditRecord]:
        return [
            r for r in audit_of(world, str(report.id)) if r.action == "patient_report.staff_alerted"
        ]

    await eventually(lambda: bool(alerted()), "the alert audit record")
    after = alerted()[0].after
    assert after is not None
    assert json.loads(after) == {"sent": 2, "urgent": True}


async def test_infusion_reaction_within_a_week_of_an_infusion_is_pointed_out(
    world: World,
) -> None:
    user = await patient(world, "P08", "en")
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    given = world.clock.now() - timedelta(days=2)
    patient_id = world.patient("P08").id
    assert patient_id is not None
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        uow.add(
            DoseAdministration(
                patient_id=patient_id,
                drug=Drug.BELIMUMAB,
                amount="620",
                unit="mg",
                given_at=given,
                weight_kg="62",
                recorded_by="system",
                recorded_at=world.clock.now(),
            ),
            "dose.recorded",
        )
    labels = ("None of these", "Infusion or allergic reaction", "Mild", "Today")
    details = await walk_to_details(world, user, labels)
    await world.press(user, details, "Skip")
    await world.reply(user)
    alert = await world.reply(nurse)
    assert "belimumab infusion" in alert.shown

    # A later report, more than a week after that infusion, says nothing of it.
    world.clock.advance(timedelta(days=8))
    details = await walk_to_details(world, user, labels)
    await world.press(user, details, "Skip")
    await world.reply(user)
    alert = await world.reply(nurse)
    assert "New patient report" in alert.shown
    assert "belimumab infusion" not in alert.shown


async def test_red_flag_alert_goes_out_even_if_the_patient_cannot_be_reached(
    world: World,
) -> None:
    user = await patient(world, "P09", "en")
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    ask = await world.say(user, "/report")
    world.api.inject_fault("sendMessage", "forbidden")  # the emergency message fails
    await world.press(user, ask, "Trouble breathing")
    urgent = await world.reply(nurse)
    assert urgent.shown.startswith("URGENT")
    assert "could not be delivered" in urgent.shown
    [report] = reports(world)
    assert report.red_flag is True
    assert [m.message_id for m in world.api.messages_to(user)][-1] == ask.message_id
