"""Indexes for the benchmark: /status's week count covered, enrollment's rows
kept out of the retry index.

Since enrollment inserts a whole cohort's rows in time order, a patient's
events and reminders no longer sit together on disk, and counting this week's
events read one table page per event. Two indexes replace narrower ones with
the same leading columns, so every query that used them still can:

- ``planned_event(kind, scheduled_date, status, patient_id)`` replaces
  ``(kind, scheduled_date)``: the week's events, their status and patient
  come from the index alone.
- ``reminder(event_id, response)`` replaces ``(event_id)``: whether a urine
  collection was answered "Finished" comes from the index alone.

And ``reminder(status, next_attempt_at)`` (0007) becomes partial, holding only
rows with a retry instant: enrollment writes ~370 reminders per patient, none
with one, and no longer pays for them in this index (about a tenth of
SQLite's work per reminder row). The engine's queries compare the instant, so
they still use it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RETRY_WAITING = "next_attempt_at IS NOT NULL"


def _retry_index(partial: bool) -> None:
    where = sa.text(RETRY_WAITING) if partial else None
    op.drop_index(op.f("ix_reminder_status_next_attempt_at"), table_name="reminder")
    op.create_index(
        op.f("ix_reminder_status_next_attempt_at"),
        "reminder",
        ["status", "next_attempt_at"],
        unique=False,
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    _retry_index(partial=True)
    op.create_index(
        op.f("ix_planned_event_kind_scheduled_date_status_patient_id"),
        "planned_event",
        ["kind", "scheduled_date", "status", "patient_id"],
        unique=False,
    )
    op.drop_index(op.f("ix_planned_event_kind_scheduled_date"), table_name="planned_event")
    op.create_index(
        op.f("ix_reminder_event_id_response"), "reminder", ["event_id", "response"], unique=False
    )
    op.drop_index(op.f("ix_reminder_event_id"), table_name="reminder")


def downgrade() -> None:
    _retry_index(partial=False)
    op.create_index(op.f("ix_reminder_event_id"), "reminder", ["event_id"], unique=False)
    op.drop_index(op.f("ix_reminder_event_id_response"), table_name="reminder")
    op.create_index(
        op.f("ix_planned_event_kind_scheduled_date"),
        "planned_event",
        ["kind", "scheduled_date"],
        unique=False,
    )
    op.drop_index(
        op.f("ix_planned_event_kind_scheduled_date_status_patient_id"), table_name="planned_event"
    )
