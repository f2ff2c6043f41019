"""Grades 4 and 5 end to end over HTTP, in both languages.

Grade 5 is death (CTCAE v5.0): the event is serious with the criterion death whatever
was typed, so Confirm alerts every coordinator and starts the 24-hour clock, from /ae
and from /triage. A grade 4 event typed without ``serious=`` first asks whether it was
life-threatening, from /ae and from /triage; only the answer's preview has Confirm, and an
old press changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.adverse_events import Seriousness
from core.store.models import ActionStatus, AdverseEvent, InviteRole, PendingAction
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, button_labels, confirm, member, rows, team
from tests.support.status_seed import open_report

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])

TEXT = {
    "en": {
        "death": "Serious: results in death.",
        "death_and_hospital": "Serious: results in death and requires or prolongs hospitalisation.",
        "why": "Grade 5 means death: the event is serious with the criterion results in death.",
        "clock": "On Confirm every coordinator is alerted and the 24-hour reporting clock starts.",
        "alerted": "AE1 is serious. Coordinators alerted: 2.",
        "question": "Was this event life-threatening (serious)?",
        "not_given": "Not serious (no seriousness criterion given).",
        "life_threatening": "Serious: life-threatening.",
        "answered_no": "Not serious (answered: not life-threatening).",
        "recorded": "Adverse event AE1 is recorded for P01.",
        "invalid": "This button is no longer valid.",
    },
    "zh": {
        "death": "严重：导致死亡。",
        "death_and_hospital": "严重：导致死亡和需要住院或延长住院。",
        "why": "5 级即死亡：该事件为严重不良事件，严重性标准为“导致死亡”。",
        "clock": "确认后将通知所有协调员，24 小时报告时限开始计时。",
        "alerted": "AE1 为严重不良事件。已通知协调员：2 位。",
        "question": "该事件是否危及生命（严重）？",
        "not_given": "非严重（未给出严重性标准）。",
        "life_threatening": "严重：危及生命。",
        "answered_no": "非严重（已回答：未危及生命）。",
        "recorded": "已为 P01 记录不良事件 AE1。",
        "invalid": "此按钮已失效。",
    },
}
BUTTONS = {
    "en": {
        "choices": ["Life-threatening (serious)", "Not serious"],
        "confirm_cancel": ["Confirm", "Cancel"],
    },
    "zh": {"choices": ["危及生命（严重）", "非严重"], "confirm_cancel": ["确认", "取消"]},
}
ALERT_DEATH = {"en": "Serious: results in death.", "zh": "严重：导致死亡。"}


def flags(event: AdverseEvent) -> set[Seriousness]:
    return {c for c in Seriousness if getattr(event, c.value)}


async def settled(world: World, user: int) -> None:
    """Wait until the bot has handled everything ``user`` sent (updates run in order)."""
    await world.say(user, "/help")


async def press(world: World, user: int, message_id: int, data: str) -> None:
    await world.api.user_presses(user, message_id, data)


# --- grade 5 ----------------------------------------------------------------------------


@LANGS
@pytest.mark.parametrize(
    ("typed", "expected", "line"),
    [
        ("/ae P01 sepsis G5", {Seriousness.DEATH}, "death"),
        (
            "/ae P01 sepsis G5 serious=hospitalization",
            {Seriousness.DEATH, Seriousness.HOSPITALIZATION},
            "death_and_hospital",
        ),
    ],
    ids=["no-serious", "serious-hospitalization"],
)
async def test_grade_5_is_serious_with_death_and_alerts_every_coordinator(
    world: World, lang: str, typed: str, expected: set[Seriousness], line: str
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    text = TEXT[lang]

    summary = await world.say(nurse, typed)
    lines = summary.shown.splitlines()
    assert text[line] in lines
    assert text["why"] in lines
    assert text["clock"] in lines
    assert button_labels(summary) == BUTTONS[lang]["confirm_cancel"]
    assert rows(world, AdverseEvent) == []

    recorded = await confirm(world, nurse, summary)
    assert recorded.shown == text["recorded"]
    assert (await world.reply(nurse)).shown.startswith(text["alerted"])
    (event,) = rows(world, AdverseEvent)
    assert event.grade == 5
    assert event.serious
    assert flags(event) == expected
    for coordinator, reader in (
        (coordinators.coordinator_en, "en"),
        (coordinators.coordinator_zh, "zh"),
    ):
        alert = await world.reply(coordinator)
        assert alert.shown.splitlines()[1].startswith(ALERT_DEATH[reader].rstrip("。."))


@LANGS
async def test_triage_grade_5_is_serious_with_death(world: World, lang: str) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=NOW - timedelta(hours=1))
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    nurse = await member(world, "nurse", lang)
    text = TEXT[lang]

    summary = await world.say(nurse, f"/triage R{number} ae G5 sepsis")
    assert text["death"] in summary.shown.splitlines()
    assert text["why"] in summary.shown.splitlines()
    assert text["clock"] in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.grade, flags(event)) == (5, {Seriousness.DEATH})
    alert = await world.reply(coordinator)
    assert f"SERIOUS ADVERSE EVENT AE{event.id}, patient P01" in alert.shown
    assert "Serious: results in death." in alert.shown


# --- grade 4 ----------------------------------------------------------------------------


@LANGS
@pytest.mark.parametrize("answer", ["yes", "no"])
async def test_grade_4_without_serious_asks_before_confirm(
    world: World, lang: str, answer: str
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "investigator", lang)
    world.clock.set(NOW)
    text = TEXT[lang]

    question = await world.say(nurse, "/ae P01 lung infection G4")
    assert button_labels(question) == BUTTONS[lang]["choices"]
    assert text["question"] in question.shown
    assert text["not_given"] not in question.shown
    assert rows(world, AdverseEvent) == []
    (asked,) = rows(world, PendingAction)
    assert asked.status == ActionStatus.OPEN

    data = next(d for d in question.callback_data() if d.endswith(f":{answer}"))
    await press(world, nurse, question.message_id, data)
    summary = await world.reply(nurse)
    assert button_labels(summary) == BUTTONS[lang]["confirm_cancel"]
    assert world.api.message(nurse, question.message_id).buttons() == []
    assert rows(world, AdverseEvent) == []  # still nothing before Confirm
    if answer == "yes":
        assert text["life_threatening"] in summary.shown.splitlines()
        assert text["clock"] in summary.shown.splitlines()
    else:
        assert text["answered_no"] in summary.shown.splitlines()
        assert text["clock"] not in summary.shown

    recorded = await confirm(world, nurse, summary)
    assert recorded.shown == text["recorded"]
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.grade) == ("lung_infection", 4)
    if answer == "yes":
        assert flags(event) == {Seriousness.LIFE_THREATENING}
        assert (await world.reply(nurse)).shown.startswith(text["alerted"])
        alert = await world.reply(coordinators.coordinator_en)
        assert "Serious: life-threatening." in alert.shown
    else:
        assert flags(event) == set()
        assert not event.serious


TRIAGE_HEAD = {
    "en": "Report R{number} from P01 (Fever or signs of infection) becomes an adverse event:",
    "zh": "P01 的报告 R{number}（发热或感染迹象）将转为不良事件：",
}


@LANGS
@pytest.mark.parametrize("answer", ["yes", "no"])
async def test_triage_grade_4_without_serious_asks_before_confirm(
    world: World, lang: str, answer: str
) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=NOW - timedelta(hours=2))
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    nurse = await member(world, "nurse", lang)
    text = TEXT[lang]

    question = await world.say(nurse, f"/triage R{number} ae G4 lung infection")
    lines = question.shown.splitlines()
    assert lines[0] == TRIAGE_HEAD[lang].format(number=number)
    assert text["question"] in question.shown
    assert text["not_given"] not in lines
    assert button_labels(question) == BUTTONS[lang]["choices"]
    assert rows(world, AdverseEvent) == []

    data = next(d for d in question.callback_data() if d.endswith(f":{answer}"))
    await press(world, nurse, question.message_id, data)
    summary = await world.reply(nurse)
    assert summary.shown.splitlines()[0] == TRIAGE_HEAD[lang].format(number=number)
    assert button_labels(summary) == BUTTONS[lang]["confirm_cancel"]
    assert rows(world, AdverseEvent) == []  # still nothing before Confirm
    if answer == "yes":
        assert text["life_threatening"] in summary.shown.splitlines()
        assert text["clock"] in summary.shown.splitlines()
    else:
        assert text["answered_no"] in summary.shown.splitlines()
        assert text["clock"] not in summary.shown

    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.grade) == ("lung_infection", 4)
    assert event.awareness_at == NOW - timedelta(hours=2)  # when the patient reported
    if answer == "yes":
        assert flags(event) == {Seriousness.LIFE_THREATENING}
        alert = await world.reply(coordinator)
        assert "Serious: life-threatening." in alert.shown
        assert "(22 h left)" in alert.shown
    else:
        assert flags(event) == set()


@LANGS
async def test_triage_grade_4_answer_after_the_report_was_closed_stores_nothing(
    world: World, lang: str
) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01")
    nurse = await member(world, "nurse", lang)
    investigator = await member(world, "investigator", "en")
    question = await world.say(nurse, f"/triage R{number} ae G4 lung infection")
    closing = await world.say(investigator, f"/triage R{number} close duplicate")
    await confirm(world, investigator, closing)

    data = next(d for d in question.callback_data() if d.endswith(":yes"))
    await press(world, nurse, question.message_id, data)
    refused = await world.reply(nurse)
    assert (
        refused.shown
        == {
            "en": f"Nothing was stored: Report R{number} was already triaged: it is closed.",
            "zh": f"未保存任何内容：报告 R{number} 已经分诊过：已关闭。",
        }[lang]
    )
    assert refused.buttons() == []
    assert rows(world, AdverseEvent) == []


@LANGS
async def test_grade_4_with_serious_typed_is_not_asked(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/ae P01 lung infection G4 serious=life-threatening")
    assert button_labels(summary) == BUTTONS[lang]["confirm_cancel"]


@LANGS
async def test_an_old_or_repeated_answer_changes_nothing(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    text = TEXT[lang]
    question = await world.say(nurse, "/ae P01 sepsis G4")
    yes = next(d for d in question.callback_data() if d.endswith(":yes"))
    no = next(d for d in question.callback_data() if d.endswith(":no"))

    # Both answers pressed before the buttons went: the first one counts, once.
    await press(world, nurse, question.message_id, yes)
    await press(world, nurse, question.message_id, no)
    summary = await world.reply(nurse)
    assert text["life_threatening"] in summary.shown.splitlines()
    await settled(world, nurse)
    assert world.api.callback_answers[-1].text == text["invalid"]
    assert [a.status for a in rows(world, PendingAction)] == [
        ActionStatus.CONFIRMED,
        ActionStatus.OPEN,
    ]
    await confirm(world, nurse, summary)
    await world.reply(nurse)  # no coordinator to alert: the nurse is told
    (event,) = rows(world, AdverseEvent)
    assert flags(event) == {Seriousness.LIFE_THREATENING}

    # A question left unanswered past the Confirm window is stale too.
    late = await world.say(nurse, "/ae P01 sepsis G4")
    world.clock.advance(timedelta(hours=3))
    data = next(d for d in late.callback_data() if d.endswith(":no"))
    await press(world, nurse, late.message_id, data)
    await settled(world, nurse)
    assert world.api.callback_answers[-1].text == text["invalid"]
    assert rows(world, PendingAction)[-1].status == ActionStatus.EXPIRED
    assert len(rows(world, AdverseEvent)) == 1
