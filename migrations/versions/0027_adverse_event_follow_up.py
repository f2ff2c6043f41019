"""An adverse event followed to its end: its end date and its relatedness to each study drug.

``/ae AE12 outcome=recovered end=2026-12-30 rel_mmf=possible`` records how an
event ended (``core.ae_outcomes``). ``outcome`` and ``action`` exist since
0001; this adds ``end_date`` and one relatedness column per study drug
(``related_belimumab``, ``related_mmf``, ``related_tacrolimus``,
``related_methylprednisolone``), all nullable: events stored before were not
followed up. Downgrading would drop what was recorded: refused while any event
has an end date or a per-drug relatedness.

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRUG_COLUMNS = (
    "related_belimumab",
    "related_mmf",
    "related_tacrolimus",
    "related_methylprednisolone",
)


def upgrade() -> None:
    with op.batch_alter_table("adverse_event") as batch:
        batch.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        for name in DRUG_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=32), nullable=True))


def downgrade() -> None:
    recorded = " OR ".join(f"{name} IS NOT NULL" for name in ("end_date", *DRUG_COLUMNS))
    followed = (
        op.get_bind()
        .execute(sa.text(f"SELECT count(*) FROM adverse_event WHERE {recorded}"))
        .scalar_one()
    )
    if followed:
        raise RuntimeError(
            f"{followed} adverse events have an end date or a relatedness per study drug; the "
            "schema before 0027 cannot hold them. Not downgraded."
        )
    with op.batch_alter_table("adverse_event") as batch:
        for name in reversed(DRUG_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("end_date")
