"""Relatedness on one five-level scale: stored values renamed to its levels.

``adverse_event.relatedness`` held four levels (``related``, ``possibly_related``,
``unlikely_related``, ``not_related``); it now holds the level typed on the
five-level scale (``unrelated``, ``unlikely``, ``possible``, ``probable``,
``definite``; ``core.entry_syntax.Relatedness``). Upgrading renames each old
value to its level. The old ``related`` was typed as "related", "probable" or
"definite" alike, so it becomes ``probable``: the scale's "related" without
claiming certainty. Downgrading folds ``probable`` and ``definite`` back into
``related``. The column itself (a string, no check) is unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = {
    "not_related": "unrelated",
    "unlikely_related": "unlikely",
    "possibly_related": "possible",
    "related": "probable",
}
DOWNGRADE = {
    "unrelated": "not_related",
    "unlikely": "unlikely_related",
    "possible": "possibly_related",
    "probable": "related",
    "definite": "related",
}


def _rename(values: dict[str, str]) -> None:
    statement = sa.text("UPDATE adverse_event SET relatedness = :new WHERE relatedness = :old")
    for old, new in values.items():
        op.execute(statement.bindparams(old=old, new=new))


def upgrade() -> None:
    _rename(UPGRADE)


def downgrade() -> None:
    _rename(DOWNGRADE)
