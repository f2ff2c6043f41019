"""Conversations that do not lose people: end to end over HTTP, in both languages.

A patient who has left the study is told so, with whom to contact, in their
own language (a stranger still learns only how to join); /status of such a
patient shows nothing coming; a language picker loses its buttons once a
language is chosen; an old Confirm or Cancel says why nothing happened.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.store.models import AdverseEvent, InviteRole, Patient
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, member, press_data, rows, withdraw
from tests.support.status_seed import NOW as TRIAGE_NOW
from tests.support.status_seed import open_report

LANGS = ["en", "zh"]
# The protocol file's contacts (tests/support's protocol): both appear for a withdrawn patient.
PHONES = ("+86-25-0000-0001", "+86-25-0000-0002")
LEFT = {
    "en": "You have left the study. If you need anything, contact the study team:",
    "zh": "您已退出本研究。如有需要，请联系研究团队：",
}
STRANGER = {"en": "open the invitation link", "zh": "邀请链接"}
NOT_VALID = {"en": "This button is no longer valid.", "zh": "此按钮已失效。"}
NO_EVENTS = {"en": "No more planned events.", "zh": "已没有计划中的安排。"}
# A chat app's language hint the opposite of the language the patient chose.
HINT = {"en": "zh-hans", "zh": "en"}
CHOICE = {"en": "English", "zh": "中文"}


async def withdrawn_patient(world: World, lang: str) -> tuple[int, int]:
    """A patient who chose ``lang`` (against their app's hint), then was withdrawn.

    Returns their user id and the message id of a /lang prompt they still hold.
    """
    world.enroll("P01")
    user = await world.join_patient("P01", language_code=HINT[lang], choose=CHOICE[lang])
    prompt = await world.say(user, "/lang")
    withdraw(world, "P01")
    return user, prompt.message_id


async def answer_to_press(world: World, user: int, message_id: int, data: str) -> str | None:
    query = await world.api.user_presses(user, message_id, data)

    def answered() -> bool:
        return any(a.callback_query_id == query for a in world.api.callback_answers)

    await world.api.wait_until(answered, what="the callback answer")
    return next(a.text for a in world.api.callback_answers if a.callback_query_id == query)


async def answers_to(world: World, message_id: int, count: int) -> list[str | None]:
    for _ in range(100):
        found = [a.text for a in world.api.callback_answers if a.message_id == message_id]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} answers to message {message_id}")


# --- a withdrawn patient -------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("said", ["/help", "/schedule", "/start", "/nonsense", "hello"])
async def test_a_withdrawn_patient_is_told_whom_to_contact(
    world: World, lang: str, said: str
) -> None:
    user, _ = await withdrawn_patient(world, lang)
    shown = (await world.say(user, said)).shown
    lines = shown.splitlines()
    assert lines[0] == LEFT[lang]
    assert all(any(phone in line for line in lines[1:]) for phone in PHONES), shown
    assert STRANGER[lang] not in shown and STRANGER[HINT[lang][:2]] not in shown


@pytest.mark.parametrize("lang", LANGS)
async def test_a_withdrawn_patients_button_is_only_no_longer_valid(world: World, lang: str) -> None:
    user, prompt_id = await withdrawn_patient(world, lang)
    prompt = world.api.message(user, prompt_id)
    sent = len(world.api.messages_to(user))
    toast = await answer_to_press(world, user, prompt_id, prompt.data_for("English"))
    assert toast == NOT_VALID[lang]
    await asyncio.sleep(0.3)
    assert len(world.api.messages_to(user)) == sent  # a toast, and nothing else
    assert world.patient("P01").language == {"en": "en", "zh": "zh_Hans"}[lang]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_stranger_still_gets_the_stranger_text(world: World, lang: str) -> None:
    user = world.new_user({"en": "en", "zh": "zh-hans"}[lang])
    for said in ("/schedule", "/start", "/nonsense", "hello"):
        shown = (await world.say(user, said)).shown
        assert STRANGER[lang] in shown
        assert LEFT[lang] not in shown


@pytest.mark.parametrize("lang", LANGS)
async def test_status_of_a_withdrawn_patient_shows_nothing_coming(world: World, lang: str) -> None:
    world.enroll("P01")
    coordinator = await world.join_staff(
        InviteRole.COORDINATOR, {"en": "en", "zh": "zh-hans"}[lang]
    )
    active = (await world.say(coordinator, "/status P01")).shown
    assert NO_EVENTS[lang] not in active  # the active patient has events coming
    withdraw(world, "P01")
    shown = (await world.say(coordinator, "/status P01")).shown
    assert NO_EVENTS[lang] in shown


# --- the language picker ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_a_language_picker_loses_its_buttons_once_chosen(world: World, lang: str) -> None:
    world.enroll("P01")
    user = world.new_user(HINT[lang])
    token = world.invite(InviteRole.PATIENT, world.patient("P01"))
    ask = await world.say(user, f"/start {token}")
    await world.press(user, ask, CHOICE[lang])
    for _ in range(3):
        await world.reply(user)
    assert world.api.message(user, ask.message_id).buttons() == []
    # /lang any time: the same, and the new choice is stored.
    other = "中文" if lang == "en" else "English"
    prompt = await world.say(user, "/lang")
    await world.press(user, prompt, other)
    await world.reply(user)
    assert world.api.message(user, prompt.message_id).buttons() == []
    assert world.patient("P01").language == ("zh_Hans" if lang == "en" else "en")


# --- an old Confirm or Cancel -------------------------------------------------------------

AE = "/ae P01 lung infection G2 onset=2026-12-20"
STORED = {"en": "Already stored.", "zh": "已保存过。"}
CANCELLED = {"en": "Cancelled earlier.", "zh": "此前已取消。"}
EXPIRED = {"en": "This button has expired.", "zh": "此按钮已过期。"}


def stored_as(lang: str, name: str) -> str:
    return {"en": f"Already stored as {name}.", "zh": f"已保存为 {name}。"}[lang]


@pytest.mark.parametrize("lang", LANGS)
async def test_an_old_confirm_of_an_adverse_event_names_it(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    # An event stored earlier, so the one this Confirm stores is not the first.
    await press_data(world, nurse, await world.say(nurse, AE), ":ok")
    await world.reply(nurse)
    summary = await world.say(nurse, AE)
    # Two presses reach the bot before it has handled the first.
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":ok")
    answers = await answers_to(world, summary.message_id, 2)
    first, second = rows(world, AdverseEvent)
    assert answers == [None, stored_as(lang, f"AE{second.id}")]
    assert second.id != first.id


@pytest.mark.parametrize("lang", LANGS)
async def test_an_old_confirm_of_a_triaged_report_names_the_event(world: World, lang: str) -> None:
    world.clock.set(TRIAGE_NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=TRIAGE_NOW - timedelta(hours=2))
    nurse = await member(world, "nurse", lang)
    summary = await world.say(nurse, f"/triage R{number} ae G2 headache")
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":ok")
    answers = await answers_to(world, summary.message_id, 2)
    (event,) = rows(world, AdverseEvent)
    assert answers == [None, stored_as(lang, f"AE{event.id}")]


@pytest.mark.parametrize("lang", LANGS)
async def test_an_old_confirm_of_other_data_says_already_stored(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/weight P01 61.5kg")
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":ok")
    answers = await answers_to(world, summary.message_id, 2)
    assert answers == [None, STORED[lang]]
    (patient,) = rows(world, Patient)
    assert str(patient.weight_kg) == "61.5"


@pytest.mark.parametrize("lang", LANGS)
async def test_an_old_button_after_cancel_says_cancelled_earlier(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, AE)
    await press_data(world, nurse, summary, ":no")
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":no")
    answers = await answers_to(world, summary.message_id, 3)
    assert answers == [None, CANCELLED[lang], CANCELLED[lang]]
    assert rows(world, AdverseEvent) == []


@pytest.mark.parametrize("lang", LANGS)
async def test_an_expired_button_says_it_has_expired(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, AE)
    world.clock.advance(timedelta(hours=2, seconds=1))
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":no")
    answers = await answers_to(world, summary.message_id, 2)
    assert answers == [EXPIRED[lang], EXPIRED[lang]]
    assert rows(world, AdverseEvent) == []
