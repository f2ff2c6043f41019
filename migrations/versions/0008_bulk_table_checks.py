"""The vocabulary CHECKs of the bulk-filled tables as comparisons, not ``IN`` lists.

``planned_event`` and ``reminder`` receive ~570 rows per enrolled patient.
SQLite evaluates a CHECK written ``x IN ('a', 'b', ...)`` by building a
temporary table for every row inserted; ``x = 'a' OR x = 'b' ...`` accepts
exactly the same values at a fraction of the cost (the benchmark's
reminder inserts ran at half speed). PostgreSQL treats both alike. The
constraint names do not change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The vocabularies as they are at this revision (unchanged since 0001).
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "planned_event": {
        "kind": (
            "mp_pulse",
            "belimumab_infusion",
            "urine_collection",
            "renal_assessment",
            "sledai_assessment",
            "cd20_count",
            "oral_dose",
        ),
        "status": ("planned", "done", "missed", "cancelled"),
    },
    "reminder": {
        "slot": (
            "infusion_evening_before",
            "infusion_morning",
            "urine_instructions",
            "urine_start",
            "urine_end",
            "visit_evening_before",
            "dose_1",
            "dose_2",
            "dose_3",
            "dose_4",
            "dose_after_draw",
        ),
        "status": (
            "pending",
            "sending",
            "sent",
            "failed",
            "uncertain",
            "skipped",
            "missed",
            "cancelled",
        ),
    },
}


def _rewrite(as_comparisons: bool) -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                name = op.f(f"ck_{table}_{column}")
                if as_comparisons:
                    condition = " OR ".join(f"{column} = '{v}'" for v in values)
                else:
                    condition = f"{column} IN ({', '.join(repr(v) for v in values)})"
                batch.drop_constraint(name, type_="check")
                batch.create_check_constraint(name, condition)


def upgrade() -> None:
    _rewrite(as_comparisons=True)


def downgrade() -> None:
    _rewrite(as_comparisons=False)
