"""The engine factory: SQLite by default, PostgreSQL in production.

Requirement: "a SQLite file by default (``DATABASE_URL`` unset: a file under
``./data/``, WAL mode, foreign keys on), PostgreSQL in production".

SQLite connections get ``journal_mode=WAL`` (readers never wait for the
writer), ``foreign_keys=ON`` (off by default in SQLite), ``busy_timeout`` (a
second writer waits instead of failing at once) and ``synchronous=NORMAL``
(safe with WAL). Every transaction starts with ``BEGIN IMMEDIATE``: it takes
the write lock up front, so two writers queue on ``busy_timeout`` instead of
both reading and then deadlocking when each tries to upgrade its lock (the
pysqlite default, a deferred BEGIN, fails that way with "database is
locked"). A session that only reads can use :func:`read_only` to start with a
plain deferred BEGIN.

PostgreSQL URLs are normalised to the psycopg 3 driver
(``postgresql+psycopg://``), so ``postgres://`` URLs from a host work as is.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine, make_url
from sqlmodel import Session

DEFAULT_URL = "sqlite:///data/trial.db"
READ_ONLY = "trial_store_read_only"
BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to use: psycopg 3 for PostgreSQL, as given otherwise."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = normalise_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def safe_url(url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    return normalise_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default ``sqlite:///data/trial.db``, creating ``./data/``)."""
    parsed = normalise_url(url if url is not None else DEFAULT_URL)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions start deferred (for readers)."""
    return engine.execution_options(**{READ_ONLY: True})


def read_session(engine: Engine) -> Session:
    """A session for reading only: it never takes SQLite's write lock."""
    return Session(read_only(engine), expire_on_commit=False)


class BackupError(Exception):
    """A backup could not be made; the message says why and what to do."""


def backup_sqlite(url: str | URL, destination: Path) -> None:
    """Copy a SQLite database consistently while others may be writing.

    Uses SQLite's online backup API (``sqlite3.Connection.backup``), which
    copies a single consistent snapshot, WAL content included. The copy is
    switched to a rollback journal so it is one self-contained file. Refuses
    PostgreSQL (use ``pg_dump``), an in-memory database, a missing source and
    an existing destination.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"{safe_url(parsed)} is not a SQLite database; back up PostgreSQL with pg_dump, "
            "e.g. pg_dump --format=custom --file=trial.dump DBNAME"
        )
    source = sqlite_path(parsed)
    if source is None:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    if destination.parent and not destination.parent.is_dir():
        raise BackupError(f"the folder {destination.parent} does not exist")
    src = sqlite3.connect(source)
    try:
        src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
