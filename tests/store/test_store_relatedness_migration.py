"""Migration 0011 renames stored relatedness to the five-level scale, and back.

A site upgrading a running trial keeps every adverse event's relatedness: the old
four levels read as the scale's levels, "related" as probable (it claimed no certainty).
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL

from core.entry_syntax import Relatedness
from core.store.db import make_engine
from core.store.migrate import alembic_config, current_revision, migrate

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
OLD = ["related", "possibly_related", "unlikely_related", "not_related", None]


def _before_0011() -> str:
    """The revision 0011 follows, however the migrations are chained."""
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0011").down_revision
    assert isinstance(before, str)
    return before


def _relatedness(url: URL) -> list[str | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT relatedness FROM adverse_event ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    return [row[0] for row in rows]


def _seed(url: URL) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patient (id, study_id, arm, day0, sex, weight_kg, language, "
                "timezone, status, daily_dose_reminders, created_at) VALUES (1, 'P01', "
                "'belimumab_mt', '2026-12-01', 'F', '62', 'en', 'Asia/Shanghai', 'active', "
                "false, :now)"
            ),
            {"now": NOW},
        )
        for number, value in enumerate(OLD, start=1):
            connection.execute(
                text(
                    "INSERT INTO adverse_event (id, patient_id, ctcae_version, term, verbatim, "
                    "coded, grade, death, life_threatening, hospitalization, disability, "
                    "congenital_anomaly, important_medical_event, onset_date, awareness_at, "
                    "relatedness, reported_by, reported_at) VALUES (:id, 1, '5.0', 'headache', "
                    "'headache', true, 1, false, false, false, false, false, false, "
                    "'2026-12-01', :now, :related, 'system', :now)"
                ),
                {"id": number, "now": NOW, "related": value},
            )
    engine.dispose()


def test_old_relatedness_becomes_the_five_level_scale_and_back(db_url: URL) -> None:
    before = _before_0011()
    migrate(db_url, before)
    _seed(db_url)

    migrate(db_url, "0011")
    upgraded = _relatedness(db_url)
    assert upgraded == ["probable", "possible", "unlikely", "unrelated", None]
    # Every stored value is now a level the bot reads.
    assert {Relatedness(v) for v in upgraded if v is not None} <= set(Relatedness)

    migrate(db_url, before)
    assert current_revision(db_url) == before
    assert _relatedness(db_url) == OLD


def test_definite_folds_back_into_related_on_downgrade(db_url: URL) -> None:
    before = _before_0011()
    migrate(db_url, before)
    _seed(db_url)
    migrate(db_url, "0011")
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE adverse_event SET relatedness = 'definite' WHERE id = 2"))
    engine.dispose()
    migrate(db_url, before)
    assert _relatedness(db_url) == ["related", "related", "unlikely_related", "not_related", None]
