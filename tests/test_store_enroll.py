"""Enrollment writes the patient, the plan and every reminder at once, in bulk (issue 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.messages import RuleError
from core.protocol import Protocol
from core.schedule import Enrollment, plan
from core.store import services
from core.store.audit import verify
from core.store.db import read_session
from core.store.models import (
    AuditHead,
    AuditRecord,
    Patient,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Staff,
    StaffRole,
)
from core.store.uow import UnitOfWork
from tests.store_fixtures import BEFORE_PLAN, DAY0, count, enroll

ZONE = "Asia/Shanghai"
DAY0_UTC = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize("arm", ["belimumab_mt", "mt_only"])
def test_enrollment_stores_the_plan_and_every_reminder(
    engine: Engine, protocol: Protocol, arm: str
) -> None:
    pid = enroll(engine, protocol, arm=arm)
    expected = plan(protocol, Enrollment(arm, DAY0, ZONE, False))
    with read_session(engine) as session:
        patient = session.get(Patient, pid)
        assert patient is not None
        assert (patient.study_id, patient.arm, patient.weight_kg) == ("P01", arm, "62.5")
        events = services.events_of_patient(session, pid)
        reminders = services.reminders_of_patient(session, pid)
        by_id = {e.id: e for e in events}
        stored_events = {(e.kind, e.number, e.target_date, e.starts_at, e.ends_at) for e in events}
        stored_reminders = {
            (by_id[r.event_id].kind, by_id[r.event_id].number, r.slot, r.due_at, r.announces_at)
            for r in reminders
        }
    assert stored_events == {
        (e.kind, e.number, e.target_date, e.starts_at, e.ends_at) for e in expected.events
    }
    assert stored_reminders == {
        (r.event_kind, r.event_number, r.slot, r.due, r.announces) for r in expected.reminders
    }
    assert len(reminders) == len(expected.reminders)
    assert all(r.status == ReminderStatus.PENDING and r.attempts == 0 for r in reminders)


def test_enrollment_is_audited_with_counts_and_a_digest(engine: Engine, protocol: Protocol) -> None:
    enroll(engine, protocol)
    expected = plan(protocol, Enrollment("belimumab_mt", DAY0, ZONE, False))
    with read_session(engine) as session:
        records = session.exec(select(AuditRecord).order_by(AuditRecord.seq)).all()  # type: ignore[arg-type]
        assert verify(session) is None
    assert [r.action for r in records] == [
        "patient.enrolled",
        "plan.events_created",
        "plan.reminders_created",
    ]
    assert {r.actor for r in records} == {"staff:1"}
    enrolled = json.loads(records[0].after or "")
    assert enrolled["study_id"] == "P01" and enrolled["weight_kg"] == "62.5"
    events, reminders = (json.loads(r.after or "") for r in records[1:])
    assert events["count"] == len(expected.events)
    assert reminders["count"] == len(expected.reminders)
    assert reminders["missed"] == 0
    assert len(events["rows_sha256"]) == 64


class _Boom(Exception):
    pass


def _duplicate_first_row(original: object) -> object:
    def wrapped(*args: object, **kwargs: object) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = original(*args, **kwargs)  # type: ignore[operator]
        return [*rows, dict(rows[0])]  # violates UNIQUE(patient_id, event_id, slot)

    return wrapped


def _raise(*args: object, **kwargs: object) -> list[dict[str, object]]:
    raise _Boom("failure between the event insert and the reminder insert")


@pytest.mark.parametrize("failure", ["database refuses a reminder", "error in between"])
def test_a_failure_half_way_through_enrollment_leaves_nothing(
    engine: Engine, protocol: Protocol, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    calls: list[int] = []
    original = services._reminder_rows

    def spy(*args: object, **kwargs: object) -> list[dict[str, object]]:
        # Proves the patient and the events were already written when it failed.
        with_events = args[2]
        assert isinstance(with_events, dict) and with_events
        calls.append(len(with_events))
        if failure == "error in between":
            return _raise()
        return _duplicate_first_row(original)(*args, **kwargs)  # type: ignore[operator,no-any-return]

    monkeypatch.setattr(services, "_reminder_rows", spy)
    expected_error = IntegrityError if failure == "database refuses a reminder" else _Boom
    with pytest.raises(expected_error):
        enroll(engine, protocol, daily=True)
    assert calls, "the failure must come after the events were inserted"
    for model in (Patient, PlannedEventRow, Reminder, AuditRecord, AuditHead):
        assert count(engine, model) == 0, model.__name__
    monkeypatch.undo()
    enroll(engine, protocol, daily=True)  # and the same enrollment then succeeds
    assert count(engine, Patient) == 1


@contextmanager
def _count_inserts(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement.split("(", 1)[0])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_enrollment_inserts_in_bulk_not_one_statement_per_row(
    engine: Engine, protocol: Protocol
) -> None:
    small = plan(protocol, Enrollment("belimumab_mt", DAY0, ZONE, False))
    large = plan(protocol, Enrollment("belimumab_mt", DAY0, ZONE, True))
    assert len(large.reminders) > 5 * len(small.reminders) > 0  # the comparison means something

    enroll(engine, protocol, "P00")  # the first write of a database also creates the audit head
    with _count_inserts(engine) as seen:
        enroll(engine, protocol, "P01", daily=False)
        without_doses = list(seen)
        seen.clear()
        enroll(engine, protocol, "P02", daily=True)
        with_doses = list(seen)

    assert len(with_doses) == len(without_doses)
    # the patient, its events, its reminders and one audit record for each
    assert len(without_doses) == 6
    assert count(engine, Reminder) == 2 * len(small.reminders) + len(large.reminders)


def test_reminders_already_past_are_stored_missed_and_never_pending(
    engine: Engine, protocol: Protocol
) -> None:
    now = datetime.combine(DAY0 + timedelta(days=30), datetime.min.time(), UTC) + timedelta(
        hours=4, minutes=17
    )
    pid = enroll(engine, protocol, daily=True, now=now)
    with read_session(engine) as session:
        reminders = services.reminders_of_patient(session, pid)
    past = [r for r in reminders if r.due_at < now]
    future = [r for r in reminders if r.due_at >= now]
    assert past and future
    assert all(r.status == ReminderStatus.MISSED for r in past)
    assert all(r.last_error == services.MISSED_AT_ENROLLMENT for r in past)
    assert all(r.status == ReminderStatus.PENDING and r.last_error is None for r in future)
    with read_session(engine) as session:
        due_now = services.pending_reminders_between(session, DAY0_UTC, now)
    assert due_now == []  # nothing past is left to send late


def test_a_study_id_enrolled_twice_is_refused_and_changes_nothing(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol, "P07")
    before = count(engine, AuditRecord), count(engine, Reminder)
    with pytest.raises(RuleError) as excinfo:
        enroll(engine, protocol, "P07", arm="mt_only")
    assert excinfo.value.params == {"study_id": "P07"}
    assert "P07" in str(excinfo.value)
    assert (count(engine, AuditRecord), count(engine, Reminder)) == before
    assert count(engine, Patient) == 1


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("sex", "X", ValueError),
        ("language", "fr", ValueError),
        ("weight_kg", "sixty", ValueError),
        ("weight_kg", "62,5", ValueError),
        ("arm", "placebo", RuleError),
        ("timezone", "Mars/Olympus", RuleError),
    ],
)
def test_bad_enrollment_values_are_refused_before_anything_is_written(
    engine: Engine, protocol: Protocol, field: str, value: str, error: type[Exception]
) -> None:
    values: dict[str, object] = {
        "study_id": "P01",
        "arm": "belimumab_mt",
        "day0": DAY0,
        "sex": "F",
        "weight_kg": "62.5",
        "language": "en",
        "timezone": ZONE,
        "daily_dose_reminders": False,
    }
    values[field] = value
    with pytest.raises(error), UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        services.enroll_patient(uow, protocol, **values)  # type: ignore[arg-type]
    assert count(engine, Patient) == 0


def test_lookups_by_study_id_chat_and_telegram_user(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol, "P03")
    enroll(engine, protocol, "P04")
    with UnitOfWork(engine, "patient:P03", BEFORE_PLAN) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        uow.update(patient, "patient.joined", telegram_user_id=5_000_000_001, telegram_chat_id=77)
        uow.add(
            Staff(telegram_user_id=900, role=StaffRole.COORDINATOR, created_at=BEFORE_PLAN),
            "staff.joined",
        )
        uow.add(
            Staff(telegram_user_id=901, role=StaffRole.NURSE, created_at=BEFORE_PLAN, active=False),
            "staff.joined",
        )
    with read_session(engine) as session:
        by_study = services.patient_by_study_id(session, "P03")
        assert by_study is not None and by_study.id == pid
        by_chat = services.patient_by_chat(session, 77)
        assert by_chat is not None and by_chat.study_id == "P03"
        by_user = services.patient_by_telegram_user(session, 5_000_000_001)
        assert by_user is not None and by_user.id == pid
        assert services.patient_by_chat(session, 78) is None
        assert services.patient_by_study_id(session, "P99") is None
        staff = services.staff_by_telegram_user(session, 900)
        assert staff is not None and staff.role == StaffRole.COORDINATOR
        assert [s.telegram_user_id for s in services.active_staff(session)] == [900]
        assert services.active_staff(session, StaffRole.NURSE) == []
        assert [p.study_id for p in services.active_patients(session)] == ["P03", "P04"]


def test_pending_reminders_between_is_half_open_and_ordered(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    with read_session(engine) as session:
        all_reminders = services.reminders_of_patient(session, pid)
        first, second = all_reminders[0], all_reminders[1]
        window = services.pending_reminders_between(session, first.due_at, second.due_at)
        assert [r.id for r in window] == [r.id for r in all_reminders if r.due_at == first.due_at]
        everything = services.pending_reminders_between(
            session, first.due_at, all_reminders[-1].due_at + timedelta(seconds=1)
        )
        assert [r.id for r in everything] == [r.id for r in all_reminders]
        assert [r.due_at for r in everything] == sorted(r.due_at for r in everything)
