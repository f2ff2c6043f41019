"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at ``TEST_DATABASE_URL`` (default: 127.0.0.1:5432,
database ``test``, user ``postgres``, no password). Each test gets its own
schema (``t_<uuid>``), reached through ``search_path``, dropped afterwards.

If the server cannot be reached the PostgreSQL cases are skipped with the
reason, unless ``REQUIRE_POSTGRES=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import SQLModel

import core.store.models  # noqa: F401  (registers the tables)
from core.protocol import Protocol
from core.store.db import make_engine, normalise_url, read_session, safe_url
from core.store.services import Newcomer, enroll_patients
from core.store.uow import UnitOfWork

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Each PostgreSQL case builds and drops a schema on the server (about a second
# each, over a minute together), so they are `slow`: `make test-fast` runs the
# store's rules on SQLite only, `make test` on both.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
]


def pg_url() -> URL:
    return normalise_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL)


def _pg_unavailable(reason: str) -> None:
    message = (
        f"PostgreSQL not reachable at {safe_url(pg_url())}: {reason}; "
        "set TEST_DATABASE_URL or start the server"
    )
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the PostgreSQL test database, or a skip (or failure) saying why not."""
    url = pg_url()
    probe = url.update_query_dict({"connect_timeout": "3"})
    engine = make_engine(probe)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not reachable"
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        _pg_unavailable(reason)
    yield engine
    engine.dispose()


def _sqlite_url(tmp_path: Path) -> URL:
    return make_url(f"sqlite:///{tmp_path / 'trial.db'}")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url().update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def engine(db_url: URL) -> Iterator[Engine]:
    """An engine on a database holding the trial's tables (created from the models)."""
    eng = make_engine(db_url)
    SQLModel.metadata.create_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()


# --- helpers shared by the store tests --------------------------------------------

DAY0 = date(2026, 12, 1)
BEFORE_PLAN = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # before every planned instant


def url_text(url: URL) -> str:
    """A URL as text for DATABASE_URL (password kept)."""
    return url.render_as_string(hide_password=False)


def enroll(
    engine: Engine,
    protocol: Protocol,
    study_id: str = "P01",
    *,
    daily: bool = False,
    now: datetime = BEFORE_PLAN,
    arm: str = "belimumab_mt",
) -> int:
    """Enroll one patient in its own unit of work; return the patient's id.

    The patient is not read back, so this also runs on a database migrated to an
    earlier revision (the migration tests enroll before upgrading).
    """
    newcomer = Newcomer(
        study_id=study_id,
        arm=arm,
        day0=DAY0,
        sex="F",
        weight_kg="62.5",
        language="zh_Hans",
        timezone="Asia/Shanghai",
        daily_dose_reminders=daily,
    )
    with UnitOfWork(engine, "staff:1", now) as uow:
        (patient_id,) = enroll_patients(uow, protocol, [newcomer])
    return patient_id


def count(engine: Engine, model: type[SQLModel]) -> int:
    with read_session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


# Run a test on one database only (overrides the parametrized ``db_url``).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url",
    [pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True,
)


@pytest.fixture
def pg_database(pg_admin: Engine) -> Iterator[URL]:
    """A database of its own on the test server (pg_dump dumps a whole database)."""
    name = f"backup_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url().set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
