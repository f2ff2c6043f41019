"""Bad input, end to end: each gets a short localized answer and changes nothing.

Requirement: "Unknown commands, free text where a button was expected, over-long
text, HTML in user text (escaped whenever shown back), stale buttons,
messages in groups: each gets a short localized answer and changes nothing."
And: "The language comes from the person's stored choice, else from
Telegram's ``language_code`` (any ``zh`` that is not Traditional ->
``zh_Hans``), else Chinese."

"Changes nothing" is checked on every table, the audit trail included.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.roles import COMMANDS, Role, may
from core.store.models import InviteRole, Patient, PatientStatus, Staff
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import TOKEN, World, is_telegram_staff
from tests.support.db_state import Snapshot, changed_tables, snapshot

EVERYTHING: frozenset[str] = frozenset()  # snapshot(skip=EVERYTHING): the audit trail too

# The sentences, as the requirements and the design word them.
EN = {
    "unknown": "I do not know the command {command}. /help lists what you can do.",
    "buttons": "Please answer with the buttons above.",
    "hint": "I can only act on commands and buttons. /help lists what you can do.",
    "not_text": "I can only read text messages and button presses.",
    "stale": "This button is no longer valid.",
    "group": "I only work in private chats. Please write to me directly.",
    "stranger": "open the invitation link",
    "help": "What you can do:",
}
ZH = {
    "unknown": "我不认识命令 {command}。/help 列出您可以做的事。",
    "buttons": "请使用上方的按钮回答。",
    "hint": "我只能处理命令和按钮。/help 列出您可以做的事。",
    "not_text": "我只能读取文字消息和按钮操作。",
    "stale": "此按钮已失效。",
    "group": "我只在私聊中工作。请直接给我发消息。",
    "stranger": "邀请链接",
    "help": "您可以",
}
TEXTS = {"en": EN, "zh_Hans": ZH}
LANGS = ["en", "zh_Hans"]
TELEGRAM_CODE = {"en": "en", "zh_Hans": "zh-CN"}
CHOICE = {"en": "English", "zh_Hans": "中文"}

_fake_ids = itertools.count(900_000)


def unchanged(world: World, before: Snapshot) -> None:
    assert changed_tables(before, snapshot(world.services.engine, skip=EVERYTHING)) == {}


def state(world: World) -> Snapshot:
    return snapshot(world.services.engine, skip=EVERYTHING)


async def joined_patient(world: World, lang: str, study_id: str = "P01") -> int:
    world.enroll(study_id, language=lang)
    return await world.join_patient(study_id, TELEGRAM_CODE[lang], CHOICE[lang])


async def bot_says(world: World, user: int, text: str) -> SentMessage:
    """What the bot answers to ``text``, checking that nothing was stored."""
    before = state(world)
    answer = await world.say(user, text)
    unchanged(world, before)
    return answer


async def user_sends_content(world: World, user: int, chat_id: int, **content: Any) -> None:
    """A non-text message (sticker, photo...), queued as Telegram would deliver it.

    The local server's users type text, send photos and press buttons, so any
    other message is put on its update queue directly; the bot still fetches it by
    polling over HTTP.
    """
    message = {
        "message_id": next(_fake_ids),
        "from": world.api.user(user).to_dict(),
        "chat": world.api.chat(chat_id).to_dict(),
        "date": 1_796_000_000,
        **content,
    }
    world.api._enqueue("message", message)


STICKER = {
    "sticker": {
        "file_id": "CAACAgIAAxkBAAIBY2",
        "file_unique_id": "AgADY2",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
}
VOICE = {"voice": {"file_id": "AwACAgIAAxkBAAIBZW", "file_unique_id": "AgADZW", "duration": 3}}


async def answered(world: World, query_id: str) -> str | None:
    """The text of the bot's answer to a button press (waits for the answer)."""
    api = world.api

    def found() -> bool:
        return any(a.callback_query_id == query_id for a in api.callback_answers)

    await api.wait_until(found, what=f"an answer to callback query {query_id}")
    return next(a.text for a in api.callback_answers if a.callback_query_id == query_id)


# --- unknown commands, free text, not text -------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_unknown_command_is_named_in_the_persons_language(world: World, lang: str) -> None:
    user = await joined_patient(world, lang)
    answer = await bot_says(world, user, "/frobnicate now please")
    assert answer.shown == TEXTS[lang]["unknown"].format(command="/frobnicate")


@pytest.mark.parametrize("lang", LANGS)
async def test_staff_unknown_command(world: World, lang: str) -> None:
    user = await world.join_staff(InviteRole.NURSE, TELEGRAM_CODE[lang])
    answer = await bot_says(world, user, "/frobnicate")
    assert answer.shown == TEXTS[lang]["unknown"].format(command="/frobnicate")


@pytest.mark.parametrize("lang", LANGS)
async def test_free_text_while_a_button_is_expected(world: World, lang: str) -> None:
    world.enroll("P01", language=lang)
    user = world.new_user(TELEGRAM_CODE[lang])
    ask = await world.say(user, f"/start {world.invite(InviteRole.PATIENT, world.patient('P01'))}")
    assert ask.buttons()
    for text in ("English please", "中文", "lang:en", "lang"):
        answer = await bot_says(world, user, text)
        assert answer.shown == TEXTS[lang]["buttons"]
    # The flow still waits, and the buttons still work.
    await world.press(user, ask, CHOICE[lang])
    await world.reply(user)
    privacy = await world.reply(user)
    assert "120" in privacy.shown


@pytest.mark.parametrize("lang", LANGS)
async def test_staff_free_text_without_a_flow_gets_the_hint(world: World, lang: str) -> None:
    """A patient's free text is offered as a report (tests/conversations/test_bot_free_text.py);
    staff's means nothing outside a flow."""
    user = await world.join_staff(InviteRole.NURSE, TELEGRAM_CODE[lang])
    answer = await bot_says(world, user, "hello, when is my next infusion?")
    assert answer.shown == TEXTS[lang]["hint"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("content", [STICKER, VOICE], ids=["sticker", "voice"])
async def test_a_message_that_is_not_text(world: World, lang: str, content: dict[str, Any]) -> None:
    user = await joined_patient(world, lang)
    before = state(world)
    await user_sends_content(world, user, user, **content)
    answer = await world.reply(user)
    assert answer.shown == TEXTS[lang]["not_text"]
    unchanged(world, before)


@pytest.mark.parametrize("lang", LANGS)
async def test_a_photo_from_staff_is_not_read(world: World, lang: str) -> None:
    """Only a patient's photo means something (a report); staff's is not read."""
    user = await world.join_staff(InviteRole.NURSE, TELEGRAM_CODE[lang])
    before = state(world)
    await world.api.user_sends_photo(user, "/schedule <b>")
    answer = await world.reply(user)
    assert answer.shown == TEXTS[lang]["not_text"]
    unchanged(world, before)


async def test_strangers_get_the_explanation_whatever_they_send(world: World) -> None:
    user = world.new_user("en")
    for text in ("/frobnicate", "hello", "x" * 4096, "<b>&</b>"):
        answer = await bot_says(world, user, text)
        assert EN["stranger"] in answer.shown


# --- over-long text -------------------------------------------------------------------------


LONG_TEXTS = {
    "latin": "a" * 4096,
    "chinese": "长" * 4096,
    "html": ("<b>&amp;</b>" * 400)[:4096],
    "spaces": "a " * 2048,
}


@pytest.mark.parametrize("kind", LONG_TEXTS)
async def test_longest_text_telegram_allows_is_answered(world: World, kind: str) -> None:
    text = LONG_TEXTS[kind]
    assert len(text.encode("utf-16-le")) // 2 == 4096
    user = await joined_patient(world, "en")
    # Too long to offer as a report: refused before anything is kept.
    refusal = (await bot_says(world, user, text)).shown
    assert refusal.splitlines()[0] == (
        f"Your message is {len(text.strip())} characters long; a report to the study team "
        "can hold 1000. Please send it in shorter parts."
    )
    command = ("/frobnicate" + text)[:4096]
    assert (await bot_says(world, user, command)).shown == EN["unknown"].format(
        command=command.split()[0][:40]
    )
    invalid = await bot_says(world, user, ("/start " + text)[:4096])
    assert "not valid" in invalid.shown


async def test_long_text_while_a_button_is_expected(world: World) -> None:
    world.enroll("P01", language="en")
    user = world.new_user("en")
    await world.say(user, f"/start {world.invite(InviteRole.PATIENT, world.patient('P01'))}")
    assert (await bot_says(world, user, "长" * 4096)).shown == EN["buttons"]


# --- HTML in user text is shown back escaped ---------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "typed",
    [
        "/frobnicate<b>&</b>",
        "/x<i>unclosed",
        "/x&amp;&lt;",
        "/x</b></a><a href='javascript:alert(1)'>",
        "/x{command}{0}%s",
        # Cut at 40 characters in the middle of a tag and of an entity.
        "/" + "a" * 35 + "<b>&amp;</b>",
        "/" + "a" * 37 + "&amp;",
    ],
)
async def test_html_in_an_unknown_command_is_shown_literally(
    world: World, lang: str, typed: str
) -> None:
    user = await joined_patient(world, lang)
    answer = await bot_says(world, user, typed)
    word = typed.split()[0][:40]
    assert answer.shown == TEXTS[lang]["unknown"].format(command=word)
    assert answer.entities == [] or all(e["type"] == "bot_command" for e in answer.entities)


# --- stale buttons ------------------------------------------------------------------------


async def press(world: World, user: int, message: SentMessage, label: str) -> str:
    return await world.api.user_presses(user, message.message_id, message.data_for(label))


async def test_language_button_after_the_flow_ended_changes_the_language(world: World) -> None:
    world.enroll("P01", language="zh_Hans")
    user = world.new_user("en")
    ask = await world.say(user, f"/start {world.invite(InviteRole.PATIENT, world.patient('P01'))}")
    await world.press(user, ask, "中文")
    for _ in range(3):
        await world.reply(user)
    # The join prompt lost its buttons once a language was chosen; a language
    # button after the flow ended (from /lang) is allowed: it only changes the language.
    assert not world.api.message(ask.chat_id, ask.message_id).buttons()
    prompt = await world.say(user, "/lang")
    await press(world, user, prompt, "English")
    assert "English" in (await world.reply(user)).shown
    assert world.patient("P01").language == "en"
    assert (await world.say(user, "/help")).shown.startswith(EN["help"])


def withdraw(world: World, study_id: str) -> None:
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        patient = uow.session.get(Patient, world.patient(study_id).id)
        assert patient is not None
        uow.update(patient, "patient.withdrawn", status=PatientStatus.WITHDRAWN)


def deactivate(world: World, user: int) -> None:
    from sqlmodel import select

    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        staff = uow.session.exec(select(Staff).where(is_telegram_staff(user))).one()
        uow.update(staff, "staff.deactivated", active=False)


@pytest.mark.parametrize("lang", LANGS)
async def test_language_button_of_a_withdrawn_patient_is_no_longer_valid(
    world: World, lang: str
) -> None:
    user = await joined_patient(world, lang)
    prompt = await world.say(user, "/lang")
    withdraw(world, "P01")
    before = state(world)
    query = await press(world, user, prompt, "English")
    assert await answered(world, query) == TEXTS[lang]["stale"]
    unchanged(world, before)
    assert world.patient("P01").language == lang


async def test_language_button_of_deactivated_staff_is_no_longer_valid(world: World) -> None:
    user = await world.join_staff(InviteRole.COORDINATOR, "zh-CN")
    prompt = await world.say(user, "/lang")
    deactivate(world, user)
    before = state(world)
    query = await press(world, user, prompt, "English")
    assert await answered(world, query) == ZH["stale"]
    unchanged(world, before)
    # Without a role, commands are refused too.
    assert ZH["stranger"] in (await world.say(user, "/lang")).shown


@pytest.mark.parametrize("role", [InviteRole.PATIENT, InviteRole.NURSE, InviteRole.COORDINATOR])
async def test_every_button_of_someone_whose_role_ended_is_no_longer_valid(
    world: World, role: InviteRole
) -> None:
    """A withdrawn patient or deactivated staff member keeps the buttons the bot sent:
    a half-done report, a staff guide, a Confirm of typed data, the language buttons."""
    if role == InviteRole.PATIENT:
        user = await joined_patient(world, "en")
    else:
        world.enroll("P01")
        user = await world.join_staff(role, "en")
    commands = [f"/{c}" for c in COMMANDS if c != "start" and may(Role(role.value), c)]
    for text in [*commands, "/weight P01 61.5kg", "/lang"]:
        await world.say(user, text)
    await asyncio.sleep(0.2)  # a command may send more than one message
    if role == InviteRole.PATIENT:
        withdraw(world, "P01")
    else:
        deactivate(world, user)
    before = state(world)
    pressed = 0
    for message in world.api.messages_to(user):
        for data in message.callback_data():
            query = await world.api.user_presses(user, message.message_id, data)
            assert await answered(world, query) == EN["stale"], data
            pressed += 1
    assert pressed >= 3
    unchanged(world, before)


@pytest.mark.parametrize(
    "data", ["old:feature:1", "rep:", "rem:999999:done", "lang:fr", "lang:", "cal:x", "长" * 21]
)
async def test_a_button_the_bot_no_longer_knows(world: World, data: str) -> None:
    """A button an earlier version of the bot sent (or a tampered one): no longer valid."""
    user = await joined_patient(world, "en")
    async with Bot(TOKEN, base_url=world.api.base_url) as earlier_bot:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Old", callback_data=data)]])
        old = await earlier_bot.send_message(user, "An old message", reply_markup=markup)
    before = state(world)
    query = await world.api.user_presses(user, old.message_id, data)
    assert await answered(world, query) == EN["stale"]
    unchanged(world, before)


# --- groups ----------------------------------------------------------------------------------

GROUP = -100_500


@pytest.mark.parametrize("code", ["en", "zh-CN", "en-GB", None])
async def test_commands_in_a_group_get_one_sentence_and_store_nothing(
    world: World, code: str | None
) -> None:
    stranger = world.new_user(code)
    world.api.add_group(GROUP, "Ward 5", member_ids=[stranger])
    lang = "en" if code and code.startswith("en") else "zh_Hans"
    token = world.invite(InviteRole.NURSE)
    before = state(world)
    for text in ("/start", "/schedule", f"/start {token}", "/frobnicate", "/lang"):
        await world.api.user_sends(stranger, text, chat_id=GROUP)
        answer = await world.reply(GROUP)
        assert answer.shown == TEXTS[lang]["group"]
        unchanged(world, before)


async def test_a_patient_in_a_group_sees_no_study_data(world: World) -> None:
    user = await joined_patient(world, "en")
    # Telegram now says Chinese, but the stored choice (English) wins.
    world.api.user(user).language_code = "zh-CN"
    world.api.add_group(GROUP, "Family", member_ids=[user])
    before = state(world)
    for text in ("/schedule", "/help", "/lang", "/start"):
        await world.api.user_sends(user, text, chat_id=GROUP)
        answer = await world.reply(GROUP)
        assert answer.shown == EN["group"]
        assert not answer.buttons()
    # A reply to the bot's message reaches the bot even with group privacy on.
    await world.api.user_sends(user, "my results?", chat_id=GROUP, reply_to=answer.message_id)
    assert (await world.reply(GROUP)).shown == EN["group"]
    await user_sends_content(world, user, GROUP, **STICKER)
    assert (await world.reply(GROUP)).shown == EN["group"]
    unchanged(world, before)
    assert all(m.chat_id == GROUP for m in world.api.messages_to(GROUP))


# --- language negotiation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "lang"),
    [
        ("zh-CN", "zh_Hans"),
        ("zh-hans", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", "zh_Hans"),  # Traditional is not ours: the default, Chinese
        ("zh-Hant-HK", "zh_Hans"),
        ("en-GB", "en"),
        ("en", "en"),
        ("EN-us", "en"),
        ("fr", "zh_Hans"),
        ("", "zh_Hans"),
        (None, "zh_Hans"),
    ],
)
async def test_a_stranger_is_answered_in_their_telegram_language(
    world: World, code: str | None, lang: str
) -> None:
    user = world.new_user(code)
    answer = await bot_says(world, user, "/start")
    assert TEXTS[lang]["stranger"] in answer.shown
    other = "en" if lang == "zh_Hans" else "zh_Hans"
    assert TEXTS[other]["stranger"] not in answer.shown


@pytest.mark.parametrize(
    ("stored", "telegram"), [("en", "zh-CN"), ("zh_Hans", "en-GB"), ("en", None), ("zh_Hans", "fr")]
)
async def test_the_stored_choice_beats_telegrams_language(
    world: World, stored: str, telegram: str | None
) -> None:
    user = await joined_patient(world, stored)
    world.api.user(user).language_code = telegram
    help_text = (await world.say(user, "/help")).shown
    assert help_text.startswith(TEXTS[stored]["help"])
    refusal = await world.join_staff(InviteRole.NURSE, TELEGRAM_CODE[stored])
    world.api.user(refusal).language_code = telegram
    refused = (await world.say(refusal, "/schedule")).shown
    expected = {
        "en": "/schedule is not available to you. /help lists what you can do.",
        "zh_Hans": "您不能使用 /schedule。/help 列出您可以做的事。",
    }
    assert refused == expected[stored]
