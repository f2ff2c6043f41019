"""A 24-hour urine protein below the laboratory's detection limit, entered with ``/labs``.

``lab_result.below_limit``: the laboratory reported the result only as below
its detection limit (``protein=<0.1g/24h``); ``value`` holds the limit. Rows
stored before were all measured values, hence false. Downgrading drops the
flag, so such a row would read as the limit itself: refused while any exists.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lab_result") as batch:
        batch.add_column(
            sa.Column("below_limit", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The model has no server default: new rows always say which they are.
    with op.batch_alter_table("lab_result") as batch:
        batch.alter_column("below_limit", server_default=None)


def downgrade() -> None:
    below = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM lab_result WHERE below_limit"))
        .scalar_one()
    )
    if below:
        raise RuntimeError(
            f"{below} lab results are below the detection limit; the schema before 0016 "
            "cannot say so, so they would read as measured values. Not downgraded."
        )
    with op.batch_alter_table("lab_result") as batch:
        batch.drop_column("below_limit")
