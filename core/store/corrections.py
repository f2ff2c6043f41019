"""Corrections of stored clinical values, each with its reason (``/correct``).

GCP (ICH E6 §4.9.3): a change to a recorded value must not obscure the
original entry and must be explained. So a correction changes the stored row
in place, and the unit of work's audit record keeps the old and the new value
of every column changed, with the reason given (``adverse_event.corrected``,
``lab_result.corrected``). Every output reads the tables, so it shows the
corrected value; the audit trail keeps what it replaced.

Each function checks again, inside the storing transaction, what the preview
checked: the row still exists and the correction still changes something
(another correction may have been confirmed meanwhile). Logs name row ids and
study IDs only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.adverse_events import check_grade, term_by_key
from core.messages import N_, RuleError
from core.store.clinical import LabValue, plain
from core.store.models import AdverseEvent, LabResult
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

NOTHING_CHANGED = N_("The correction changes nothing: the stored values are already these.")


@dataclass(frozen=True, slots=True)
class AdverseEventChange:
    """The fields of an adverse event a correction sets; None leaves a field as it is.

    ``term`` is set together with ``verbatim`` (a new term as typed, coded or not).
    """

    grade: int | None = None
    onset: date | None = None
    verbatim: str | None = None
    term: str | None = None


def adverse_event_columns(event: AdverseEvent, change: AdverseEventChange) -> dict[str, object]:
    """The columns ``change`` gives new values, only those that differ from ``event``'s.

    The grade is checked against the event's term after the change (CTCAE v5.0
    grades per term, :func:`core.adverse_events.check_grade`).
    """
    term = event.term if change.verbatim is None else change.term
    grade = event.grade if change.grade is None else change.grade
    check_grade(term_by_key(term) if term else None, grade)
    wanted: dict[str, object] = {}
    if change.grade is not None:
        wanted["grade"] = change.grade
    if change.onset is not None:
        wanted["onset_date"] = change.onset
    if change.verbatim is not None:
        wanted.update(verbatim=change.verbatim, term=change.term, coded=change.term is not None)
    return {k: v for k, v in wanted.items() if getattr(event, k) != v}


def correct_adverse_event(
    uow: UnitOfWork, ae_id: int, change: AdverseEventChange, reason: str
) -> AdverseEvent:
    """Correct adverse event ``ae_id`` (``adverse_event.corrected``: old, new, reason).

    Refuses an event that is gone and a correction that changes nothing.
    """
    event = uow.session.get(AdverseEvent, ae_id)
    if event is None:
        raise RuleError(N_("There is no adverse event AE{id}."), id=ae_id)
    columns = adverse_event_columns(event, change)
    if not columns:
        raise RuleError(NOTHING_CHANGED)
    uow.update(event, "adverse_event.corrected", reason=reason, **columns)
    log.info("AE%s corrected (%s)", ae_id, ", ".join(sorted(columns)))
    return event


def lab_columns(row: LabResult, value: LabValue) -> dict[str, object]:
    """The columns of ``row`` that ``value`` changes (the result's own upper limit only
    when the correction gives one)."""
    wanted: dict[str, object] = {
        "value": plain(value.value),
        "unit": value.unit,
        "below_limit": value.below_limit,
    }
    if value.ref_high is not None:
        wanted.update(ref_high=plain(value.ref_high), ref_unit=value.ref_unit)
    changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
    # Decimal text compares as numbers: "69" and "69.0" are the same result.
    if "value" in changed and Decimal(row.value) == value.value:
        del changed["value"]
    return changed


@dataclass(frozen=True, slots=True)
class LabFix:
    """One stored result (``lab_result`` id) and the value it is corrected to."""

    result_id: int
    value: LabValue


def correct_lab_results(
    uow: UnitOfWork, patient_id: int, fixes: Sequence[LabFix], reason: str
) -> list[LabResult]:
    """Correct stored results of one patient (``lab_result.corrected`` each: old, new,
    reason); the week's response is derived from the rows, so it follows.

    Refuses a result that is gone or not the patient's, and a correction that
    changes nothing at all.
    """
    rows: list[tuple[LabResult, dict[str, object]]] = []
    for fix in fixes:
        row = uow.session.get(LabResult, fix.result_id)
        if row is None or row.patient_id != patient_id:
            raise RuleError(N_("The stored result was removed meanwhile: nothing was corrected."))
        rows.append((row, lab_columns(row, fix.value)))
    if not any(columns for _, columns in rows):
        raise RuleError(NOTHING_CHANGED)
    for row, columns in rows:
        if columns:
            uow.update(row, "lab_result.corrected", reason=reason, **columns)
            log.info("lab result %s corrected (%s)", row.id, ", ".join(sorted(columns)))
    return [row for row, _ in rows]
