"""Migration 0012: photos kept with reports, replaced previews; up, down and up again.

A site upgrading keeps every report and every preview; going back drops the
photos' references and reads a replaced preview as cancelled (neither ever
stored anything clinical).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from core.store.db import make_engine
from core.store.migrate import current_revision, migrate

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _run(url: URL, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        engine.dispose()


def _columns(url: URL, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _tables(url: URL) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _seed(url: URL) -> None:
    """A patient, a report with a photo, a replaced and an open preview, as 0012 holds them."""
    _run(
        url,
        "INSERT INTO patient (id, study_id, arm, day0, sex, weight_kg, language, timezone, "
        "status, daily_dose_reminders, created_at) VALUES (1, 'P01', 'belimumab_mt', "
        "'2026-12-01', 'F', '62', 'en', 'Asia/Shanghai', 'active', false, :now)",
        now=NOW,
    )
    _run(
        url,
        "INSERT INTO patient_report (id, patient_id, category, severity, onset, free_text, "
        "red_flag, triage_status, created_at) VALUES (1, 1, 'other', 'not_asked', "
        "'not_asked', 'rash', false, 'open', :now)",
        now=NOW,
    )
    _run(
        url,
        "INSERT INTO report_attachment (report_id, channel, kind, file_id, created_at) "
        "VALUES (1, 'telegram', 'image', 'AgACAgIAAxk', :now)",
        now=NOW,
    )
    for status in ("replaced", "open"):
        _run(
            url,
            "INSERT INTO pending_action (owner, kind, payload, status, created_at, expires_at, "
            "source_message) VALUES ('telegram:900', 'weight', '{}', :status, :now, :now, "
            "'900:12')",
            status=status,
            now=NOW,
        )


def test_up_down_and_up_again(db_url: URL) -> None:
    migrate(db_url, "0012")
    _seed(db_url)
    assert _run(db_url, "SELECT report_id, channel, kind, file_id FROM report_attachment") == [
        (1, "telegram", "image", "AgACAgIAAxk")
    ]

    migrate(db_url, "0011")
    assert current_revision(db_url) == "0011"
    assert "report_attachment" not in _tables(db_url)
    assert "source_message" not in _columns(db_url, "pending_action")
    assert _run(db_url, "SELECT status FROM pending_action ORDER BY id") == [
        ("cancelled",),
        ("open",),
    ]
    assert _run(db_url, "SELECT free_text FROM patient_report") == [("rash",)]
    with pytest.raises(IntegrityError):
        _run(db_url, "UPDATE pending_action SET status = 'replaced'")

    migrate(db_url, "0012")
    assert "report_attachment" in _tables(db_url)
    assert "source_message" in _columns(db_url, "pending_action")
    _run(db_url, "UPDATE pending_action SET status = 'replaced'")
    assert _run(db_url, "SELECT DISTINCT status FROM pending_action") == [("replaced",)]


@pytest.mark.parametrize(
    ("column", "value"), [("channel", "'fax'"), ("kind", "'voice'")], ids=["channel", "kind"]
)
def test_an_attachment_outside_the_vocabulary_is_refused(
    db_url: URL, column: str, value: str
) -> None:
    migrate(db_url, "0012")
    _seed(db_url)
    with pytest.raises(IntegrityError):
        _run(db_url, f"UPDATE report_attachment SET {column} = {value}")
