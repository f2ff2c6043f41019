"""Alembic environment: the database comes from the config built in
``core.store.migrate`` (or ``DATABASE_URL``), the target is ``core.store.models.METADATA``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from core.store.db import DEFAULT_URL, make_engine, normalise_url
from core.store.migrate import context_options
from core.store.models import METADATA

config = context.config


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    return normalise_url(url).render_as_string(hide_password=False)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """``--sql`` mode: print the SQL instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=METADATA,
        literal_binds=True,
        render_as_batch=normalise_url(_url()).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign-key enforcement, outside any transaction (else it is a no-op)."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            if connection.dialect.name != "sqlite":
                _run(connection)
                return
            # Batch mode rebuilds a table by copying it and dropping the old
            # one; with enforcement on, SQLite refuses to drop a table other
            # rows point to (a patient with reminders). The copy keeps every
            # key, and the check afterwards proves it.
            _foreign_keys(connection, on=False)
            try:
                _run(connection)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                connection.commit()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
            finally:
                _foreign_keys(connection, on=True)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
