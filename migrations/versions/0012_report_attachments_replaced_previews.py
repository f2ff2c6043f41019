"""Photos kept with patient reports; a preview replaced when its command is edited.

- ``report_attachment``: a file a patient sent with a report (a photo with
  or without a caption), kept as the channel's id of it, so staff can be
  shown it again.
- ``pending_action.source_message``: the message a previewed command came
  in, so editing that message replaces the preview; and the new status
  ``replaced`` for a preview replaced that way.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = ("telegram", "wechat", "wecom", "memory")
ATTACHMENT_KIND = ("image",)
ACTION_STATUS = ("open", "confirmed", "cancelled", "expired")
REPLACED = "replaced"
SOURCE_MESSAGE = 96
FILE_ID = 255


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _action_status(values: Sequence[str]) -> None:
    with op.batch_alter_table("pending_action") as batch:
        batch.drop_constraint(op.f("ck_pending_action_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_pending_action_status"), f"status IN ({_listed(values)})"
        )


def upgrade() -> None:
    op.create_table(
        "report_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.String(length=FILE_ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"channel IN ({_listed(CHANNEL)})", name=op.f("ck_report_attachment_channel")
        ),
        sa.CheckConstraint(
            f"kind IN ({_listed(ATTACHMENT_KIND)})", name=op.f("ck_report_attachment_kind")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["patient_report.id"],
            name=op.f("fk_report_attachment_report_id_patient_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachment")),
    )
    op.create_index(
        op.f("ix_report_attachment_report_id"), "report_attachment", ["report_id"], unique=False
    )
    with op.batch_alter_table("pending_action") as batch:
        batch.add_column(
            sa.Column("source_message", sa.String(length=SOURCE_MESSAGE), nullable=True)
        )
    _action_status((*ACTION_STATUS, REPLACED))


def downgrade() -> None:
    """Back: a replaced preview reads as cancelled (neither ever stored anything)."""
    op.execute(f"UPDATE pending_action SET status = 'cancelled' WHERE status = '{REPLACED}'")
    _action_status(ACTION_STATUS)
    with op.batch_alter_table("pending_action") as batch:
        batch.drop_column("source_message")
    op.drop_index(op.f("ix_report_attachment_report_id"), table_name="report_attachment")
    op.drop_table("report_attachment")
