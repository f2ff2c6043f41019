"""Every entry against the calendar: its date inside the window, a deviation, or refused.

Lab results, a SLEDAI-2K, a CD20 count and a belimumab dose each belong to a
planned event: the assessment of the week they name, or the infusion a dose is
for. docs/clinical-facts.md §2 gives every infusion and assessment a window of
+/- 3 days around its target date, anchored to day 0; week 0 is the baseline,
taken before the first MP pulse, with its own window (days -3 to 0,
:meth:`core.protocol.Protocol.assessment_window`). One rule judges every
entry's date (:func:`judge_entry_date`):

- inside the window (bounds included), or on the day the event is booked for
  (a move outside the window by /reschedule carries its own deviation): in
  order, nothing more to record;
- outside it: a protocol deviation. The entry needs a reason (at most 500
  characters, as /reschedule's), and staff are told how many days outside;
- before the window opens by more than the window's own length (6 days for
  +/- 3: week 24 on study day 3, say): refused, as the week or the date is
  most likely wrong;
- an entry closes its event only once the event may happen: on or after the
  first day of its window (or its booked day, if earlier). An early entry
  never closes a future event (:attr:`EntryDate.closes_event`).

Which infusion a belimumab dose is for (:func:`infusion_due`): the planned one
whose window contains the dose's date; outside every window, the planned one
whose window is nearest (the earlier at equal distance), unless that one
opens more than its window's length later, when the dose is for no planned
infusion. Two doses stay ``belimumab.min_days_between_infusions`` apart
(:func:`check_dose_spacing`), the interval /reschedule keeps.

The windows are the protocol's; the reason, the refusal threshold and the
dose matching are our choices (README, "choices"). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from core.messages import N_, Nn_, RuleError
from core.protocol import Protocol
from core.rescheduling import MAX_REASON_LENGTH

TOO_EARLY: Final = Nn_(
    "{date} is {n} day before the window ({start} to {end}) opens, more than the window "
    "itself: check the week and the date.",
    "{date} is {n} days before the window ({start} to {end}) opens, more than the window "
    "itself: check the week and the date.",
)
REASON_EARLY: Final = Nn_(
    "{date} is {n} day before the window ({start} to {end}): a reason is required, recorded "
    "as a protocol deviation. Add reason=... at the end.",
    "{date} is {n} days before the window ({start} to {end}): a reason is required, recorded "
    "as a protocol deviation. Add reason=... at the end.",
)
REASON_LATE: Final = Nn_(
    "{date} is {n} day after the window ({start} to {end}): a reason is required, recorded "
    "as a protocol deviation. Add reason=... at the end.",
    "{date} is {n} days after the window ({start} to {end}): a reason is required, recorded "
    "as a protocol deviation. Add reason=... at the end.",
)
REASON_UNPLANNED: Final = N_(
    "{date} is outside every planned window: a reason is required, recorded as a protocol "
    "deviation. Add reason=... at the end."
)
TOO_CLOSE: Final = Nn_(
    "A belimumab dose is recorded on {other}: doses must be at least {n} day apart, so none "
    "can be recorded on {date}.",
    "A belimumab dose is recorded on {other}: doses must be at least {n} days apart, so none "
    "can be recorded on {date}.",
)
REASON_TOO_LONG: Final = N_("The reason is too long: at most {limit} characters.")


class Timing(StrEnum):
    """Where an entry's date falls against its event's window."""

    INSIDE = "inside"
    EARLY = "early"
    LATE = "late"
    UNPLANNED = "unplanned"  # no planned event is left for it (an extra dose)


@dataclass(frozen=True, slots=True)
class Window:
    """When an event may happen: ``days_before`` and ``days_after`` its day-0-anchored
    ``target``, and the day it is ``booked`` for when that is known."""

    target: date
    days_before: int
    days_after: int
    booked: date | None = None

    @property
    def start(self) -> date:
        return self.target - timedelta(days=self.days_before)

    @property
    def end(self) -> date:
        return self.target + timedelta(days=self.days_after)

    @property
    def length(self) -> int:
        """The window's own length in days (6 for +/- 3)."""
        return self.days_before + self.days_after

    @property
    def opens(self) -> date:
        """The first day the event may happen: the window's start, or its booked day if
        /reschedule moved it earlier."""
        return self.start if self.booked is None else min(self.start, self.booked)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end or day == self.booked

    def days_outside(self, day: date) -> int:
        """Days between ``day`` and the window (0 inside it)."""
        if self.contains(day):
            return 0
        return (self.start - day).days if day < self.start else (day - self.end).days


def assessment_window(
    protocol: Protocol, day0: date, week: int, booked: date | None = None
) -> Window:
    """The window of an assessment (renal, SLEDAI-2K, CD20) of ``week``: its target date
    is day 0 plus the weeks (docs/clinical-facts.md §2), its days the protocol's."""
    before, after = protocol.assessment_window(week)
    return Window(day0 + timedelta(weeks=week), before, after, booked)


@dataclass(frozen=True, slots=True)
class EntryDate:
    """An entry's date judged against its event's window; ``reason`` is the deviation's."""

    day: date
    timing: Timing
    window: Window | None = None
    days_outside: int = 0
    reason: str | None = None

    @property
    def deviation(self) -> bool:
        return self.timing is not Timing.INSIDE

    @property
    def closes_event(self) -> bool:
        """Whether the entry may mark its event done: never before the event may happen."""
        return self.window is not None and self.day >= self.window.opens


def judge_entry_date(window: Window | None, day: date, reason: str | None) -> EntryDate:
    """Judge ``day`` against ``window`` (None: no planned event is left for the entry).

    Returns the timing; a reason given inside the window is not a deviation's,
    so it is dropped. Refuses (RuleError): a day before the window opens by
    more than the window's length; a day outside without a reason, saying how
    many days outside; a reason over 500 characters. Source: the module docstring.
    """
    text = " ".join((reason or "").split()) or None
    if window is not None and window.contains(day):
        return EntryDate(day, Timing.INSIDE, window)
    if window is None:
        timing, days = Timing.UNPLANNED, 0
    else:
        days = window.days_outside(day)
        timing = Timing.EARLY if day < window.start else Timing.LATE
        if timing is Timing.EARLY and days > window.length:
            raise RuleError.counted(TOO_EARLY, days, date=day, start=window.start, end=window.end)
    if text is None:
        if window is None:
            raise RuleError(REASON_UNPLANNED, date=day)
        forms = REASON_EARLY if timing is Timing.EARLY else REASON_LATE
        raise RuleError.counted(forms, days, date=day, start=window.start, end=window.end)
    if len(text) > MAX_REASON_LENGTH:
        raise RuleError(REASON_TOO_LONG, limit=MAX_REASON_LENGTH)
    return EntryDate(day, timing, window, days, text)


@dataclass(frozen=True, slots=True)
class Booked:
    """A planned event not done yet: its number and its window."""

    number: int
    window: Window


def infusion_due(planned: Sequence[Booked], day: date) -> Booked | None:
    """The planned infusion a dose given on ``day`` is for (see the module docstring).

    The one whose window contains the day; else the one whose window is
    nearest, the earlier at equal distance; None when there is none, or when
    the nearest opens more than its window's length after the day (a dose
    for no planned infusion, never one weeks ahead).
    """
    inside = [b for b in planned if b.window.contains(day)]
    if inside:
        return min(inside, key=lambda b: (b.window.target, b.number))
    if not planned:
        return None
    nearest = min(planned, key=lambda b: (b.window.days_outside(day), b.window.target, b.number))
    if day < nearest.window.opens and nearest.window.days_outside(day) > nearest.window.length:
        return None
    return nearest


def check_dose_spacing(given: Iterable[date], day: date, min_days: int) -> None:
    """Refuse a belimumab dose on ``day`` closer than ``min_days`` to one already recorded.

    The infusions' own spacing (``belimumab.min_days_between_infusions``, which
    /reschedule keeps, core.rescheduling) holds for the doses given too, so
    a dose typed twice, or two doses a few days apart, cannot both be recorded.
    """
    close = sorted(
        (d for d in given if abs((day - d).days) < min_days), key=lambda d: abs((day - d).days)
    )
    if close:
        raise RuleError.counted(TOO_CLOSE, min_days, date=day, other=close[0])
