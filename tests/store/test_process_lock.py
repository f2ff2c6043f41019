"""The process lock: one holder at a time, a stale one taken over, each change audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.store.audit import verify
from core.store.db import read_session
from core.store.models import AuditRecord, ProcessLock
from core.store.process_lock import LockHeld, acquire, heartbeat, polling_lock_name, release

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
STALE = timedelta(seconds=60)
NAME = polling_lock_name("123456:" + "A" * 35)


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        query = select(AuditRecord.action).where(AuditRecord.entity == "process_lock")
        return list(session.exec(query.order_by(col(AuditRecord.seq))).all())


def _lock(engine: Engine) -> ProcessLock | None:
    with read_session(engine) as session:
        return session.get(ProcessLock, NAME)


def test_the_lock_is_named_by_the_bots_id_never_by_its_secret() -> None:
    assert NAME == "telegram-polling:123456"


def test_a_second_holder_is_refused_while_the_first_beats(engine: Engine) -> None:
    acquire(engine, NAME, "host-a-100", T0, stale_after=STALE)
    assert heartbeat(engine, NAME, "host-a-100", T0 + timedelta(seconds=50))
    with pytest.raises(LockHeld) as refused:
        acquire(engine, NAME, "host-b-200", T0 + timedelta(seconds=100), stale_after=STALE)
    assert refused.value.holder == "host-a-100"
    assert refused.value.heartbeat_at == T0 + timedelta(seconds=50)
    lock = _lock(engine)
    assert lock is not None and lock.holder == "host-a-100"


def test_a_stale_lock_is_taken_over_and_its_old_holder_learns_it_lost_it(engine: Engine) -> None:
    acquire(engine, NAME, "host-a-100", T0, stale_after=STALE)
    taken = acquire(engine, NAME, "host-b-200", T0 + timedelta(seconds=61), stale_after=STALE)
    assert taken.holder == "host-b-200"
    # The old holder's next heartbeat finds the lock gone: it must stop polling.
    assert not heartbeat(engine, NAME, "host-a-100", T0 + timedelta(seconds=62))
    assert heartbeat(engine, NAME, "host-b-200", T0 + timedelta(seconds=62))
    assert _actions(engine) == ["process_lock.acquired", "process_lock.taken_over"]


def test_release_gives_the_lock_back_at_once_and_is_audited(engine: Engine) -> None:
    acquire(engine, NAME, "host-a-100", T0, stale_after=STALE)
    assert not release(engine, NAME, "host-b-200", T0)  # not the holder: nothing happens
    assert release(engine, NAME, "host-a-100", T0 + timedelta(seconds=5))
    assert _lock(engine) is None
    acquire(engine, NAME, "host-b-200", T0 + timedelta(seconds=6), stale_after=STALE)
    assert _actions(engine) == [
        "process_lock.acquired",
        "process_lock.released",
        "process_lock.acquired",
    ]
    with read_session(engine) as session:
        assert verify(session) is None
    # The heartbeats themselves are not audit records (one every few seconds otherwise).
    heartbeat(engine, NAME, "host-b-200", T0 + timedelta(seconds=16))
    assert len(_actions(engine)) == 3


def test_a_holder_known_to_be_gone_is_taken_over_at_once(engine: Engine) -> None:
    """A bot killed a second ago on this host: its restart need not wait for staleness."""
    acquire(engine, NAME, "host-a-100", T0, stale_after=STALE)
    taken = acquire(
        engine,
        NAME,
        "host-a-101",
        T0 + timedelta(seconds=1),
        stale_after=STALE,
        is_gone=lambda holder: holder == "host-a-100",
    )
    assert taken.holder == "host-a-101"


def test_the_audit_trail_gets_the_trial_clocks_instant_not_real_time(engine: Engine) -> None:
    """A rehearsal resumes from the newest audit record: real time there would move it."""
    trial = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    acquire(engine, NAME, "host-a-100", T0, stale_after=STALE, at=trial)
    release(engine, NAME, "host-a-100", trial + timedelta(minutes=5))
    with read_session(engine) as session:
        stamps = session.exec(
            select(AuditRecord.at).where(AuditRecord.entity == "process_lock")
        ).all()
    assert stamps == [trial, trial + timedelta(minutes=5)]
