"""Migration 0010 moves every Telegram account in place to the channel identities, and back.

A site upgrading a running trial keeps every joined patient, every member of
staff, a flow or a draft in progress, and who used which invitation: after
the upgrade the same people are reached on the same chats.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import URL

from core.store.db import make_engine
from core.store.migrate import current_revision, migrate

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _rows(url: URL, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql)).all()]
    finally:
        engine.dispose()


def _seed_telegram_era(url: URL) -> None:
    """Two patients (one joined), two staff, a flow, a draft and a used invite, as 0009 held them."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for row in (
            (1, "P01", 5_000_000_001, 77),
            (2, "P02", None, None),
        ):
            connection.execute(
                text(
                    "INSERT INTO patient (id, study_id, arm, day0, sex, weight_kg, language, "
                    "timezone, telegram_user_id, telegram_chat_id, status, daily_dose_reminders, "
                    "created_at) VALUES (:id, :sid, 'belimumab_mt', '2026-12-01', 'F', '62', "
                    "'en', 'Asia/Shanghai', :user, :chat, 'active', false, :now)"
                ),
                {"id": row[0], "sid": row[1], "user": row[2], "chat": row[3], "now": NOW},
            )
        for staff_id, user in ((1, 900), (2, 901)):
            connection.execute(
                text(
                    "INSERT INTO staff (id, telegram_user_id, telegram_chat_id, role, active, "
                    "created_at) VALUES (:id, :user, :user, 'nurse', true, :now)"
                ),
                {"id": staff_id, "user": user, "now": NOW},
            )
        connection.execute(
            text(
                "INSERT INTO conversation (telegram_user_id, flow, step, data, updated_at) "
                "VALUES (5000000001, 'report', 'details', '{}', :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO pending_action (telegram_user_id, kind, payload, status, created_at, "
                "expires_at) VALUES (900, 'ae', '{}', 'open', :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO invite (token_hash, role, created_by, created_at, expires_at, "
                "used_at, used_by_telegram_user_id) "
                "VALUES ('abc', 'nurse', 'system', :now, :now, :now, 901)"
            ),
            {"now": NOW},
        )
    engine.dispose()


def test_telegram_accounts_move_in_place_and_back(db_url: URL) -> None:
    migrate(db_url, "0009")
    _seed_telegram_era(db_url)

    migrate(db_url, "0010")
    assert _rows(
        db_url,
        "SELECT channel, account, chat, patient_id, staff_id FROM channel_identity ORDER BY id",
    ) == [
        ("telegram", "5000000001", "77", 1, None),
        ("telegram", "900", "900", None, 1),
        ("telegram", "901", "901", None, 2),
    ]
    assert _rows(db_url, "SELECT study_id, preferred_channel FROM patient ORDER BY id") == [
        ("P01", "telegram"),
        ("P02", None),
    ]
    assert _rows(db_url, "SELECT preferred_channel FROM staff ORDER BY id") == [
        ("telegram",),
        ("telegram",),
    ]
    assert _rows(db_url, "SELECT person, flow, step FROM conversation") == [
        ("telegram:5000000001", "report", "details")
    ]
    assert _rows(db_url, "SELECT owner, kind FROM pending_action") == [("telegram:900", "ae")]
    assert _rows(db_url, "SELECT used_by FROM invite") == [("telegram:901",)]

    migrate(db_url, "0009")
    assert current_revision(db_url) == "0009"
    assert _rows(
        db_url, "SELECT study_id, telegram_user_id, telegram_chat_id FROM patient ORDER BY id"
    ) == [("P01", 5_000_000_001, 77), ("P02", None, None)]
    assert _rows(db_url, "SELECT telegram_user_id FROM staff ORDER BY id") == [(900,), (901,)]
    assert _rows(db_url, "SELECT telegram_user_id, step FROM conversation") == [
        (5_000_000_001, "details")
    ]
    assert _rows(db_url, "SELECT telegram_user_id FROM pending_action") == [(900,)]
    assert _rows(db_url, "SELECT used_by_telegram_user_id FROM invite") == [(901,)]
