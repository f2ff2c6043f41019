"""Every entry against the calendar: the window rule, the refusal, and which infusion a dose is."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.entry_calendar import (
    REASON_EARLY,
    REASON_LATE,
    REASON_UNPLANNED,
    TOO_CLOSE,
    TOO_EARLY,
    Booked,
    Timing,
    Window,
    assessment_window,
    check_dose_spacing,
    infusion_due,
    judge_entry_date,
)
from core.messages import RuleError
from core.protocol import Protocol

DAY0 = date(2026, 12, 1)
# Week 4: target 29 Dec, window 26 Dec to 1 Jan (docs/clinical-facts.md §2: +/- 3 days).
WEEK4 = Window(date(2026, 12, 29), 3, 3)


def _refusal(window: Window | None, day: date, reason: str | None = None) -> RuleError:
    with pytest.raises(RuleError) as raised:
        judge_entry_date(window, day, reason)
    return raised.value


def test_the_assessment_windows_come_from_the_protocol(protocol: Protocol) -> None:
    assert (WEEK4.start, WEEK4.end, WEEK4.length) == (date(2026, 12, 26), date(2027, 1, 1), 6)
    # Week 0 is the baseline: days -3 to 0, before the first MP pulse.
    baseline = assessment_window(protocol, DAY0, 0)
    assert (baseline.start, baseline.end) == (date(2026, 11, 28), DAY0)
    assert assessment_window(protocol, DAY0, 4) == WEEK4


@pytest.mark.parametrize("day", [date(2026, 12, 26), date(2026, 12, 29), date(2027, 1, 1)])
def test_inside_the_window_bounds_included_is_no_deviation(day: date) -> None:
    entry = judge_entry_date(WEEK4, day, "  given anyway ")
    assert (entry.timing, entry.deviation, entry.days_outside, entry.reason) == (
        Timing.INSIDE,
        False,
        0,
        None,
    )
    assert entry.closes_event


def test_outside_the_window_a_reason_is_required_naming_the_days() -> None:
    early = _refusal(WEEK4, date(2026, 12, 24))
    assert (early.msgid, early.plural, early.params["n"]) == (*REASON_EARLY, 2)
    late = _refusal(WEEK4, date(2027, 1, 2), "   ")
    assert (late.msgid, late.params["n"], late.params["start"]) == (
        REASON_LATE[0],
        1,
        date(2026, 12, 26),
    )
    assert str(late).startswith("2027-01-02 is 1 day after the window (2026-12-26 to 2027-01-01)")


def test_with_a_reason_it_is_a_deviation_and_an_early_one_closes_nothing() -> None:
    early = judge_entry_date(WEEK4, date(2026, 12, 20), "patient  travelling")
    assert (early.timing, early.days_outside, early.reason) == (
        Timing.EARLY,
        6,
        "patient travelling",
    )
    assert early.deviation and not early.closes_event
    late = judge_entry_date(WEEK4, date(2027, 1, 11), "missed the visit")
    assert (late.timing, late.days_outside) == (Timing.LATE, 10)
    assert late.closes_event


def test_before_the_window_by_more_than_its_length_is_refused_whatever_the_reason() -> None:
    refusal = _refusal(WEEK4, date(2026, 12, 19), "sure")
    assert (refusal.msgid, refusal.params["n"]) == (TOO_EARLY[0], 7)
    # Week 24 on study day 3.
    week24 = Window(DAY0 + timedelta(weeks=24), 3, 3)
    refusal = _refusal(week24, DAY0 + timedelta(days=3), "sure")
    assert (refusal.msgid, refusal.params["n"]) == (TOO_EARLY[0], 162)


def test_the_booked_day_of_a_moved_event_is_in_order() -> None:
    # /reschedule moved it outside its window to 21 Dec, with its own deviation.
    moved = Window(WEEK4.target, 3, 3, booked=date(2026, 12, 21))
    entry = judge_entry_date(moved, date(2026, 12, 21), None)
    assert entry.timing is Timing.INSIDE and entry.closes_event
    # Between the booked day and the window: early, but the event may happen by then.
    between = judge_entry_date(moved, date(2026, 12, 23), "still early")
    assert between.timing is Timing.EARLY and between.closes_event


def test_no_window_needs_a_reason_and_a_long_reason_is_refused() -> None:
    assert _refusal(None, DAY0).msgid == REASON_UNPLANNED
    entry = judge_entry_date(None, DAY0, "extra dose")
    assert (entry.timing, entry.deviation, entry.closes_event) == (Timing.UNPLANNED, True, False)
    assert _refusal(WEEK4, date(2027, 1, 2), "x" * 501).params == {"limit": 500}


@given(st.integers(-30, 30), st.integers(0, 7), st.integers(0, 7))
def test_an_entry_closes_its_event_only_once_its_window_has_opened(
    offset: int, before: int, after: int
) -> None:
    window = Window(date(2027, 3, 1), before, after)
    day = window.target + timedelta(days=offset)
    try:
        entry = judge_entry_date(window, day, "why")
    except RuleError:
        assert day < window.start - timedelta(days=window.length)
        return
    assert entry.closes_event == (day >= window.start)
    assert entry.days_outside == max(0, (window.start - day).days, (day - window.end).days)


def _infusions(*targets: date) -> list[Booked]:
    return [Booked(n, Window(t, 3, 3)) for n, t in enumerate(targets, start=1)]


def test_a_dose_is_for_the_infusion_whose_window_holds_its_date() -> None:
    planned = _infusions(date(2026, 12, 15), date(2026, 12, 29), date(2027, 1, 12))
    due = infusion_due(planned, date(2026, 12, 27))
    assert due is not None and due.number == 2
    # Outside every window: the nearest, the earlier at equal distance.
    late = infusion_due(planned, date(2027, 1, 5))  # 4 days after 2's, 4 before 3's
    assert late is not None and late.number == 2
    early = infusion_due(planned, date(2027, 1, 6))  # 5 after 2's, 3 before 3's
    assert early is not None and early.number == 3
    assert infusion_due([], date(2027, 1, 6)) is None


def test_a_dose_weeks_before_the_next_infusion_is_for_none() -> None:
    planned = _infusions(date(2027, 2, 9))  # window 6 to 12 Feb
    assert infusion_due(planned, date(2027, 1, 31)) is not None  # 6 days early
    assert infusion_due(planned, date(2027, 1, 30)) is None  # 7 days early


def test_doses_stay_the_protocol_interval_apart() -> None:
    given_on = [date(2026, 12, 15)]
    check_dose_spacing(given_on, date(2026, 12, 22), 7)
    check_dose_spacing(given_on, date(2026, 12, 8), 7)
    for day in (date(2026, 12, 21), date(2026, 12, 15), date(2026, 12, 9)):
        with pytest.raises(RuleError) as raised:
            check_dose_spacing(given_on, day, 7)
        assert (raised.value.msgid, raised.value.params["n"]) == (TOO_CLOSE[0], 7)
        assert raised.value.params["other"] == date(2026, 12, 15)
