"""The coordinator's overview: which events are done, due or overdue, study time,
the serious-event reporting clock as shown, and dating a patient report's onset.

Pure: every function takes "today" or "now" from its caller (the clock lives
in ``scheduler.clock``) and returns values.

Sources: the requirement ("``/status`` -> the trial at a glance on one screen: ...
this week's infusions, assessments and urine collections with done / due /
overdue; open adverse events with every serious one's reporting clock (hours
left, or overdue)"; "``/status P01`` -> one patient: study day and week";
"``/triage R7 ae G2 <term>`` turns one into an adverse event"),
docs/clinical-facts.md §1 ("Day 0 = first day of the methylprednisolone (MP) pulse. Weeks
count from day 0"), section 6 (the site's 24-hour clock from awareness) and
section 7 (the 24-hour urine collection ends the morning after it starts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

from core.adverse_events import SAE_REPORTING_HOURS, hours_left, reporting_deadline
from core.messages import N_, RuleError
from core.response import ResponseClass

__all__ = [
    "ONSET_DAYS_BEFORE",
    "ClassCounts",
    "Progress",
    "ProgressCounts",
    "ReportingClock",
    "StudyTime",
    "count_classes",
    "event_progress",
    "onset_date",
    "reporting_clock",
    "study_time",
    "tally_progress",
    "week_bounds",
]


# --------------------------------------------------------------------------- the week


def week_bounds(today: date) -> tuple[date, date]:
    """Monday and Sunday of the calendar week that holds ``today``.

    Rule: "this week" on the overview is the Monday-to-Sunday week (ISO 8601)
    of the current day in the trial's time zone; the caller passes that day.
    Source: the ``/status`` requirement ("this week's infusions, assessments
    and urine collections"); Monday-Sunday is a choice (ISO week, as Chinese calendars
    print it).
    """
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


# --------------------------------------------------------------------------- done / due / overdue

K = TypeVar("K")


class Progress(StrEnum):
    """Where one planned event stands on a given day."""

    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"


def event_progress(
    *, done: bool, scheduled_date: date, today: date, runs_days: int = 0
) -> Progress:
    """Whether an event is done, due or overdue on ``today``.

    Rule:

    - **done** when the caller found it done (the event marked done; for an
      infusion, a belimumab dose recorded against it; for a urine collection,
      the patient pressing "Finished" on its last reminder);
    - otherwise **due** while its last day is today or still ahead;
    - otherwise **overdue**: its last day has passed.

    The last day is ``scheduled_date + runs_days``: 0 for an infusion or a
    visit (done on the day booked), 1 for the 24-hour urine collection, which
    starts on its scheduled morning and ends the next morning
    (docs/clinical-facts.md §7), so it is not overdue on the morning it is being finished.

    The protocol window is not consulted separately: an event inside its
    window passes its booked day no later than its window end, and an event
    moved outside its window already carries a recorded deviation and is due
    on the day it was moved to. An event recorded as missed is not done, so
    it is overdue once its day has passed.
    Source: the ``/status`` requirement ("this week's infusions, assessments
    and urine collections with done / due / overdue"); the precise reading is a choice.
    """
    if runs_days < 0:
        raise ValueError("runs_days must not be negative")
    if done:
        return Progress.DONE
    last_day = scheduled_date + timedelta(days=runs_days)
    return Progress.DUE if today <= last_day else Progress.OVERDUE


@dataclass(frozen=True, slots=True)
class ProgressCounts:
    """How many events of one kind are done, due and overdue."""

    done: int = 0
    due: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        """All events counted."""
        return self.done + self.due + self.overdue

    def plus(self, progress: Progress, count: int) -> ProgressCounts:
        """These counts with ``count`` more events at ``progress``."""
        return ProgressCounts(
            self.done + (count if progress is Progress.DONE else 0),
            self.due + (count if progress is Progress.DUE else 0),
            self.overdue + (count if progress is Progress.OVERDUE else 0),
        )


def tally_progress(
    groups: Iterable[tuple[K, date, bool, int]],
    today: date,
    runs_days: Mapping[K, int] | None = None,
) -> dict[K, ProgressCounts]:
    """Done / due / overdue counts per kind from grouped rows.

    Each group is ``(kind, scheduled_date, done, count)`` (the database counts
    events with a GROUP BY, so the rule runs once per group, not per event);
    ``runs_days`` gives each kind's extra days (see :func:`event_progress`).
    Rule and source: :func:`event_progress`.
    """
    extra = runs_days or {}
    out: dict[K, ProgressCounts] = {}
    for kind, scheduled, done, count in groups:
        progress = event_progress(
            done=done, scheduled_date=scheduled, today=today, runs_days=extra.get(kind, 0)
        )
        out[kind] = out.get(kind, ProgressCounts()).plus(progress, count)
    return out


# --------------------------------------------------------------------------- study time


@dataclass(frozen=True, slots=True)
class StudyTime:
    """Study day (day 0 = first MP day) and study week (week 0 = days 0-6)."""

    day: int
    week: int


def study_time(day0: date, today: date) -> StudyTime:
    """The study day and week of ``today`` for a patient whose day 0 is ``day0``.

    Rule: day = (today - day 0) in days; week = day // 7 (floor division, so
    days 0-6 are week 0 and week 24 starts on day 168; days before day 0 are
    negative and fall in week -1 or earlier).
    Source: docs/clinical-facts.md §1 ("Day 0 = first day of the
    methylprednisolone (MP) pulse. Weeks count from day 0").
    """
    day = (today - day0).days
    return StudyTime(day, day // 7)


# --------------------------------------------------------------------------- reporting clock


@dataclass(frozen=True, slots=True)
class ReportingClock:
    """A serious event's reporting clock as shown: the deadline, and whole hours
    left (``overdue`` False) or past it (``overdue`` True)."""

    deadline: datetime
    overdue: bool
    hours: int


def reporting_clock(
    awareness_at: datetime, now: datetime, hours: int = SAE_REPORTING_HOURS
) -> ReportingClock:
    """The reporting clock of a serious adverse event, in whole hours for display.

    Rule: the deadline is awareness + ``hours`` (``core.adverse_events.
    reporting_deadline``). Before or at the deadline the clock shows the hours
    left rounded **down** (19.9 h left shows 19 h: never more time than there
    is); after it, the hours overdue rounded **up** (0.2 h late shows 1 h:
    never less lateness than there is). At the deadline itself it is on time
    with 0 h left (``core.adverse_events.is_overdue``).
    Source: docs/clinical-facts.md §6 ("this site's clock is 24 hours from
    awareness: show it"); the rounding is a choice.
    """
    deadline = reporting_deadline(awareness_at, hours)
    left = hours_left(deadline, now)
    if left >= 0:
        return ReportingClock(deadline, False, int(left.to_integral_value(rounding="ROUND_FLOOR")))
    late = -left
    return ReportingClock(deadline, True, int(late.to_integral_value(rounding="ROUND_CEILING")))


# --------------------------------------------------------------------------- report onset

# Days before the report's date for each answer to "When did it start?"
# (bot.handlers.report.Onset) and the red-flag path's "now".
ONSET_DAYS_BEFORE: Final[Mapping[str, int]] = MappingProxyType(
    {
        "now": 0,
        "today": 0,
        "yesterday": 1,
        "days_2_3": 2,
        "more_than_3_days": 4,
    }
)


def onset_date(onset: str, reported_on: date) -> date:
    """The adverse event onset date a patient report's answer stands for.

    Rule: the report's own day (``reported_on``, its creation day in the trial
    time zone) minus the days of :data:`ONSET_DAYS_BEFORE`: "today" (and a red
    flag's "now") 0, "yesterday" 1, "2-3 days ago" 2, "more than 3 days ago" 4.
    For a range the **most recent** day the answer allows is taken (2 of 2-3;
    4, the first day that is "more than 3"), so the date is never earlier
    than what the patient said; staff who know better enter the event with
    ``/ae ... onset=YYYY-MM-DD`` instead. An unknown answer is refused.
    Source: the requirement ("``/triage R7 ae G2 <term>`` turns one into an adverse
    event"); the mapping is a choice.
    """
    days = ONSET_DAYS_BEFORE.get(onset)
    if days is None:
        raise RuleError(
            N_("The report's onset answer {onset} cannot be turned into a date."), onset=onset
        )
    return reported_on - timedelta(days=days)


# --------------------------------------------------------------------------- response classes


@dataclass(frozen=True, slots=True)
class ClassCounts:
    """Patients per response class (CR, PR, NR, NE) and how many had none yet."""

    cr: int = 0
    pr: int = 0
    nr: int = 0
    ne: int = 0
    none: int = 0

    @property
    def total(self) -> int:
        """Every patient counted."""
        return self.cr + self.pr + self.nr + self.ne + self.none


def count_classes(classes: Iterable[ResponseClass | None]) -> ClassCounts:
    """Count patients by response class; None (no assessment yet) is counted apart.

    Rule: one class per patient (the caller passes each patient's cumulative
    class at week 24, ``core.response.week24_and_cumulative``); the overall
    response rate is CR + PR (docs/clinical-facts.md §3).
    """
    counts = {cls: 0 for cls in ResponseClass}
    missing = 0
    for cls in classes:
        if cls is None:
            missing += 1
        else:
            counts[cls] += 1
    return ClassCounts(
        counts[ResponseClass.CR],
        counts[ResponseClass.PR],
        counts[ResponseClass.NR],
        counts[ResponseClass.NE],
        missing,
    )
