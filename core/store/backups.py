"""Backup files: written (SQLite's online backup, ``pg_dump``), checked, kept N at a time.

A backup is only worth keeping if it can be restored, so each one is checked
as soon as it is written: a SQLite copy passes ``PRAGMA integrity_check`` and
its audit trail's hash chain holds (:func:`core.store.audit.verify_chain`);
a PostgreSQL dump is restored into a scratch database on the same server,
whose audit chain is walked, and which is dropped afterwards. A copy that
fails its check is renamed ``<name>.failed`` (kept for a look, never counted
among the good copies, never restored by mistake).

Backups are named by the trial instant they were taken for
(``trial-20261205T030000Z.db``, ``.dump`` for PostgreSQL), so names sort by
age and the oldest good copies beyond ``keep`` are deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from core.store.audit import verify_chain
from core.store.db import BackupError, backup_sqlite, make_engine, normalise_url, safe_url

PREFIX = "trial-"
SQLITE_SUFFIX = ".db"
DUMP_SUFFIX = ".dump"
FAILED_SUFFIX = ".failed"


class BackupCheckFailed(BackupError):
    """A backup was written but does not pass its check; the message says why."""


@dataclass(frozen=True, slots=True)
class Written:
    """A checked backup, and the older copies deleted to keep ``keep``."""

    path: Path
    deleted: tuple[Path, ...]


# --- checking ------------------------------------------------------------------------


def _read_only_sqlite(path: Path) -> Engine:
    # Opened read-only and without the bot's pragmas: checking a backup must not
    # change it (make_engine would switch it to WAL).
    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    return create_engine("sqlite://", creator=connect)


def sqlite_file_problem(path: Path) -> str | None:
    """Why this SQLite file is no trustworthy copy of the trial (None: it is).

    It must pass ``PRAGMA integrity_check`` and hold an audit trail whose
    chain verifies.
    """
    if not path.is_file():
        return f"there is no file at {path}"
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        return f"{path} fails SQLite's integrity check: {exc}"
    if result != ["ok"]:
        return f"{path} fails SQLite's integrity check: {'; '.join(result[:3])}"
    if "audit_record" not in tables:
        return f"{path} holds no audit trail: it is not a copy of the trial's database"
    return _chain_problem(_read_only_sqlite(path), str(path))


def _chain_problem(engine: Engine, where: str) -> str | None:
    try:
        with Session(engine) as session:
            problem = verify_chain(session)
    except SQLAlchemyError as exc:
        return f"the audit trail of {where} cannot be read ({type(exc).__name__})"
    finally:
        engine.dispose()
    if problem is None:
        return None
    return f"the audit trail of {where} is broken at record {problem.seq}: {problem.message}"


# --- PostgreSQL ----------------------------------------------------------------------


def pg_dump_available() -> bool:
    """Whether ``pg_dump`` and ``pg_restore`` are on the PATH."""
    return shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A connection string for the PostgreSQL tools, and the environment with the password
    (kept off the command line, where ``ps`` would show it)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{command[0]} failed ({done.returncode}): {last}")


def dump_postgres(url: str | URL, destination: Path) -> None:
    """``pg_dump --format=custom`` of the database into ``destination``."""
    if not pg_dump_available():
        raise BackupError("pg_dump is not on the PATH: install PostgreSQL's client tools")
    conninfo, env = _libpq(normalise_url(url))
    _run(["pg_dump", "--format=custom", f"--file={destination}", f"--dbname={conninfo}"], env)


def load_dump(url: str | URL, dump: Path) -> None:
    """Empty the database's schema and load ``dump`` into it (``pg_restore``): the restore.

    Emptied first, not ``--clean``: a table a later migration added would
    otherwise stay beside the dump's and stop its schema being brought to head.
    """
    parsed = normalise_url(url)
    engine = make_engine(parsed)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    conninfo, env = _libpq(parsed)
    _run(["pg_restore", "--no-owner", "--no-privileges", f"--dbname={conninfo}", str(dump)], env)


@contextlib.contextmanager
def _scratch_database(url: URL) -> Iterator[URL]:
    """A new, empty database on the same server, dropped afterwards."""
    name = f"{url.database}_check_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def dump_problem(url: str | URL, dump: Path) -> str | None:
    """Why this dump is no trustworthy copy (None: it restores and its audit chain holds)."""
    parsed = normalise_url(url)
    try:
        with _scratch_database(parsed) as scratch:
            conninfo, env = _libpq(scratch)
            _run(
                ["pg_restore", "--no-owner", "--no-privileges", f"--dbname={conninfo}", str(dump)],
                env,
            )
            return _chain_problem(make_engine(scratch), str(dump))
    except (BackupError, SQLAlchemyError) as exc:
        return f"{dump} could not be restored to be checked: {exc}"


# --- writing and keeping -------------------------------------------------------------


def backup_name(at: datetime, postgres: bool) -> str:
    """The file name of the backup taken for trial instant ``at``."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{PREFIX}{stamp}{DUMP_SUFFIX if postgres else SQLITE_SUFFIX}"


def kept_backups(directory: Path) -> list[Path]:
    """The good backups in ``directory``, oldest first."""
    found = [
        path
        for path in directory.glob(f"{PREFIX}*")
        if path.suffix in (SQLITE_SUFFIX, DUMP_SUFFIX) and path.is_file()
    ]
    return sorted(found, key=lambda p: p.name)


def write_backup(url: str | URL, directory: Path, at: datetime, keep: int) -> Written:
    """Write the backup for trial instant ``at`` into ``directory``, check it, keep ``keep``.

    Raises :class:`~core.store.db.BackupError` when the copy cannot be made
    and :class:`BackupCheckFailed` when it was made but fails its check (it is
    then renamed ``<name>.failed``); older copies are deleted only after the
    new one passed.
    """
    if keep < 1:
        raise ValueError("keep at least one backup")
    parsed = normalise_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / backup_name(at, postgres)
    # Written under a temporary name, so a crash never leaves a half copy that looks whole.
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    if postgres:
        dump_postgres(parsed, partial)
        problem = dump_problem(parsed, partial)
    else:
        backup_sqlite(parsed, partial)
        problem = sqlite_file_problem(partial)
    if problem is not None:
        failed = final.with_name(final.name + FAILED_SUFFIX)
        os.replace(partial, failed)
        raise BackupCheckFailed(
            f"the backup {failed} of {safe_url(parsed)} fails its check: {problem}"
        )
    os.replace(partial, final)
    good = kept_backups(directory)
    deleted = tuple(good[: max(0, len(good) - keep)])
    for old in deleted:
        old.unlink(missing_ok=True)
    return Written(final, deleted)
