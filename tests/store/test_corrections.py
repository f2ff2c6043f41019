"""The correction services of :mod:`core.store.corrections`, on SQLite and PostgreSQL: the row
changes in place, the audit record keeps old value, new value and reason, the data still
reconciles with the trail, and a correction that changes nothing stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.messages import RuleError
from core.protocol import Protocol
from core.store.clinical import (
    AdverseEventEntry,
    LabValue,
    record_adverse_event,
    record_lab_panel,
)
from core.store.corrections import (
    AdverseEventChange,
    LabFix,
    correct_adverse_event,
    correct_lab_results,
)
from core.store.db import read_session
from core.store.models import AdverseEvent, AuditRecord, LabResult
from core.store.reconcile import reconcile
from core.store.uow import UnitOfWork
from tests.support.db_state import changed_tables, snapshot
from tests.support.store_fixtures import enroll

NOW = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)


def _last_record(engine: Engine) -> AuditRecord:
    with read_session(engine) as session:
        return session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()  # type: ignore[return-value]


def test_an_adverse_event_is_corrected_in_place_with_old_new_and_reason(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    with UnitOfWork(engine, "staff:1", NOW) as uow:
        entry = AdverseEventEntry("lung infection", "lung_infection", 3, (), date(2026, 12, 20))
        ae_id = record_adverse_event(uow, pid, "P01", entry).id
    assert ae_id is not None
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        change = AdverseEventChange(grade=2, onset=date(2026, 12, 19))
        correct_adverse_event(uow, ae_id, change, "transcription")

    with read_session(engine) as session:
        event = session.get(AdverseEvent, ae_id)
        assert event is not None
        assert (event.grade, event.onset_date) == (2, date(2026, 12, 19))
        assert reconcile(session) == []
    record = _last_record(engine)
    assert (record.action, record.actor, record.reason) == (
        "adverse_event.corrected",
        "staff:2",
        "transcription",
    )
    assert json.loads(record.before or "") == {"grade": 3, "onset_date": "2026-12-20"}
    assert json.loads(record.after or "") == {"grade": 2, "onset_date": "2026-12-19"}

    # The same correction again changes nothing: refused, nothing stored.
    before = snapshot(engine, skip=frozenset())
    with (
        pytest.raises(RuleError, match="changes nothing"),
        UnitOfWork(engine, "staff:2", NOW) as uow,
    ):
        correct_adverse_event(uow, ae_id, change, "again")
    assert changed_tables(before, snapshot(engine, skip=frozenset())) == {}


def test_a_lab_result_is_corrected_in_place_with_old_new_and_reason(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    with UnitOfWork(engine, "staff:1", NOW) as uow:
        record_lab_panel(
            uow,
            protocol,
            pid,
            "P01",
            week=4,
            collected_on=date(2026, 12, 28),
            collected_at=NOW,
            uti=False,
            results=[LabValue("serum_creatinine", Decimal("69"), "umol/L")],
        )
    with read_session(engine) as session:
        [row] = session.exec(select(LabResult)).all()
    assert row.id is not None
    fix = LabFix(row.id, LabValue("serum_creatinine", Decimal("71"), "umol/L"))
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        correct_lab_results(uow, pid, [fix], "transcription")

    with read_session(engine) as session:
        [corrected] = session.exec(select(LabResult)).all()
        assert (corrected.id, corrected.value) == (row.id, "71")
        assert reconcile(session) == []
    record = _last_record(engine)
    assert (record.action, record.entity_key, record.reason) == (
        "lab_result.corrected",
        str(row.id),
        "transcription",
    )
    assert json.loads(record.before or "") == {"value": "69"}
    assert json.loads(record.after or "") == {"value": "71"}

    # Another patient's id, or the same value again: refused, nothing stored.
    before = snapshot(engine, skip=frozenset())
    with pytest.raises(RuleError), UnitOfWork(engine, "staff:2", NOW) as uow:
        correct_lab_results(uow, pid + 1, [fix], "x")
    with (
        pytest.raises(RuleError, match="changes nothing"),
        UnitOfWork(engine, "staff:2", NOW) as uow,
    ):
        correct_lab_results(uow, pid, [fix], "x")
    assert changed_tables(before, snapshot(engine, skip=frozenset())) == {}
