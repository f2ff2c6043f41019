"""Enrollment writes the patient, the plan and every reminder at once, in bulk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.messages import RuleError
from core.protocol import Protocol
from core.schedule import Enrollment, Slot, plan
from core.store import bulk, enrollment, services
from core.store.audit import verify
from core.store.bulk import Row, Value, instant_text, rows_sha256
from core.store.db import read_session
from core.store.identities import (
    Reach,
    bind_account,
    patient_by_account,
    reach_of,
    staff_by_account,
)
from core.store.models import (
    AuditHead,
    AuditRecord,
    Channel,
    Patient,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Staff,
    StaffRole,
)
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import BEFORE_PLAN, DAY0, count, enroll

ZONE = "Asia/Shanghai"
ARMS = ("belimumab_mt", "mt_only")
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


@pytest.mark.parametrize("failure", ["database refuses a reminder", "error in between"])
def test_a_failure_half_way_through_enrollment_leaves_nothing(
    engine: Engine, protocol: Protocol, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    calls: list[int] = []
    original = bulk.insert_rows

    def spy(connection: Connection, table: Table, columns: Any, rows: list[Row]) -> int:
        if table.name != "reminder":
            return original(connection, table, columns, rows)
        # Proves the patient and the events were already written when it failed.
        written = connection.exec_driver_sql("SELECT count(*) FROM planned_event").scalar_one()
        calls.append(written)
        if failure == "error in between":
            raise _Boom("failure between the event insert and the reminder insert")
        return original(connection, table, columns, [*rows, rows[0]])  # the same id twice

    monkeypatch.setattr(enrollment, "insert_rows", spy)
    expected_error = IntegrityError if failure == "database refuses a reminder" else _Boom
    with pytest.raises(expected_error):
        enroll(engine, protocol, daily=True)
    assert calls and calls[0] > 0, "the failure must come after the events were inserted"
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


def _newcomer(study_id: str, **changes: Any) -> services.Newcomer:
    values: dict[str, Any] = {
        "study_id": study_id,
        "arm": "belimumab_mt",
        "day0": DAY0,
        "sex": "F",
        "weight_kg": "62.5",
        "language": "zh_Hans",
        "timezone": ZONE,
        "daily_dose_reminders": True,
    }
    values.update(changes)
    return services.Newcomer(**values)


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
        seen.clear()
        with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
            services.enroll_patients(
                uow, protocol, [_newcomer(f"C{i}", arm=ARMS[i % 2]) for i in range(6)]
            )
        cohort = list(seen)

    assert len(with_doses) == len(without_doses) == len(cohort)
    # the patients, their events, their reminders, and their audit records
    assert len(without_doses) == 4
    assert count(engine, Patient) == 9
    cohort_reminders = sum(
        len(plan(protocol, Enrollment(ARMS[i % 2], DAY0, ZONE, True)).reminders) for i in range(6)
    )
    assert count(engine, Reminder) == (
        2 * len(small.reminders) + len(large.reminders) + cohort_reminders
    )


def _stored(engine: Engine, pid: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """A patient's events and reminders as comparable tuples (ids replaced by event keys)."""
    with read_session(engine) as session:
        events = services.events_of_patient(session, pid)
        reminders = services.reminders_of_patient(session, pid)
    key = {e.id: (e.kind, e.number) for e in events}
    return (
        [
            (e.kind, e.number, e.week, e.target_date, e.starts_at, e.ends_at, e.status)
            for e in events
        ],
        [
            (key[r.event_id], r.slot, r.due_at, r.announces_at, r.status, r.last_error)
            for r in reminders
        ],
    )


def test_a_cohort_enrolled_at_once_gets_what_each_would_get_alone(
    engine: Engine, protocol: Protocol
) -> None:
    now = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # a few reminders already past
    cohort = [
        _newcomer("C1"),
        _newcomer("C2", arm="mt_only", language="en", sex="M", weight_kg="70.25"),
        _newcomer("C3", day0=DAY0 + timedelta(days=9), daily_dose_reminders=False),
    ]
    with UnitOfWork(engine, "staff:4", now, reason="cohort moved from paper") as uow:
        ids = services.enroll_patients(uow, protocol, cohort, now=now)
    alone: list[int] = []
    for newcomer in cohort:
        with UnitOfWork(engine, "staff:4", now) as uow:
            values = {
                name: getattr(newcomer, name) for name in services.Newcomer.__dataclass_fields__
            }
            values["study_id"] = "A" + newcomer.study_id
            alone.append(services.enroll_patient(uow, protocol, **values, now=now).id or 0)

    for together, single in zip(ids, alone, strict=True):
        assert _stored(engine, together) == _stored(engine, single)
    with read_session(engine) as session:
        patients = [session.get(Patient, pid) for pid in ids]
        records = session.exec(select(AuditRecord).order_by(AuditRecord.seq)).all()  # type: ignore[arg-type]
        assert verify(session) is None
    assert [(p.study_id, p.arm, p.sex, p.weight_kg, p.language) for p in patients if p] == [
        ("C1", "belimumab_mt", "F", "62.5", "zh_Hans"),
        ("C2", "mt_only", "M", "70.25", "en"),
        ("C3", "belimumab_mt", "F", "62.5", "zh_Hans"),
    ]
    # every patient has their own three records, in order, with the cohort's reason
    cohort_records = records[: 3 * len(cohort)]
    assert [(r.action, r.entity_key) for r in cohort_records] == [
        (action, str(pid))
        for pid in ids
        for action in ("patient.enrolled", "plan.events_created", "plan.reminders_created")
    ]
    assert {(r.actor, r.reason) for r in cohort_records} == {("staff:4", "cohort moved from paper")}
    missed = [json.loads(r.after or "")["missed"] for r in cohort_records[2::3]]
    assert missed[0] > 0 and missed[2] == 0  # C3 starts later: nothing past


def test_the_audit_digest_matches_the_rows_as_stored(engine: Engine, protocol: Protocol) -> None:
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        (pid,) = services.enroll_patients(uow, protocol, [_newcomer("P01")])
    with read_session(engine) as session:
        records = session.exec(select(AuditRecord).order_by(AuditRecord.seq)).all()  # type: ignore[arg-type]
        events = services.events_of_patient(session, pid)
        reminders = services.reminders_of_patient(session, pid)
    # the rows in storage form, in id order
    event_rows = sorted(
        tuple(_storage(getattr(e, c)) for c in enrollment.EVENT_COLUMNS) for e in events
    )
    reminder_rows = sorted(
        tuple(_storage(getattr(r, c)) for c in enrollment.REMINDER_COLUMNS) for r in reminders
    )
    by_action = {r.action: json.loads(r.after or "") for r in records}
    assert by_action["plan.events_created"]["rows_sha256"] == rows_sha256(
        enrollment.EVENT_COLUMNS, event_rows
    )
    assert by_action["plan.reminders_created"]["rows_sha256"] == rows_sha256(
        enrollment.REMINDER_COLUMNS, reminder_rows
    )
    # and it would see a change: one reminder a minute later
    changed = list(reminder_rows)
    due = datetime.fromisoformat(str(changed[0][4])) + timedelta(minutes=1)
    changed[0] = (*changed[0][:4], due.isoformat(" ", "microseconds"), *changed[0][5:])
    assert by_action["plan.reminders_created"]["rows_sha256"] != rows_sha256(
        enrollment.REMINDER_COLUMNS, changed
    )


def _storage(value: object) -> Value:
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    assert value is None or isinstance(value, str | int | bool)
    return value


@pytest.mark.parametrize(
    ("problem", "error"),
    [
        ("a study ID twice in the cohort", RuleError),
        ("a study ID already enrolled", RuleError),
        ("a bad weight in the last row", ValueError),
        ("an unknown arm in the last row", RuleError),
    ],
)
def test_a_cohort_with_one_bad_row_is_refused_whole(
    engine: Engine, protocol: Protocol, problem: str, error: type[Exception]
) -> None:
    enroll(engine, protocol, "P07")
    before = count(engine, Patient), count(engine, Reminder), count(engine, AuditRecord)
    cohort = [_newcomer("C1"), _newcomer("C2"), _newcomer("C3")]
    match problem:
        case "a study ID twice in the cohort":
            cohort.append(_newcomer("C2", arm="mt_only"))
        case "a study ID already enrolled":
            cohort.append(_newcomer("P07"))
        case "a bad weight in the last row":
            cohort.append(_newcomer("C4", weight_kg="62,5"))
        case "an unknown arm in the last row":
            cohort.append(_newcomer("C4", arm="placebo"))
    with pytest.raises(error) as excinfo, UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        services.enroll_patients(uow, protocol, cohort)
    if "study ID" in problem:
        assert excinfo.value.params == {"study_id": cohort[-1].study_id}  # type: ignore[attr-defined]
    assert (count(engine, Patient), count(engine, Reminder), count(engine, AuditRecord)) == before


def test_an_empty_cohort_writes_nothing(engine: Engine, protocol: Protocol) -> None:
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        assert services.enroll_patients(uow, protocol, []) == []
    assert count(engine, Patient) == 0 and count(engine, AuditRecord) == 0


def test_a_changed_protocol_gets_its_own_plan(engine: Engine, protocol: Protocol) -> None:
    """Plans are memoised per protocol: an edited protocol never reuses the old one's."""
    earlier = protocol.model_copy(
        update={"reminders": protocol.reminders.model_copy(update={"evening_before": time(19, 0)})}
    )
    first = enroll(engine, protocol, "P01")
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        (second,) = services.enroll_patients(
            uow, earlier, [_newcomer("P02", daily_dose_reminders=False)]
        )
    zone = ZoneInfo(ZONE)

    def evening_times(pid: int) -> set[time]:
        with read_session(engine) as session:
            return {
                r.due_at.astimezone(zone).time()
                for r in services.reminders_of_patient(session, pid)
                if r.slot == Slot.INFUSION_EVENING_BEFORE
            }

    assert evening_times(first) == {protocol.reminders.evening_before}
    assert evening_times(second) == {time(19, 0)}


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


def test_lookups_by_study_id_and_channel_account(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol, "P03")
    enroll(engine, protocol, "P04")
    with UnitOfWork(engine, "patient:P03", BEFORE_PLAN) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        bind_account(uow, patient, Channel.TELEGRAM, "5000000001", "77")
        coordinator = uow.add(
            Staff(role=StaffRole.COORDINATOR, created_at=BEFORE_PLAN), "staff.joined"
        )
        bind_account(uow, coordinator, Channel.WECOM, "zhang.wei", "zhang.wei")
        former = uow.add(
            Staff(role=StaffRole.NURSE, created_at=BEFORE_PLAN, active=False), "staff.joined"
        )
        bind_account(uow, former, Channel.TELEGRAM, "901", "901")
    with read_session(engine) as session:
        by_study = services.patient_by_study_id(session, "P03")
        assert by_study is not None and by_study.id == pid
        by_user = patient_by_account(session, Channel.TELEGRAM, "5000000001")
        assert by_user is not None and by_user.id == pid
        assert reach_of(session, by_user) == Reach(Channel.TELEGRAM, "77")
        assert patient_by_account(session, Channel.TELEGRAM, "77") is None
        assert patient_by_account(session, Channel.WECHAT, "5000000001") is None
        assert services.patient_by_study_id(session, "P99") is None
        staff = staff_by_account(session, Channel.WECOM, "zhang.wei")
        assert staff is not None and staff.role == StaffRole.COORDINATOR
        assert staff.preferred_channel == Channel.WECOM
        assert staff_by_account(session, Channel.TELEGRAM, "zhang.wei") is None
        assert [s.id for s in services.active_staff(session)] == [coordinator.id]
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


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("microsecond", [0, 123_456])
def test_bulk_rows_store_instants_in_the_text_sqlalchemy_writes(
    engine: Engine, protocol: Protocol, microsecond: int
) -> None:
    """SQL compares instants as text on SQLite: rows written in bulk must use the
    very format of rows written through SQLAlchemy, or comparisons go wrong."""
    now = datetime(2026, 11, 1, 9, 0, 0, microsecond, tzinfo=UTC)
    enroll(engine, protocol, now=now)
    with engine.connect() as connection:
        created = connection.exec_driver_sql("SELECT created_at FROM patient").scalar_one()
        dues = connection.exec_driver_sql("SELECT due_at FROM reminder").scalars().all()
        later = connection.exec_driver_sql(
            "SELECT count(*) FROM reminder r JOIN patient p ON p.id = r.patient_id "
            "WHERE r.due_at > p.created_at"
        ).scalar_one()
    assert created == instant_text(now)  # written by SQLAlchemy's own DATETIME processing
    assert dues and all(len(d) == len(created) and d[10] == " " for d in dues)
    assert later == len(dues)  # every reminder is after enrollment, compared as text
