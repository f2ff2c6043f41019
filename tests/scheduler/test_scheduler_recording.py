"""The send step's group commit (scheduler.recording), on SQLite and PostgreSQL.

Changes queued while the event loop was busy commit in one transaction; a
change that cannot be made fails its own caller only; a caller cancelled
before the commit (the engine stopping) leaves no hand-off behind.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine as DbEngine

from core.protocol import Protocol
from core.store.audit import SYSTEM
from core.store.services import claim_due_reminders, mark_reminder_sent
from core.store.uow import UnitOfWork
from scheduler.outbox import mark_handed
from scheduler.recording import GroupRecorder
from scheduler.sending import _claimed
from tests.support.scheduler_fakes import join, reminder, reminders
from tests.support.store_fixtures import BEFORE_PLAN, enroll

HANDED = "handed to its channel"


def _claim_three(engine: DbEngine, protocol: Protocol) -> tuple[list[int], GroupRecorder]:
    patient_id = enroll(engine, protocol, "P01")
    join(engine, patient_id, 501, BEFORE_PLAN)
    at = sorted(r.due_at for r in reminders(engine, patient_id))[2]
    with UnitOfWork(engine, SYSTEM, at) as uow:
        claimed = claim_due_reminders(uow, limit=3, worker="testhost-1", now=at)
    ids = [r.id for r in claimed if r.id is not None]
    assert len(ids) == 3
    return ids, GroupRecorder(engine, lambda: at, _claimed)


def _commits(engine: DbEngine) -> list[object]:
    seen: list[object] = []
    event.listen(engine, "commit", seen.append)
    return seen


async def test_hand_offs_queued_together_commit_in_one_transaction(
    engine: DbEngine, protocol: Protocol
) -> None:
    ids, recorder = _claim_three(engine, protocol)
    commits = _commits(engine)
    await asyncio.gather(*(recorder.record(i, HANDED, mark_handed) for i in ids))
    assert len(commits) == 1
    assert all(reminder(engine, i).handed_at is not None for i in ids)


async def test_a_change_that_cannot_be_made_fails_only_its_own_caller(
    engine: DbEngine, protocol: Protocol
) -> None:
    ids, recorder = _claim_three(engine, protocol)
    with UnitOfWork(engine, SYSTEM, BEFORE_PLAN) as uow:  # no longer the worker's to hand over
        mark_reminder_sent(uow, _claimed(uow, ids[1]), message_id=7)
    results = await asyncio.gather(
        *(recorder.record(i, HANDED, mark_handed) for i in ids), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert [reminder(engine, i).handed_at is not None for i in ids] == [True, False, True]


async def test_a_hand_off_cancelled_before_its_commit_is_not_recorded(
    engine: DbEngine, protocol: Protocol
) -> None:
    ids, recorder = _claim_three(engine, protocol)
    task = asyncio.create_task(recorder.record(ids[0], HANDED, mark_handed))
    await asyncio.sleep(0)  # queued, its commit not yet run
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Not handed, so a restart gives it back to be sent as usual, not as a repeat.
    assert reminder(engine, ids[0]).handed_at is None
