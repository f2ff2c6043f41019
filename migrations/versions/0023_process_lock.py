"""The process lock: one bot process polls Telegram with a token, the next one refuses.

``process_lock`` holds one row per job that only one process may do at a time
(``telegram-polling:<bot id>``): who holds it and its last heartbeat. Nothing
earlier refers to it, so downgrading drops it (a running bot would lose its
claim, which is why downgrades are done with the bot stopped).

Revision ID: 0023
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_lock",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_process_lock")),
    )


def downgrade() -> None:
    op.drop_table("process_lock")
