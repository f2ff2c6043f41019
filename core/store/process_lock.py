"""The process lock: one process at a time does a job, the next one is told who does it.

Requirement: "Two bot processes on one database: the second refuses to poll
Telegram with the same token (a lock in the database with a heartbeat) and
says so, instead of both running. A stale lock whose heartbeat stopped is
taken over."

A lock is a row of ``process_lock`` named for its job. :func:`acquire` takes
it when there is none, when this holder has it already (a restart with the
same process id) or when its heartbeat is older than ``stale_after``;
otherwise it raises :class:`LockHeld` naming the holder. Taking, taking over
and giving back are audited (actor ``system``). The heartbeat
(:func:`heartbeat`) is a plain timestamp update, not audited: it is the
process saying it is alive every few seconds, not a change to the trial, and
auditing it would add thousands of records a day to the chain.

All instants here are real time, never the trial clock: a rehearsal clock
running 3,600 times faster must not make a live holder look dead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from core.store.audit import SYSTEM
from core.store.models import ProcessLock
from core.store.uow import UnitOfWork, row_json, table_of

__all__ = ["LockHeld", "acquire", "heartbeat", "polling_lock_name", "release"]


class LockHeld(Exception):
    """Another live process holds the lock: who, and when it last said it was alive."""

    def __init__(self, name: str, holder: str, heartbeat_at: datetime) -> None:
        super().__init__(f"{name} is held by {holder}")
        self.name = name
        self.holder = holder
        self.heartbeat_at = heartbeat_at


def polling_lock_name(token: str) -> str:
    """The lock on polling Telegram with ``token``: named by the bot's id, the token's public
    part before the colon (the secret after it is never stored)."""
    return f"telegram-polling:{token.split(':', 1)[0]}"[:64]


def acquire(
    engine: Engine,
    name: str,
    holder: str,
    now: datetime,
    *,
    stale_after: timedelta,
    is_gone: Callable[[str], bool] = lambda holder: False,
    at: datetime | None = None,
) -> ProcessLock:
    """Take lock ``name`` for ``holder`` at real time ``now``; raise :class:`LockHeld` if a
    live process has it.

    Live means its heartbeat is at most ``stale_after`` old and ``is_gone``
    does not know it to be gone (a process of this host that no longer runs:
    after a crash the restarted bot need not wait); any other is taken over
    (audited with the previous holder in ``before``). ``at`` is the instant the
    audit trail records, the trial clock's (default ``now``): a rehearsal
    resumes from the newest audit record, so a real-time one would move it.
    """
    for _ in range(2):  # a second process may insert the row between our read and insert
        try:
            with UnitOfWork(engine, SYSTEM, at or now, "process lock") as uow:
                row = uow.session.get(ProcessLock, name, with_for_update=True)
                if row is None:
                    return uow.add(
                        ProcessLock(job=name, holder=holder, acquired_at=now, heartbeat_at=now),
                        "process_lock.acquired",
                    )
                live = now - row.heartbeat_at <= stale_after and not is_gone(row.holder)
                if row.holder != holder and live:
                    raise LockHeld(row.job, row.holder, row.heartbeat_at)
                action = (
                    "process_lock.acquired" if row.holder == holder else "process_lock.taken_over"
                )
                return uow.update(row, action, holder=holder, acquired_at=now, heartbeat_at=now)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not take the lock {name}")


def heartbeat(engine: Engine, name: str, holder: str, now: datetime) -> bool:
    """Refresh ``holder``'s heartbeat on lock ``name``; False if it no longer holds it (taken
    over after its heartbeat stopped). Raises the database's error when it refuses the write:
    that is how a read-only or unreachable database is noticed."""
    with engine.begin() as connection:
        result = connection.execute(
            update(ProcessLock)
            .where(col(ProcessLock.job) == name, col(ProcessLock.holder) == holder)
            .values(heartbeat_at=now)
        )
    return bool(result.rowcount)


def release(engine: Engine, name: str, holder: str, at: datetime) -> bool:
    """Give lock ``name`` back at a graceful stop, so the next process need not wait for it to
    go stale; False if ``holder`` no longer had it. ``at``: the trial clock's instant, for
    the audit trail (see :func:`acquire`)."""
    with UnitOfWork(engine, SYSTEM, at, "process lock") as uow:
        row = uow.session.get(ProcessLock, name, with_for_update=True)
        if row is None or row.holder != holder:
            return False
        before = row_json(row)
        uow.session.delete(row)
        uow.audit("process_lock.released", table_of(ProcessLock).name, name, before=before)
        return True
