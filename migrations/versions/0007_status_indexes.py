"""Indexes for the /status overview with 10,000 patients (the benchmark).

``planned_event(kind, scheduled_date)``: this week's events by kind and day;
``lab_result(week)``: the week-24 renal results; ``dose_administration(event_id)``:
whether an infusion has a belimumab dose recorded against it;
``reminder(status, next_attempt_at)``: the engine's refill finds pending retries
without scanning every pending reminder (cold start with 10,000 patients).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_reminder_status_next_attempt_at"), "reminder", ["status", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_planned_event_kind_scheduled_date"),
        "planned_event",
        ["kind", "scheduled_date"],
        unique=False,
    )
    op.create_index(op.f("ix_lab_result_week"), "lab_result", ["week"], unique=False)
    op.create_index(
        op.f("ix_dose_administration_event_id"),
        "dose_administration",
        ["event_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dose_administration_event_id"), table_name="dose_administration")
    op.drop_index(op.f("ix_lab_result_week"), table_name="lab_result")
    op.drop_index(op.f("ix_planned_event_kind_scheduled_date"), table_name="planned_event")
    op.drop_index(op.f("ix_reminder_status_next_attempt_at"), table_name="reminder")
