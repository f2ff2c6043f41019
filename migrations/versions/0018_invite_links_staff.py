"""An invitation that links another channel's account to a member of staff who has joined.

``invite.staff_id``: set for ``/link``, the code (WeCom) or link (Telegram) with
which a member adds their account on another channel to their own place in
the study team, so that one person may use both channels as one member.
Other invitations leave it empty. Downgrading drops it: refused while an
unused link invitation exists (it would turn into an invitation for a new
member of staff).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invite") as batch:
        batch.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_invite_staff_id_staff", "staff", ["staff_id"], ["id"])
        batch.create_index("ix_invite_staff_id", ["staff_id"])


def downgrade() -> None:
    waiting = (
        op.get_bind()
        .execute(
            sa.text("SELECT count(*) FROM invite WHERE staff_id IS NOT NULL AND used_at IS NULL")
        )
        .scalar_one()
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} link invitations are unused; the schema before 0018 would make each an "
            "invitation for a new member of staff. Not downgraded."
        )
    with op.batch_alter_table("invite") as batch:
        batch.drop_index("ix_invite_staff_id")
        batch.drop_constraint("fk_invite_staff_id_staff", type_="foreignkey")
        batch.drop_column("staff_id")
