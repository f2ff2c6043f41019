"""Pending actions: clinical data typed by staff, waiting for Confirm or Cancel.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTION_STATUS = ("open", "confirmed", "cancelled", "expired")


def upgrade() -> None:
    listed = ", ".join(f"'{value}'" for value in ACTION_STATUS)
    op.create_table(
        "pending_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({listed})", name=op.f("ck_pending_action_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_action")),
    )
    op.create_index(
        op.f("ix_pending_action_telegram_user_id"),
        "pending_action",
        ["telegram_user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_action_telegram_user_id"), table_name="pending_action")
    op.drop_table("pending_action")
