"""What to do with a due reminder, decided at send time from the stored facts.

Pure: the engine loads the reminder, its patient and its event, and asks
:func:`decide`; nothing here reads the clock or the database.

Requirement: "At send time, re-check: is the patient still active and joined,
is the event still open and still on that date, was the task already done?
If not, mark the reminder ``skipped`` with the reason instead of sending."
And: "Reminders overdue after downtime: sent late if still useful (before
the event it announces), else marked ``missed``". A reminder is still
useful until the instant it announces; one that announces its own due
instant (a dose, the start and end of a urine collection) gets a short
grace after it (:attr:`PolicyOptions.late_grace`), because a dose reminder
ten minutes late is still worth sending. The protocol's quiet hours hold:
nothing is sent between their start and end; a reminder due then waits for
their end if it is still useful, and is missed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.protocol import QuietHours
from core.store.models import (
    EventStatus,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
)

SKIP_NOT_JOINED = "patient has not joined the bot"
SKIP_UNREACHABLE = "patient unreachable (blocked the bot)"
SKIP_ANSWERED = "already answered"
MISSED_TOO_LATE = "not sent in time: what it announces has passed"
REPEAT_TOO_LATE = "may have been delivered; not repeated: what it announces has passed"


@dataclass(frozen=True, slots=True)
class PolicyOptions:
    """The scheduler's choices about lateness (the requirements leave the numbers to us).

    ``late_grace``: how long after its own instant a reminder that announces
    that instant (a dose, a urine collection step) is still sent (choice:
    30 minutes). ``quiet_hours``: the protocol's (None: no quiet hours).
    """

    late_grace: timedelta = timedelta(minutes=30)
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class Send:
    """Send it now."""


@dataclass(frozen=True, slots=True)
class Skip:
    """No longer relevant: mark ``skipped`` with ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class Miss:
    """Its time has passed: mark ``missed`` (or, for a repeat, leave it ``uncertain``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    """Not now (quiet hours): back to ``pending`` until ``until``."""

    until: datetime


Verdict = Send | Skip | Miss | Defer


def useful_until(reminder: Reminder, grace: timedelta) -> datetime:
    """The last instant a reminder is worth sending: what it announces, or its due
    instant plus ``grace`` when it announces its own instant."""
    return max(reminder.announces_at, reminder.due_at + grace)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def event_dates(event: PlannedEventRow, zone: ZoneInfo) -> frozenset[date]:
    """The days an event takes place on (a urine collection ends the next morning)."""
    days = {event.scheduled_date}
    if event.ends_at is not None:
        days.add(local_date(event.ends_at, zone))
    return frozenset(days)


def quiet_end(now: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime | None:
    """The instant the quiet hours around ``now`` end, or None if ``now`` is not in them."""
    local = now.astimezone(zone)
    if not quiet.contains(local.time()):
        return None
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=zone)


def unreachable_trial_due(patient: Patient, last_tried: datetime | None, now: datetime) -> bool:
    """Whether a patient who blocked the bot may be tried again now: once a day (choice).

    A patient who unblocks the bot need not write to it to get their
    reminders back: their next reminder on a later day of their own calendar
    than the last attempt (the one that was refused, or the last trial) is
    sent as usual. Trying every reminder would knock on a closed door
    several times a day; once a day finds them back within a day.
    """
    if patient.unreachable_since is None:
        return True
    zone = ZoneInfo(patient.timezone)
    last = max(patient.unreachable_since, last_tried or patient.unreachable_since)
    return local_date(now, zone) > local_date(last, zone)


def decide(
    reminder: Reminder,
    patient: Patient,
    event: PlannedEventRow,
    now: datetime,
    options: PolicyOptions,
    *,
    grace: timedelta | None = None,
    last_tried: datetime | None = None,
) -> Verdict:
    """Send, skip, miss or defer a due reminder (the send-time re-check).

    In this order: the patient is active, reachable (or due their daily trial,
    :func:`unreachable_trial_due`, ``last_tried`` being the last reminder
    handed to their channel) and joined; the event is
    still planned and still on the day the reminder announces; the reminder
    was not already answered (a repeat of one the patient already pressed);
    it is still useful (:func:`useful_until`); it is not the quiet hours.
    ``grace`` overrides ``options.late_grace``.
    """
    zone = ZoneInfo(patient.timezone)
    if patient.status != PatientStatus.ACTIVE:
        return Skip(f"patient {patient.status.value}")
    if not unreachable_trial_due(patient, last_tried, now):
        return Skip(SKIP_UNREACHABLE)
    if patient.preferred_channel is None:
        return Skip(SKIP_NOT_JOINED)
    if event.status != EventStatus.PLANNED:
        return Skip(f"event {event.status.value}")
    announced_day = local_date(reminder.announces_at, zone)
    if announced_day not in event_dates(event, zone):
        return Skip(
            f"event moved from {announced_day.isoformat()} to {event.scheduled_date.isoformat()}"
        )
    if reminder.response is not None:
        return Skip(SKIP_ANSWERED)
    limit = useful_until(reminder, options.late_grace if grace is None else grace)
    too_late = Miss(REPEAT_TOO_LATE if reminder.is_repeat else MISSED_TOO_LATE)
    if now > limit:
        return too_late
    if options.quiet_hours is not None:
        end = quiet_end(now, options.quiet_hours, zone)
        if end is not None:
            return Defer(end) if end <= limit else too_late
    return Send()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays in seconds of trial time after a send that delivered nothing (choice).

    ``first`` after the first failure, doubling, at most ``cap``; Telegram's
    ``retry_after`` wins when it is longer. Trial time, so a rehearsal retries
    as production does (real seconds at real speed), not hours of trial time later.
    """

    first: float = 2.0
    cap: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds (of trial time) to wait after the ``attempts``-th failed attempt."""
        exponent = max(0, attempts - 1)
        base = self.cap if exponent >= 30 else min(self.cap, self.first * 2.0**exponent)
        return max(base, retry_after or 0.0)
