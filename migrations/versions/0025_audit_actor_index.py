"""An index on the audit trail's actor and time: each member's last recorded action.

``/staff`` shows when each member of staff last did something the audit trail
records (joined, stored, confirmed, was refused), read as the latest record
with that actor; without the index that is a scan of the whole trail.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_audit_record_actor_at"


def upgrade() -> None:
    op.create_index(INDEX, "audit_record", ["actor", "at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="audit_record")
