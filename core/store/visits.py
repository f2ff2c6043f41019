"""What became of a visit, as a coordinator records it: missed (with the reason) or attended.

``/visit P01 assessment 4 missed reason=...`` and ``/visit P01 infusion 3 attended``
write here; the rules (which event, what may be recorded, the reason, the events
missed with a renal assessment) are :mod:`core.visits`. A dose or lab panel
marks its event done in :mod:`core.store.clinical`; a patient's "I'll be there"
stays on its reminder and is read when the records are built
(:mod:`core.store.trial_data`). Each change of an event is audited
(``event.missed``, ``event.attended``, with the reason), and the event's
reminders still waiting are skipped. Logs name the study ID only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from core.messages import N_, RuleError
from core.rescheduling import EventChoice, named_event
from core.schedule import EventKind
from core.store.clinical import skip_waiting_reminders
from core.store.models import EventStatus, PlannedEventRow
from core.store.services import patient_by_study_id
from core.store.trial_data import event_record
from core.store.uow import UnitOfWork
from core.trial_records import EventRecord
from core.visits import VisitMark, check_visit_mark, missed_with

__all__ = ["VisitChange", "mark_visit", "plan_visit_mark"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VisitChange:
    """What recording ``mark`` changes: the named event, the events recorded with it, and
    the reason (None for attended), as the events stood before."""

    study_id: str
    mark: VisitMark
    event: EventRecord
    with_it: tuple[EventRecord, ...]
    reason: str | None


def _plan(
    session: Session,
    study_id: str,
    choice: EventChoice,
    number: int,
    mark: VisitMark,
    reason: str | None,
    today: date,
) -> tuple[VisitChange, list[PlannedEventRow]]:
    patient = patient_by_study_id(session, study_id)
    if patient is None or patient.id is None:
        raise RuleError(N_("There is no patient with study ID {study_id}."), study_id=study_id)
    rows = session.exec(
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient.id)
        .where(PlannedEventRow.kind != EventKind.ORAL_DOSE)
        .order_by(col(PlannedEventRow.id))
    ).all()
    by_key = {(r.kind, r.number): r for r in rows}
    records = [event_record(r) for r in rows]
    anchor = named_event(records, choice, number)
    text = check_visit_mark(anchor, choice, mark, reason, today)
    with_it = missed_with(records, anchor) if mark is VisitMark.MISSED else []
    change = VisitChange(patient.study_id, mark, anchor, tuple(with_it), text)
    return change, [by_key[(e.kind, e.number)] for e in (anchor, *with_it)]


def plan_visit_mark(
    session: Session,
    study_id: str,
    choice: EventChoice,
    number: int,
    mark: VisitMark,
    reason: str | None,
    today: date,
) -> VisitChange:
    """What recording ``mark`` on the patient's event would change; refuses as
    :func:`core.visits.check_visit_mark` does, and for an unknown patient or event."""
    return _plan(session, study_id, choice, number, mark, reason, today)[0]


def mark_visit(
    uow: UnitOfWork,
    study_id: str,
    choice: EventChoice,
    number: int,
    mark: VisitMark,
    reason: str | None,
    today: date,
) -> VisitChange:
    """Record ``mark`` on the event (checked again: a dose may have marked it meanwhile).

    Missed: status ``missed`` with ``missed_at`` and ``missed_reason``, on the
    event and the events missed with it. Attended: status ``done`` on its booked
    day, any earlier missed reason cleared (the audit record keeps it).
    """
    change, rows = _plan(uow.session, study_id, choice, number, mark, reason, today)
    for row in rows:
        if mark is VisitMark.MISSED:
            uow.update(
                row,
                "event.missed",
                reason=change.reason,
                status=EventStatus.MISSED,
                missed_at=uow.now,
                missed_reason=change.reason,
            )
            skip_waiting_reminders(uow, row, "event missed")
        else:
            uow.update(
                row,
                "event.attended",
                status=EventStatus.DONE,
                actual_date=row.scheduled_date,
                missed_at=None,
                missed_reason=None,
            )
            skip_waiting_reminders(uow, row, "event done")
    log.info(
        "%s %s %d recorded %s (%d with it)",
        change.study_id,
        choice.value,
        number,
        mark.value,
        len(change.with_it),
    )
    return change
