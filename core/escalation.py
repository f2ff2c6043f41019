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

An overdue item in the coordinators' digests is listed on at most
``overdue_in_digests`` (3) daily digests, then once in the weekly summary,
then no more (:func:`overdue_listing`): a list that repeats the same old
items every morning stops being read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

# The escalation_notice kind of the digests' listings of an overdue item, and
# the step of its one listing in the weekly summary.
DIGEST_KIND: Final = "digest"
WEEKLY_STEP: Final = "weekly"
# The subject under DIGEST_KIND that records each daily digest sent (step
# ``daily:<day>``): the previous one bounds what the next calls new.
DIGEST_SENT: Final = "daily-digest"


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


# --- overdue items in the digests ------------------------------------------------------


class Listing(StrEnum):
    """Where an overdue item is listed."""

    DAILY = "daily"
    WEEKLY = "weekly"
    NOWHERE = "nowhere"


def daily_step(day: date) -> str:
    """The step recording that the daily digest of ``day`` listed an item."""
    return f"daily:{day.isoformat()}"


def overdue_listing(steps: Collection[str], today: date, limit: int) -> Listing:
    """Where an overdue item goes, given the digest steps already recorded for it.

    Rule: on the daily digest while fewer than ``limit`` earlier daily digests
    listed it (today's own listing, if recorded already, does not count: a
    digest sent again for the same morning lists the same items); then once
    in the weekly summary; then nowhere.
    Source: site operations choice (``escalation.overdue_in_digests`` in the
    protocol file; the digest and summary times beside it).
    """
    earlier = sum(1 for step in steps if step.startswith("daily:") and step != daily_step(today))
    if earlier < limit:
        return Listing.DAILY
    return Listing.NOWHERE if WEEKLY_STEP in steps else Listing.WEEKLY
