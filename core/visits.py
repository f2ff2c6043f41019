"""What became of a planned visit: attended, missed, not done, or still to come.

A visit (an infusion, an assessment, a urine collection) is *attended* when a
dose, a lab panel or the patient's confirmed "I'll be there" marked its event
done; *missed* when a coordinator recorded that it did not happen, with a
reason; *not done* when its window has closed and nothing was recorded. The
registry record does not define these states; they follow the CDISC SDTM
subject-visits model (SV: a planned visit either has a record or is reported
as not done) as docs/DESIGN.md §4 asks for the case record. Every output
(workbook, SDTM SV, plots, PDF report) reads them from here, so they agree.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from core.trial_records import EventRecord

__all__ = ["CONFIRMING_ANSWERS", "VisitOutcome", "last_day_for", "visit_outcome"]

#: The answers to a reminder (stored in ``reminder.response``) by which the patient
#: confirms the event: "I'll be there" to an infusion or visit reminder, and "Finished"
#: to a urine collection's last reminder (the collection was made, as /status counts it).
CONFIRMING_ANSWERS: Final = frozenset({"yes", "finished"})


class VisitOutcome(StrEnum):
    ATTENDED = "attended"
    MISSED = "missed"
    NOT_DONE = "not_done"
    #: Its window is open and today is past its booked day: still possible, but late.
    OVERDUE = "overdue"
    PLANNED = "planned"
    CANCELLED = "cancelled"


def last_day_for(event: EventRecord) -> date:
    """The last day the visit can still count: its window's end, or the booked day when a
    coordinator moved it past the window (a deviation, recorded as such)."""
    window_end = event.target_date.toordinal() + event.window_after
    return date.fromordinal(max(window_end, event.scheduled_date.toordinal()))


def visit_outcome(event: EventRecord, today: date) -> VisitOutcome:
    """The visit's state as of ``today`` (the data cut-off for an export).

    Stored states win (done -> attended, missed, cancelled): a coordinator's
    "missed" stands over the patient's earlier "I'll be there". A planned visit
    the patient confirmed for its current booking counts as attended once its
    booked day has come (a dose or lab panel stores "done" itself; a
    confirmation is a patient's word, kept on the reminder, so it is read here
    rather than written onto the event, and a confirmation for a booking that
    was later moved does not count). Otherwise a planned visit is *not done*
    once :func:`last_day_for` has passed, *overdue* after its booked day while
    the window is still open, and *planned* before that.
    """
    if event.status == "done":
        return VisitOutcome.ATTENDED
    if event.status == "missed":
        return VisitOutcome.MISSED
    if event.status == "cancelled":
        return VisitOutcome.CANCELLED
    if event.confirmed and today >= event.scheduled_date:
        return VisitOutcome.ATTENDED
    if today > last_day_for(event):
        return VisitOutcome.NOT_DONE
    if today > event.scheduled_date:
        return VisitOutcome.OVERDUE
    return VisitOutcome.PLANNED
