"""Is the database at the schema this code expects? Answered without loading Alembic.

Every start of the bot brings the database to the newest migration. Loading
Alembic (with Mako and Pygments behind it) and reading every migration script
took about a tenth of a cold start, only to find there was nothing to do; the
stored revision is one row (``alembic_version``), so that is read first.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from core.store.db import make_engine, normalise_url, safe_url, sqlite_path

# The newest file in migrations/versions. tests/store/test_store_migrations.py checks
# it against Alembic's own head, so a new migration cannot be forgotten here.
HEAD_REVISION = "0028"


def stored_revision(url: str | URL) -> str | None:
    """The database's revision, read directly (None when it has none yet)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    return rows[0][0] if len(rows) == 1 else None


def holds_a_trial(url: str | URL) -> bool:
    """True when ``url`` holds a trial database (a schema the migrations made).

    Never creates anything: a SQLite file that does not exist is not opened,
    since opening it would create it (and its folder).
    """
    if normalise_url(url).get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None or not path.exists():
            return False
    return stored_revision(url) is not None


def where(url: str | URL) -> str:
    """Where a database is, for a person: a SQLite file's full path, else the URL without
    its password."""
    path = sqlite_path(url) if normalise_url(url).get_backend_name() == "sqlite" else None
    return str(path.resolve()) if path is not None else safe_url(url)


def ensure_schema(url: str | URL) -> tuple[str | None, str | None]:
    """Upgrade the database to the newest migration unless it is there already;
    the revisions before and after (:func:`core.store.migrate.migrate`)."""
    current = stored_revision(url)
    if current == HEAD_REVISION:
        return current, current
    from core.store.migrate import migrate

    return migrate(url)
