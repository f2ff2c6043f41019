"""Load the trial's records for summaries, plots and exports (read-only).

One query per table, whatever the number of patients, rows sorted so every
output built from them is the same for the same database. Nothing that
identifies a person leaves here: patients are study IDs (and row ids), no
Telegram ids, no actors (who entered what stays in the audit trail).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import tzinfo

from sqlalchemy import ColumnElement, exists, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.schedule import EventKind
from core.store.ae_follow_up import DRUG_COLUMNS
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    DoseAdministration,
    LabResult,
    Patient,
    PlannedEventRow,
    Reminder,
    SledaiAssessment,
    study_id_is,
)
from core.trial_records import (
    SERIOUSNESS_FLAGS,
    AdverseEventRecord,
    Cd20Record,
    DoseRecord,
    EventRecord,
    LabRecord,
    PatientRecord,
    SledaiRecord,
    TrialData,
)
from core.visits import CONFIRMING_ANSWERS

__all__ = ["event_record", "load_trial_data"]


def event_record(e: PlannedEventRow, *, confirmed: bool = False) -> EventRecord:
    """A planned event row as a record (``confirmed``: see :func:`_confirmed_events`)."""
    return EventRecord(
        patient_id=e.patient_id,
        kind=EventKind(e.kind),
        number=e.number,
        week=e.week,
        target_date=e.target_date,
        scheduled_date=e.scheduled_date,
        window_before=e.window_before,
        window_after=e.window_after,
        status=e.status.value,
        actual_date=e.actual_date,
        deviation_reason=e.deviation_reason,
        missed_reason=e.missed_reason,
        confirmed=confirmed,
    )


def _sledai_items(text: str) -> tuple[str, ...]:
    try:
        items = json.loads(text)
    except ValueError:
        return ()
    out: list[str] = []
    for entry in items if isinstance(items, list) else []:
        if isinstance(entry, dict) and entry.get("item"):
            cause = entry.get("cause")
            out.append(f"{entry['item']}:{cause}" if cause else str(entry["item"]))
        elif isinstance(entry, str):
            out.append(entry)
    return tuple(out)


def _confirmed_events(session: Session, mine: Callable[[int], ColumnElement[bool]]) -> set[int]:
    """The events the patient confirmed for their current booking (core.visits).

    An answer counts when it is one of :data:`core.visits.CONFIRMING_ANSWERS` and its
    reminder is the latest revision of its slot: once a sent reminder's event is moved, a
    new revision reminds the patient of the new date (core.store.coordination), and an
    "I'll be there" to the old date no longer says anything about the new one.
    """
    later = aliased(Reminder)
    newer = exists().where(
        col(later.event_id) == col(Reminder.event_id),
        col(later.slot) == col(Reminder.slot),
        col(later.revision) > col(Reminder.revision),
    )
    return {
        event_id
        for event_id in session.exec(
            select(Reminder.event_id)
            .where(mine(Reminder.patient_id))
            .where(col(Reminder.response).in_(sorted(CONFIRMING_ANSWERS)))
            .where(~newer)
        )
    }


def load_trial_data(
    session: Session, zone: tzinfo, *, study_id: str | None = None, events: bool = True
) -> TrialData:
    """Every patient's records (or one patient's, by ``study_id``), sorted.

    ``zone`` is the trial's time zone: a dose recorded as an instant gets its
    local date. ``events=False`` skips the planned events (summaries do not
    read them).
    """
    query = select(Patient).order_by(col(Patient.study_id))
    if study_id is not None:
        query = query.where(study_id_is(study_id))
    patient_rows = session.exec(query).all()
    patients = tuple(
        PatientRecord(
            id=p.id or 0,
            study_id=p.study_id,
            arm=p.arm,
            day0=p.day0,
            sex=p.sex.value,
            weight_kg=p.weight_kg,
            language=p.language.value,
            status=p.status.value,
            birth_year=p.birth_year,
            consent_date=p.consent_date,
            withdrawal_reason=p.withdrawn_reason,
        )
        for p in patient_rows
    )
    ids = [p.id for p in patients]

    def mine(column: int) -> ColumnElement[bool]:
        # Every row, or one patient's.
        return true() if study_id is None else col(column).in_(ids)

    event_rows = (
        session.exec(
            select(PlannedEventRow)
            .where(mine(PlannedEventRow.patient_id))
            .where(PlannedEventRow.kind != EventKind.ORAL_DOSE)
            .order_by(col(PlannedEventRow.patient_id), col(PlannedEventRow.id))
        ).all()
        if events
        else []
    )
    confirmed = _confirmed_events(session, mine) if events else set()
    # The protocol week of the event a dose was given for (infusions, MP pulse days).
    event_week = {
        event_id: week
        for event_id, week in session.exec(
            select(PlannedEventRow.id, PlannedEventRow.week)
            .where(mine(PlannedEventRow.patient_id))
            .where(PlannedEventRow.kind != EventKind.ORAL_DOSE)
        )
    }
    doses = []
    for d in session.exec(
        select(DoseAdministration)
        .where(mine(DoseAdministration.patient_id))
        .order_by(col(DoseAdministration.patient_id), col(DoseAdministration.id))
    ):
        day = d.given_on if d.given_on is not None else d.given_at.astimezone(zone).date()  # type: ignore[union-attr]
        doses.append(
            DoseRecord(
                id=d.id or 0,
                patient_id=d.patient_id,
                drug=d.drug.value,
                amount=d.amount,
                unit=d.unit,
                day=day,
                weight_kg=d.weight_kg,
                week=event_week.get(d.event_id) if d.event_id is not None else None,
            )
        )
    labs = tuple(
        LabRecord(
            id=r.id or 0,
            patient_id=r.patient_id,
            week=r.week,
            analyte=r.analyte,
            value=r.value,
            unit=r.unit,
            collected_at=r.collected_at,
            entered_at=r.entered_at,
            ref_low=r.ref_low,
            ref_high=r.ref_high,
            ref_unit=r.ref_unit,
            uti=r.uti,
            below_limit=r.below_limit,
        )
        for r in session.exec(
            select(LabResult)
            .where(mine(LabResult.patient_id))
            .order_by(col(LabResult.patient_id), col(LabResult.entered_at), col(LabResult.id))
        )
    )
    sledai = tuple(
        SledaiRecord(
            patient_id=s.patient_id,
            week=s.week,
            assessed_on=s.assessed_on,
            total=s.total,
            renal_total=s.renal_total,
            items=_sledai_items(s.items),
        )
        for s in session.exec(
            select(SledaiAssessment)
            .where(mine(SledaiAssessment.patient_id))
            .order_by(
                col(SledaiAssessment.patient_id),
                col(SledaiAssessment.entered_at),
                col(SledaiAssessment.id),
            )
        )
    )
    cd20 = tuple(
        Cd20Record(
            patient_id=c.patient_id,
            week=c.week,
            value=c.value,
            unit=c.unit.value,
            collected_at=c.collected_at,
        )
        for c in session.exec(
            select(Cd20Count)
            .where(mine(Cd20Count.patient_id))
            .order_by(col(Cd20Count.patient_id), col(Cd20Count.entered_at), col(Cd20Count.id))
        )
    )
    adverse_events = tuple(
        AdverseEventRecord(
            id=a.id or 0,
            patient_id=a.patient_id,
            ctcae_version=a.ctcae_version,
            term=a.term,
            verbatim=a.verbatim,
            coded=a.coded,
            grade=a.grade,
            onset_date=a.onset_date,
            criteria=tuple(flag for flag in SERIOUSNESS_FLAGS if getattr(a, flag)),
            relatedness=a.relatedness,
            action=a.action,
            outcome=a.outcome,
            end_date=a.end_date,
            related_to=tuple(
                sorted(
                    (column.removeprefix("related_"), value)
                    for column in DRUG_COLUMNS.values()
                    if (value := getattr(a, column)) is not None
                )
            ),
        )
        for a in session.exec(
            select(AdverseEvent)
            .where(mine(AdverseEvent.patient_id))
            .order_by(col(AdverseEvent.patient_id), col(AdverseEvent.id))
        )
    )
    event_records = tuple(event_record(e, confirmed=e.id in confirmed) for e in event_rows)
    return TrialData(
        patients=patients,
        events=event_records,
        doses=tuple(doses),
        labs=labs,
        sledai=sledai,
        cd20=cd20,
        adverse_events=adverse_events,
    )
