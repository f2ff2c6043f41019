"""One way to say things in every command, end to end over HTTP, in both languages.

Full-width letters, digits and ``＝`` from a Chinese keyboard read as ASCII and a
``，`` between fields separates them, in every command (folded once by the
conversation layer); every command reads the same date forms (``2026-12-18``,
``2026/12/18``, ``2026.12.18``, ``12/18`` = the nearest 18 December) and refuses
a date it cannot read with the same sentence.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import AdverseEvent, PlannedEventRow
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, confirm, member, press_data, rows
from tests.support.db_state import changed_tables, snapshot

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
# Day 0 on 4 Nov 2026 puts infusion 3 (week 6) on 16 Dec 2026, window 13-19 Dec.
INFUSION_DAY0 = date(2026, 11, 4)

_STORED_AS_TYPED = ("id", "awareness_at", "reported_at", "reported_by")


def _ae_fields(event: AdverseEvent) -> dict[str, object]:
    return {k: v for k, v in event.model_dump().items() if k not in _STORED_AS_TYPED}


@LANGS
async def test_full_width_ae_is_stored_as_the_ascii_one(world: World, lang: str) -> None:
    world.enroll("P01")
    sender = await member(world, "investigator", lang)
    world.clock.set(NOW)
    commands = [
        "/ae P01 肺部感染 G3 serious=hospitalization onset=2026-12-20",
        "/ae Ｐ０１ 肺部感染 Ｇ３ serious＝hospitalization onset＝２０２６／１２／２０",
        "/ae p01，肺部感染，g3，serious＝hospitalization，onset＝12/20",
    ]
    summaries = []
    for command in commands:
        summary = await world.say(sender, command)
        summaries.append(summary.shown)
        await confirm(world, sender, summary)
        await world.reply(sender)  # serious: no coordinator to alert in this world
    assert summaries[1] == summaries[2] == summaries[0]
    ascii_row, *others = (_ae_fields(e) for e in rows(world, AdverseEvent))
    assert ascii_row["verbatim"] == "肺部感染" and ascii_row["hospitalization"]
    assert ascii_row["onset_date"] == date(2026, 12, 20)
    assert others == [ascii_row, ascii_row]


@LANGS
async def test_serious_values_listed_with_a_full_width_comma(world: World, lang: str) -> None:
    world.enroll("P01")
    sender = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(sender, "/ae P01 肺部感染 G4 serious＝住院，危及生命")
    await confirm(world, sender, summary)
    (event,) = rows(world, AdverseEvent)
    assert event.hospitalization and event.life_threatening


@LANGS
async def test_weight_with_a_chinese_comma_between_fields(world: World, lang: str) -> None:
    world.enroll("P01", weight="62")
    sender = await member(world, "nurse", lang)
    world.clock.set(NOW)
    ascii_summary = await world.say(sender, "/weight P01 61.5kg")
    summary = await world.say(sender, "/weight p01，61.5kg")
    assert summary.shown == ascii_summary.shown
    await confirm(world, sender, summary)
    assert world.patient("P01").weight_kg == "61.5"


def _third_infusion(world: World) -> PlannedEventRow:
    patient = world.patient("P01")
    with read_session(world.services.engine) as session:
        return session.exec(
            select(PlannedEventRow).where(
                PlannedEventRow.patient_id == patient.id,
                PlannedEventRow.kind == EventKind.BELIMUMAB_INFUSION,
                PlannedEventRow.number == 3,
            )
        ).one()


@pytest.mark.parametrize(
    ("lang", "command"),
    [
        ("en", "/reschedule P01 infusion 3 2026/12/18"),
        ("zh", "/reschedule P01 infusion 3 2026/12/18"),
        ("en", "/reschedule P01 infusion 3 2026.12.18"),
        ("en", "/reschedule P01 infusion 3 12/18"),
        ("zh", "/reschedule P01 输注 3 12-18"),
        ("zh", "/reschedule Ｐ０１ 输注 ３ １２／１８"),
    ],
)
async def test_reschedule_reads_every_date_form(world: World, lang: str, command: str) -> None:
    # Today is 30 Nov 2026: 12/18 is 18 Dec 2026, the nearest 18 December.
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await member(world, "coordinator", lang)
    summary = await world.say(coord, command)
    await confirm(world, coord, summary)
    assert _third_infusion(world).scheduled_date == date(2026, 12, 18)


async def test_a_typed_full_width_answer_in_a_guided_flow(world: World) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await member(world, "coordinator", "zh")
    await world.say(coord, "/reschedule")
    ask = await world.say(coord, "Ｐ０１")  # typed instead of pressing the P01 button
    await press_data(world, coord, ask, ":infusion")
    await world.reply(coord)
    await world.say(coord, "３")
    ask = await world.say(coord, "１２／１８")
    await press_data(world, coord, ask, ":-")  # no reason: inside the window
    await confirm(world, coord, await world.reply(coord))
    assert _third_infusion(world).scheduled_date == date(2026, 12, 18)


# The one refusal of a date no command can read, and of one not in the calendar.
UNREADABLE = {
    "en": '"Dec18" is not a date. Write it as YYYY-MM-DD, for example {today}.',
    "zh": "“Dec18”不是日期。请按 YYYY-MM-DD 书写，例如 {today}。",
}
NOT_IN_CALENDAR = {
    "en": "2026-02-30 is not a date in the calendar: write it as YYYY-MM-DD.",
    "zh": "2026-02-30 不是日历上存在的日期：请按 YYYY-MM-DD 填写。",
}
DATED_COMMANDS = [
    ("nurse", "/ae P01 fever G1 onset={date}"),
    ("nurse", "/labs P01 w0 alb=39g/L date={date}"),
    ("investigator", "/cd20 P01 w4 120/uL date={date}"),
    ("coordinator", "/reschedule P01 infusion 3 {date}"),
    ("coordinator", "/enroll P02 belimumab_mt {date} F 62kg zh born=1984 consent=2026-11-28"),
]


@LANGS
async def test_every_command_refuses_a_bad_date_with_one_sentence(world: World, lang: str) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    senders = {role: await member(world, role, lang) for role, _ in DATED_COMMANDS}
    for role, command in DATED_COMMANDS:
        for date_text, refusal in (
            ("Dec18", UNREADABLE[lang].format(today="2026-12-21")),
            ("2026-02-30", NOT_IN_CALENDAR[lang]),
            ("２０２６－０２－３０", NOT_IN_CALENDAR[lang]),
        ):
            text = command.format(date=date_text)
            before = snapshot(world.services.engine)
            answer = await world.say(senders[role], text)
            assert answer.shown.splitlines()[0] == refusal, (text, answer.shown)
            assert answer.buttons() == [], text
            assert changed_tables(before, snapshot(world.services.engine)) == {}, text
