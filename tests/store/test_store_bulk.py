"""Rows straight to the driver (core.store.bulk): their text, their ids, their digest."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from core.protocol import Protocol
from core.store.bulk import Row, allocate_ids, instant_text, rows_sha256
from core.store.models import Patient, Reminder
from core.store.services import reminders_of_patient
from core.store.uow import UnitOfWork, table_of
from tests.support.store_fixtures import BEFORE_PLAN, count, enroll


def test_an_instant_is_stored_as_its_utc_wall_clock_with_microseconds() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert (
        instant_text(datetime(2026, 12, 1, 8, 0, tzinfo=shanghai)) == "2026-12-01 00:00:00.000000"
    )
    assert (
        instant_text(datetime(2026, 12, 1, 0, 0, 0, 5, tzinfo=UTC)) == "2026-12-01 00:00:00.000005"
    )
    with pytest.raises(ValueError, match="naive"):
        instant_text(datetime(2026, 12, 1))


def test_the_rows_digest_is_the_sha256_of_their_compact_json() -> None:
    rows: list[Row] = [
        (1, "P01", "2026-12-01 00:00:00.000000", None, False),
        (2, "病人", "x\n", 0, True),
    ]
    text = json.dumps([["id", "a", "b", "c", "d"], rows], ensure_ascii=False, separators=(",", ":"))
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert rows_sha256(("id", "a", "b", "c", "d"), rows) == expected
    assert rows_sha256(("id", "a", "b", "c", "d"), rows[:1]) != expected


def test_ids_taken_in_bulk_are_not_handed_out_again(engine: Engine, protocol: Protocol) -> None:
    """After a bulk enrollment, rows added one by one (a moved event's next
    revision) get ids of their own, on both databases (on PostgreSQL the ids
    come from the column's sequence, so it must have moved past them)."""
    first = enroll(engine, protocol, "P01")
    with UnitOfWork(engine, "staff:1", BEFORE_PLAN) as uow:
        enrolled = reminders_of_patient(uow.session, first)
        reminder = enrolled[0]
        added = uow.add(
            Reminder(
                patient_id=first,
                event_id=reminder.event_id,
                slot=reminder.slot,
                due_at=reminder.due_at,
                announces_at=reminder.announces_at,
                revision=1,
            ),
            "reminder.rebooked",
        )
        assert added.id is not None and added.id > max(r.id or 0 for r in enrolled)
        more = allocate_ids(uow.session.connection(), table_of(Reminder), 3)
        assert more == list(range(more[0], more[0] + 3)) and more[0] > added.id
    second = enroll(engine, protocol, "P02")
    assert second > first
    assert count(engine, Patient) == 2
