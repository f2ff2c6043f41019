"""Migration 0026 adds the year of birth and the consent date to the patient, and takes
them away.

A site upgrading a running trial keeps every patient as enrolled, with neither value
(they were never asked: the exports leave AGE and RFICDTC empty); a patient enrolled
afterwards keeps both, and the trial's records read them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from core.protocol import Protocol
from core.store.db import make_engine, read_session
from core.store.migrate import alembic_config, current_revision, migrate
from core.store.schema import HEAD_REVISION
from core.store.services import enroll_patient
from core.store.trial_data import load_trial_data
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import DAY0, enroll

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _before_0026() -> str:
    """The revision 0026 follows, however the migrations are chained."""
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0026").down_revision
    assert isinstance(before, str)
    return before


def _patient_columns(url: URL) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("patient")}
    finally:
        engine.dispose()


def test_existing_patients_keep_null_and_new_ones_keep_both(
    db_url: URL, protocol: Protocol
) -> None:
    before = _before_0026()
    migrate(db_url, before)
    assert not {"birth_year", "consent_date"} & _patient_columns(db_url)
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol, "P01")  # enrolled before the upgrade
        # To head, not 0026: the store's models read the later revisions' columns too.
        migrate(db_url, HEAD_REVISION)
        assert {"birth_year", "consent_date"} <= _patient_columns(db_url)
        with UnitOfWork(engine, "staff:1", NOW) as uow:
            enroll_patient(
                uow,
                protocol,
                study_id="P02",
                arm="mt_only",
                day0=DAY0,
                sex="M",
                weight_kg="70",
                language="en",
                timezone="Asia/Shanghai",
                daily_dose_reminders=False,
                birth_year=1984,
                consent_date=date(2026, 11, 28),
            )
        with read_session(engine) as session:
            records = {p.study_id: p for p in load_trial_data(session, SHANGHAI).patients}
        old, new = records["P01"], records["P02"]
        assert (old.birth_year, old.consent_date, old.age) == (None, None, None)
        assert (new.birth_year, new.consent_date, new.age) == (1984, date(2026, 11, 28), 42)

        migrate(db_url, before)
        assert current_revision(db_url) == before
        assert not {"birth_year", "consent_date"} & _patient_columns(db_url)
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT study_id FROM patient ORDER BY id")).all()
        assert [row[0] for row in kept] == ["P01", "P02"]
    finally:
        engine.dispose()
