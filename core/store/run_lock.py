"""Whether a bot is running on a database: a lock file beside a SQLite database.

``python -m bot run`` holds a *shared* lock on ``<database>.running`` for as
long as it runs (several bots may share one database); a restore asks for an
*exclusive* one without waiting and refuses while any bot holds the shared
lock. The operating system drops the lock when the process ends, however it
ends (SIGKILL included), so a crashed bot never blocks a restore.

PostgreSQL has no file to lock; a restore of PostgreSQL is pg_restore's and
not this bot's (:mod:`core.store.restore`), so only SQLite needs the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL

from core.store.db import normalise_url, sqlite_path


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
