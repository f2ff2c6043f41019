"""Channel identities: a person is reached on one or more channels, not only Telegram.

Patients and staff lose their Telegram columns to ``channel_identity`` (one
row per person and channel); a patient's reminders and a member's alerts go
through their ``preferred_channel``. Existing Telegram accounts are moved in
place: every joined patient and every member of staff keeps their account,
with ``telegram`` as their channel. Flows and drafts are owned by a channel
account (``telegram:5001``) instead of a Telegram user id, and so is the use
of an invitation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = ("telegram", "wechat", "wecom", "memory")
ACCOUNT = 64
PERSON_KEY = 80


def _channel_check(table: str, column: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in CHANNEL)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def _key(column: str) -> str:
    """The channel account of a Telegram user id, as ``core.store.models.person_key`` writes it."""
    return f"'telegram:' || CAST({column} AS VARCHAR)"


def _person_key() -> sa.Column[str]:
    return sa.Column("person", sa.String(length=PERSON_KEY), nullable=False)


def _telegram_user_id() -> sa.Column[int]:
    return sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False)


def _conversation_table(name: str, key: sa.Column[Any]) -> None:
    op.create_table(
        name,
        key,
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(key.name, name=op.f(f"pk_{name}")),
    )


def _rekey_conversations(key: Callable[[], sa.Column[Any]], key_sql: str, where: str = "") -> None:
    """Rebuild ``conversation`` with the primary key ``key()``, each row's new key
    computed by ``key_sql`` from the old row (rows not matching ``where`` are dropped).

    The table is rebuilt through a copy, so its constraint keeps its name on
    both databases.
    """
    columns = "flow, step, data, updated_at"
    _conversation_table("conversation_rekeyed", key())
    op.execute(
        f"INSERT INTO conversation_rekeyed ({key().name}, {columns}) "
        f"SELECT {key_sql}, {columns} FROM conversation {where}"
    )
    op.drop_table("conversation")
    _conversation_table("conversation", key())
    op.execute(
        f"INSERT INTO conversation ({key().name}, {columns}) "
        f"SELECT {key().name}, {columns} FROM conversation_rekeyed"
    )
    op.drop_table("conversation_rekeyed")


def upgrade() -> None:
    op.create_table(
        "channel_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=ACCOUNT), nullable=False),
        sa.Column("chat", sa.String(length=ACCOUNT), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _channel_check("channel_identity", "channel"),
        sa.CheckConstraint(
            "(patient_id IS NULL) <> (staff_id IS NULL)",
            name=op.f("ck_channel_identity_patient_or_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_channel_identity_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_channel_identity_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identity")),
        sa.UniqueConstraint("channel", "account", name=op.f("uq_channel_identity_channel_account")),
        sa.UniqueConstraint(
            "channel", "patient_id", name=op.f("uq_channel_identity_channel_patient_id")
        ),
        sa.UniqueConstraint(
            "channel", "staff_id", name=op.f("uq_channel_identity_channel_staff_id")
        ),
    )
    op.create_index(
        op.f("ix_channel_identity_patient_id"), "channel_identity", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_channel_identity_staff_id"), "channel_identity", ["staff_id"], unique=False
    )

    # Every Telegram account moves in place, with the instant its person was created.
    op.execute(
        "INSERT INTO channel_identity (channel, account, chat, patient_id, created_at) "
        "SELECT 'telegram', CAST(telegram_user_id AS VARCHAR), "
        "CAST(COALESCE(telegram_chat_id, telegram_user_id) AS VARCHAR), id, created_at "
        "FROM patient WHERE telegram_user_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO channel_identity (channel, account, chat, staff_id, created_at) "
        "SELECT 'telegram', CAST(telegram_user_id AS VARCHAR), "
        "CAST(COALESCE(telegram_chat_id, telegram_user_id) AS VARCHAR), id, created_at "
        "FROM staff"
    )

    for table in ("patient", "staff"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("preferred_channel", sa.String(length=32), nullable=True))
            batch.create_check_constraint(
                op.f(f"ck_{table}_preferred_channel"),
                "preferred_channel IN ({})".format(", ".join(f"'{v}'" for v in CHANNEL)),
            )
        op.execute(
            f"UPDATE {table} SET preferred_channel = 'telegram' WHERE id IN "
            f"(SELECT {table}_id FROM channel_identity WHERE channel = 'telegram')"
        )
    with op.batch_alter_table("patient") as batch:
        batch.drop_constraint(op.f("uq_patient_telegram_user_id"), type_="unique")
        batch.drop_constraint(op.f("uq_patient_telegram_chat_id"), type_="unique")
        batch.drop_column("telegram_user_id")
        batch.drop_column("telegram_chat_id")
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint(op.f("uq_staff_telegram_user_id"), type_="unique")
        batch.drop_column("telegram_user_id")
        batch.drop_column("telegram_chat_id")

    with op.batch_alter_table("invite") as batch:
        batch.add_column(sa.Column("used_by", sa.String(length=PERSON_KEY), nullable=True))
    op.execute(
        f"UPDATE invite SET used_by = {_key('used_by_telegram_user_id')} "
        "WHERE used_by_telegram_user_id IS NOT NULL"
    )
    with op.batch_alter_table("invite") as batch:
        batch.drop_column("used_by_telegram_user_id")

    with op.batch_alter_table("pending_action") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=PERSON_KEY), nullable=True))
    op.execute(f"UPDATE pending_action SET owner = {_key('telegram_user_id')}")
    with op.batch_alter_table("pending_action") as batch:
        batch.alter_column("owner", existing_type=sa.String(length=PERSON_KEY), nullable=False)
        batch.drop_index(op.f("ix_pending_action_telegram_user_id"))
        batch.drop_column("telegram_user_id")
        batch.create_index(op.f("ix_pending_action_owner"), ["owner"], unique=False)

    # A flow in progress is kept, under its owner's channel account.
    _rekey_conversations(_person_key, _key("telegram_user_id"))


def downgrade() -> None:
    """Back to Telegram only: accounts on other channels are dropped, with their flows."""
    telegram_id = "CAST(substr({0}, 10) AS BIGINT)"
    _rekey_conversations(
        _telegram_user_id, telegram_id.format("person"), "WHERE person LIKE 'telegram:%'"
    )

    op.execute("DELETE FROM pending_action WHERE owner NOT LIKE 'telegram:%'")
    with op.batch_alter_table("pending_action") as batch:
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
    op.execute(f"UPDATE pending_action SET telegram_user_id = {telegram_id.format('owner')}")
    with op.batch_alter_table("pending_action") as batch:
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_index(op.f("ix_pending_action_owner"))
        batch.drop_column("owner")
        batch.create_index(
            op.f("ix_pending_action_telegram_user_id"), ["telegram_user_id"], unique=False
        )

    with op.batch_alter_table("invite") as batch:
        batch.add_column(sa.Column("used_by_telegram_user_id", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE invite SET used_by_telegram_user_id = {telegram_id.format('used_by')} "
        "WHERE used_by LIKE 'telegram:%'"
    )
    with op.batch_alter_table("invite") as batch:
        batch.drop_column("used_by")

    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
    for table in ("patient", "staff"):
        op.execute(
            f"UPDATE {table} SET "
            "telegram_user_id = (SELECT CAST(account AS BIGINT) FROM channel_identity i "
            f"WHERE i.{table}_id = {table}.id AND i.channel = 'telegram'), "
            "telegram_chat_id = (SELECT CAST(chat AS BIGINT) FROM channel_identity i "
            f"WHERE i.{table}_id = {table}.id AND i.channel = 'telegram')"
        )
    # Staff without a Telegram account cannot exist in the old schema.
    op.execute("DELETE FROM staff WHERE telegram_user_id IS NULL")
    with op.batch_alter_table("patient") as batch:
        batch.drop_constraint(op.f("ck_patient_preferred_channel"), type_="check")
        batch.drop_column("preferred_channel")
        batch.create_unique_constraint(op.f("uq_patient_telegram_user_id"), ["telegram_user_id"])
        batch.create_unique_constraint(op.f("uq_patient_telegram_chat_id"), ["telegram_chat_id"])
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint(op.f("ck_staff_preferred_channel"), type_="check")
        batch.drop_column("preferred_channel")
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(op.f("uq_staff_telegram_user_id"), ["telegram_user_id"])

    op.drop_index(op.f("ix_channel_identity_staff_id"), table_name="channel_identity")
    op.drop_index(op.f("ix_channel_identity_patient_id"), table_name="channel_identity")
    op.drop_table("channel_identity")
