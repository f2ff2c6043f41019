"""``python -m bot restore PATH``: put a checked backup in place of the trial's database.

What a restore does, in order:

1. refuses a backup that fails its check (SQLite: ``PRAGMA integrity_check``
   and the audit chain, :func:`core.store.backups.sqlite_file_problem`;
   PostgreSQL: the dump restored into a scratch database and its chain
   walked, :func:`core.store.backups.dump_problem`), and a database a bot is
   running on (:mod:`core.store.run_lock`);
2. keeps a consistent copy of the database it replaces: beside a SQLite file
   (``trial.replaced-20261205T101500Z.db``), beside the dump for PostgreSQL
   (``trial.replaced-20261205T101500Z.dump``, made with ``pg_dump``);
3. copies the backup in (SQLite's backup API; for PostgreSQL the schema is
   emptied and the dump loaded with ``pg_restore``) and brings its schema to
   head;
4. marks the reminders that may have gone out after the backup was taken,
   audited with the restore itself.

Rule for step 4: a reminder still waiting (``pending``) or being sent
(``sending``) in the backup, and due by the last moment the replaced
database recorded anything (its newest audit record; the restore's own
instant when it cannot be read), may have reached the patient after the
backup: the restored database cannot know. Each becomes ``uncertain``, so
the engine's uncertain policy sends it once more, marked as a repeat
(:mod:`scheduler.sending`), and never a second time. A reminder that was
already a repeat is not repeated again. Nothing the replaced database
recorded after the backup (answers, doses, staff actions) comes back: that
is what restoring a backup means, and the kept copy holds it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.store import reminder_state
from core.store.audit import SYSTEM
from core.store.backups import (
    dump_postgres,
    dump_problem,
    load_dump,
    pg_dump_available,
    sqlite_file_problem,
)
from core.store.db import BackupError, backup_sqlite, make_engine, normalise_url, sqlite_path
from core.store.models import AuditRecord, Reminder, ReminderStatus
from core.store.run_lock import nobody_running
from core.store.schema import ensure_schema
from core.store.uow import UnitOfWork

RESTORED_UNCERTAIN = (
    "the database was restored from a backup taken before this reminder went: "
    "it may have reached the patient; sent once more, marked as a repeat"
)


class RestoreRefused(Exception):
    """Nothing was changed; the message says why. ``usage``: the command was asked wrongly
    (no such file, not SQLite) rather than refused by a check."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did."""

    database: Path
    replaced_copy: Path | None
    #: Reminders due by this instant and not finished in the backup became uncertain.
    horizon: datetime
    uncertain: tuple[int, ...]


def restore(url: str | URL, backup: Path, *, now: datetime) -> Restored:
    """Replace the database at ``url`` with ``backup``: a SQLite file or a ``pg_dump``."""
    if normalise_url(url).get_backend_name() == "postgresql":
        return restore_postgres(url, backup, now=now)
    return restore_sqlite(url, backup, now=now)


def restore_postgres(url: str | URL, backup: Path, *, now: datetime) -> Restored:
    """Replace the PostgreSQL database at ``url`` with the ``pg_dump`` file ``backup``
    (see the module's steps); ``now`` as for :func:`restore_sqlite`."""
    parsed = normalise_url(url)
    if not pg_dump_available():
        raise RestoreRefused(
            "pg_dump and pg_restore are not on the PATH: install PostgreSQL's client tools",
            usage=True,
        )
    if not backup.is_file():
        raise RestoreRefused(f"there is no backup file at {backup}", usage=True)
    problem = dump_problem(parsed, backup)
    if problem is not None:
        raise RestoreRefused(f"{problem}; nothing was restored")
    with nobody_running(parsed) as free:
        if not free:
            raise RestoreRefused(
                f"a bot is running on the database {parsed.database}: stop it (python -m bot "
                "run) before restoring; nothing was restored"
            )
        horizon = _last_recorded_at(parsed) or now
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        copy = _free_name(backup.with_name(f"{parsed.database}.replaced-{stamp}.dump"))
        try:
            dump_postgres(parsed, copy)
        except BackupError as exc:
            raise RestoreRefused(f"{exc}; nothing was restored") from None
        try:
            load_dump(parsed, backup)
        except BackupError as exc:
            raise RestoreRefused(
                f"{exc}; the database as it was before the restore is kept at {copy} "
                f"(pg_restore it to go back)"
            ) from None
        ensure_schema(parsed)
        ids = _mark_and_record(parsed, backup, copy, horizon, now, str(parsed.database))
    return Restored(Path(str(parsed.database)), copy, horizon, tuple(ids))


def _free_name(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists():  # two restores within a second keep both copies
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _mark_and_record(
    url: URL, backup: Path, copy: Path | None, horizon: datetime, now: datetime, name: str
) -> list[int]:
    """Step 4: the reminders that may have gone after the backup, and the restore itself,
    in one audited transaction."""
    engine = make_engine(url)
    try:
        with UnitOfWork(engine, SYSTEM, now, f"restore from {backup}") as uow:
            ids = mark_restored_uncertain(uow, horizon)
            uow.audit(
                "database.restored",
                "database",
                name,
                after={
                    "backup": str(backup),
                    "replaced_copy": None if copy is None else str(copy),
                    "horizon": horizon,
                    "uncertain": ids,
                },
            )
    finally:
        engine.dispose()
    return ids


def restore_sqlite(url: str | URL, backup: Path, *, now: datetime) -> Restored:
    """Replace the SQLite database at ``url`` with ``backup`` (see the module's steps).

    ``now`` is the restore's instant: the audit record's, and the horizon when
    the replaced database cannot be read.
    """
    parsed = normalise_url(url)
    target = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if target is None:
        raise RestoreRefused("restore needs a SQLite database file or PostgreSQL", usage=True)
    if not backup.is_file():
        raise RestoreRefused(f"there is no backup file at {backup}", usage=True)
    if target.exists() and backup.resolve() == target.resolve():
        raise RestoreRefused(f"{backup} is the database itself", usage=True)
    problem = sqlite_file_problem(backup)
    if problem is not None:
        raise RestoreRefused(f"{problem}; nothing was restored")
    with nobody_running(parsed) as free:
        if not free:
            raise RestoreRefused(
                f"a bot is running on {target}: stop it (python -m bot run) before restoring; "
                "nothing was restored"
            )
        horizon = _last_recorded(target) or now
        copy = _keep_replaced(parsed, target, now) if target.exists() else None
        _copy_in(backup, target)
        ensure_schema(parsed)
        ids = _mark_and_record(parsed, backup, copy, horizon, now, target.name)
    return Restored(target, copy, horizon, tuple(ids))


def mark_restored_uncertain(uow: UnitOfWork, horizon: datetime) -> list[int]:
    """Reminders not finished in the restored backup and due by ``horizon`` -> ``uncertain``."""
    rows = uow.session.exec(
        select(Reminder)
        .where(
            col(Reminder.status).in_([ReminderStatus.PENDING, ReminderStatus.SENDING]),
            col(Reminder.due_at) <= horizon,
        )
        .order_by(col(Reminder.id))
    ).all()
    return reminder_state.move_many(
        uow,
        list(rows),
        ReminderStatus.UNCERTAIN,
        "reminder.restored_uncertain",
        changes={"last_error": RESTORED_UNCERTAIN, "claimed_by": None, "claimed_at": None},
    )


def _last_recorded(database: Path) -> datetime | None:
    """The instant of the newest audit record of the database being replaced, if readable."""
    if not database.is_file():
        return None
    return _last_recorded_at(f"sqlite:///{database}")


def _last_recorded_at(url: str | URL) -> datetime | None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            last = session.exec(select(func.max(AuditRecord.at))).one()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return last


def _keep_replaced(url: URL, target: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    copy = target.with_name(f"{target.stem}.replaced-{stamp}{target.suffix}")
    n = 1
    while copy.exists():  # two restores within a second keep both copies
        n += 1
        copy = target.with_name(f"{target.stem}.replaced-{stamp}-{n}{target.suffix}")
    try:
        backup_sqlite(url, copy)
    except (BackupError, sqlite3.DatabaseError):
        # Too damaged for SQLite to copy (often why one restores): keep its files as they are.
        copy.unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            source = target.with_name(target.name + suffix)
            if source.exists():
                copy.with_name(copy.name + suffix).write_bytes(source.read_bytes())
    return copy


def _copy_in(backup: Path, target: Path) -> None:
    incoming = target.with_name(target.name + ".restoring")
    incoming.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(incoming)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    # The replaced database's write-ahead log would be replayed onto the new file.
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(incoming, target)
