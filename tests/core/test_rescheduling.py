"""Moving one event: what moves with it, the window, and the refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.messages import RuleError
from core.protocol import Protocol
from core.rescheduling import (
    EventChoice,
    check_reason,
    lab_days,
    parse_event_choice,
    parse_event_number,
    plan_move,
)
from core.schedule import Enrollment, EventKind, PlannedEvent, plan

ZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(ZONE)
TODAY = date(2026, 11, 30)
# Day 0 on 4 Nov 2026: infusion 3 (week 6) on 16 Dec, renal assessment 4 (week 12) on 27 Jan.
DAY0 = date(2026, 11, 4)


def events(protocol: Protocol, arm: str = "belimumab_mt") -> tuple[PlannedEvent, ...]:
    return plan(protocol, Enrollment(arm, DAY0, ZONE)).events


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("infusion", EventChoice.INFUSION),
        ("Infusion", EventChoice.INFUSION),
        ("输注", EventChoice.INFUSION),
        ("assessment", EventChoice.ASSESSMENT),
        ("评估", EventChoice.ASSESSMENT),
    ],
)
def test_event_words(text: str, expected: EventChoice) -> None:
    assert parse_event_choice(text) == expected


@pytest.mark.parametrize("text", ["visit", "dose", "", "infusions"])
def test_other_event_words_are_refused(text: str) -> None:
    with pytest.raises(RuleError, match="infusion"):
        parse_event_choice(text)


@pytest.mark.parametrize(("text", "expected"), [("3", 3), ("１", 1), ("12", 12)])
def test_event_numbers(text: str, expected: int) -> None:
    assert parse_event_number(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "3.0", "three", "", "1000", "3a"])
def test_event_numbers_refused(text: str) -> None:
    with pytest.raises(RuleError, match="whole number"):
        parse_event_number(text)


def test_an_infusion_moves_alone_and_keeps_its_target(protocol: Protocol) -> None:
    move = plan_move(
        events(protocol), EventChoice.INFUSION, 3, date(2026, 12, 18), today=TODAY, timezone=ZONE
    )
    assert len(move.moves) == 1
    before, after = move.moves[0].before, move.moves[0].after
    assert (before.kind, before.number) == (EventKind.BELIMUMAB_INFUSION, 3)
    assert after.target_date == before.target_date == date(2026, 12, 16)
    assert after.scheduled_date == date(2026, 12, 18)
    assert after.starts_at == local(date(2026, 12, 18), 9)
    assert (move.window_start, move.window_end) == (date(2026, 12, 13), date(2026, 12, 19))
    assert move.in_window


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2026, 12, 12), False),
        (date(2026, 12, 13), True),  # window bounds are inside
        (date(2026, 12, 19), True),
        (date(2026, 12, 20), False),
    ],
)
def test_the_window_is_the_named_events(protocol: Protocol, day: date, inside: bool) -> None:
    move = plan_move(events(protocol), EventChoice.INFUSION, 3, day, today=TODAY, timezone=ZONE)
    assert move.in_window is inside


def test_an_assessment_moves_its_visit_and_urine_collection(protocol: Protocol) -> None:
    new_day = date(2027, 1, 28)
    move = plan_move(
        events(protocol), EventChoice.ASSESSMENT, 4, new_day, today=TODAY, timezone=ZONE
    )
    moved = {(m.before.kind, m.before.number): m.after for m in move.moves}
    assert set(moved) == {
        (EventKind.RENAL_ASSESSMENT, 4),
        (EventKind.SLEDAI, 2),
        (EventKind.CD20, 3),
        (EventKind.URINE_COLLECTION, 4),
    }
    assert move.moves[0].before.kind == EventKind.RENAL_ASSESSMENT
    for key in ((EventKind.RENAL_ASSESSMENT, 4), (EventKind.SLEDAI, 2), (EventKind.CD20, 3)):
        assert moved[key].scheduled_date == new_day
        assert moved[key].starts_at == local(new_day, 8)
    urine = moved[(EventKind.URINE_COLLECTION, 4)]
    assert urine.starts_at == local(new_day - timedelta(days=1), 7)
    assert urine.ends_at == local(new_day, 7)


def test_an_assessment_on_a_renal_only_visit_moves_no_sledai(protocol: Protocol) -> None:
    move = plan_move(
        events(protocol), EventChoice.ASSESSMENT, 3, date(2026, 12, 31), today=TODAY, timezone=ZONE
    )
    kinds = [m.before.kind for m in move.moves]
    assert kinds == [EventKind.RENAL_ASSESSMENT, EventKind.URINE_COLLECTION]


def test_events_already_done_stay(protocol: Protocol) -> None:
    move = plan_move(
        events(protocol),
        EventChoice.ASSESSMENT,
        4,
        date(2027, 1, 28),
        today=TODAY,
        timezone=ZONE,
        done={"sledai_assessment:2"},
    )
    assert EventKind.SLEDAI not in {m.before.kind for m in move.moves}


@pytest.mark.parametrize(
    ("arm", "choice", "number", "day", "done", "says"),
    [
        ("belimumab_mt", EventChoice.INFUSION, 8, date(2026, 12, 18), (), "numbered 1 to 7"),
        ("belimumab_mt", EventChoice.ASSESSMENT, 9, date(2026, 12, 18), (), "numbered 1 to 7"),
        ("mt_only", EventChoice.INFUSION, 1, date(2026, 12, 18), (), "no belimumab infusions"),
        ("belimumab_mt", EventChoice.INFUSION, 3, date(2026, 11, 29), (), "in the past"),
        ("belimumab_mt", EventChoice.INFUSION, 3, date(2026, 12, 16), (), "already booked"),
        (
            "belimumab_mt",
            EventChoice.INFUSION,
            2,
            date(2026, 12, 3),
            ("belimumab_infusion:2",),
            "already recorded as done",
        ),
    ],
)
def test_refusals(
    protocol: Protocol,
    arm: str,
    choice: EventChoice,
    number: int,
    day: date,
    done: tuple[str, ...],
    says: str,
) -> None:
    with pytest.raises(RuleError, match=says):
        plan_move(events(protocol, arm), choice, number, day, today=TODAY, timezone=ZONE, done=done)


def test_today_is_not_the_past(protocol: Protocol) -> None:
    move = plan_move(events(protocol), EventChoice.INFUSION, 1, TODAY, today=TODAY, timezone=ZONE)
    assert move.moves[0].after.scheduled_date == TODAY


def test_a_reason_is_required_outside_the_window_only(protocol: Protocol) -> None:
    inside = plan_move(
        events(protocol), EventChoice.INFUSION, 3, date(2026, 12, 18), today=TODAY, timezone=ZONE
    )
    assert check_reason(inside, None) is None
    assert check_reason(inside, "travel") is None  # not a deviation: nothing recorded
    outside = plan_move(
        events(protocol), EventChoice.INFUSION, 3, date(2026, 12, 25), today=TODAY, timezone=ZONE
    )
    for missing in (None, "", "   "):
        with pytest.raises(RuleError, match="reason is required") as refused:
            check_reason(outside, missing)
        assert refused.value.params["start"] == "2026-12-13"
        assert refused.value.params["end"] == "2026-12-19"
    assert check_reason(outside, " patient   travelling ") == "patient travelling"
    with pytest.raises(RuleError, match="too long"):
        check_reason(outside, "x" * 501)


def test_lab_days_follow_the_moved_assessment(protocol: Protocol) -> None:
    plan_events = events(protocol)
    move = plan_move(
        plan_events, EventChoice.ASSESSMENT, 4, date(2027, 1, 28), today=TODAY, timezone=ZONE
    )
    days = lab_days(plan_events, move)
    assert date(2027, 1, 28) in days and date(2027, 1, 27) not in days
    assert len(days) == len(protocol.renal_assessment.weeks)
    assert date(2027, 1, 27) in lab_days(plan_events)


@given(number=st.integers(min_value=1, max_value=7), shift=st.integers(min_value=1, max_value=60))
def test_only_the_named_infusion_moves(protocol: Protocol, number: int, shift: int) -> None:
    plan_events = events(protocol)
    target = next(
        e for e in plan_events if e.kind == EventKind.BELIMUMAB_INFUSION and e.number == number
    )
    day = max(TODAY, target.scheduled_date) + timedelta(days=shift)
    move = plan_move(plan_events, EventChoice.INFUSION, number, day, today=TODAY, timezone=ZONE)
    assert [m.before for m in move.moves] == [target]
    after = move.moves[0].after
    # Same wall-clock time on the new day; the day-0 anchor and the window unchanged.
    assert (
        after.starts_at.astimezone(SHANGHAI).time() == target.starts_at.astimezone(SHANGHAI).time()
    )
    assert after.starts_at.astimezone(SHANGHAI).date() == day
    assert (after.target_date, after.window_start, after.window_end) == (
        target.target_date,
        target.window_start,
        target.window_end,
    )
    assert move.in_window == (target.window_start <= day <= target.window_end)
