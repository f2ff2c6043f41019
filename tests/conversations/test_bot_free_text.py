"""A patient's own message outside any question is offered to the study team as a report.

End to end over HTTP, in both languages: the offer and every answer name
/report and the emergency number in the patient's language; Yes files a
report (a photo kept with it, shown to staff again by its file id), No
stores nothing; the words are never read for symptoms; the waiting message
survives a restart.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel, col, select

from bot.channels.memory import MemoryChannel
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.conversations.events import FileRef
from bot.features import FEATURES
from bot.routing import Router
from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.invites import create_invite
from core.store.models import (
    AttachmentKind,
    Channel,
    InviteRole,
    PatientReport,
    ReportAttachment,
    TriageStatus,
)
from core.store.services import enroll_patient, patient_by_study_id
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock
from tests.conversations.test_bot_report import (
    conversation_step,
    eventually,
    patient,
    press_and_answer,
    reports,
    walk_to_details,
)
from tests.support.bot_harness import START, World
from tests.support.clinical_world import LANGUAGE_CODES

LANGS = ["en", "zh"]

OFFER = {
    "en": [
        "Send this to the study team?",
        "To report a symptom or side effect step by step, use /report.",
        "This bot is not an emergency service: in an emergency call 120 or go to the nearest "
        "emergency department.",
    ],
    "zh": [
        "要将此内容发送给研究团队吗？",
        "如需逐步报告症状或副作用，请使用 /report。",
        "本机器人不是急救服务：紧急情况请拨打 120 或前往最近的急诊科。",
    ],
}
YES_NO = {"en": ["Yes", "No"], "zh": ["是", "否"]}
SENT = {
    "en": "Thank you. Your report number {number} has been sent to the study team.",
    "zh": "谢谢。您的报告（编号 {number}）已发送给研究团队。",
}
NOT_SENT = {"en": "Not sent. Nothing was stored.", "zh": "未发送，没有保存任何内容。"}
TOO_LONG = {
    "en": "Your message is 1001 characters long; a report to the study team can hold 1000. "
    "Please send it in shorter parts.",
    "zh": "您的消息有 1001 个字符；发给研究团队的报告最多 1000 个字符。请分成较短的几段发送。",
}
STALE = {"en": "This button is no longer valid.", "zh": "此按钮已失效。"}
WRITTEN = {
    "en": "The patient wrote this to the bot directly, not through /report: no category, "
    "severity or onset was asked.",
    "zh": "受试者直接发给机器人，未通过 /report：未询问类别、严重程度或开始时间。",
}
WORDS = {"en": "In the patient's words: {text}", "zh": "受试者原话：{text}"}
NO_WORDS = {"en": "The patient gave no description.", "zh": "受试者未填写描述。"}
WITH_PHOTO = {
    "en": "The patient sent a photo with it: /reports R{number} shows it.",
    "zh": "受试者随报告发送了照片：/reports R{number} 可查看。",
}
# Red-flag words: offered like any message, never diagnosed.
TYPED = {
    "en": "I have chest pain and I can't breathe <b>well</b>",
    "zh": "我胸痛，呼吸困难 <b>很难受</b>",
}


def pointer(lang: str) -> list[str]:
    return OFFER[lang][1:]


async def staff(world: World, lang: str) -> int:
    return await world.join_staff(InviteRole.NURSE, LANGUAGE_CODES[lang])


def attachments(world: World) -> list[ReportAttachment]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(ReportAttachment).order_by(col(ReportAttachment.id))).all())


@pytest.mark.parametrize("lang", LANGS)
async def test_free_text_is_offered_and_yes_files_a_report_staff_are_alerted(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    nurse = await staff(world, lang)
    offer = await world.say(user, TYPED[lang])
    assert offer.shown.splitlines() == OFFER[lang]
    assert [b.text for b in offer.buttons()] == YES_NO[lang]
    assert reports(world) == []
    # Kept once the offer is shown (the database's effect, polled).
    await eventually(
        lambda: conversation_step(world, user) == ("offer", "confirm"), "the offer kept"
    )

    await world.press(user, offer, YES_NO[lang][0])
    sent = await world.reply(user)
    [report] = reports(world)
    assert sent.shown.splitlines() == [SENT[lang].format(number=report.id), *pointer(lang)]
    assert (report.category, report.severity, report.onset) == ("other", "not_asked", "not_asked")
    assert report.free_text == TYPED[lang]
    assert (report.red_flag, report.triage_status) == (False, TriageStatus.OPEN)
    assert conversation_step(world, user) is None
    # The Yes/No buttons are taken off the answered offer.
    assert world.api.message(user, offer.message_id).buttons() == []

    alert = (await world.reply(nurse)).shown.splitlines()
    assert alert[0].startswith(
        f"New patient report {report.id} from P01 ("
        if lang == "en"
        else f"新的受试者报告 {report.id}，来自 P01（"
    )
    assert alert[1:] == [WRITTEN[lang], WORDS[lang].format(text=TYPED[lang])]


@pytest.mark.parametrize("lang", LANGS)
async def test_no_stores_nothing_and_still_names_report_and_the_emergency_number(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    offer = await world.say(user, "头晕 dizzy")
    await world.press(user, offer, YES_NO[lang][1])
    answer = await world.reply(user)
    assert answer.shown.splitlines() == [NOT_SENT[lang], *pointer(lang)]
    assert reports(world) == []
    assert conversation_step(world, user) is None
    # The offer is answered: its buttons are gone.
    assert world.api.message(user, offer.message_id).buttons() == []


@pytest.mark.parametrize("lang", LANGS)
async def test_a_newer_message_takes_the_place_of_the_one_waiting(world: World, lang: str) -> None:
    user = await patient(world, "P01", lang)
    first = await world.say(user, "first")
    second = await world.say(user, "second")
    assert second.shown.splitlines() == OFFER[lang]
    assert await press_and_answer(world, user, first, YES_NO[lang][0]) == STALE[lang]
    assert reports(world) == []
    await world.press(user, second, YES_NO[lang][0])
    await world.reply(user)
    [report] = reports(world)
    assert report.free_text == "second"


@pytest.mark.parametrize("lang", LANGS)
async def test_too_long_a_message_is_refused_before_anything_is_kept(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    answer = await world.say(user, "长" * 1001)
    assert answer.shown.splitlines() == [TOO_LONG[lang], *pointer(lang)]
    assert answer.buttons() == []
    assert conversation_step(world, user) is None


@pytest.mark.parametrize("lang", LANGS)
async def test_a_photo_with_a_caption_is_kept_with_the_report_and_shown_to_staff_again(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    nurse = await staff(world, lang)
    message_id = await world.api.user_sends_photo(user, "swollen ankle 脚踝肿")
    sizes = world.api.user_message(user, message_id)["photo"]
    offer = await world.reply(user)
    assert offer.shown.splitlines() == OFFER[lang]
    await world.press(user, offer, YES_NO[lang][0])
    sent = await world.reply(user)
    [report] = reports(world)
    assert sent.shown.splitlines()[0] == SENT[lang].format(number=report.id)
    assert report.free_text == "swollen ankle 脚踝肿"
    [kept] = attachments(world)
    # The largest size Telegram made, by its file id, on the channel it came from.
    assert (kept.report_id, kept.channel, kept.kind, kept.file_id) == (
        report.id,
        Channel.TELEGRAM,
        AttachmentKind.IMAGE,
        sizes[-1]["file_id"],
    )
    alert = (await world.reply(nurse)).shown.splitlines()
    assert alert[-1] == WITH_PHOTO[lang].format(number=report.id)

    listed = await world.say(nurse, "/reports")
    photo_line = {
        "en": f"  1 photo: /reports R{report.id} shows it.",
        "zh": f"  1 张照片：/reports R{report.id} 可查看。",
    }
    assert photo_line[lang] in listed.shown.splitlines()
    head = {
        "en": f"R{report.id} P01: written to the bot, not through /report; reported ",
        "zh": f"R{report.id} P01：直接发给机器人，未通过 /report；报告时间 ",
    }
    assert any(line.startswith(head[lang]) for line in listed.shown.splitlines())

    whole = await world.say(nurse, f"/reports R{report.id}")
    assert whole.shown.splitlines()[0].startswith(head[lang])
    shown_again = await world.reply(nurse)
    assert shown_again.method == "sendPhoto"
    assert shown_again.photo is not None
    assert shown_again.photo.file_id == kept.file_id
    caption = {
        "en": f"Photo 1 of 1 of report R{report.id} from P01.",
        "zh": f"报告 R{report.id}（P01）的照片，第 1 张，共 1 张。",
    }
    assert shown_again.shown == caption[lang]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_photo_without_a_caption_is_offered_too(world: World, lang: str) -> None:
    user = await patient(world, "P01", lang)
    nurse = await staff(world, lang)
    await world.api.user_sends_photo(user)
    offer = await world.reply(user)
    assert offer.shown.splitlines() == OFFER[lang]
    await world.press(user, offer, YES_NO[lang][0])
    await world.reply(user)
    [report] = reports(world)
    assert report.free_text is None
    assert len(attachments(world)) == 1
    alert = (await world.reply(nurse)).shown.splitlines()
    assert alert[1:] == [WRITTEN[lang], NO_WORDS[lang], WITH_PHOTO[lang].format(number=report.id)]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_photo_as_the_guided_reports_own_words_is_kept_with_it(
    world: World, lang: str
) -> None:
    """Inside /report the flow handles the message as before: the photo's caption is the
    patient's description, and the photo is kept with that report."""
    user = await patient(world, "P01", lang)
    labels = {
        "en": ("None of these", "Foamy urine", "Mild", "Today"),
        "zh": ("以上都没有", "尿中泡沫多", "轻度", "今天"),
    }
    await walk_to_details(world, user, labels[lang])
    await world.api.user_sends_photo(user, "foam")
    confirmation = await world.reply(user)
    [report] = reports(world)
    assert confirmation.shown.splitlines()[0] == SENT[lang].format(number=report.id)
    assert (report.category, report.free_text) == ("foamy_urine", "foam")
    [kept] = attachments(world)
    assert kept.report_id == report.id


@pytest.mark.parametrize("lang", LANGS)
async def test_a_written_report_becomes_an_adverse_event_only_with_its_onset(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    nurse = await staff(world, lang)
    offer = await world.say(user, "headache since Monday")
    await world.press(user, offer, YES_NO[lang][0])
    await world.reply(user)
    [report] = reports(world)
    await world.reply(nurse)  # the alert
    refused = await world.say(nurse, f"/triage R{report.id} ae G1 headache")
    reason = {
        "en": f"Report R{report.id} was written to the bot and does not say when it started: "
        "add onset=YYYY-MM-DD.",
        "zh": f"报告 R{report.id} 是受试者直接发给机器人的，未说明开始时间：请加上 onset=YYYY-MM-DD。",
    }
    assert refused.shown.splitlines()[0] == reason[lang]
    assert refused.buttons() == []
    preview = await world.say(nurse, f"/triage R{report.id} ae G1 headache onset=2026-11-29")
    assert len(preview.buttons()) == 2


# --- the waiting message survives a restart (in-memory channel, same database) -------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_waiting_message_survives_a_restart(tmp_path: Path, lang: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    services = Services(
        engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"), "trial_bot"
    )
    language = "en" if lang == "en" else "zh_Hans"
    with UnitOfWork(engine, "system", START) as uow:
        enroll_patient(
            uow,
            services.protocol,
            study_id="P01",
            arm="belimumab_mt",
            day0=START.date(),
            sex="F",
            weight_kg="62",
            language=language,
            timezone="Asia/Shanghai",
            daily_dose_reminders=False,
            now=START,
        )
        token = create_invite(
            uow, InviteRole.PATIENT, patient=patient_by_study_id(uow.session, "P01")
        )

    def start_bot() -> MemoryChannel:
        channel = MemoryChannel(Conversations(services, FEATURES))
        services.router = Router(services, {Channel.MEMORY: channel.transport})
        return channel

    before = start_bot()
    [ask] = await before.say("m1", f"/start {token}", LANGUAGE_CODES[lang])
    await before.choose("m1", ask, "English" if lang == "en" else "中文")
    photo = FileRef(AttachmentKind.IMAGE, "mem-photo-1")
    [offer] = await before.say("m1", "rash on my arm", LANGUAGE_CODES[lang], file=photo)
    assert offer.text.splitlines() == OFFER[lang]

    # A new process: nothing carried over but the database (and the chat the person sees).
    after = start_bot()
    after.transport = before.transport
    [sent] = await after.choose("m1", offer, YES_NO[lang][0], LANGUAGE_CODES[lang])
    with read_session(engine) as session:
        [report] = session.exec(select(PatientReport)).all()
        [kept] = session.exec(select(ReportAttachment)).all()
    assert sent.text.splitlines() == [SENT[lang].format(number=report.id), *pointer(lang)]
    assert report.free_text == "rash on my arm"
    assert (kept.channel, kept.file_id) == (Channel.MEMORY, "mem-photo-1")
    engine.dispose()
