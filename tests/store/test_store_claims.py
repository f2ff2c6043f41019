"""Claiming due reminders from the outbox: each reminder goes to one worker once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.protocol import Protocol
from core.store import services
from core.store.audit import verify_chain
from core.store.db import read_session
from core.store.models import AuditRecord, Reminder, ReminderStatus
from core.store.uow import UnitOfWork
from scheduler import outbox
from tests.support.store_fixtures import count, enroll

FAR_FUTURE = datetime(2028, 1, 1, tzinfo=UTC)


def _reminders(engine: Engine) -> list[Reminder]:
    with read_session(engine) as session:
        return list(session.exec(select(Reminder).order_by(Reminder.due_at, Reminder.id)).all())  # type: ignore[arg-type]


def test_only_due_reminders_are_claimed_oldest_first(engine: Engine, protocol: Protocol) -> None:
    enroll(engine, protocol)
    everything = _reminders(engine)
    now = everything[5].due_at  # due_at <= now: the first six (or more, on a tie) are due
    due = [r for r in everything if r.due_at <= now]
    with UnitOfWork(engine, "system", now) as uow:
        claimed = services.claim_due_reminders(uow, limit=100, worker="w1")
        assert [r.id for r in claimed] == [r.id for r in due]
    with UnitOfWork(engine, "system", now) as uow:
        assert services.claim_due_reminders(uow, limit=100, worker="w2") == []
    after = {r.id: r for r in _reminders(engine)}
    for r in due:
        stored = after[r.id]
        assert stored.status == ReminderStatus.SENDING
        assert (stored.claimed_by, stored.claimed_at, stored.attempts) == ("w1", now, 1)
    assert all(after[r.id].status == ReminderStatus.PENDING for r in everything if r not in due)


def test_the_limit_is_respected_and_one_audit_record_covers_a_batch(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol)
    n = count(engine, AuditRecord)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        claimed = services.claim_due_reminders(uow, limit=3, worker="w1")
    assert len(claimed) == 3
    assert count(engine, AuditRecord) == n + 1
    with read_session(engine) as session:
        record = session.get(AuditRecord, n + 1)
        assert record is not None and record.action == "reminder.claimed"
        assert json.loads(record.after or "")["ids"] == [r.id for r in claimed]
    with pytest.raises(ValueError, match="limit"), UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        services.claim_due_reminders(uow, limit=0, worker="w1")


def test_a_retry_waits_for_its_back_off(engine: Engine, protocol: Protocol) -> None:
    enroll(engine, protocol)
    first = _reminders(engine)[0]
    now = first.due_at
    with UnitOfWork(engine, "system", now) as uow:
        (claimed,) = services.claim_due_reminders(uow, limit=1, worker="w1")
        services.mark_reminder_failed(
            uow, claimed, error="429 Too Many Requests", retry_at=now + timedelta(minutes=2)
        )
    with UnitOfWork(engine, "system", now + timedelta(minutes=1)) as uow:
        assert services.claim_due_reminders(uow, limit=1, worker="w1") == []
    with UnitOfWork(engine, "system", now + timedelta(minutes=2)) as uow:
        (again,) = services.claim_due_reminders(uow, limit=1, worker="w1")
        assert again.id == first.id and again.attempts == 2
        services.mark_reminder_sent(uow, again, message_id=9_000_000_001)
    stored = _reminders(engine)[0]
    assert stored.status == ReminderStatus.SENT
    assert stored.message_id == 9_000_000_001
    assert stored.sent_at == now + timedelta(minutes=2)
    assert stored.last_error is None


def test_a_send_that_gives_up_is_failed_and_not_claimed_again(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        (claimed,) = services.claim_due_reminders(uow, limit=1, worker="w1")
        services.mark_reminder_failed(uow, claimed, error="403 bot was blocked", retry_at=None)
        with pytest.raises(ValueError, match="failed"):
            services.mark_reminder_sent(uow, claimed, message_id=1)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        ids = [r.id for r in services.claim_due_reminders(uow, limit=1000, worker="w1")]
    assert claimed.id not in ids
    assert _reminders(engine)[0].status == ReminderStatus.FAILED


def test_claims_left_by_a_stopped_worker_become_uncertain_not_resent(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        mine = services.claim_due_reminders(uow, limit=2, worker="w1")
        theirs = services.claim_due_reminders(uow, limit=2, worker="w2")
        for r in mine + theirs:
            outbox.mark_handed(uow, r)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        assert services.release_never_handed(uow, worker="w1") == []
        assert services.mark_interrupted_uncertain(uow, worker="w1") == [r.id for r in mine]
    statuses = {r.id: r.status for r in _reminders(engine)}
    assert all(statuses[r.id] == ReminderStatus.UNCERTAIN for r in mine)
    assert all(statuses[r.id] == ReminderStatus.SENDING for r in theirs)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        again = services.claim_due_reminders(uow, limit=1000, worker="w3")
    assert not {r.id for r in again} & {r.id for r in mine + theirs}


def test_claims_a_stopped_worker_never_handed_over_go_back_to_pending(
    engine: Engine, protocol: Protocol
) -> None:
    enroll(engine, protocol)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        handed, waiting = services.claim_due_reminders(uow, limit=2, worker="w1")
        outbox.mark_handed(uow, handed)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        assert services.release_never_handed(uow, worker="w1") == [waiting.id]
        assert services.mark_interrupted_uncertain(uow, worker="w1") == [handed.id]
    rows = {r.id: r for r in _reminders(engine)}
    assert rows[handed.id].status == ReminderStatus.UNCERTAIN
    released = rows[waiting.id]
    assert (released.status, released.attempts, released.claimed_by, released.is_repeat) == (
        ReminderStatus.PENDING,
        0,
        None,
        False,
    )
    # The repeat's claim starts without the hand-off of the claim before.
    assert rows[handed.id].handed_at == FAR_FUTURE
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        row = uow.session.get(Reminder, handed.id)
        assert row is not None
        outbox.schedule_repeat(uow, row)
    with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
        again = services.claim_due_reminders(uow, limit=2, worker="w2")
    assert {(r.id, r.handed_at) for r in again} == {(handed.id, None), (waiting.id, None)}


def test_two_concurrent_claimers_never_claim_the_same_reminder(
    engine: Engine, protocol: Protocol
) -> None:
    """Requirement: "two concurrent claimers on PostgreSQL never claim the same reminder"
    (and on SQLite, with its single writer)."""
    enroll(engine, protocol, "P01", daily=True)
    enroll(engine, protocol, "P02", daily=True)
    due = {r.id for r in _reminders(engine)}
    assert len(due) >= 500
    claims: dict[str, list[int]] = {"w1": [], "w2": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            start.wait()
            while True:
                with UnitOfWork(engine, "system", FAR_FUTURE) as uow:
                    batch = services.claim_due_reminders(uow, limit=25, worker=name)
                if not batch:
                    return
                claims[name].extend(r.id for r in batch if r.id is not None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    both = claims["w1"] + claims["w2"]
    assert len(both) == len(set(both)), "a reminder was claimed twice"
    assert set(both) == due
    stored = _reminders(engine)
    assert all(r.status == ReminderStatus.SENDING and r.attempts == 1 for r in stored)
    assert {r.id: r.claimed_by for r in stored} == {
        i: name for name, ids in claims.items() for i in ids
    }
    with read_session(engine) as session:
        assert verify_chain(session) is None
