"""What became of a planned visit: attended, missed, not done, or still to come.

A visit (an infusion, an assessment, a urine collection) is *attended* when a
dose, a lab panel or the patient's confirmed "I'll be there" marked its event
done; *missed* when a coordinator recorded that it did not happen, with a
reason; *not done* when its window has closed and nothing was recorded. The
registry record does not define these states; they follow the CDISC SDTM
subject-visits model (SV: a planned visit either has a record or is reported
as not done) as docs/DESIGN.md §4 asks for the case record. Every output
(workbook, SDTM SV, plots, PDF report) reads them from here, so they agree.

A coordinator records what became of a visit with ``/visit P01 assessment 4
missed reason=...`` (or ``attended``; :func:`check_visit_mark` has the
refusals). A renal assessment recorded missed takes the SLEDAI-2K and CD20
assessments booked on the same visit day with it (:func:`missed_with`), as
/reschedule moves them together (:mod:`core.rescheduling`); the urine
collection keeps its own outcome, since the patient may have collected it.
These are our choices (README, "Visits: attended, missed, not done").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Final

from core.messages import N_, RuleError
from core.rescheduling import MAX_REASON_LENGTH, EventChoice, parse_event_choice
from core.schedule import EventKind
from core.trial_records import EventRecord

__all__ = [
    "CONFIRMING_ANSWERS",
    "VisitMark",
    "VisitOutcome",
    "check_visit_mark",
    "last_day_for",
    "missed_with",
    "parse_visit_event",
    "parse_visit_mark",
    "visit_outcome",
]

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


class VisitMark(StrEnum):
    """What a coordinator records about a visit with /visit."""

    ATTENDED = "attended"
    MISSED = "missed"


_MARK_WORDS: Final[dict[str, VisitMark]] = {
    "attended": VisitMark.ATTENDED,
    "已到": VisitMark.ATTENDED,
    "到诊": VisitMark.ATTENDED,
    "missed": VisitMark.MISSED,
    "未到": VisitMark.MISSED,
    "缺席": VisitMark.MISSED,
}

# Held at the renal assessment visit: missed with it (as they move with it).
_SAME_VISIT: Final = (EventKind.SLEDAI, EventKind.CD20)


def parse_visit_event(text: str) -> EventChoice:
    """``infusion``/``输注`` or ``assessment``/``评估``, named as /reschedule names them
    (:func:`core.rescheduling.parse_event_choice`), else refuse."""
    try:
        return parse_event_choice(text)
    except RuleError:
        raise RuleError(
            N_("{text} is not a visit to record: write infusion (输注) or assessment (评估)."),
            text=text,
        ) from None


def parse_visit_mark(text: str) -> VisitMark:
    """``missed``/``未到`` or ``attended``/``已到``, else refuse.

    Source: the command syntax (``/visit P01 assessment 4 missed reason=...``).
    """
    mark = _MARK_WORDS.get(unicodedata.normalize("NFKC", text).strip().casefold())
    if mark is None:
        raise RuleError(
            N_("{text} is not what became of a visit: write missed (未到) or attended (已到)."),
            text=text,
        )
    return mark


def check_visit_mark(
    event: EventRecord, choice: EventChoice, mark: VisitMark, reason: str | None, today: date
) -> str | None:
    """The reason to store with ``mark`` on ``event`` as of ``today``; refuse what cannot be.

    Refused: an event cancelled; an event booked after today (nothing has happened
    yet); missed without a reason, or with one over 500 characters; missed for an
    event already attended (a dose or lab panel recorded it done: correct that
    entry instead) or already missed; attended for an event already attended. A
    visit recorded missed may be recorded attended (the record was wrong; the
    audit trail keeps the earlier reason). A patient's "I'll be there" does not
    stop a visit being recorded missed: what happened stands over what was
    promised (:func:`visit_outcome`). The reason is returned with its spaces
    tidied; None for attended.
    """
    if event.status == "cancelled":
        raise RuleError(
            N_("{item} {number} was cancelled; there is nothing to record."),
            item=choice.label,
            number=event.number,
        )
    if event.scheduled_date > today:
        raise RuleError(
            N_(
                "{item} {number} is booked for {day}, after today: record what became of a "
                "visit once its day has come."
            ),
            item=choice.label,
            number=event.number,
            day=event.scheduled_date,
        )
    if event.status == "done":
        raise RuleError(
            N_(
                "{item} {number} is already recorded as attended on {day} (a dose or lab "
                "results were entered for it); correct that entry if it is wrong."
            ),
            item=choice.label,
            number=event.number,
            day=event.actual_date or event.scheduled_date,
        )
    if mark is VisitMark.ATTENDED:
        return None
    if event.status == "missed":
        raise RuleError(
            N_("{item} {number} is already recorded as missed: {reason}"),
            item=choice.label,
            number=event.number,
            reason=event.missed_reason or "",
        )
    text = " ".join((reason or "").split())
    if not text:
        raise RuleError(
            N_(
                "Say why the visit was missed: end the message with reason=..., for example "
                "reason=patient in hospital elsewhere."
            )
        )
    if len(text) > MAX_REASON_LENGTH:
        raise RuleError(
            N_("The reason is too long: at most {limit} characters."), limit=MAX_REASON_LENGTH
        )
    return text


def missed_with(events: Iterable[EventRecord], anchor: EventRecord) -> list[EventRecord]:
    """The events recorded missed with ``anchor``: for a renal assessment, the SLEDAI-2K and
    CD20 assessments booked on its day that are still planned (module docstring)."""
    if anchor.kind is not EventKind.RENAL_ASSESSMENT:
        return []
    return [
        e
        for e in events
        if e.kind in _SAME_VISIT
        and e.scheduled_date == anchor.scheduled_date
        and e.status == "planned"
    ]
