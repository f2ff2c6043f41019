"""The patient's year of birth and informed-consent date, asked at enrollment.

``patient.birth_year`` and ``patient.consent_date``: /enroll (and ``python -m
bot enroll --file``) ask for both, so the SDTM DM domain has AGE and RFICDTC and
DS its INFORMED CONSENT OBTAINED row. Both are nullable: a patient enrolled
before this revision keeps NULL (they were never asked), and the exports leave
those fields empty.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("consent_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("consent_date")
        batch.drop_column("birth_year")
