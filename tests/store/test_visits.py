"""What became of a visit, stored and read back, on SQLite and PostgreSQL: a coordinator's
"missed" is stored with its reason and audited, and skips the event's waiting reminders; a
patient's "I'll be there" counts as attended once the day has come, not for a booking that
was moved since, and a recorded "missed" stands over it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.protocol import Protocol
from core.rescheduling import EventChoice
from core.schedule import EventKind, Slot
from core.store.db import read_session
from core.store.models import (
    AuditRecord,
    EventStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.reminder_answers import Outcome, record_reminder_answer
from core.store.trial_data import load_trial_data
from core.store.uow import UnitOfWork
from core.store.visits import mark_visit
from core.trial_records import EventRecord
from core.visits import VisitMark, VisitOutcome, visit_outcome
from tests.support.store_fixtures import enroll

ZONE = ZoneInfo("Asia/Shanghai")
# 09:00 in Shanghai on 29 December 2026: the day of renal assessment 2 (day 0 on 1 December).
ASSESSMENT2_DAY = datetime(2026, 12, 29, 1, 0, tzinfo=UTC)


def _event(engine: Engine, kind: EventKind, number: int) -> PlannedEventRow:
    with read_session(engine) as session:
        return session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.kind == kind)
            .where(PlannedEventRow.number == number)
        ).one()


def _record(engine: Engine, kind: EventKind, number: int) -> EventRecord:
    with read_session(engine) as session:
        data = load_trial_data(session, ZONE)
    return next(e for e in data.events if e.kind == kind and e.number == number)


def test_a_missed_visit_is_stored_with_its_reason_audited_and_its_reminders_skipped(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol)
    with UnitOfWork(engine, "staff:3", ASSESSMENT2_DAY) as uow:
        change = mark_visit(
            uow,
            "P01",
            EventChoice.ASSESSMENT,
            2,
            VisitMark.MISSED,
            "  patient in   hospital elsewhere ",
            date(2026, 12, 29),
        )
    assert change.reason == "patient in hospital elsewhere"
    assert [(e.kind, e.number) for e in change.with_it] == [(EventKind.CD20, 2)]

    event = _event(engine, EventKind.RENAL_ASSESSMENT, 2)
    assert (event.status, event.missed_at, event.missed_reason) == (
        EventStatus.MISSED,
        ASSESSMENT2_DAY,
        "patient in hospital elsewhere",
    )
    assert _event(engine, EventKind.CD20, 2).status == EventStatus.MISSED
    with read_session(engine) as session:
        reminders = session.exec(select(Reminder).where(Reminder.event_id == event.id)).all()
        records = session.exec(
            select(AuditRecord)
            .where(AuditRecord.action == "event.missed")
            .order_by(col(AuditRecord.seq))
        ).all()
    assert reminders and {(r.status, r.last_error) for r in reminders} == {
        (ReminderStatus.SKIPPED, "event missed")
    }
    assert len(records) == 2  # the assessment and the CD20 count of the same visit
    assert (records[0].actor, records[0].entity_key, records[0].reason) == (
        "staff:3",
        str(event.id),
        "patient in hospital elsewhere",
    )
    assert json.loads(records[0].after or "")["status"] == "missed"
    assert _record(engine, EventKind.RENAL_ASSESSMENT, 2).missed_reason == (
        "patient in hospital elsewhere"
    )


def _answer_yes(engine: Engine, patient_id: int, event: PlannedEventRow, at: datetime) -> None:
    """The evening-before reminder goes out and the patient answers "I'll be there"."""
    with UnitOfWork(engine, "system", at) as uow:
        reminder = uow.session.exec(
            select(Reminder)
            .where(Reminder.event_id == event.id)
            .where(Reminder.slot == Slot.INFUSION_EVENING_BEFORE)
        ).one()
        uow.update(reminder, "reminder.seeded", status=ReminderStatus.SENT)
        assert reminder.id is not None
    with UnitOfWork(engine, "patient:1", at) as uow:
        answer = record_reminder_answer(
            uow,
            patient_id,
            reminder.id,
            "yes",
            choices={Slot.INFUSION_EVENING_BEFORE: ("yes", "later")},
        )
    assert answer.outcome is Outcome.RECORDED


def test_i_will_be_there_counts_as_attended_once_the_day_has_come(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    infusion = _event(engine, EventKind.BELIMUMAB_INFUSION, 1)  # 15 December, window to 18th
    assert visit_outcome(_record(engine, EventKind.BELIMUMAB_INFUSION, 1), date(2026, 12, 21)) is (
        VisitOutcome.NOT_DONE
    )
    _answer_yes(engine, pid, infusion, datetime(2026, 12, 14, 12, 0, tzinfo=UTC))

    record = _record(engine, EventKind.BELIMUMAB_INFUSION, 1)
    assert record.confirmed
    # Still a promise the evening before; attended from the booked day on.
    assert visit_outcome(record, date(2026, 12, 14)) is VisitOutcome.PLANNED
    assert visit_outcome(record, date(2026, 12, 15)) is VisitOutcome.ATTENDED
    assert visit_outcome(record, date(2026, 12, 21)) is VisitOutcome.ATTENDED
    # The answer is kept on the reminder: the event itself is not marked done, so a dose
    # recorded on the day still finds its infusion.
    assert _event(engine, EventKind.BELIMUMAB_INFUSION, 1).status == EventStatus.PLANNED


def test_an_answer_for_a_booking_moved_since_does_not_count(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    infusion = _event(engine, EventKind.BELIMUMAB_INFUSION, 1)
    _answer_yes(engine, pid, infusion, datetime(2026, 12, 14, 12, 0, tzinfo=UTC))
    # The infusion was moved after the answer: a new revision of the slot reminds the
    # patient of the new date (core.store.coordination), not answered yet.
    with UnitOfWork(engine, "staff:1", datetime(2026, 12, 15, 1, 0, tzinfo=UTC)) as uow:
        old = uow.session.exec(
            select(Reminder)
            .where(Reminder.event_id == infusion.id)
            .where(Reminder.slot == Slot.INFUSION_EVENING_BEFORE)
        ).one()
        uow.add(
            Reminder(
                patient_id=pid,
                event_id=old.event_id,
                slot=old.slot,
                due_at=old.due_at,
                announces_at=old.announces_at,
                revision=1,
            ),
            "reminder.added",
        )
    record = _record(engine, EventKind.BELIMUMAB_INFUSION, 1)
    assert not record.confirmed
    assert visit_outcome(record, date(2026, 12, 21)) is VisitOutcome.NOT_DONE


def test_a_recorded_missed_stands_over_i_will_be_there(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    infusion = _event(engine, EventKind.BELIMUMAB_INFUSION, 1)
    _answer_yes(engine, pid, infusion, datetime(2026, 12, 14, 12, 0, tzinfo=UTC))
    with UnitOfWork(engine, "staff:3", datetime(2026, 12, 16, 1, 0, tzinfo=UTC)) as uow:
        mark_visit(
            uow,
            "P01",
            EventChoice.INFUSION,
            1,
            VisitMark.MISSED,
            "did not come",
            date(2026, 12, 16),
        )
    record = _record(engine, EventKind.BELIMUMAB_INFUSION, 1)
    assert visit_outcome(record, date(2026, 12, 21)) is VisitOutcome.MISSED
    assert record.missed_reason == "did not come"
