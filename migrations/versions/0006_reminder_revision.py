"""Reminder revisions: a slot may be sent again when its event is moved (/reschedule).

A reminder is unique per patient, event, slot and revision. Moving an event
after one of its reminders went out adds the next revision for the new date;
the one already sent stays in the record as it was.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_reminder_patient_id_event_id_slot", type_="unique")
        batch.create_unique_constraint(
            "uq_reminder_patient_id_event_id_slot_revision",
            ["patient_id", "event_id", "slot", "revision"],
        )


def downgrade() -> None:
    # Later revisions cannot survive the old key: keep the latest of each slot.
    op.execute(
        "DELETE FROM reminder WHERE revision < "
        "(SELECT MAX(r.revision) FROM reminder r WHERE r.event_id = reminder.event_id "
        "AND r.slot = reminder.slot)"
    )
    with op.batch_alter_table("reminder") as batch:
        batch.drop_constraint("uq_reminder_patient_id_event_id_slot_revision", type_="unique")
        batch.create_unique_constraint(
            "uq_reminder_patient_id_event_id_slot", ["patient_id", "event_id", "slot"]
        )
        batch.drop_column("revision")
