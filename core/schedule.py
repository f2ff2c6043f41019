"""The study calendar: planned events and the reminders that announce them.

Sources: docs/registry-record.txt (NCT05863936; belimumab "at weeks 2, 4, and 6, and
every 4 weeks", 24-week induction, multi-target therapy daily) and
docs/clinical-facts.md §2 (the choices: windows, assessment weeks, the 24-hour
urine collection that ends on the morning of each renal assessment, the
morning tacrolimus dose after the blood draw on lab days). Every number comes
from the :class:`~core.protocol.Protocol`, never from this module.

Every event is anchored to day 0 (``day0 + 7 * week``), never to the previous
visit, so a late infusion does not drag the rest of the calendar with it.
Instants are aware and in UTC; wall-clock times are read in the trial's time
zone. No reminder falls in the quiet hours, and none comes after the event it
announces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.messages import N_, RuleError
from core.protocol import Protocol, QuietHours
from core.reminder_templates import ReminderKind


class EventKind(StrEnum):
    MP_PULSE = "mp_pulse"
    BELIMUMAB_INFUSION = "belimumab_infusion"
    URINE_COLLECTION = "urine_collection"
    RENAL_ASSESSMENT = "renal_assessment"
    SLEDAI = "sledai_assessment"
    CD20 = "cd20_count"
    ORAL_DOSE = "oral_dose"


class Slot(StrEnum):
    """Which reminder of an event; unique per patient and event."""

    INFUSION_EVENING_BEFORE = "infusion_evening_before"
    INFUSION_MORNING = "infusion_morning"
    URINE_INSTRUCTIONS = "urine_instructions"  # evening before the collection starts
    URINE_START = "urine_start"  # "start now, discard this void"
    URINE_END = "urine_end"  # "last void into the container, bring it"
    VISIT_EVENING_BEFORE = "visit_evening_before"  # fasting, what to bring, dose after draw
    DOSE_1 = "dose_1"
    DOSE_2 = "dose_2"
    DOSE_3 = "dose_3"
    DOSE_4 = "dose_4"
    DOSE_AFTER_DRAW = "dose_after_draw"  # lab day: morning doses after the blood draw


DOSE_SLOTS = (Slot.DOSE_1, Slot.DOSE_2, Slot.DOSE_3, Slot.DOSE_4)

# Which template a slot's reminder goes out with on WeChat (the protocol file's
# [wechat.templates.<kind>]): a site chooses one per kind of reminder, not per slot.
REMINDER_KINDS: dict[Slot, ReminderKind] = {
    Slot.INFUSION_EVENING_BEFORE: ReminderKind.INFUSION,
    Slot.INFUSION_MORNING: ReminderKind.INFUSION,
    Slot.URINE_INSTRUCTIONS: ReminderKind.URINE_INSTRUCTIONS,
    Slot.URINE_START: ReminderKind.URINE_START,
    Slot.URINE_END: ReminderKind.URINE_END,
    Slot.VISIT_EVENING_BEFORE: ReminderKind.VISIT,
    **{slot: ReminderKind.MEDICATION for slot in DOSE_SLOTS},
    Slot.DOSE_AFTER_DRAW: ReminderKind.MEDICATION,
}

# Order of events that share an instant, for a stable, readable calendar.
_KIND_ORDER = {kind: i for i, kind in enumerate(EventKind)}


@dataclass(frozen=True, slots=True)
class Enrollment:
    """What the schedule needs to know about one patient."""

    arm: str
    day0: date
    timezone: str
    daily_dose_reminders: bool = False


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One protocol event.

    ``number`` counts events of the same kind from 1 (infusion 3, renal
    assessment 4); for oral doses it is the study day. ``week`` is the protocol
    week the event belongs to. ``target_date`` is where day 0 puts the event
    and never changes; ``scheduled_date`` is the day it is booked for (the
    target unless it was moved). ``starts_at`` (and ``ends_at`` for the urine
    collection) are aware UTC instants on the scheduled date.
    """

    kind: EventKind
    number: int
    week: int
    target_date: date
    scheduled_date: date
    window_before: int
    window_after: int
    starts_at: datetime
    ends_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.number}"

    @property
    def window_start(self) -> date:
        return self.target_date - timedelta(days=self.window_before)

    @property
    def window_end(self) -> date:
        return self.target_date + timedelta(days=self.window_after)

    def in_window(self, day: date) -> bool:
        """True if ``day`` lies inside the event's window (bounds included)."""
        return self.window_start <= day <= self.window_end


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """A message due at ``due`` (UTC) about the event ``event_key``.

    ``announces`` is the instant of what the reminder is about; ``due`` is
    never after it.
    """

    event_kind: EventKind
    event_number: int
    slot: Slot
    due: datetime
    announces: datetime

    @property
    def event_key(self) -> str:
        return f"{self.event_kind}:{self.event_number}"


@dataclass(frozen=True, slots=True)
class Plan:
    events: tuple[PlannedEvent, ...]
    reminders: tuple[PlannedReminder, ...]

    def event(self, kind: EventKind, number: int) -> PlannedEvent:
        for event in self.events:
            if event.kind == kind and event.number == number:
                return event
        raise KeyError(f"{kind}:{number}")


def trial_zone(name: str) -> ZoneInfo:
    """The trial's time zone by IANA name; refused with a translatable error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(
            N_("Unknown time zone {zone}; expected an IANA name such as Asia/Shanghai."),
            zone=name,
        ) from None


# Every patient's plan converts the same few wall-clock times on the same days
# (a dose at 08:00 on each study day), and a zone conversion costs more than the
# rest of the plan: enrolling 10,000 patients (the benchmark) repeats them ~3.7
# million times. The conversions are pure, so they are cached.
@lru_cache(maxsize=65_536)
def trial_today(now: datetime, zone: tzinfo) -> date:
    """Today in the trial's time zone at the aware instant ``now``: the one "today".

    Dates staff type, day 0, study days and "today's doses" are all dates in
    the trial's zone (``TRIAL_TIMEZONE``, docs/DESIGN.md §5), whatever the
    server's zone is; the same rule gives the trial's date of any stored instant.
    """
    return now.astimezone(zone).date()


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=65_536)
def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def study_day(day0: date, day: date) -> int:
    """Days since day 0 (day 0 is the first day of the MP pulse)."""
    return (day - day0).days


def plan_events(protocol: Protocol, enrollment: Enrollment) -> tuple[PlannedEvent, ...]:
    """Every protocol event for one patient, anchored to day 0.

    - MP pulse: ``mp_pulse.days`` consecutive days from day 0
      (docs/clinical-facts.md §1: "Day 0 = first day of the methylprednisolone (MP) pulse").
    - Belimumab (its arm only): the weeks of :meth:`core.protocol.Belimumab.weeks`, with
      the protocol window (registry: weeks 2, 4, 6 and every 4 weeks).
    - Renal assessments at ``renal_assessment.weeks``, each preceded by a
      24-hour urine collection that starts the morning before and ends on the
      morning of the assessment (docs/clinical-facts.md §2 and §7).
    - SLEDAI-2K and CD20 at their weeks, at the visit time.
    - Assessments (and their collections) have the window of
      :meth:`Protocol.assessment_window`: week 0's is the baseline window.
    - With daily dose reminders, one oral-dose event per day of the induction.
    """
    if enrollment.arm not in protocol.arms:
        raise RuleError(
            N_("Unknown arm {arm}; expected one of: {arms}."),
            arm=enrollment.arm,
            arms=", ".join(protocol.arms),
        )
    zone = trial_zone(enrollment.timezone)
    day0 = enrollment.day0
    events: list[PlannedEvent] = []

    def on_week(week: int) -> date:
        return day0 + timedelta(weeks=week)

    mp = protocol.mp_pulse
    for n in range(mp.days):
        day = day0 + timedelta(days=n)
        events.append(
            PlannedEvent(EventKind.MP_PULSE, n + 1, 0, day, day, 0, 0, _instant(day, mp.time, zone))
        )

    if protocol.gets_belimumab(enrollment.arm):
        bel = protocol.belimumab
        for n, week in enumerate(bel.weeks(), start=1):
            day = on_week(week)
            events.append(
                PlannedEvent(
                    EventKind.BELIMUMAB_INFUSION,
                    n,
                    week,
                    day,
                    day,
                    bel.window_days_before,
                    bel.window_days_after,
                    _instant(day, bel.time, zone),
                )
            )

    renal = protocol.renal_assessment
    for n, week in enumerate(renal.weeks, start=1):
        day = on_week(week)
        events.append(_assessment(EventKind.RENAL_ASSESSMENT, n, week, day, protocol, zone))
        events.append(_collection_for(n, week, day, protocol, zone))

    for kind, weeks in (
        (EventKind.SLEDAI, protocol.sledai.weeks),
        (EventKind.CD20, protocol.cd20.weeks),
    ):
        for n, week in enumerate(weeks, start=1):
            events.append(_assessment(kind, n, week, on_week(week), protocol, zone))

    if enrollment.daily_dose_reminders:
        first_wall = protocol.medication.dose_times[0]
        for n in range(protocol.trial.induction_weeks * 7):
            day = day0 + timedelta(days=n)
            events.append(
                PlannedEvent(
                    EventKind.ORAL_DOSE, n, n // 7, day, day, 0, 0, _instant(day, first_wall, zone)
                )
            )

    events.sort(key=lambda e: (e.starts_at, _KIND_ORDER[e.kind], e.number))
    return tuple(events)


def _assessment(
    kind: EventKind, number: int, week: int, day: date, protocol: Protocol, zone: ZoneInfo
) -> PlannedEvent:
    before, after = protocol.assessment_window(week)
    return PlannedEvent(
        kind,
        number,
        week,
        day,
        day,
        before,
        after,
        _instant(day, protocol.renal_assessment.time, zone),
    )


def _collection_for(
    number: int, week: int, visit: date, protocol: Protocol, zone: ZoneInfo
) -> PlannedEvent:
    """The 24-hour urine collection that ends on the morning of ``visit``.

    docs/clinical-facts.md §7: start in the morning (discard that void), collect
    every void for 24 hours, and the last void at the same time next morning.
    """
    start_day = visit - timedelta(days=1)
    urine = protocol.urine_collection
    before, after = protocol.assessment_window(week)
    starts = _instant(start_day, urine.start_time, zone)
    return PlannedEvent(
        EventKind.URINE_COLLECTION,
        number,
        week,
        start_day,
        start_day,
        before,
        after,
        starts,
        starts + timedelta(hours=urine.hours),
    )


def move_event(event: PlannedEvent, new_date: date, timezone: str) -> PlannedEvent:
    """The same event booked for another date, its target and window unchanged.

    Only the instants move; the target date stays the day-0 anchor, so whether
    the new date is inside the window is still judged against the protocol.
    A urine collection moves with its assessment and keeps ending on the
    assessment morning.
    """
    zone = trial_zone(timezone)
    shift = new_date - event.scheduled_date
    starts = event.starts_at.astimezone(zone).replace(tzinfo=None) + shift
    moved_start = datetime.combine(starts.date(), starts.time(), tzinfo=zone).astimezone(UTC)
    moved_end = None
    if event.ends_at is not None:
        moved_end = moved_start + (event.ends_at - event.starts_at)
    return replace(event, scheduled_date=new_date, starts_at=moved_start, ends_at=moved_end)


def plan_reminders(
    protocol: Protocol,
    events: tuple[PlannedEvent, ...],
    timezone: str,
) -> tuple[PlannedReminder, ...]:
    """Every reminder for the given events, sorted by due instant.

    Reminders (docs/clinical-facts.md §2 and §7):

    - belimumab infusion: the evening before and the morning of;
    - 24-hour urine collection: instructions the evening before it starts,
      "start now, discard this void" at the start, "last void into the
      container, bring it" at the end (the morning of the visit);
    - assessment visit: the evening before (fasting, what to bring, the
      morning tacrolimus dose only after the blood draw);
    - daily doses when the patient opts in, at ``medication.dose_times``; on a
      renal assessment day, doses before the draw wait until after it.

    A reminder never falls in the quiet hours and never after its event.
    """
    lab_days = frozenset(e.scheduled_date for e in events if e.kind == EventKind.RENAL_ASSESSMENT)
    visit_days_seen: set[date] = set()
    out: list[PlannedReminder] = []
    for event in events:
        out.extend(reminders_for_event(protocol, event, timezone, lab_days, visit_days_seen))
    out.sort(key=lambda r: (r.due, _KIND_ORDER[r.event_kind], r.event_number, r.slot))
    return tuple(out)


def reminders_for_event(
    protocol: Protocol,
    event: PlannedEvent,
    timezone: str,
    lab_days: frozenset[date] = frozenset(),
    visit_days_seen: set[date] | None = None,
) -> list[PlannedReminder]:
    """The reminders of one event (also used to recompute a moved event's).

    ``lab_days`` are the renal assessment dates (they move oral doses until
    after the blood draw); ``visit_days_seen`` lets a visit that holds several
    assessments get one evening reminder, not one per assessment.
    """
    zone = trial_zone(timezone)
    seen = set() if visit_days_seen is None else visit_days_seen
    raw = _event_reminders(protocol, event, zone, lab_days, seen)
    moved = (_outside_quiet(r, protocol.quiet_hours, zone) for r in raw)
    return [r for r in moved if r.due <= r.announces]


def plan(protocol: Protocol, enrollment: Enrollment) -> Plan:
    """The whole plan for one enrollment: events and reminders."""
    events = plan_events(protocol, enrollment)
    return Plan(events, plan_reminders(protocol, events, enrollment.timezone))


def _event_reminders(
    protocol: Protocol,
    event: PlannedEvent,
    zone: ZoneInfo,
    lab_days: frozenset[date],
    visit_days_seen: set[date],
) -> list[PlannedReminder]:
    evening = protocol.reminders.evening_before
    day = event.scheduled_date
    eve = day - timedelta(days=1)

    def make(slot: Slot, due: datetime, announces: datetime | None = None) -> PlannedReminder:
        return PlannedReminder(event.kind, event.number, slot, due, announces or event.starts_at)

    match event.kind:
        case EventKind.BELIMUMAB_INFUSION:
            return [
                make(Slot.INFUSION_EVENING_BEFORE, _instant(eve, evening, zone)),
                make(
                    Slot.INFUSION_MORNING,
                    _instant(day, protocol.reminders.infusion_morning, zone),
                ),
            ]
        case EventKind.URINE_COLLECTION:
            assert event.ends_at is not None
            return [
                make(Slot.URINE_INSTRUCTIONS, _instant(eve, evening, zone)),
                make(Slot.URINE_START, event.starts_at),
                make(Slot.URINE_END, event.ends_at, event.ends_at),
            ]
        case EventKind.RENAL_ASSESSMENT | EventKind.SLEDAI | EventKind.CD20:
            # One visit, one evening reminder, however many assessments it holds.
            if day in visit_days_seen:
                return []
            visit_days_seen.add(day)
            return [make(Slot.VISIT_EVENING_BEFORE, _instant(eve, evening, zone))]
        case EventKind.ORAL_DOSE:
            return _dose_reminders(protocol, event, zone, lab_days)
        case EventKind.MP_PULSE:
            return []  # given on the ward; nothing for the patient to remember
    raise AssertionError(event.kind)  # pragma: no cover - the match is exhaustive


def _dose_reminders(
    protocol: Protocol, event: PlannedEvent, zone: ZoneInfo, lab_days: frozenset[date]
) -> list[PlannedReminder]:
    med = protocol.medication
    after_draw = protocol.lab_day_dose_time()
    out: list[PlannedReminder] = []
    moved = False
    for slot, wall in zip(DOSE_SLOTS, med.dose_times, strict=False):
        if event.scheduled_date in lab_days and wall < after_draw:
            # docs/clinical-facts.md §2: on lab days the morning tacrolimus is
            # taken after the blood draw, so the dose waits for it.
            if not moved:
                due = _instant(event.scheduled_date, after_draw, zone)
                out.append(
                    PlannedReminder(event.kind, event.number, Slot.DOSE_AFTER_DRAW, due, due)
                )
                moved = True
            continue
        due = _instant(event.scheduled_date, wall, zone)
        out.append(PlannedReminder(event.kind, event.number, slot, due, due))
    return out


def _outside_quiet(reminder: PlannedReminder, quiet: QuietHours, zone: ZoneInfo) -> PlannedReminder:
    """Move a reminder out of the quiet hours, earlier rather than late.

    The protocol file already refuses reminder times inside the quiet hours;
    this guards the rare wall-clock shifts of daylight-saving time zones. A
    reminder is moved to the end of the quiet hours when that is still before
    its event, else to the last minute before they start.
    """
    local = _local(reminder.due, zone)
    if not quiet.contains(local.time()):
        return reminder
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day = day + timedelta(days=1)
    else:
        end_day = day
    after = _instant(end_day, quiet.end, zone)
    if after <= reminder.announces and not quiet.contains(after.astimezone(zone).time()):
        return replace(reminder, due=after)
    start_day = end_day if quiet.start < quiet.end else end_day - timedelta(days=1)
    before = _instant(start_day, quiet.start, zone) - timedelta(minutes=1)
    return replace(reminder, due=before)
