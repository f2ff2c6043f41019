"""Moving one event: what moves with it, the window, and the refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.messages import RuleError
from core.protocol import Protocol
from core.rescheduling import (
    EventChoice,
    Reschedule,
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
# The bundled protocol's belimumab.min_days_between_infusions (asserted below).
MIN_DAYS = 7


def _move(
    protocol: Protocol, choice: EventChoice, number: int, day: date, **options: Any
) -> Reschedule:
    """:func:`plan_move` for the sample patient, on ``TODAY`` in Shanghai, with the
    protocol's spacing of infusions."""
    return plan_move(
        events(protocol),
        choice,
        number,
        day,
        today=TODAY,
        timezone=ZONE,
        min_days_between_infusions=MIN_DAYS,
        **options,
    )


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
    move = _move(
        protocol,
        EventChoice.INFUSION,
        3,
        date(2026, 12, 18),
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
    move = _move(
        protocol,
        EventChoice.INFUSION,
        3,
        day,
    )
    assert move.in_window is inside


def test_an_assessment_moves_its_visit_and_urine_collection(protocol: Protocol) -> None:
    new_day = date(2027, 1, 28)
    move = _move(
        protocol,
        EventChoice.ASSESSMENT,
        4,
        new_day,
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
    move = _move(
        protocol,
        EventChoice.ASSESSMENT,
        3,
        date(2026, 12, 31),
    )
    kinds = [m.before.kind for m in move.moves]
    assert kinds == [EventKind.RENAL_ASSESSMENT, EventKind.URINE_COLLECTION]


def test_events_already_done_stay(protocol: Protocol) -> None:
    move = _move(
        protocol,
        EventChoice.ASSESSMENT,
        4,
        date(2027, 1, 28),
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
        plan_move(
            events(protocol, arm),
            choice,
            number,
            day,
            today=TODAY,
            timezone=ZONE,
            min_days_between_infusions=MIN_DAYS,
            done=done,
        )


def test_today_is_not_the_past(protocol: Protocol) -> None:
    # Infusion 2 (2 Dec): today is 12 days after infusion 1 and 16 before infusion 3.
    move = _move(
        protocol,
        EventChoice.INFUSION,
        2,
        TODAY,
    )
    assert move.moves[0].after.scheduled_date == TODAY


def test_a_reason_is_required_outside_the_window_only(protocol: Protocol) -> None:
    inside = _move(
        protocol,
        EventChoice.INFUSION,
        3,
        date(2026, 12, 18),
    )
    assert check_reason(inside, None) is None
    assert check_reason(inside, "travel") is None  # not a deviation: nothing recorded
    outside = _move(
        protocol,
        EventChoice.INFUSION,
        3,
        date(2026, 12, 25),
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
        plan_events,
        EventChoice.ASSESSMENT,
        4,
        date(2027, 1, 28),
        today=TODAY,
        timezone=ZONE,
        min_days_between_infusions=MIN_DAYS,
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
    following = [
        e for e in plan_events if e.kind == EventKind.BELIMUMAB_INFUSION and e.number == number + 1
    ]
    if following and day > following[0].scheduled_date - timedelta(days=MIN_DAYS):
        # Too close to (or past) the next infusion: refused, nothing moves.
        with pytest.raises(RuleError, match="at least 7 days apart"):
            plan_move(
                plan_events,
                EventChoice.INFUSION,
                number,
                day,
                today=TODAY,
                timezone=ZONE,
                min_days_between_infusions=MIN_DAYS,
            )
        return
    move = plan_move(
        plan_events,
        EventChoice.INFUSION,
        number,
        day,
        today=TODAY,
        timezone=ZONE,
        min_days_between_infusions=MIN_DAYS,
    )
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


# --- infusions keep their order and spacing -------------------------------------------------
# Day 0 on 4 Nov 2026: infusions 2, 3, 4 on 2 Dec, 16 Dec 2026 and 13 Jan 2027.


def test_the_bundled_protocol_keeps_infusions_seven_days_apart(protocol: Protocol) -> None:
    assert protocol.belimumab.min_days_between_infusions == MIN_DAYS


@pytest.mark.parametrize(
    ("day", "neighbour", "neighbour_day"),
    [
        (date(2026, 12, 8), 2, date(2026, 12, 2)),  # 6 days after infusion 2
        (date(2026, 12, 2), 2, date(2026, 12, 2)),  # on the same day
        (date(2026, 12, 1), 2, date(2026, 12, 2)),  # before infusion 2: out of order
        (date(2027, 1, 7), 4, date(2027, 1, 13)),  # 6 days before infusion 4
        (date(2027, 1, 20), 4, date(2027, 1, 13)),  # after infusion 4: out of order
    ],
)
def test_an_infusion_too_close_or_out_of_order_is_refused(
    protocol: Protocol, day: date, neighbour: int, neighbour_day: date
) -> None:
    with pytest.raises(RuleError, match="at least 7 days apart") as refused:
        _move(
            protocol,
            EventChoice.INFUSION,
            3,
            day,
        )
    assert refused.value.params == {
        "number": 3,
        "day": day,
        "other": neighbour,
        "other_day": neighbour_day,
        "min_days": MIN_DAYS,
    }
    assert str(refused.value) == (
        f"Infusion 3 cannot move to {day.isoformat()}: infusion {neighbour} is on "
        f"{neighbour_day.isoformat()}, and infusions must stay in order, at least 7 days apart."
    )


@pytest.mark.parametrize("day", [date(2026, 12, 9), date(2027, 1, 6)])
def test_exactly_seven_days_from_a_neighbour_is_allowed(protocol: Protocol, day: date) -> None:
    move = _move(
        protocol,
        EventChoice.INFUSION,
        3,
        day,
    )
    assert move.moves[0].after.scheduled_date == day


def test_the_spacing_is_the_protocols(protocol: Protocol) -> None:
    # With 10 days required, 16 Dec -> 11 Dec (9 days after infusion 2) is refused.
    with pytest.raises(RuleError, match="at least 10 days apart"):
        plan_move(
            events(protocol),
            EventChoice.INFUSION,
            3,
            date(2026, 12, 11),
            today=TODAY,
            timezone=ZONE,
            min_days_between_infusions=10,
        )


def test_the_spacing_counts_a_neighbour_already_done_and_its_moved_date(
    protocol: Protocol,
) -> None:
    # Infusion 2 was given on 5 Dec (moved and done): infusion 3 on 11 Dec is 6 days after.
    moved = [
        replace(e, scheduled_date=date(2026, 12, 5))
        if (e.kind, e.number) == (EventKind.BELIMUMAB_INFUSION, 2)
        else e
        for e in events(protocol)
    ]
    with pytest.raises(RuleError, match="infusion 2 is on 2026-12-05"):
        plan_move(
            moved,
            EventChoice.INFUSION,
            3,
            date(2026, 12, 11),
            today=TODAY,
            timezone=ZONE,
            min_days_between_infusions=MIN_DAYS,
            done={"belimumab_infusion:2"},
        )


def test_assessments_are_not_held_to_the_infusion_spacing(protocol: Protocol) -> None:
    # Renal assessment 3 (week 8, 30 Dec) moved 3 days early: a renal assessment 4 weeks
    # later and infusion 3 (16 Dec) are not its neighbours.
    move = _move(
        protocol,
        EventChoice.ASSESSMENT,
        3,
        date(2026, 12, 27),
    )
    assert move.in_window
