"""Reminder messages and their buttons: end to end over HTTP, in both languages.

The scheduler is simulated: a test marks a reminder ``sent`` in a unit of
work, then sends it with :meth:`bot.routing.Router.send` through the
running Application's bot, as the scheduler will.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.channels.telegram.transport import keyboard
from bot.i18n import Translator
from bot.views.reminder import render_reminder
from core.schedule import Slot
from core.store.db import read_session
from core.store.models import (
    AuditRecord,
    DoseAdministration,
    Drug,
    InviteRole,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from scheduler.ports import Undeliverable
from tests.support.bot_harness import World

STUDY_ID = "LN-0007"
OTHER_ID = "LN-0008"
NURSE_PHONE = "+86-25-0000-0001"  # the protocol file's research nurse


# --- helpers ------------------------------------------------------------------------


async def patient(world: World, lang: str, study_id: str = STUDY_ID) -> int:
    world.enroll(study_id, daily_doses=True)
    if lang == "en":
        return await world.join_patient(study_id)
    return await world.join_patient(study_id, language_code="zh-hans", choose="中文")


def reminder_for(world: World, slot: Slot, study_id: str = STUDY_ID, nth: int = 0) -> Reminder:
    """The patient's ``nth`` reminder of ``slot`` in due order."""
    patient_id = world.patient(study_id).id
    with read_session(world.services.engine) as session:
        query = (
            select(Reminder)
            .where(Reminder.patient_id == patient_id, Reminder.slot == slot)
            .order_by(col(Reminder.due_at), col(Reminder.id))
        )
        return list(session.exec(query).all())[nth]


def fresh(world: World, reminder_id: int | None) -> Reminder:
    with read_session(world.services.engine) as session:
        row = session.get(Reminder, reminder_id)
        assert row is not None
        return row


def set_status(world: World, reminder_id: int | None, status: ReminderStatus) -> None:
    """What the scheduler does to the row (simulated)."""
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        row = uow.session.get(Reminder, reminder_id)
        assert row is not None
        uow.update(row, "reminder.test_status", status=status)


async def deliver(
    world: World, user: int, reminder: Reminder, *, repeat: bool = False
) -> SentMessage:
    """Mark the reminder sent (as the scheduler would) and send it to the patient."""
    assert reminder.id is not None
    if fresh(world, reminder.id).status != ReminderStatus.SENT:
        set_status(world, reminder.id, ReminderStatus.SENT)
    assert world.app is not None
    assert world.services.router is not None
    message_id = await world.services.router.send(reminder.id, repeat=repeat)
    message = await world.reply(user)
    assert message.message_id == message_id
    return message


async def press(world: World, user: int, message: SentMessage, label: str) -> str | None:
    """Press a button; the bot's answer to the callback query."""
    query_id = await world.api.user_presses(user, message.message_id, message.data_for(label))

    def answered() -> bool:
        return any(a.callback_query_id == query_id for a in world.api.callback_answers)

    await world.api.wait_until(answered, what="the callback answer")
    return next(a.text for a in world.api.callback_answers if a.callback_query_id == query_id)


async def buttons_gone(world: World, message: SentMessage) -> None:
    def gone() -> bool:
        return not world.api.message(message.chat_id, message.message_id).buttons()

    await world.api.wait_until(gone, what="the keyboard removed")


def labels(message: SentMessage) -> list[str]:
    return [b.text for b in message.buttons()]


def doses(world: World) -> list[DoseAdministration]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(DoseAdministration)).all())


def audit_actions(world: World, action: str) -> list[AuditRecord]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)).all())


# --- texts and buttons --------------------------------------------------------------

ATTEND = {"en": ["I'll be there", "I need another day"], "zh": ["我会到", "我需要改天"]}
START = {"en": ["Started", "Something went wrong"], "zh": ["已开始", "出了问题"]}
FINISH = {"en": ["Finished", "Something went wrong"], "zh": ["已完成", "出了问题"]}
TAKEN = {"en": ["Taken"], "zh": ["已服用"]}
NONE: dict[str, list[str]] = {"en": [], "zh": []}

# slot -> (what the text must say, per language), the buttons
SLOT_TEXTS: dict[Slot, tuple[dict[str, list[str]], dict[str, list[str]]]] = {
    Slot.INFUSION_EVENING_BEFORE: (
        {
            "en": ["belimumab infusion 1", "Dec 15, 2026", "09:00", "infusion unit"],
            "zh": ["第 1 次贝利尤单抗输注", "2026年12月15日", "09:00", "输液室"],
        },
        ATTEND,
    ),
    Slot.INFUSION_MORNING: (
        {
            "en": ["Today", "belimumab infusion 1", "09:00", "infusion unit"],
            "zh": ["今天", "贝利尤单抗输注", "09:00", "输液室"],
        },
        ATTEND,
    ),
    Slot.URINE_INSTRUCTIONS: (
        {
            "en": [
                "empty your bladder into the toilet and discard this urine",
                "collect every void in the container for 24 hours, day and night",
                "this is the last sample",
                "not frozen",
                "bring it to your visit",
                "A missed or spilled void",
                "tell the study team",
                "start again",
            ],
            "zh": [
                "排进马桶",
                "不要留",
                "每一次尿",
                "最后一次尿",
                "不要冷冻",
                "访视时带来",
                "漏收",
                "研究团队",
                "重新收集",
            ],
        },
        NONE,
    ),
    Slot.URINE_START: (
        {
            "en": ["discard this urine", "Note the time", "07:00", "collect every void"],
            "zh": ["马桶", "不要留", "记下", "07:00", "每一次尿"],
        },
        START,
    ),
    Slot.URINE_END: (
        {
            "en": ["last sample", "void into the container now", "not frozen", "08:00"],
            "zh": ["最后一次尿", "排进容器", "不要冷冻", "08:00"],
        },
        FINISH,
    ),
    Slot.VISIT_EVENING_BEFORE: (
        {
            "en": [
                "study visit",
                "08:00",
                "Come fasting",
                "urine collection container",
                "medicines",
                "tacrolimus dose only after the blood draw",
            ],
            "zh": ["研究访视", "08:00", "空腹", "尿液收集容器", "药物", "他克莫司请在抽血之后"],
        },
        ATTEND,
    ),
    Slot.DOSE_1: (
        {
            "en": ["mycophenolate mofetil and tacrolimus"],
            "zh": ["吗替麦考酚酯和他克莫司"],
        },
        TAKEN,
    ),
    Slot.DOSE_AFTER_DRAW: (
        {
            "en": ["After your blood draw", "mycophenolate mofetil and tacrolimus"],
            "zh": ["抽血之后", "吗替麦考酚酯和他克莫司"],
        },
        TAKEN,
    ),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_each_slot_says_what_it_must_with_its_buttons(world: World, lang: str) -> None:
    user = await patient(world, lang)
    for slot, (texts, buttons) in SLOT_TEXTS.items():
        message = await deliver(world, user, reminder_for(world, slot))
        for fragment in texts[lang]:
            assert fragment in message.shown, (slot, fragment, message.shown)
        assert labels(message) == buttons[lang], slot
        for data in message.callback_data():
            assert len(data.encode()) <= 64
    # Nothing in another language slipped in.
    shown = "\n".join(m.shown for m in world.api.messages_to(user))
    if lang == "zh":
        assert "infusion" not in shown and "tacrolimus" not in shown


@pytest.mark.parametrize(
    ("lang", "note"),
    [("en", "may not have reached you"), ("zh", "可能没有送达")],
)
async def test_a_repeat_says_it_is_a_repeat(world: World, lang: str, note: str) -> None:
    user = await patient(world, lang)
    reminder = reminder_for(world, Slot.INFUSION_EVENING_BEFORE)
    first = await deliver(world, user, reminder)
    assert note not in first.shown
    again = await deliver(world, user, reminder, repeat=True)
    assert again.shown.splitlines()[0].find(note) >= 0
    assert labels(again) == labels(first)


async def test_sending_leaves_the_reminder_row_alone(world: World) -> None:
    user = await patient(world, "en")
    reminder = reminder_for(world, Slot.URINE_START)
    set_status(world, reminder.id, ReminderStatus.SENDING)
    before = fresh(world, reminder.id)
    assert world.app is not None
    assert reminder.id is not None
    assert world.services.router is not None
    message_id = await world.services.router.send(reminder.id, repeat=False)
    assert (await world.reply(user)).message_id == message_id
    after = fresh(world, reminder.id)
    assert after.model_dump() == before.model_dump()


async def test_a_patient_who_has_not_joined_cannot_be_sent_to(world: World) -> None:
    world.enroll(OTHER_ID)
    reminder = reminder_for(world, Slot.URINE_START, OTHER_ID)
    assert world.app is not None
    assert reminder.id is not None
    assert world.services.router is not None
    with pytest.raises(Undeliverable):
        await world.services.router.send(reminder.id, repeat=False)


# --- presses ------------------------------------------------------------------------

PRESSES = [
    (Slot.INFUSION_EVENING_BEFORE, "I'll be there", "yes"),
    (Slot.INFUSION_MORNING, "I need another day", "later"),
    (Slot.VISIT_EVENING_BEFORE, "I'll be there", "yes"),
    (Slot.URINE_START, "Started", "started"),
    (Slot.URINE_START, "Something went wrong", "problem"),
    (Slot.URINE_END, "Finished", "finished"),
    (Slot.DOSE_1, "Taken", "taken"),
]


@pytest.mark.parametrize(("slot", "label", "response"), PRESSES)
async def test_a_press_is_recorded_on_its_reminder_only(
    world: World, slot: Slot, label: str, response: str
) -> None:
    user = await patient(world, "en")
    target = reminder_for(world, slot)
    other = reminder_for(world, slot, nth=1)  # the same kind of reminder, another event
    on_screen = await deliver(world, user, other)
    message = await deliver(world, user, target)
    world.clock.advance(timedelta(minutes=5))

    assert await press(world, user, message, label) == "Thank you, recorded."
    answered = fresh(world, target.id)
    assert answered.response == response
    assert answered.responded_at == world.clock.now()
    assert answered.status == ReminderStatus.SENT
    untouched = fresh(world, other.id)
    assert untouched.response is None and untouched.responded_at is None
    await buttons_gone(world, message)
    assert world.api.message(user, on_screen.message_id).buttons()


@pytest.mark.parametrize(
    ("lang", "first", "second", "already"),
    [
        ("en", "I'll be there", "I need another day", "Already recorded: I'll be there."),
        ("zh", "我会到", "我需要改天", "已记录过：我会到。"),
    ],
)
async def test_a_second_press_changes_nothing(
    world: World, lang: str, first: str, second: str, already: str
) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    user = await patient(world, lang)
    reminder = reminder_for(world, Slot.INFUSION_EVENING_BEFORE)
    message = await deliver(world, user, reminder)
    await press(world, user, message, first)
    await buttons_gone(world, message)
    recorded = fresh(world, reminder.id)

    # The scheduler's resend arrives after the answer; the patient presses again.
    world.clock.advance(timedelta(hours=1))
    again = await deliver(world, user, reminder, repeat=True)
    assert await press(world, user, again, second) == already
    await buttons_gone(world, again)
    assert fresh(world, reminder.id).model_dump() == recorded.model_dump()
    assert len(audit_actions(world, "reminder.answered")) == 1
    # "I need another day" on the second press alerted no one.
    assert len(world.api.messages_to(coordinator)) == 1  # the welcome only


async def test_another_patients_press_is_refused(world: World) -> None:
    owner = await patient(world, "en")
    stranger = await patient(world, "en", OTHER_ID)
    reminder = reminder_for(world, Slot.INFUSION_EVENING_BEFORE)
    await deliver(world, owner, reminder)
    # The same reminder's buttons, crafted into the other patient's chat.
    with read_session(world.services.engine) as session:
        event = session.get(PlannedEventRow, reminder.event_id)
    assert event is not None
    t = Translator("en", world.services.zone)
    text, buttons = render_reminder(t, world.services.protocol, fresh(world, reminder.id), event)
    assert world.app is not None
    await world.app.bot.send_message(stranger, text, reply_markup=keyboard(buttons))
    crafted = await world.reply(stranger)
    before = fresh(world, reminder.id)

    assert (
        await press(world, stranger, crafted, "I'll be there") == "This button is no longer valid."
    )
    assert fresh(world, reminder.id).model_dump() == before.model_dump()
    refused = audit_actions(world, "access.refused")
    assert [r.actor for r in refused] == [f"patient:{OTHER_ID}"]


async def test_a_stale_button_changes_nothing(world: World) -> None:
    user = await patient(world, "zh")
    reminder = reminder_for(world, Slot.URINE_START)
    message = await deliver(world, user, reminder)
    set_status(world, reminder.id, ReminderStatus.CANCELLED)  # the visit moved
    before = fresh(world, reminder.id)
    assert await press(world, user, message, "已开始") == "此按钮已失效。"
    assert fresh(world, reminder.id).model_dump() == before.model_dump()
    assert not audit_actions(world, "reminder.answered")


async def test_another_day_alerts_staff_and_tells_the_patient_whom_to_call(world: World) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    nurse = await world.join_staff(InviteRole.NURSE, "zh-hans")
    user = await patient(world, "en")
    message = await deliver(world, user, reminder_for(world, Slot.INFUSION_MORNING))
    await press(world, user, message, "I need another day")

    told = await world.reply(user, contains="study team")
    assert "another day" in told.shown
    assert NURSE_PHONE in told.shown
    english = await world.reply(coordinator, contains=STUDY_ID)
    assert "another day" in english.shown and "Belimumab infusion 1" in english.shown
    chinese = await world.reply(nurse, contains=STUDY_ID)
    assert "改天" in chinese.shown and "贝利尤单抗输注 1" in chinese.shown


async def test_something_went_wrong_with_the_collection_alerts_staff(world: World) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    user = await patient(world, "zh")
    message = await deliver(world, user, reminder_for(world, Slot.URINE_END))
    assert await press(world, user, message, "出了问题") == "谢谢，已记录。"

    told = await world.reply(user, contains="研究团队")
    assert "重新收集" in told.shown  # the site may restart it (docs/clinical-facts.md §7)
    assert NURSE_PHONE in told.shown
    alert = await world.reply(coordinator, contains=STUDY_ID)
    assert "went wrong" in alert.shown and "urine collection 1" in alert.shown
    assert fresh(world, reminder_for(world, Slot.URINE_END).id).response == "problem"


async def test_taken_records_both_oral_drugs_once(world: World) -> None:
    user = await patient(world, "en")
    reminder = reminder_for(world, Slot.DOSE_2)
    message = await deliver(world, user, reminder)
    world.clock.advance(timedelta(minutes=12))
    await press(world, user, message, "Taken")
    rows = doses(world)
    assert {r.drug for r in rows} == {Drug.MMF, Drug.TACROLIMUS}
    assert len(rows) == 2
    for row in rows:
        assert row.reminder_id == reminder.id
        assert row.event_id == reminder.event_id
        assert row.given_at == world.clock.now()
        assert row.amount is None and row.unit is None
        assert row.recorded_by == f"patient:{STUDY_ID}"
        assert row.patient_id == reminder.patient_id
    again = await deliver(world, user, reminder, repeat=True)
    assert await press(world, user, again, "Taken") == "Already recorded: Taken."
    assert len(doses(world)) == 2


async def test_an_uncertain_reminder_can_be_answered_but_a_pending_one_cannot(
    world: World,
) -> None:
    user = await patient(world, "en")
    uncertain = reminder_for(world, Slot.URINE_END)
    message = await deliver(world, user, uncertain)
    set_status(world, uncertain.id, ReminderStatus.UNCERTAIN)
    await press(world, user, message, "Finished")
    assert fresh(world, uncertain.id).response == "finished"

    pending = reminder_for(world, Slot.URINE_END, nth=1)
    shown = await deliver(world, user, pending)
    set_status(world, pending.id, ReminderStatus.PENDING)
    assert await press(world, user, shown, "Finished") == "This button is no longer valid."
    assert fresh(world, pending.id).response is None
