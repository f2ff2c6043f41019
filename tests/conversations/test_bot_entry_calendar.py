"""Every entry against the calendar, end to end over HTTP in both languages.

/labs, /sledai and /cd20 for week N: a date outside the week's window says how many
days outside and needs reason=..., then is stored with a protocol deviation, shown on
Confirm and on /status; a date before the window by more than the window itself is
refused; week 0's window is the baseline's (days -3 to 0); an early entry never closes
its (future) event, and an entry closes no other week's. /dose records the belimumab
infusion whose window holds its date (date= for every drug; an MP pulse dose on its own
day), refuses a second dose within 7 days, and an early dose is a deviation that leaves
the infusion planned.

Patients have day 0 on 1 December 2026 (docs/clinical-facts.md §2 windows, +/- 3 days):
week 4's window is 26 December to 1 January, infusion 1's (week 2) 12 to 18 December,
infusion 2's (week 4) 26 December to 1 January.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from core.entry_calendar import Timing
from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import (
    Cd20Count,
    DeviationEntry,
    DoseAdministration,
    EventStatus,
    LabResult,
    PlannedEventRow,
    ProtocolDeviation,
    SledaiAssessment,
)
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    assert_refusals,
    confirm,
    member,
    rows,
    staff_id,
)
from tests.support.db_state import changed_tables, snapshot

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])


# 10:00 in Shanghai on the given day of December 2026.
def _december(day: int) -> datetime:
    return datetime(2026, 12, day, 2, 0, tzinfo=UTC)


def _event(world: World, kind: EventKind, week: int) -> PlannedEventRow:
    patient = world.patient("P01")
    with read_session(world.services.engine) as session:
        found = session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .where(PlannedEventRow.kind == kind)
            .where(PlannedEventRow.week == week)
            .order_by(col(PlannedEventRow.number))
        ).first()
    assert found is not None
    return found


def _pulses(world: World) -> list[tuple[EventStatus, date | None]]:
    patient = world.patient("P01")
    with read_session(world.services.engine) as session:
        found = session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .where(PlannedEventRow.kind == EventKind.MP_PULSE)
            .order_by(col(PlannedEventRow.number))
        ).all()
    return [(e.status, e.actual_date) for e in found]


# --- /labs: early, with its reason -----------------------------------------------------------

EARLY_LABS = {
    "en": {
        "command": "/labs P01 w4 scr=70umol/L",
        "reason": "reason=patient admitted elsewhere",
        "asked": "Mon, Dec 21, 2026 is 5 days before the window (Sat, Dec 26, 2026 to Fri, "
        "Jan 1, 2027): a reason is required, recorded as a protocol deviation. Add "
        "reason=... at the end.",
        "usage": "Expected: /labs <study ID> w<week>",
        "preview": "Mon, Dec 21, 2026 is 5 days before the window (Sat, Dec 26, 2026 to Fri, "
        "Jan 1, 2027): it will be recorded as a protocol deviation, with the reason: patient "
        "admitted elsewhere",
        "planned": "Renal assessment 2 is not marked done: its window opens on Sat, Dec 26, 2026.",
        "recorded": "Recorded as a protocol deviation (Mon, Dec 21, 2026 is 5 days before the "
        "window (Sat, Dec 26, 2026 to Fri, Jan 1, 2027)): patient admitted elsewhere",
        "stored_reason": "patient admitted elsewhere",
    },
    "zh": {
        "command": "/labs P01 w4 肌酐=70umol/L",
        "reason": "原因=外院住院，在外院采样",
        "asked": "2026年12月21日周一 早于时间窗（2026年12月26日周六 至 2027年1月1日周五）5 天："
        "必须填写原因，并记录为方案偏离。请在末尾加上 reason=...。",
        "usage": "正确格式：/labs",
        "preview": "2026年12月21日周一 早于时间窗（2026年12月26日周六 至 2027年1月1日周五）5 天："
        "将记录为方案偏离，原因：外院住院，在外院采样",
        "planned": "肾脏评估 2 未标记为完成：其时间窗从 2026年12月26日周六 开始。",
        "recorded": "已记录为方案偏离（2026年12月21日周一 早于时间窗（2026年12月26日周六 至 "
        "2027年1月1日周五）5 天）：外院住院，在外院采样",
        "stored_reason": "外院住院，在外院采样",
    },
}


@LANGS
async def test_labs_before_the_window_need_a_reason_and_leave_the_week_planned(
    world: World, lang: str
) -> None:
    text = EARLY_LABS[lang]
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)

    before = snapshot(world.services.engine)
    asked = await world.say(nurse, text["command"])
    assert asked.shown.splitlines()[0] == text["asked"]
    assert text["usage"] in asked.shown
    assert asked.buttons() == []
    assert changed_tables(before, snapshot(world.services.engine)) == {}

    summary = await world.say(nurse, f"{text['command']} {text['reason']}")
    assert text["preview"] in summary.shown.splitlines(), summary.shown
    assert text["planned"] in summary.shown.splitlines()
    done = await confirm(world, nurse, summary)
    assert text["recorded"] in done.shown.splitlines(), done.shown
    assert text["planned"] in done.shown.splitlines()

    (deviation,) = rows(world, ProtocolDeviation)
    assessment = _event(world, EventKind.RENAL_ASSESSMENT, 4)
    assert (deviation.entry, deviation.week, deviation.event_id) == (
        DeviationEntry.LABS,
        4,
        assessment.id,
    )
    assert (deviation.occurred_on, deviation.timing, deviation.days_outside) == (
        date(2026, 12, 21),
        Timing.EARLY,
        5,
    )
    assert deviation.reason == text["stored_reason"]
    assert deviation.recorded_by == f"staff:{staff_id(world, nurse)}"
    (result,) = rows(world, LabResult)
    assert (result.week, result.event_id) == (4, assessment.id)
    # The whole panel, still early: the week-4 assessment stays planned (its window is ahead).
    await confirm(
        world,
        nurse,
        await world.say(
            nurse,
            "/labs P01 w4 protein=1g/24h rbc=2/hpf wbc=3/hpf casts=none alb=39g/L "
            f"{text['reason']}",
        ),
    )
    assert _event(world, EventKind.RENAL_ASSESSMENT, 4).status == EventStatus.PLANNED
    assert len(rows(world, ProtocolDeviation)) == 2


# --- week 0: the baseline window, and a late entry --------------------------------------------

LATE_CD20 = {
    "en": {
        "asked": "Wed, Dec 2, 2026 is 1 day after the window (Sat, Nov 28, 2026 to Tue, Dec 1, "
        "2026): a reason is required",
        "reason": "reason=sample lost, drawn again",
        "recorded": "Recorded as a protocol deviation (Wed, Dec 2, 2026 is 1 day after the window "
        "(Sat, Nov 28, 2026 to Tue, Dec 1, 2026)): sample lost, drawn again",
    },
    "zh": {
        "asked": "2026年12月2日周三 晚于时间窗（2026年11月28日周六 至 2026年12月1日周二）1 天："
        "必须填写原因",
        "reason": "原因=标本丢失，重新采血",
        "recorded": "已记录为方案偏离（2026年12月2日周三 晚于时间窗（2026年11月28日周六 至 "
        "2026年12月1日周二）1 天）：标本丢失，重新采血",
    },
}


@LANGS
async def test_week_0_has_the_baseline_window_and_a_late_entry_closes_its_week(
    world: World, lang: str
) -> None:
    text = LATE_CD20[lang]
    world.enroll("P01")
    nurse = await member(world, "investigator", lang)
    world.clock.set(_december(2))  # day 1: the baseline window (days -3 to 0) has closed

    # Day -3 is inside the baseline window: no deviation.
    inside = await world.say(nurse, "/cd20 P01 w0 150/uL date=2026-11-28")
    assert "protocol deviation" not in inside.shown and "方案偏离" not in inside.shown
    await confirm(world, nurse, inside)
    assert _event(world, EventKind.CD20, 0).actual_date == date(2026, 11, 28)

    asked = await world.say(nurse, "/cd20 P01 w0 140/uL")
    assert asked.shown.startswith(text["asked"]), asked.shown
    assert asked.buttons() == []
    summary = await world.say(nurse, f"/cd20 P01 w0 140/uL {text['reason']}")
    done = await confirm(world, nurse, summary)
    assert text["recorded"] in done.shown.splitlines(), done.shown
    # Late: the week-0 count is done, on the day it was taken; week 4's is untouched.
    cd20 = _event(world, EventKind.CD20, 0)
    assert (cd20.status, cd20.actual_date) == (EventStatus.DONE, date(2026, 12, 2))
    assert _event(world, EventKind.CD20, 4).status == EventStatus.PLANNED
    (deviation,) = rows(world, ProtocolDeviation)
    assert (deviation.entry, deviation.timing, deviation.days_outside) == (
        DeviationEntry.CD20,
        Timing.LATE,
        1,
    )
    assert (deviation.window_start, deviation.window_end) == (date(2026, 11, 28), date(2026, 12, 1))


@LANGS
async def test_an_entry_closes_only_its_own_week(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(_december(1))
    command = {"en": "/sledai P01 w0 haematuria proteinuria", "zh": "/sledai P01 w0 血尿 蛋白尿"}
    summary = await world.say(nurse, command[lang])
    done = await confirm(world, nurse, summary)
    assert {
        "en": "SLEDAI-2K is recorded for P01, week 0: total 8, renal subset 8.",
        "zh": "已记录 P01 第 0 周的 SLEDAI-2K：总分 8，肾脏分项 8。",
    }[lang] == done.shown
    assert _event(world, EventKind.SLEDAI, 0).status == EventStatus.DONE
    for week in (12, 24):
        assert _event(world, EventKind.SLEDAI, week).status == EventStatus.PLANNED
    assert rows(world, ProtocolDeviation) == []


# --- refusals ----------------------------------------------------------------------------------

# Study day 3 (4 December): week 24's window (15 to 21 May 2027) opens 162 days later.
TOO_EARLY = [
    (
        "/labs P01 w24 scr=70umol/L reason=typed anyway",
        "en",
        "Fri, Dec 4, 2026 is 162 days before the window (Sat, May 15, 2027 to Fri, May 21, "
        "2027) opens, more than the window itself: check the week and the date.",
    ),
    (
        "/labs P01 w24 肌酐=70umol/L 原因=照录",
        "zh",
        "2026年12月4日周五 比时间窗（2027年5月15日周六 至 2027年5月21日周五）开始早 162 天，"
        "超过了时间窗本身的长度：请核对周次和日期。",
    ),
    ("/sledai P01 w24 haematuria", "en", "162 days before the window"),
    ("/sledai P01 w12 血尿", "zh", "早 78 天"),
    ("/cd20 P01 w24 5/uL reason=x", "en", "more than the window itself"),
    ("/cd20 P01 w12 5/uL", "zh", "超过了时间窗本身的长度"),
    # Week 4's window opens on 26 December: 22 days early is more than 6.
    ("/labs P01 w4 alb=39g/L", "en", "22 days before the window"),
]


async def test_an_entry_far_before_its_window_is_refused(world: World) -> None:
    world.enroll("P01")
    world.clock.set(_december(4))
    await assert_refusals(
        world,
        TOO_EARLY,
        role="nurse",
        usage={"en": "Expected: /", "zh": "正确格式：/"},
    )


# --- /dose ---------------------------------------------------------------------------------------

DOSES = {
    "en": {
        "head": "Belimumab for P01: Belimumab infusion 1, week 2, booked for Tue, Dec 15, 2026.",
        "given": "Given on Wed, Dec 16, 2026.",
        "done": "Belimumab infusion 1 is marked done.",
        "too_close": "A belimumab dose is recorded on Wed, Dec 16, 2026: doses must be at least "
        "7 days apart, so none can be recorded on Mon, Dec 21, 2026.",
        "early": "Thu, Dec 24, 2026 is 2 days before the window (Sat, Dec 26, 2026 to Fri, Jan 1, "
        "2027): a reason is required",
        "reason": "reason=travelling over the new year",
        "head2": "Belimumab for P01: Belimumab infusion 2, week 4, booked for Tue, Dec 29, 2026.",
        "recorded": "Recorded as a protocol deviation (Thu, Dec 24, 2026 is 2 days before the "
        "window (Sat, Dec 26, 2026 to Fri, Jan 1, 2027)): travelling over the new year",
        "planned": "Belimumab infusion 2 is not marked done: its window opens on Sat, Dec 26, 2026.",
        "count": "Belimumab doses given so far: 2.",
        "not_done": "Belimumab infusion 2 is marked done.",
    },
    "zh": {
        "head": "P01 的贝利尤单抗：贝利尤单抗输注 1，第 2 周，预约于 2026年12月15日周二。",
        "given": "给药日期：2026年12月16日周三。",
        "done": "贝利尤单抗输注 1 已标记为完成。",
        "too_close": "2026年12月16日周三 已记录一次贝利尤单抗给药：两次给药至少间隔 7 天，"
        "因此 2026年12月21日周一 不能再记录。",
        "early": "2026年12月24日周四 早于时间窗（2026年12月26日周六 至 2027年1月1日周五）2 天："
        "必须填写原因",
        "reason": "原因=元旦出行",
        "head2": "P01 的贝利尤单抗：贝利尤单抗输注 2，第 4 周，预约于 2026年12月29日周二。",
        "recorded": "已记录为方案偏离（2026年12月24日周四 早于时间窗（2026年12月26日周六 至 "
        "2027年1月1日周五）2 天）：元旦出行",
        "planned": "贝利尤单抗输注 2 未标记为完成：其时间窗从 2026年12月26日周六 开始。",
        "count": "目前已给予贝利尤单抗：2 次。",
        "not_done": "贝利尤单抗输注 2 已标记为完成。",
    },
}


@LANGS
async def test_belimumab_doses_against_the_infusion_windows(world: World, lang: str) -> None:
    text = DOSES[lang]
    world.enroll("P01", weight="62")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)

    # Given on 16 December, recorded on the 21st: infusion 1, whose window holds the 16th.
    summary = await world.say(nurse, "/dose P01 belimumab date=2026-12-16")
    assert summary.shown.splitlines()[:2] == [text["head"], text["given"]]
    done = await confirm(world, nurse, summary)
    assert text["done"] in done.shown.splitlines()
    (dose,) = rows(world, DoseAdministration)
    first = _event(world, EventKind.BELIMUMAB_INFUSION, 2)
    assert (dose.given_on, dose.given_at, dose.event_id) == (date(2026, 12, 16), None, first.id)
    assert (first.status, first.actual_date) == (EventStatus.DONE, date(2026, 12, 16))

    # A second dose 5 days after the first: refused, nothing stored.
    before = snapshot(world.services.engine)
    refused = await world.say(nurse, "/dose P01 belimumab")
    assert refused.shown.splitlines()[0] == text["too_close"]
    assert refused.buttons() == []
    assert changed_tables(before, snapshot(world.services.engine)) == {}

    # 24 December: 2 days before infusion 2's window. A reason, then a deviation that
    # leaves infusion 2 planned.
    world.clock.set(_december(24))
    asked = await world.say(nurse, "/dose P01 belimumab")
    assert asked.shown.startswith(text["early"]), asked.shown
    summary = await world.say(nurse, f"/dose P01 belimumab {text['reason']}")
    assert summary.shown.splitlines()[0] == text["head2"]
    assert text["planned"] in summary.shown.splitlines()
    done = await confirm(world, nurse, summary)
    lines = done.shown.splitlines()
    assert text["recorded"] in lines and text["planned"] in lines and text["count"] in lines
    assert text["not_done"] not in lines
    second = _event(world, EventKind.BELIMUMAB_INFUSION, 4)
    assert second.status == EventStatus.PLANNED
    early = rows(world, DoseAdministration)[-1]
    assert (early.given_on, early.event_id) == (date(2026, 12, 24), None)
    (deviation,) = rows(world, ProtocolDeviation)
    assert (deviation.entry, deviation.event_id, deviation.days_outside) == (
        DeviationEntry.BELIMUMAB,
        second.id,
        2,
    )


MP = {
    "en": {
        "head": "Methylprednisolone for P01: 500 mg on Wed, Dec 2, 2026.",
        "for": "For Methylprednisolone pulse, day 2.",
        "done": "Methylprednisolone pulse, day 2 is marked done.",
        "oral": "Total on Sun, Dec 20, 2026 so far: 0.75 g (protocol: 1-1.5 g per day).",
    },
    "zh": {
        "head": "P01 于 2026年12月2日周三 的甲泼尼龙：500 mg。",
        "for": "对应甲泼尼龙冲击，第 2 天。",
        "done": "甲泼尼龙冲击，第 2 天已标记为完成。",
        "oral": "2026年12月20日周日 目前合计：0.75 g（方案：每天 1-1.5 g）。",
    },
}


@LANGS
async def test_every_dose_takes_a_date_and_a_pulse_dose_is_recorded_on_its_day(
    world: World, lang: str
) -> None:
    text = MP[lang]
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/dose P01 mp 500mg date=2026-12-02")
    assert summary.shown.splitlines()[:2] == [text["head"], text["for"]]
    done = await confirm(world, nurse, summary)
    assert text["done"] in done.shown.splitlines()
    assert _pulses(world) == [
        (EventStatus.PLANNED, None),
        (EventStatus.DONE, date(2026, 12, 2)),
        (EventStatus.PLANNED, None),
    ]
    oral = await world.say(nurse, "/dose P01 mmf 750mg date=2026-12-20")
    assert text["oral"] in oral.shown.splitlines()
    await confirm(world, nurse, oral)
    assert [(d.drug, d.given_on) for d in rows(world, DoseAdministration)] == [
        ("mp", date(2026, 12, 2)),
        ("mmf", date(2026, 12, 20)),
    ]


DOSE_REFUSALS = [
    ("/dose P01 mp 500mg date=2026-12-25", "en", "2026-12-25 is in the future"),
    ("/dose P01 mmf 750mg reason=why", "en", "reason= is for a belimumab dose outside"),
    ("/dose P01 mmf 750mg reason=why", "zh", "reason= 仅用于超出输注时间窗的贝利尤单抗给药"),
    # 21 December: 3 days after infusion 1's window, 5 before infusion 2's.
    (
        "/dose P01 belimumab",
        "en",
        "Mon, Dec 21, 2026 is 3 days after the window (Sat, Dec 12, 2026 to Fri, Dec 18, "
        "2026): a reason is required, recorded as a protocol deviation.",
    ),
    # 1 December: infusion 1's window opens 11 days later, more than its length: no infusion.
    (
        "/dose P01 belimumab date=2026-12-01",
        "zh",
        "2026年12月1日周二 不在任何计划的时间窗内：必须填写原因，并记录为方案偏离。",
    ),
]


async def test_dose_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(
        world, DOSE_REFUSALS, role="nurse", usage={"en": "Expected: /dose", "zh": "正确格式：/dose"}
    )


# --- /status -----------------------------------------------------------------------------------

STATUS = {
    "en": [
        "Protocol deviations:",
        "Renal labs, week 4: Mon, Dec 21, 2026 is 5 days before the window (Sat, Dec 26, 2026 "
        "to Fri, Jan 1, 2027); reason: patient admitted elsewhere",
        "Belimumab infusion 3 booked for Tue, Jan 5, 2027, outside its window (Sat, Jan 9, 2027 "
        "to Fri, Jan 15, 2027); reason: ward closed",
    ],
    "zh": [
        "方案偏离：",
        "肾脏检验，第 4 周：2026年12月21日周一 早于时间窗（2026年12月26日周六 至 2027年1月1日周五）"
        "5 天；原因：patient admitted elsewhere",
        "贝利尤单抗输注 3 预约于 2027年1月5日周二，超出其时间窗（2027年1月9日周六 至 "
        "2027年1月15日周五）；原因：ward closed",
    ],
}


@LANGS
async def test_status_of_the_patient_lists_the_deviations(world: World, lang: str) -> None:
    world.enroll("P01")
    coordinator = await member(world, "coordinator", lang)
    world.clock.set(NOW)
    empty = await world.say(coordinator, "/status P01")
    lines = [line.strip() for line in empty.shown.splitlines()]
    at = lines.index(STATUS[lang][0])
    assert lines[at + 1] == {"en": "None recorded.", "zh": "无记录。"}[lang]

    command = "/labs P01 w4 scr=70umol/L reason=patient admitted elsewhere"
    await confirm(world, coordinator, await world.say(coordinator, command))
    moved = await world.say(coordinator, "/reschedule P01 infusion 3 2027-01-05 reason=ward closed")
    await confirm(world, coordinator, moved)
    shown = (await world.say(coordinator, "/status P01")).shown
    lines = [line.strip() for line in shown.splitlines()]
    at = lines.index(STATUS[lang][0])
    assert lines[at : at + 3] == STATUS[lang]


SAME_RULE = {
    "en": {
        "commands": ("/sledai P01 w4 haematuria reason=clinic shut", "/cd20 P01 w4 5/uL reason=x"),
        "preview": "Thu, Dec 24, 2026 is 2 days before the window (Sat, Dec 26, 2026 to Fri, Jan 1, "
        "2027): it will be recorded as a protocol deviation, with the reason: ",
    },
    "zh": {
        "commands": ("/sledai P01 w4 血尿 原因=门诊停诊", "/cd20 P01 w4 5/uL 原因=门诊停诊"),
        "preview": "2026年12月24日周四 早于时间窗（2026年12月26日周六 至 2027年1月1日周五）2 天："
        "将记录为方案偏离，原因：",
    },
}


@LANGS
async def test_sledai_and_cd20_store_their_deviations_too(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW + timedelta(days=3))  # 24 December
    for command in SAME_RULE[lang]["commands"]:
        summary = await world.say(nurse, command)
        preview = str(SAME_RULE[lang]["preview"])
        assert any(line.startswith(preview) for line in summary.shown.splitlines()), summary.shown
        await confirm(world, nurse, summary)
    assert [(d.entry, d.week, d.days_outside) for d in rows(world, ProtocolDeviation)] == [
        (DeviationEntry.SLEDAI, 4, 2),
        (DeviationEntry.CD20, 4, 2),
    ]
    assert len(rows(world, SledaiAssessment)) == len(rows(world, Cd20Count)) == 1
    assert _event(world, EventKind.CD20, 4).status == EventStatus.PLANNED
