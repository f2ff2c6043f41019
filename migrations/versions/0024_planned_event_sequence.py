"""How many times an event was moved: the calendar file's SEQUENCE, so phones update.

``planned_event.sequence``: 0 as planned at enrollment, one more each time the
event is rescheduled. RFC 5545 section 3.8.7.4: a calendar app replaces an
entry it already has only when the new one carries a higher SEQUENCE, so a
moved visit would otherwise stay on the old day in the patient's phone.
Events moved before this revision start at 0: their next move gives 1, above
anything a phone holds from before.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planned_event") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("planned_event") as batch:
        batch.drop_column("sequence")
