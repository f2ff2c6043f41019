"""A visit recorded as missed: when a coordinator said so, and why.

``planned_event.missed_at`` and ``planned_event.missed_reason``: written by
``/visit <study ID> <event> <number> missed reason=...``
(:mod:`core.store.visits`) with the status ``missed``. The reason is what the
workbook's visits sheet, SDTM SV (SVREASOC) and ``/status`` show for the
visit (:mod:`core.visits`). Events recorded before this revision have neither.

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planned_event") as batch:
        batch.add_column(sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("missed_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planned_event") as batch:
        batch.drop_column("missed_reason")
        batch.drop_column("missed_at")
