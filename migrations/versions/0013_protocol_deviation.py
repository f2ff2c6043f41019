"""Protocol deviations: lab results, SLEDAI-2K, CD20 counts and belimumab doses dated
outside their event's window, each with the reason given (core.entry_calendar).

A new table, nothing moved: a move outside the window by /reschedule stays on
the event (``planned_event.deviation_reason``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTRY = ("labs", "sledai", "cd20", "belimumab")
TIMING = ("inside", "early", "late", "unplanned")


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(
        f"{column} IN ({listed})", name=op.f(f"ck_protocol_deviation_{column}")
    )


def upgrade() -> None:
    op.create_table(
        "protocol_deviation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("entry", sa.String(length=32), nullable=False),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("timing", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.Column("days_outside", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "days_outside >= 0", name=op.f("ck_protocol_deviation_days_outside_not_negative")
        ),
        _one_of("entry", ENTRY),
        _one_of("timing", TIMING),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["planned_event.id"],
            name=op.f("fk_protocol_deviation_event_id_planned_event"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_protocol_deviation_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_deviation")),
    )
    op.create_index(
        op.f("ix_protocol_deviation_patient_id"), "protocol_deviation", ["patient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_protocol_deviation_patient_id"), table_name="protocol_deviation")
    op.drop_table("protocol_deviation")
