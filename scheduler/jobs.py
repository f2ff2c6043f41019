"""Periodic work on trial time: escalations, the daily digest, any "every N minutes" scan.

A :class:`PeriodicJob` runs at the instants its :data:`Schedule` gives, on
the same injectable clock as the reminders (so the rehearsal clock and the
tests drive it too). The engine remembers in the ``setting`` table the
instant each job last ran for, so a restart neither repeats a run nor
forgets one: after downtime a job runs once, for the latest instant it
missed (a digest is not sent five times after five missed mornings).

A job should itself be idempotent over the database (e.g. "alert for every
serious AE unacknowledged after 4 h and not yet alerted at 4 h"), because a
crash between its work and the engine's record of the run makes it run
again for the same instant.

Add one with :meth:`scheduler.engine.Engine.add_job`::

    engine.add_job(PeriodicJob("digest", daily_at(time(8, 30), zone), send_digest))
    engine.add_job(PeriodicJob("sae-escalations", every(timedelta(minutes=15)), escalate))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The next instant strictly after the given one at which the job runs.
Schedule = Callable[[datetime], datetime]
# The job's work; it is given the trial instant it runs for.
JobWork = Callable[[datetime], Awaitable[None]]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """``work(at)`` at each instant ``schedule`` gives; ``name`` keys its stored last run."""

    name: str
    schedule: Schedule
    work: JobWork


def every(interval: timedelta, anchor: datetime = _EPOCH) -> Schedule:
    """Every ``interval`` of trial time, on the grid ``anchor + k * interval``."""
    if interval <= timedelta(0):
        raise ValueError("the interval must be positive")

    def after(instant: datetime) -> datetime:
        steps = (instant - anchor) // interval + 1
        return anchor + steps * interval

    return after


def daily_at(wall: time, zone: ZoneInfo) -> Schedule:
    """Every day at wall-clock ``wall`` in ``zone`` (e.g. the 08:30 coordinator digest)."""

    def after(instant: datetime) -> datetime:
        day = instant.astimezone(zone).date()
        while True:
            candidate = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
            if candidate > instant:
                return candidate
            day += timedelta(days=1)

    return after


def weekly_at(weekday: int, wall: time, zone: ZoneInfo) -> Schedule:
    """Every week on ``weekday`` (Monday is 0) at wall-clock ``wall`` in ``zone``."""
    daily = daily_at(wall, zone)

    def after(instant: datetime) -> datetime:
        candidate = daily(instant)
        while candidate.astimezone(zone).weekday() != weekday:
            candidate = daily(candidate)
        return candidate

    return after


def latest_due(schedule: Schedule, last: datetime, now: datetime) -> datetime | None:
    """The latest instant after ``last`` and not after ``now`` (None: nothing due)."""
    found: datetime | None = None
    instant = schedule(last)
    while instant <= now:
        found = instant
        instant = schedule(instant)
    return found
