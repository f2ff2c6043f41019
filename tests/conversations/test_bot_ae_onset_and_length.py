"""An adverse event's onset against the patient's day 0, and its length, end to end.

An onset before day 0 is accepted with a note asking whether it is medical history;
one more than 26 weeks before day 0 is refused as a likely typo and nothing is stored.
An event typed in more than 200 characters is refused before anything is proposed.
Both through /ae and /triage, in both languages.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.store.models import AdverseEvent, PendingAction
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, button_labels, confirm, member, rows
from tests.support.status_seed import open_report

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])

# The harness enrolls with day 0 on Tue 1 Dec 2026; 26 weeks before it is 2 Jun 2026.
NOTE = {
    "en": (
        "The onset is before day 0 (Tue, Dec 1, 2026): if this began before the study, "
        "it may be medical history rather than an adverse event."
    ),
    "zh": "发生日期早于第 0 天（2026年12月1日周二）：如果该事件在研究开始前就已出现，可能属于既往病史，而不是不良事件。",
}
TOO_EARLY = {
    "en": (
        "The onset 2026-06-01 is more than 26 weeks before day 0 (2026-12-01), which is "
        "likely a typo: nothing was stored. Check the onset date."
    ),
    "zh": "发生日期 2026-06-01 早于第 0 天（2026-12-01）超过 26 周，可能是笔误：未保存任何内容。请核对发生日期。",
}
TOO_LONG = {
    "en": "The adverse event description is 201 characters long; keep it to 200.",
    "zh": "不良事件描述有 201 个字符；请不超过 200 个字符。",
}
CONFIRM_CANCEL = {"en": ["Confirm", "Cancel"], "zh": ["确认", "取消"]}


@LANGS
async def test_ae_onset_before_day0_is_accepted_with_a_medical_history_note(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)

    summary = await world.say(nurse, "/ae P01 headache G1 onset=2026-11-20")
    assert NOTE[lang] in summary.shown.splitlines()
    assert button_labels(summary) == CONFIRM_CANCEL[lang]
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert event.onset_date == date(2026, 11, 20)


@LANGS
async def test_ae_onset_on_or_after_day0_has_no_note(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    for onset in ("2026-12-01", "2026-12-10"):
        summary = await world.say(nurse, f"/ae P01 headache G1 onset={onset}")
        assert NOTE[lang] not in summary.shown


@LANGS
async def test_ae_onset_exactly_26_weeks_before_day0_is_accepted(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    earliest = date(2026, 12, 1) - timedelta(weeks=26)
    summary = await world.say(nurse, f"/ae P01 headache G1 onset={earliest.isoformat()}")
    assert NOTE[lang] in summary.shown.splitlines()
    assert button_labels(summary) == CONFIRM_CANCEL[lang]


@LANGS
@pytest.mark.parametrize("grade", ["G2", "G4"])
async def test_ae_onset_more_than_26_weeks_before_day0_is_refused(
    world: World, lang: str, grade: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)

    refusal = await world.say(nurse, f"/ae P01 lung infection {grade} onset=2026-06-01")
    assert refusal.shown.startswith(TOO_EARLY[lang])
    assert refusal.buttons() == []
    assert rows(world, AdverseEvent) == []
    assert rows(world, PendingAction) == []


@LANGS
async def test_triage_onset_before_day0_note_and_refusal(world: World, lang: str) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=NOW - timedelta(hours=1))
    nurse = await member(world, "nurse", lang)

    summary = await world.say(nurse, f"/triage R{number} ae G1 headache onset=2026-11-20")
    assert NOTE[lang] in summary.shown.splitlines()
    assert button_labels(summary) == CONFIRM_CANCEL[lang]

    refusal = await world.say(nurse, f"/triage R{number} ae G1 headache onset=2026-06-01")
    assert refusal.shown.startswith(TOO_EARLY[lang])
    assert refusal.buttons() == []

    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert event.onset_date == date(2026, 11, 20)


@LANGS
async def test_an_event_over_200_characters_is_refused(world: World, lang: str) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=NOW - timedelta(hours=1))
    nurse = await member(world, "nurse", lang)
    long_term = "x" * 201

    refusal = await world.say(nurse, f"/ae P01 {long_term} G2")
    assert refusal.shown.startswith(TOO_LONG[lang])
    refusal = await world.say(nurse, f"/triage R{number} ae G2 {long_term}")
    assert refusal.shown.startswith(TOO_LONG[lang])
    assert rows(world, AdverseEvent) == []
    assert rows(world, PendingAction) == []

    summary = await world.say(nurse, f"/ae P01 {'x' * 200} G2")
    assert button_labels(summary) == CONFIRM_CANCEL[lang]
