"""Alembic, configured in code, so ``python -m bot migrate`` works from any folder.

The scripts live in ``migrations/`` at the top of the checkout; an installed
wheel carries them as ``core/store/migrations`` (setup.py). Requirement: "Schema
changes are Alembic migrations (``python -m bot migrate`` upgrades to head;
downgrade works too)".

To write a new migration, change the models, then generate a draft and
review it by hand::

    .venv/bin/python -c "from core.store.migrate import revision; revision('what changed')"

and name the new revision in ``core.store.schema.HEAD_REVISION`` (start-up
compares the database with it before loading Alembic; a test checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection

from core.store.db import DEFAULT_URL, make_engine, normalise_url
from core.store.models import METADATA


def _migrations_dir() -> Path:
    """An installed wheel's scripts (``core/store/migrations``), else the checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "migrations"
    return installed if installed.is_dir() else here.parents[1] / "migrations"


MIGRATIONS = _migrations_dir()


def context_options(connection: Connection) -> dict[str, Any]:
    """Options shared by ``migrations/env.py`` and the models-vs-migrations check."""
    return {
        "target_metadata": METADATA,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
    }


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config pointing at ``migrations/`` and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute: a URL may hold '%' which ConfigParser would interpolate.
    config.attributes["url"] = normalise_url(url if url is not None else DEFAULT_URL)
    return config


def current_revision(url: str | URL) -> str | None:
    """The database's revision (None when empty)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def migrate(url: str | URL, target: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``target``: upgrade, or downgrade when it is older.

    ``head`` is the newest revision; ``base`` is the empty database. Returns
    the revisions before and after. An unknown revision raises
    ``alembic.util.CommandError``.
    """
    config = alembic_config(url)
    script = ScriptDirectory.from_config(config)
    before = current_revision(url)
    if target == "base":
        command.downgrade(config, "base")
    elif target in ("head", "heads"):
        command.upgrade(config, "head")
    else:
        wanted = script.get_revision(target)
        if wanted is None:
            raise CommandError(f"no such revision: {target}")
        older = before is not None and any(
            rev.revision == wanted.revision for rev in script.iterate_revisions(before, "base")
        )
        if older:
            command.downgrade(config, wanted.revision)
        else:
            command.upgrade(config, wanted.revision)
    return before, current_revision(url)


def schema_differences(url: str | URL) -> list[Any]:
    """What differs between the models and the database (empty when they agree)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            options = context_options(connection)
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": options["compare_type"]},
            )
            return list(compare_metadata(context, options["target_metadata"]))
    finally:
        engine.dispose()


def revision(message: str, url: str | URL | None = None) -> None:
    """Draft a new migration from the difference between the models and ``url``
    (a database at head). Review the draft before committing it."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
