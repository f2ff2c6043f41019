"""core.overview: the week, done / due / overdue, study time, the reporting clock, onset dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.messages import RuleError
from core.overview import (
    ClassCounts,
    Progress,
    ProgressCounts,
    count_classes,
    event_progress,
    onset_date,
    reporting_clock,
    study_time,
    tally_progress,
    week_bounds,
)
from core.response import ResponseClass

WED = date(2026, 12, 16)  # a Wednesday


@pytest.mark.parametrize(
    ("today", "monday", "sunday"),
    [
        (date(2026, 12, 14), date(2026, 12, 14), date(2026, 12, 20)),  # Monday itself
        (WED, date(2026, 12, 14), date(2026, 12, 20)),
        (date(2026, 12, 20), date(2026, 12, 14), date(2026, 12, 20)),  # Sunday itself
        (date(2026, 12, 21), date(2026, 12, 21), date(2026, 12, 27)),  # next Monday
        (date(2027, 1, 1), date(2026, 12, 28), date(2027, 1, 3)),  # across the year end
    ],
)
def test_week_is_monday_to_sunday(today: date, monday: date, sunday: date) -> None:
    assert week_bounds(today) == (monday, sunday)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_week_always_holds_today_and_starts_on_monday(today: date) -> None:
    monday, sunday = week_bounds(today)
    assert monday.weekday() == 0 and sunday.weekday() == 6
    assert monday <= today <= sunday
    assert sunday - monday == timedelta(days=6)


@pytest.mark.parametrize(
    ("done", "scheduled", "runs_days", "expected"),
    [
        # Done wins whatever the day.
        (True, WED - timedelta(days=2), 0, Progress.DONE),
        (True, WED + timedelta(days=2), 0, Progress.DONE),
        # Not done: due today or ahead, overdue once the day has passed.
        (False, WED, 0, Progress.DUE),
        (False, WED + timedelta(days=1), 0, Progress.DUE),
        (False, WED - timedelta(days=1), 0, Progress.OVERDUE),
        # A urine collection started yesterday ends this morning: still due today ...
        (False, WED - timedelta(days=1), 1, Progress.DUE),
        # ... and overdue the day after it ended.
        (False, WED - timedelta(days=2), 1, Progress.OVERDUE),
    ],
)
def test_done_due_overdue(done: bool, scheduled: date, runs_days: int, expected: Progress) -> None:
    assert (
        event_progress(done=done, scheduled_date=scheduled, today=WED, runs_days=runs_days)
        is expected
    )


def test_negative_run_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="runs_days"):
        event_progress(done=False, scheduled_date=WED, today=WED, runs_days=-1)


def test_tally_applies_the_rule_per_group_and_sums() -> None:
    yesterday, tomorrow = WED - timedelta(days=1), WED + timedelta(days=1)
    groups = [
        ("infusion", yesterday, True, 2),
        ("infusion", yesterday, False, 3),
        ("infusion", tomorrow, False, 1),
        ("urine", yesterday, False, 4),  # ends today: due
        ("urine", WED - timedelta(days=3), False, 1),
    ]
    tallies = tally_progress(groups, WED, {"urine": 1})
    assert tallies["infusion"] == ProgressCounts(done=2, due=1, overdue=3)
    assert tallies["urine"] == ProgressCounts(done=0, due=4, overdue=1)
    assert tallies["infusion"].total == 6


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.dates(min_value=date(2026, 12, 1), max_value=date(2026, 12, 31)),
            st.booleans(),
            st.integers(min_value=0, max_value=50),
        ),
        max_size=20,
    )
)
def test_tally_counts_every_event_once(groups: list[tuple[str, date, bool, int]]) -> None:
    tallies = tally_progress(groups, WED)
    assert sum(c.total for c in tallies.values()) == sum(g[3] for g in groups)
    assert sum(c.done for c in tallies.values()) == sum(g[3] for g in groups if g[2])


@pytest.mark.parametrize(
    ("today", "day", "week"),
    [
        (date(2026, 7, 1), 0, 0),  # day 0: first MP day
        (date(2026, 7, 7), 6, 0),
        (date(2026, 7, 8), 7, 1),
        (date(2026, 12, 15), 167, 23),
        (date(2026, 12, 16), 168, 24),
        (date(2026, 6, 30), -1, -1),  # the day before day 0
    ],
)
def test_study_day_and_week(today: date, day: int, week: int) -> None:
    when = study_time(date(2026, 7, 1), today)
    assert (when.day, when.week) == (day, week)


AWARE = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "overdue", "hours"),
    [
        (timedelta(hours=5), False, 19),
        (timedelta(hours=4, minutes=30), False, 19),  # 19.5 h left shows 19
        (timedelta(hours=23, minutes=59), False, 0),
        (timedelta(hours=24), False, 0),  # at the deadline: on time
        (timedelta(hours=24, minutes=1), True, 1),  # a minute late shows 1 h late
        (timedelta(hours=30), True, 6),
    ],
)
def test_reporting_clock(elapsed: timedelta, overdue: bool, hours: int) -> None:
    clock = reporting_clock(AWARE, AWARE + elapsed, 24)
    assert (clock.overdue, clock.hours) == (overdue, hours)
    assert clock.deadline == AWARE + timedelta(hours=24)


def test_reporting_clock_counts_elapsed_time_across_zones() -> None:
    aware = datetime(2026, 12, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock = reporting_clock(aware, datetime(2026, 12, 16, 7, 0, tzinfo=UTC), 24)
    assert (clock.overdue, clock.hours) == (False, 19)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("today", date(2026, 12, 16)),
        ("now", date(2026, 12, 16)),
        ("yesterday", date(2026, 12, 15)),
        ("days_2_3", date(2026, 12, 14)),
        ("more_than_3_days", date(2026, 12, 12)),
    ],
)
def test_onset_from_the_patients_answer(answer: str, expected: date) -> None:
    assert onset_date(answer, date(2026, 12, 16)) == expected


def test_onset_of_an_unknown_answer_is_refused() -> None:
    with pytest.raises(RuleError) as caught:
        onset_date("last week", date(2026, 12, 16))
    assert caught.value.params == {"onset": "last week"}


def test_count_classes() -> None:
    counts = count_classes(
        [ResponseClass.CR, ResponseClass.PR, ResponseClass.CR, ResponseClass.NE, None]
    )
    assert counts == ClassCounts(cr=2, pr=1, nr=0, ne=1, none=1)
    assert counts.total == 5
