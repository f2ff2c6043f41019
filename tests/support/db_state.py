"""What the database holds, for tests that assert "nothing changed".

Every table the models define is read in full (tables are small in tests), so
an update in place is caught as well as an insert or a delete. The audit
trail is read separately: a refusal is allowed to append to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col
from sqlmodel import select as model_select

import core.store.models  # noqa: F401  (registers the tables)
from core.store.db import read_session
from core.store.models import AuditRecord

AUDIT_TABLES = frozenset({"audit_record", "audit_head"})

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine, *, skip: frozenset[str] = AUDIT_TABLES) -> Snapshot:
    """Every row of every table (except ``skip``), in a stable order."""
    result: Snapshot = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = connection.execute(select(table)).all()
            result[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return result


def changed_tables(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    """The tables whose contents differ, with their row counts before and after."""
    return {
        name: (len(before.get(name, [])), len(after.get(name, [])))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def last_audit_seq(engine: Engine) -> int:
    """The sequence number of the newest audit record (0 for an empty trail)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.coalesce(func.max(col(AuditRecord.seq)), 0))
            ).scalar_one()
        )


def audit_since(engine: Engine, seq: int) -> list[AuditRecord]:
    """The audit records appended after record ``seq``, oldest first."""
    with read_session(engine) as session:
        query = (
            model_select(AuditRecord)
            .where(col(AuditRecord.seq) > seq)
            .order_by(col(AuditRecord.seq))
        )
        return list(session.exec(query).all())
