"""Whether a bot is running on a database: a lock only a running process can hold.

``python -m bot run`` holds a *shared* lock for as long as it runs (several
bots may share one database); a restore asks for an *exclusive* one without
waiting and refuses while any bot holds the shared lock. On SQLite it is a
lock on the file ``<database>.running``; on PostgreSQL a session advisory
lock of the database, held by a connection of its own. Either is dropped
when the process ends, however it ends (SIGKILL included), so a crashed bot
never blocks a restore.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from core.store.db import make_engine, normalise_url, sqlite_path

# The advisory lock's key on PostgreSQL: any constant, the same in every process.
_PG_KEY = 0x7472_6961_6C62_6F74  # "trialbot"


def _is_postgres(url: str | URL) -> bool:
    return normalise_url(url).get_backend_name() == "postgresql"


@contextlib.contextmanager
def _pg_lock(url: str | URL, exclusive: bool) -> Iterator[bool]:
    """Hold PostgreSQL's advisory lock on a connection of its own while the block runs;
    yields False when an exclusive lock could not be had at once."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            if exclusive:
                got = bool(
                    connection.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}
                    ).scalar_one()
                )
            else:
                connection.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": _PG_KEY})
                got = True
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    unlock = "pg_advisory_unlock" if exclusive else "pg_advisory_unlock_shared"
                    connection.execute(text(f"SELECT {unlock}(:k)"), {"k": _PG_KEY})
                    connection.commit()
    finally:
        engine.dispose()


def lock_path(url: str | URL) -> Path | None:
    """The lock file of a SQLite database file (None: PostgreSQL, or in memory)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    path = sqlite_path(parsed)
    return None if path is None else path.with_name(path.name + ".running")


@contextlib.contextmanager
def running_on(url: str | URL) -> Iterator[None]:
    """Hold the shared "a bot runs here" lock while the block runs."""
    if _is_postgres(url):
        with _pg_lock(url, exclusive=False):
            yield
        return
    path = lock_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def nobody_running(url: str | URL) -> Iterator[bool]:
    """While the block runs, no bot can start on the database; yields False when one runs.

    A bot that starts meanwhile waits for the block to end (its shared lock
    waits for this exclusive one).
    """
    if _is_postgres(url):
        with _pg_lock(url, exclusive=True) as free:
            yield free
        return
    path = lock_path(url)
    if path is None:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
