"""When a claimed reminder was handed to its channel: a crash before that loses nothing.

``reminder.handed_at``: set just before the engine hands a claimed reminder
to its channel, cleared by each claim. A claim a stopped worker left without
it never reached the network, so recovery gives it back to ``pending``
instead of treating it as maybe delivered (one repeat, and none after that:
two crashes in a row lost such a reminder for good). A reminder already
``sending`` when this revision runs was claimed by the code before it, which
could not tell: it is taken as handed, so it keeps its one repeat.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("handed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE reminder SET handed_at = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("handed_at")
