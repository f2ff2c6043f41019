"""When something the protocol expects has not happened, who is told and when.

Site operations choices (all instants configurable in the protocol file's ``[escalation]``):

- an infusion not confirmed by the evening before -> the nurses are alerted;
- a 24-hour urine collection not started by noon of its day -> one nudge to
  the patient;
- a serious adverse event not acknowledged -> coordinators reminded at 1, 4
  and 12 hours after awareness and at the reporting deadline (24 hours,
  docs/clinical-facts.md §6).

Each escalation is a *step* with an instant; a step is due once its instant
has passed and it has not been sent. After downtime several steps of one
subject may be due at once: only the latest is sent (it says the most), and
the earlier ones are recorded as covered by it, so nobody gets a burst of
stale reminders.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Step:
    """One escalation of one subject: its name and the instant it becomes due."""

    name: str
    due: datetime


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone)


def infusion_confirmation_step(infusion_day: date, confirm_by: time, zone: ZoneInfo) -> Step:
    """The instant the evening before an infusion after which no confirmation is a concern."""
    return Step("unconfirmed", _at(infusion_day - timedelta(days=1), confirm_by, zone))


def urine_nudge_step(collection_day: date, nudge_at: time, zone: ZoneInfo) -> Step:
    """Noon (by default) of the day the 24-hour collection should have started."""
    return Step("not_started", _at(collection_day, nudge_at, zone))


def serious_event_steps(
    awareness: datetime, reminder_hours: Sequence[int], deadline_hours: int
) -> list[Step]:
    """Reminders to coordinators after awareness, then the reporting deadline itself."""
    steps = [Step(f"{hours}h", awareness + timedelta(hours=hours)) for hours in reminder_hours]
    steps.append(Step("deadline", awareness + timedelta(hours=deadline_hours)))
    return steps


def due_step(
    steps: Sequence[Step], sent: Collection[str], now: datetime, *, until: datetime | None = None
) -> tuple[Step | None, list[Step]]:
    """The step to send now, and every step it covers (to record as done).

    The latest step whose instant has passed and that was not sent is the one
    to send; it also covers the earlier unsent ones. Nothing is due once
    ``until`` has passed (e.g. the infusion itself began: a confirmation
    alert would come too late to help).
    """
    if until is not None and now >= until:
        return None, []
    passed = [step for step in steps if step.due <= now and step.name not in sent]
    if not passed:
        return None, []
    latest = max(passed, key=lambda step: step.due)
    return latest, passed
