"""What the clinical data-entry commands share: the patient, dates, weeks, languages,
and how an entry's date stands against the calendar.

``/ae``, ``/labs``, ``/dose``, ``/weight``, ``/sledai`` and ``/cd20`` all name
a patient by study ID first. An unknown study ID, or a patient who withdrew,
is refused with the reason (requirement: "Every refusal says why and what was
expected, and stores nothing"); the services of :mod:`core.store.clinical`
check again at Confirm, since the patient may have been withdrawn in between.

``/labs``, ``/sledai``, ``/cd20`` and ``/dose belimumab`` show a date outside
its window (:mod:`core.entry_calendar`) in the summary and after Confirm, with
how many days outside and the reason; and an event the entry leaves planned
because its window has not opened yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from bot.context import Ctx
from bot.i18n import Translator
from bot.staff.commands import Choices
from bot.texts import EVENT_TITLES
from core.entry_calendar import EntryDate, Timing
from core.messages import N_, RuleError
from core.schedule import EventKind, trial_today
from core.store.clinical import check_active
from core.store.db import read_session
from core.store.models import Patient
from core.store.services import patient_by_study_id
from core.units import Quantity

NO_STUDY_ID = N_("Start with the patient's study ID, for example P01.")


def patient_for_entry(ctx: Ctx, args: Sequence[str]) -> Patient:
    """The patient the first word names; refuses a missing, unknown or withdrawn one."""
    if not args:
        raise RuleError(NO_STUDY_ID)
    study_id = args[0].strip()[:32]
    with read_session(ctx.services.engine) as session:
        return check_active(patient_by_study_id(session, study_id), study_id)


def local_date(ctx: Ctx, instant: datetime) -> date:
    """The trial's date of a stored instant."""
    return trial_today(instant, ctx.services.zone)


def instant_on(ctx: Ctx, day: date, wall: time) -> datetime:
    """``day`` at the wall-clock time ``wall`` in the trial zone, but never after now.

    A sample collected "today" is given the protocol's visit time; when that
    time is still to come, the entry's own instant is used instead.
    """
    moment = datetime.combine(day, wall, tzinfo=ctx.services.zone)
    return min(moment, ctx.now())


def by_language(t: Translator, en: str, zh: str) -> str:
    """Pick the reader's version of a name the core data holds in both languages."""
    return zh if t.lang == "zh_Hans" else en


def quantity_text(t: Translator, q: Quantity) -> str:
    """A value as entered, in the reader's number format, with its unit (``0.25 g/24h``)."""
    return f"{t.number(q.value)}{q.unit.suffix}"


def signed(t: Translator, value: Decimal | int) -> str:
    """A change with its sign: ``+4``, ``-30``, ``0``."""
    text = t.number(abs(Decimal(value)))
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def week_choices(weeks: Callable[[Ctx], Sequence[int]]) -> Choices:
    """Buttons for a guided flow's week step: the protocol's weeks for that measurement."""

    def choices(ctx: Ctx) -> list[tuple[str, str]]:
        return [(ctx.t._("Week {week}", week=week), f"w{week}") for week in weeks(ctx)]

    return choices


def last_week(ctx: Ctx) -> int:
    """The last study week data may be entered for (the end of the induction)."""
    return ctx.services.protocol.trial.induction_weeks


def outside_text(t: Translator, entry: EntryDate) -> str:
    """Where a date outside its window falls: "Sun, Dec 20, 2026 is 2 days before the
    window (Tue, Dec 22, 2026 to Mon, Dec 28, 2026)"."""
    window = entry.window
    if window is None:
        return outside_window_text(t, entry.day, entry.timing, 0, None)
    span = (window.start, window.end)
    return outside_window_text(t, entry.day, entry.timing, entry.days_outside, span)


def outside_window_text(
    t: Translator, day: date, timing: Timing, days: int, window: tuple[date, date] | None
) -> str:
    """:func:`outside_text` from its parts (a stored deviation's columns)."""
    if window is None or timing is Timing.UNPLANNED:
        return t._("{date} is outside every planned window", date=t.date(day))
    start, end = window
    params = {"date": t.date(day), "start": t.date(start), "end": t.date(end)}
    if timing is Timing.EARLY:
        return t.n_(
            "{date} is {n} day before the window ({start} to {end})",
            "{date} is {n} days before the window ({start} to {end})",
            days,
            **params,
        )
    return t.n_(
        "{date} is {n} day after the window ({start} to {end})",
        "{date} is {n} days after the window ({start} to {end})",
        days,
        **params,
    )


def calendar_lines(
    t: Translator,
    entry: EntryDate | None,
    event: tuple[EventKind, int] | None,
    *,
    confirmed: bool,
) -> list[str]:
    """The deviation (with its reason) and an event left planned, before or after Confirm.

    ``event`` is the planned event the entry belongs to (kind and number).
    """
    if entry is None:
        return []
    lines = []
    if entry.deviation:
        if confirmed:
            lines.append(
                t._(
                    "Recorded as a protocol deviation ({where}): {reason}",
                    where=outside_text(t, entry),
                    reason=entry.reason,
                )
            )
        else:
            lines.append(
                t._(
                    "{where}: it will be recorded as a protocol deviation, with the reason: "
                    "{reason}",
                    where=outside_text(t, entry),
                    reason=entry.reason,
                )
            )
    if event is not None and not entry.closes_event and entry.window is not None:
        kind, number = event
        lines.append(
            t._(
                "{event} is not marked done: its window opens on {date}.",
                event=t._(EVENT_TITLES[kind], number=number),
                date=t.date(entry.window.opens),
            )
        )
    return lines
