"""Reminders delivered: the status WeChat's receipts give, and the channel's message id.

- ``reminder.status`` gains ``delivered``: a channel that reports delivery
  (WeChat's TEMPLATESENDJOBFINISH receipt) said the reminder reached the
  patient; ``reminder.delivered_at`` says when.
- ``reminder.telegram_message_id`` becomes ``message_id``: the channel's id
  of the message, Telegram's message_id or WeChat's msgid (an int64 above
  2**53, kept as an exact integer), indexed for the receipts that name it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The reminder statuses as they were at 0012 (written as comparisons since 0008),
# and from here on, in the order of core.store.models.ReminderStatus.
STATUS = ("pending", "sending", "sent", "failed", "uncertain", "skipped", "missed", "cancelled")
DELIVERED = "delivered"
STATUS_NOW = (*STATUS[:3], DELIVERED, *STATUS[3:])
HAS_MESSAGE = "message_id IS NOT NULL"


def _statuses(values: Sequence[str]) -> str:
    return " OR ".join(f"status = '{value}'" for value in values)


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.alter_column("telegram_message_id", new_column_name="message_id")
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_reminder_status"), type_="check")
        batch.create_check_constraint(op.f("ck_reminder_status"), _statuses(STATUS_NOW))
    op.create_index(
        op.f("ix_reminder_message_id"),
        "reminder",
        ["message_id"],
        unique=False,
        sqlite_where=sa.text(HAS_MESSAGE),
        postgresql_where=sa.text(HAS_MESSAGE),
    )


def downgrade() -> None:
    """Back: a delivered reminder reads as sent (it was; the receipt is what is lost)."""
    op.drop_index(op.f("ix_reminder_message_id"), table_name="reminder")
    op.execute(f"UPDATE reminder SET status = 'sent' WHERE status = '{DELIVERED}'")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_constraint(op.f("ck_reminder_status"), type_="check")
        batch.create_check_constraint(op.f("ck_reminder_status"), _statuses(STATUS))
        batch.drop_column("delivered_at")
        batch.alter_column("message_id", new_column_name="telegram_message_id")
