"""/visit end to end over HTTP, in both languages: a coordinator records a visit missed with
its reason (the visit's SLEDAI-2K and CD20 with it) or attended; the workbook's visits
sheet, SDTM SV and /status P01 show attended, missed with the reason and not done; a dose
marks its infusion attended; every refusal stores nothing.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from core.store.db import read_session
from core.store.models import EventStatus, PlannedEventRow
from core.store.trial_data import load_trial_data
from core.tables.cells import table_as_dicts
from core.tables.sdtm.subjects import sv_rows
from core.tables.workbook import visits_sheet
from core.trial_records import TrialData
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    INFUSION1,
    NOW,
    WEEK12_DAY0,
    assert_refusals,
    button_labels,
    confirm,
    member,
    press_data,
    staff_id,
)
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])

MISSED = {
    "en": "/visit P01 assessment 4 missed reason=patient in hospital elsewhere",
    "zh": "/visit P01 评估 4 未到 原因=受试者在外院住院",
}
REASON = {"en": "patient in hospital elsewhere", "zh": "受试者在外院住院"}
MISSED_PREVIEW = {
    "en": [
        "Record Renal assessment 4 of P01, booked for Mon, Dec 21, 2026, as missed?",
        "Reason: patient in hospital elsewhere",
        "Recorded missed with it, at the same visit: SLEDAI-2K assessment 2 and CD20 B-cell "
        "count 3.",
    ],
    "zh": [
        "将 P01 预约于 2026年12月21日周一 的肾脏评估 4 记录为未到？",
        "原因：受试者在外院住院",
        "同一次访视中一并记录为未到：SLEDAI-2K 评估 2 和 CD20 B 细胞计数 3。",
    ],
}
MISSED_DONE = {
    "en": "Renal assessment 4 of P01 is recorded as missed: patient in hospital elsewhere",
    "zh": "P01 的肾脏评估 4 已记录为未到：受试者在外院住院",
}
STATUS_MISSED = {
    "en": "Mon, Dec 21, 2026: Renal assessment 4, missed: patient in hospital elsewhere",
    "zh": "2026年12月21日周一：肾脏评估 4，未到：受试者在外院住院",
}
STATUS_NOT_DONE = {
    "en": "Mon, Dec 7, 2026: Belimumab infusion 4, not done (its window closed with nothing "
    "recorded)",
    "zh": "2026年12月7日周一：贝利尤单抗输注 4，未完成（时间窗已关闭，无任何记录）",
}
NOT_DONE = "NOT DONE: WINDOW CLOSED WITH NOTHING RECORDED"


def _events(world: World, study_id: str = "P01") -> dict[tuple[str, int], PlannedEventRow]:
    patient = world.patient(study_id)
    with read_session(world.services.engine) as session:
        found = session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .order_by(col(PlannedEventRow.id))
        ).all()
    return {(e.kind.value, e.number): e for e in found}


def _data(world: World) -> TrialData:
    with read_session(world.services.engine) as session:
        return load_trial_data(session, world.services.zone)


def _visits(world: World, cut_off: date) -> dict[tuple[str, int], dict[str, object]]:
    """The workbook's visits sheet as of ``cut_off``, by kind and number."""
    data = _data(world)
    patients = {p.id: p for p in data.patients}
    sheet = table_as_dicts(visits_sheet(data, patients, cut_off))
    return {(str(r["event"]), int(str(r["number"]))): dict(r) for r in sheet}


def _sv(world: World, cut_off: date) -> dict[int, dict[str, object]]:
    """SDTM SV as of ``cut_off``, by visit number (the protocol week)."""
    data = _data(world)
    patients = {p.id: p for p in data.patients}
    usubjid = {p.id: f"S-{p.study_id}" for p in data.patients}
    return {int(str(r["VISITNUM"])): dict(r) for r in sv_rows(data, usubjid, patients, cut_off)}


_PAGES = {"en": re.compile(r"Page \d+ of (\d+)"), "zh": re.compile(r"第 \d+ 页，共 (\d+) 页")}
_PAGE_TEXT = {"en": "Page {page} of {pages}", "zh": "第 {page} 页，共 {pages} 页"}
_NEXT = {"en": "Next ›", "zh": "下一页 ›"}


async def _status(world: World, user: int, lang: str = "en") -> list[str]:
    """Every line of /status P01, over all its pages."""
    first = await world.say(user, "/status P01")
    seen = [first.shown]
    found = _PAGES[lang].search(first.shown)
    pages = int(found.group(1)) if found else 1
    for page in range(2, pages + 1):
        message = world.api.message(user, first.message_id)
        await world.press(user, message, _NEXT[lang])
        text = _PAGE_TEXT[lang].format(page=page, pages=pages)

        def shown(text: str = text) -> bool:
            return text in world.api.message(user, first.message_id).shown

        await world.api.wait_until(shown, what=text)
        seen.append(world.api.message(user, first.message_id).shown)
    return [line.strip() for page in seen for line in page.splitlines()]


@LANGS
async def test_a_missed_assessment_is_recorded_with_its_reason_and_audited(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(NOW)

    preview = await world.say(coordinator, MISSED[lang])
    assert preview.shown.splitlines() == MISSED_PREVIEW[lang]
    # The preview stores nothing.
    assert _events(world)[("renal_assessment", 4)].status == EventStatus.PLANNED
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, coordinator, preview)
    assert done.shown == MISSED_DONE[lang]

    events = _events(world)
    for key in (("renal_assessment", 4), ("sledai_assessment", 2), ("cd20_count", 3)):
        event = events[key]
        assert (event.status, event.missed_reason, event.missed_at) == (
            EventStatus.MISSED,
            REASON[lang],
            NOW,
        ), key
    # The urine collection before the visit keeps its own outcome.
    assert events[("urine_collection", 4)].status == EventStatus.PLANNED
    records = [r for r in audit_since(world.services.engine, seq) if r.action == "event.missed"]
    assert len(records) == 3
    first = records[0]
    assert first.entity_key == str(events[("renal_assessment", 4)].id)
    assert first.actor == f"staff:{staff_id(world, coordinator)}"
    assert first.reason == REASON[lang]
    assert json.loads(first.before or "")["status"] == "planned"
    assert json.loads(first.after or "")["missed_reason"] == REASON[lang]


@LANGS
async def test_a_missed_visit_shows_its_reason_in_the_workbook_sv_and_status(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(NOW)
    await confirm(world, coordinator, await world.say(coordinator, MISSED[lang]))

    today = NOW.date()
    visits = _visits(world, today)
    assessment = visits[("renal_assessment", 4)]
    assert (assessment["outcome"], assessment["missed_reason"]) == ("missed", REASON[lang])
    # Infusion 4 (7 December, window to the 10th) passed with nothing: not done.
    assert visits[("belimumab_infusion", 4)]["outcome"] == "not_done"
    # The urine collection of the same week is still inside its window: overdue.
    assert visits[("urine_collection", 4)]["outcome"] == "overdue"

    # SV: week 12 did not occur for the coordinator's reason, once the collection's window
    # has closed as well (the visit's events are all decided).
    week12 = _sv(world, today + timedelta(days=3))[12]
    assert week12["SVOCCUR"] == "N"
    assert week12["SVREASOC"] == f"{NOT_DONE}; {REASON[lang]}"
    # Week 10 (infusion 4): nothing recorded, window closed.
    assert (_sv(world, today)[10]["SVOCCUR"], _sv(world, today)[10]["SVREASOC"]) == (
        "N",
        NOT_DONE,
    )

    lines = await _status(world, coordinator, lang)
    assert STATUS_MISSED[lang] in lines
    assert STATUS_NOT_DONE[lang] in lines
    summary = {
        "en": "Visits so far: 0 attended, 1 missed, 10 not done, 1 overdue",
        "zh": "至今访视：已到 0，未到 1，未完成 10，逾期 1",
    }[lang]
    assert summary in lines


@LANGS
async def test_a_dose_marks_the_infusion_attended_and_it_cannot_be_marked_missed(
    world: World, lang: str
) -> None:
    world.enroll("P01", weight="62")
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(INFUSION1)
    await confirm(world, coordinator, await world.say(coordinator, "/dose P01 belimumab"))
    world.clock.set(NOW)

    today = NOW.date()
    infusion = _visits(world, today)[("belimumab_infusion", 1)]
    assert (infusion["outcome"], infusion["actual_date"]) == ("attended", date(2026, 12, 15))
    week2 = _sv(world, today)[2]
    assert (week2["SVOCCUR"], week2["SVSTDTC"]) == ("Y", date(2026, 12, 15))
    lines = await _status(world, coordinator, lang)
    assert {
        "en": "Visits so far: 1 attended, 0 missed, 2 not done, 0 overdue",
        "zh": "至今访视：已到 1，未到 0，未完成 2，逾期 0",
    }[lang] in lines

    refused = await world.say(
        coordinator,
        {
            "en": "/visit P01 infusion 1 missed reason=no show",
            "zh": "/visit P01 输注 1 未到 原因=未来",
        }[lang],
    )
    assert {
        "en": "Belimumab infusion 1 is already recorded as attended on Tue, Dec 15, 2026",
        "zh": "贝利尤单抗输注 1 已记录为于 2026年12月15日周二 到诊",
    }[lang] in refused.shown
    assert refused.buttons() == []


@LANGS
async def test_a_visit_is_recorded_attended_on_its_booked_day(world: World, lang: str) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(NOW)
    command = {"en": "/visit P01 assessment 3 attended", "zh": "/visit P01 评估 3 已到"}[lang]
    preview = await world.say(coordinator, command)
    assert (
        preview.shown
        == {
            "en": "Record Renal assessment 3 of P01 as attended on its booked day, "
            "Mon, Nov 23, 2026?",
            "zh": "将 P01 的肾脏评估 3 记录为已在预约日 2026年11月23日周一 到诊？",
        }[lang]
    )
    done = await confirm(world, coordinator, preview)
    assert (
        done.shown
        == {
            "en": "Renal assessment 3 of P01 is recorded as attended.",
            "zh": "P01 的肾脏评估 3 已记录为已到。",
        }[lang]
    )
    event = _events(world)[("renal_assessment", 3)]
    assert (event.status, event.actual_date) == (EventStatus.DONE, date(2026, 11, 23))
    assert _visits(world, NOW.date())[("renal_assessment", 3)]["outcome"] == "attended"


async def test_a_visit_recorded_missed_by_mistake_is_recorded_attended(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    await confirm(world, coordinator, await world.say(coordinator, MISSED["en"]))
    seq = last_audit_seq(world.services.engine)
    preview = await world.say(coordinator, "/visit P01 assessment 4 attended")
    assert (
        "It is recorded as missed now (patient in hospital elsewhere); the audit trail keeps "
        "that." in preview.shown.splitlines()
    )
    await confirm(world, coordinator, preview)
    event = _events(world)[("renal_assessment", 4)]
    assert (event.status, event.missed_reason, event.missed_at) == (EventStatus.DONE, None, None)
    [record] = [
        r
        for r in audit_since(world.services.engine, seq)
        if r.action == "event.attended" and r.entity_key == str(event.id)
    ]
    assert json.loads(record.before or "")["missed_reason"] == "patient in hospital elsewhere"


async def test_not_done_only_after_the_window_closes(world: World) -> None:
    world.enroll("P01")
    coordinator = await member(world, "coordinator", "en")
    # Infusion 1 is booked for 15 December, its window closes on the 18th.
    world.clock.set(INFUSION1 + timedelta(days=2))
    assert _visits(world, date(2026, 12, 17))[("belimumab_infusion", 1)]["outcome"] == "overdue"
    assert 2 not in _sv(world, date(2026, 12, 17))  # still undecided: no SV record yet
    lines = await _status(world, coordinator)
    assert (
        "Tue, Dec 15, 2026: Belimumab infusion 1, overdue (its window is open until "
        "Fri, Dec 18, 2026)" in lines
    )

    world.clock.set(NOW)
    assert _visits(world, NOW.date())[("belimumab_infusion", 1)]["outcome"] == "not_done"
    assert _sv(world, NOW.date())[2]["SVREASOC"] == NOT_DONE
    lines = await _status(world, coordinator)
    assert (
        "Tue, Dec 15, 2026: Belimumab infusion 1, not done (its window closed with nothing "
        "recorded)" in lines
    )


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    world.enroll("P02", arm="mt_only", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    await confirm(
        world, coordinator, await world.say(coordinator, "/visit P01 assessment 2 missed x")
    )
    cases = [
        # Unknown patient.
        ("/visit P77 assessment 4 missed reason=x", "en", "There is no patient with study ID P77."),
        ("/visit P77 评估 4 未到 原因=x", "zh", "没有研究编号为 P77 的受试者。"),
        # No such event.
        (
            "/visit P01 assessment 9 missed reason=x",
            "en",
            "Renal assessment 9 is not in this patient's plan; they are numbered 1 to 7.",
        ),
        ("/visit P01 评估 9 未到 原因=x", "zh", "肾脏评估 9"),
        ("/visit P02 infusion 1 missed reason=x", "en", "This patient's arm has no belimumab"),
        # The reason is required for missed.
        ("/visit P01 assessment 4 missed", "en", "Say why the visit was missed"),
        ("/visit P01 评估 4 未到", "zh", "请说明未到的原因"),
        # In the future.
        (
            "/visit P01 assessment 5 missed reason=x",
            "en",
            "Renal assessment 5 is booked for Mon, Jan 18, 2027, after today",
        ),
        ("/visit P01 评估 5 未到 原因=x", "zh", "肾脏评估 5 预约于 2027年1月18日周一，在今天之后"),
        # Already missed.
        (
            "/visit P01 assessment 2 missed reason=y",
            "en",
            "Renal assessment 2 is already recorded as missed: x",
        ),
        ("/visit P01 评估 2 未到 原因=y", "zh", "肾脏评估 2 已记录为未到：x"),
        # Words it cannot read.
        ("/visit P01 visit 4 missed reason=x", "en", "visit is not a visit to record"),
        ("/visit P01 评估 4 没来 原因=x", "zh", "没来 不是访视结果"),
        ("/visit P01 assessment four missed reason=x", "en", "four is not an event number"),
        ("/visit P01 assessment 4", "en", "/visit needs four words"),
        ("/visit P01 评估 4", "zh", "/visit 在 reason= 之前需要四项"),
        ("/visit P01 assessment 4 missed ill reason=x", "en", "Give the reason once"),
    ]
    await assert_refusals(
        world,
        cases,
        role="coordinator",
        usage={
            "en": "Expected: /visit <study ID> <infusion|assessment> <number> <missed|attended>",
            "zh": "/visit <研究编号>",
        },
    )


async def test_the_words_after_missed_are_the_reason(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    preview = await world.say(coordinator, "/visit P01 infusion 4 missed   flu,  stayed home")
    assert "Reason: flu, stayed home" in preview.shown.splitlines()


async def test_a_confirm_after_a_dose_stores_nothing(world: World) -> None:
    """The infusion was given between the preview and Confirm: the Confirm is refused."""
    world.enroll("P01", weight="62")
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(INFUSION1)
    preview = await world.say(coordinator, "/visit P01 infusion 1 missed reason=no show")
    await confirm(world, coordinator, await world.say(coordinator, "/dose P01 belimumab"))
    state = snapshot(world.services.engine)
    answer = await confirm(world, coordinator, preview)
    assert "Nothing was stored" in answer.shown
    assert "already recorded as attended" in answer.shown
    assert set(changed_tables(state, snapshot(world.services.engine))) <= {"pending_action"}


async def test_only_coordinators_record_visits(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    answer = await world.say(nurse, MISSED["en"])
    assert "/visit is not available to you." in answer.shown
    with read_session(world.services.engine) as session:
        missed = session.exec(
            select(PlannedEventRow).where(PlannedEventRow.status == EventStatus.MISSED)
        ).all()
    assert missed == []


async def test_a_missed_visit_booked_again_is_planned_again(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    await confirm(world, coordinator, await world.say(coordinator, MISSED["en"]))
    # Missed is decided: this week's overview does not count it as overdue.
    overview = (await world.say(coordinator, "/status")).shown
    assert "Renal assessments: 0 done, 0 due, 0 overdue" in overview

    preview = await world.say(coordinator, "/reschedule P01 assessment 4 2026-12-23")
    await confirm(world, coordinator, preview)
    event = _events(world)[("renal_assessment", 4)]
    assert (event.status, event.missed_reason, event.missed_at) == (EventStatus.PLANNED, None, None)
    assert _visits(world, NOW.date())[("renal_assessment", 4)]["outcome"] == "planned"


@LANGS
async def test_the_bare_command_guides_with_buttons(world: World, lang: str) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(NOW)
    ask = await world.say(coordinator, "/visit")
    assert ask.shown == {"en": "Which patient?", "zh": "哪位受试者？"}[lang]
    await press_data(world, coordinator, ask, ":P01")
    ask = await world.reply(coordinator)
    await press_data(world, coordinator, ask, ":assessment")
    await world.reply(coordinator)
    ask = await world.say(coordinator, "4")
    assert button_labels(ask) == {"en": ["Missed", "Attended"], "zh": ["未到", "已到"]}[lang]
    await press_data(world, coordinator, ask, ":missed")
    await world.reply(coordinator)
    preview = await world.say(coordinator, REASON[lang])
    assert preview.shown.splitlines() == MISSED_PREVIEW[lang]
    await confirm(world, coordinator, preview)
    assert _events(world)[("renal_assessment", 4)].missed_reason == REASON[lang]
