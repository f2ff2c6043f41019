"""The WeChat channel's pushes until handled, and the option menus it sent.

- ``wechat_push``: each push from WeChat, stored before it is acknowledged
  and handled afterwards; its ``dedupe_key`` recognises WeChat's retries.
- ``wechat_menu``: the options of each menu message sent to a WeChat
  account, so a tap finds its option again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT = 64
DEDUPE_KEY = 96
MENU_MESSAGE = 32


def upgrade() -> None:
    op.create_table(
        "wechat_push",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=DEDUPE_KEY), nullable=False),
        sa.Column("account", sa.String(length=ACCOUNT), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_push")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_wechat_push_dedupe_key")),
    )
    op.create_index(
        op.f("ix_wechat_push_received_at"), "wechat_push", ["received_at"], unique=False
    )
    op.create_index(op.f("ix_wechat_push_handled_at"), "wechat_push", ["handled_at"], unique=False)
    op.create_table(
        "wechat_menu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=ACCOUNT), nullable=False),
        sa.Column("message", sa.String(length=MENU_MESSAGE), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_menu")),
    )
    op.create_index(op.f("ix_wechat_menu_account"), "wechat_menu", ["account"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wechat_menu_account"), table_name="wechat_menu")
    op.drop_table("wechat_menu")
    op.drop_index(op.f("ix_wechat_push_handled_at"), table_name="wechat_push")
    op.drop_index(op.f("ix_wechat_push_received_at"), table_name="wechat_push")
    op.drop_table("wechat_push")
