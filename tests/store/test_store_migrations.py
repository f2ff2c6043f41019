"""Alembic migrations: from empty to head and back, and they match the models."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from bot import cli
from core.protocol import Protocol
from core.schedule import EventKind, Slot
from core.store.audit import verify
from core.store.clinical import LabValue, record_lab_panel
from core.store.db import make_engine, read_session
from core.store.migrate import current_revision, head_revision, migrate, schema_differences
from core.store.models import (
    EventStatus,
    ProtocolDeviation,
    Reminder,
    ReminderStatus,
)
from core.store.schema import HEAD_REVISION, ensure_schema, stored_revision
from core.store.services import claim_due_reminders
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import count, enroll, url_text

MODEL_TABLES = set(SQLModel.metadata.tables)


def _tables(url: URL) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head_then_downgrade_to_empty(db_url: URL) -> None:
    assert _tables(db_url) == set()
    before, after = migrate(db_url, "head")
    assert (before, after) == (None, head_revision())
    assert _tables(db_url) == MODEL_TABLES | {"alembic_version"}
    assert {"patient", "reminder", "audit_record", "adverse_event"} <= MODEL_TABLES

    before, after = migrate(db_url, "base")
    assert (before, after) == (head_revision(), None)
    assert _tables(db_url) == {"alembic_version"}  # Alembic's bookkeeping only, and empty
    assert current_revision(db_url) is None

    migrate(db_url)  # and up again
    assert _tables(db_url) == MODEL_TABLES | {"alembic_version"}


def test_the_models_and_the_migrations_agree(db_url: URL) -> None:
    migrate(db_url)
    assert schema_differences(db_url) == []


def test_the_comparison_would_see_a_difference(db_url: URL) -> None:
    """The agreement check can fail: drift the database and it reports it."""
    migrate(db_url)
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_reminder_status_due_at"))
        connection.execute(text("ALTER TABLE staff ADD COLUMN full_name VARCHAR(80)"))
    engine.dispose()
    differences = [str(d) for d in schema_differences(db_url)]
    assert any("ix_reminder_status_due_at" in d for d in differences)
    assert any("full_name" in d for d in differences)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("reminder", "status", "'bogus'"),
        ("reminder", "slot", "'dose_9'"),
        ("planned_event", "kind", "'picnic'"),
        ("planned_event", "status", "'lost'"),
    ],
)
def test_the_migrated_schema_refuses_values_outside_a_vocabulary(
    db_url: URL, protocol: Protocol, table: str, column: str, value: str
) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol)
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET {column} = {value}"))
    finally:
        engine.dispose()


def test_the_migrated_schema_accepts_every_value_of_a_vocabulary(
    db_url: URL, protocol: Protocol
) -> None:
    """The vocabulary CHECKs (rewritten as comparisons in 0008) let every member in."""
    migrate(db_url)
    engine = make_engine(db_url)
    vocabularies: list[tuple[str, str, type[StrEnum]]] = [
        ("reminder", "status", ReminderStatus),
        ("reminder", "slot", Slot),
        ("planned_event", "kind", EventKind),
        ("planned_event", "status", EventStatus),
    ]
    try:
        enroll(engine, protocol)
        # and a column of the unique key made unique too, so only the CHECK can refuse
        spare = {"reminder": "revision", "planned_event": "number"}
        for table, column, vocabulary in vocabularies:
            for i, member in enumerate(vocabulary):
                with engine.begin() as connection:
                    row = connection.execute(text(f"SELECT min(id) FROM {table}")).scalar_one()
                    connection.execute(
                        text(
                            f"UPDATE {table} SET {column} = :value, {spare[table]} = :spare "
                            "WHERE id = :id"
                        ),
                        {"value": member.value, "spare": 1000 + i, "id": row},
                    )
    finally:
        engine.dispose()


def test_the_migrated_schema_runs_the_store(db_url: URL, protocol: Protocol) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol)
        with UnitOfWork(engine, "system", datetime(2027, 12, 1, tzinfo=UTC)) as uow:
            claimed = claim_due_reminders(uow, limit=5, worker="w1")
        assert len(claimed) == 5
        assert count(engine, Reminder) > 5
        with read_session(engine) as session:
            assert verify(session) is None
    finally:
        engine.dispose()


def test_the_migrate_command(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    assert cli.main(["migrate"]) == 0
    assert head_revision() in capsys.readouterr().out
    assert current_revision(db_url) == head_revision()
    assert cli.main(["migrate", "--to", "no-such-revision"]) == 2
    assert "no-such-revision" in capsys.readouterr().err
    assert cli.main(["migrate", "--to", "base"]) == 0
    assert _tables(db_url) == {"alembic_version"}
    assert cli.main(["migrate", "--to", head_revision()]) == 0
    assert current_revision(db_url) == head_revision()


def test_0013_adds_the_protocol_deviation_table_and_takes_it_away(
    db_url: URL, protocol: Protocol
) -> None:
    """Up: the deviations of entries outside their windows can be stored; down: the table
    goes and every other record stays."""
    migrate(db_url, "0012")
    assert "protocol_deviation" not in _tables(db_url)
    engine = make_engine(db_url)
    try:
        pid = enroll(engine, protocol)
        migrate(db_url, "0013")
        assert "protocol_deviation" in _tables(db_url)
        migrate(db_url)  # the store's services write through today's models
        with UnitOfWork(engine, "staff:1", datetime(2026, 12, 21, 2, 0, tzinfo=UTC)) as uow:
            record_lab_panel(
                uow,
                protocol,
                pid,
                "P01",
                week=4,
                collected_on=date(2026, 12, 21),  # 5 days before week 4's window
                collected_at=datetime(2026, 12, 21, 0, 0, tzinfo=UTC),
                uti=False,
                results=(LabValue("serum_creatinine", Decimal("70"), "umol/L"),),
                reason="admitted elsewhere",
            )
        assert count(engine, ProtocolDeviation) == 1
        with engine.connect() as connection:
            with pytest.raises(IntegrityError):
                connection.execute(text("UPDATE protocol_deviation SET timing = 'sometime'"))
            connection.rollback()
        migrate(db_url, "0012")
        assert "protocol_deviation" not in _tables(db_url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM lab_result")).scalar_one() == 1
        with read_session(engine) as session:
            assert verify(session) is None
        migrate(db_url)
        assert schema_differences(db_url) == []
    finally:
        engine.dispose()


def test_an_unknown_revision_is_refused(db_url: URL) -> None:
    with pytest.raises(CommandError):
        migrate(db_url, "ffffffff")


def test_the_recorded_head_is_alembics_head() -> None:
    """A new migration must also be named in core.store.schema, or start-up would
    take an old database for an up-to-date one."""
    assert head_revision() == HEAD_REVISION


def test_start_up_brings_an_old_or_empty_database_to_head(db_url: URL) -> None:
    assert ensure_schema(db_url) == (None, head_revision())
    migrate(db_url, "0007")
    assert stored_revision(db_url) == "0007"
    assert ensure_schema(db_url) == ("0007", head_revision())
    assert _tables(db_url) == MODEL_TABLES | {"alembic_version"}


# A fresh interpreter, to see which modules start-up imports.
@pytest.mark.e2e
def test_start_up_on_a_database_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    script = (
        "import sys\n"
        "from core.store.schema import ensure_schema\n"
        f"print(ensure_schema({url!r}), 'alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    assert out.strip() == f"('{head_revision()}', '{head_revision()}') False"


def test_0015_keeps_delivered_reminders_and_their_exact_message_ids(
    db_url: URL, protocol: Protocol
) -> None:
    """Up: a reminder can be delivered and keep WeChat's msgid (above 2**53) exactly; down:
    it reads as sent with the same id under the old column name; up again: unchanged."""
    msgid = 2**60 + 7  # a float would round it
    migrate(db_url, "0015")
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol)
        with engine.begin() as connection:
            first = connection.execute(text("SELECT min(id) FROM reminder")).scalar_one()
            connection.execute(
                text("UPDATE reminder SET status = 'delivered', message_id = :m WHERE id = :i"),
                {"m": msgid, "i": first},
            )
        migrate(db_url, "0014")
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, telegram_message_id FROM reminder WHERE id = :i"),
                {"i": first},
            ).one()
        assert (row[0], int(row[1])) == ("sent", msgid)
        migrate(db_url, "0015")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT message_id FROM reminder WHERE id = :i"), {"i": first}
            ).scalar_one()
        assert int(kept) == msgid
        with read_session(engine) as session:
            assert verify(session) is None
    finally:
        engine.dispose()


def test_0016_keeps_earlier_results_as_measured_and_will_not_drop_a_below_limit_one(
    db_url: URL, protocol: Protocol
) -> None:
    """Up: results stored before are measured values; a result below the detection limit
    keeps its flag; down is refused while one exists (it would read as the limit itself)."""
    migrate(db_url, "0015")
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol)
        stamp = "2026-12-01 00:00:00+00:00"
        with engine.begin() as connection:
            patient = connection.execute(text("SELECT min(id) FROM patient")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO lab_result (patient_id, week, analyte, value, unit, "
                    "collected_at, uti, entered_by, entered_at) VALUES (:p, 24, "
                    "'urine_protein_24h', '0.25', 'g/24h', :t, false, 'staff:1', :t)"
                ),
                {"p": patient, "t": stamp},
            )
        migrate(db_url, "0016")
        with engine.begin() as connection:
            assert connection.execute(
                text("SELECT below_limit FROM lab_result")
            ).scalars().all() == [False]
            connection.execute(text("UPDATE lab_result SET below_limit = true, value = '0.1'"))
        with pytest.raises(RuntimeError, match="1 lab results are below the detection limit"):
            migrate(db_url, "0015")
        assert current_revision(db_url) == "0016"
        with engine.begin() as connection:
            connection.execute(text("UPDATE lab_result SET below_limit = false, value = '0.25'"))
        migrate(db_url, "0015")
        assert "below_limit" not in {c["name"] for c in inspect(engine).get_columns("lab_result")}
    finally:
        engine.dispose()


def test_0017_takes_a_claim_from_before_it_as_handed_over_so_it_keeps_its_repeat(
    db_url: URL, protocol: Protocol
) -> None:
    """Up: a reminder ``sending`` under the old code (which could not tell) reads as handed
    to its channel when it was claimed, so recovery repeats it once as before; the others
    have no hand-off. Down: the column goes."""
    migrate(db_url, "0016")
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol)
        stamp = "2026-12-01 00:00:00+00:00"
        with engine.begin() as connection:
            first = connection.execute(text("SELECT min(id) FROM reminder")).scalar_one()
            connection.execute(
                text(
                    "UPDATE reminder SET status = 'sending', claimed_by = 'host-1', "
                    "claimed_at = :t, attempts = 1 WHERE id = :i"
                ),
                {"t": stamp, "i": first},
            )
        migrate(db_url, "0017")
        with read_session(engine) as session:
            rows = session.exec(select(Reminder)).all()
            handed = {r.id: r.handed_at for r in rows if r.handed_at is not None}
        assert handed == {first: datetime(2026, 12, 1, tzinfo=UTC)}
        migrate(db_url, "0016")
        assert "handed_at" not in {c["name"] for c in inspect(engine).get_columns("reminder")}
    finally:
        engine.dispose()


def test_0018_adds_link_invitations_and_will_not_drop_an_unused_one(db_url: URL) -> None:
    """Up: earlier invitations link no one. Down: refused while an unused link invitation
    exists (it would become an invitation for a new member), then the column goes."""
    migrate(db_url, "0017")
    engine = make_engine(db_url)
    try:
        stamp = "2026-12-01 00:00:00+00:00"
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO staff (role, active, created_at) VALUES ('nurse', true, :t)"),
                {"t": stamp},
            )
            connection.execute(
                text(
                    "INSERT INTO invite (token_hash, role, created_by, created_at, expires_at) "
                    "VALUES (:h, 'nurse', 'system', :t, :t)"
                ),
                {"h": "a" * 64, "t": stamp},
            )
        migrate(db_url, "0018")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT staff_id FROM invite")).scalars().all() == [None]
            staff = connection.execute(text("SELECT id FROM staff")).scalar_one()
            connection.execute(text("UPDATE invite SET staff_id = :s"), {"s": staff})
        with pytest.raises(RuntimeError, match="1 link invitations are unused"):
            migrate(db_url, "0017")
        assert current_revision(db_url) == "0018"
        with engine.begin() as connection:
            connection.execute(text("UPDATE invite SET used_at = :t"), {"t": stamp})
        migrate(db_url, "0017")
        assert "staff_id" not in {c["name"] for c in inspect(engine).get_columns("invite")}
    finally:
        engine.dispose()


def test_0023_adds_the_process_lock_table_and_takes_it_away(db_url: URL) -> None:
    """Up: an empty lock table (no process holds anything yet). Down: it goes."""
    migrate(db_url, "0018")
    assert "process_lock" not in _tables(db_url)
    migrate(db_url, "0023")
    assert "process_lock" in _tables(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM process_lock")).scalar_one() == 0
    finally:
        engine.dispose()
    migrate(db_url, "0018")
    assert "process_lock" not in _tables(db_url)


def test_0024_starts_every_event_at_sequence_0_and_drops_it_on_the_way_down(db_url: URL) -> None:
    """Up: events planned before it carry SEQUENCE 0, so their next move gives 1, above
    what any phone holds. Down: the column goes."""
    migrate(db_url, "0018")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO patient (study_id, arm, day0, sex, weight_kg, language, "
                    "status, created_at, timezone, daily_dose_reminders) VALUES "
                    "('P01', 'belimumab_mt', '2026-12-01', 'F', 60, 'en', 'active', "
                    "'2026-12-01 00:00:00+00:00', 'Asia/Shanghai', false)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO planned_event (patient_id, kind, number, week, target_date, "
                    "scheduled_date, window_before, window_after, starts_at, status) "
                    "SELECT id, 'belimumab_infusion', 1, 2, '2026-12-15', '2026-12-16', 3, 3, "
                    "'2026-12-16 01:00:00+00:00', 'planned' FROM patient"
                )
            )
        migrate(db_url, "0024")
        with engine.begin() as connection:
            assert connection.execute(
                text("SELECT sequence FROM planned_event")
            ).scalars().all() == [0]
        migrate(db_url, "0018")
        assert "sequence" not in {c["name"] for c in inspect(engine).get_columns("planned_event")}
    finally:
        engine.dispose()


def test_0025_indexes_the_trail_by_actor_and_drops_the_index_on_the_way_down(
    db_url: URL,
) -> None:
    migrate(db_url, "0025")
    engine = make_engine(db_url)
    try:
        indexes = {
            i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_record")
        }
        assert indexes["ix_audit_record_actor_at"] == ["actor", "at"]
        migrate(db_url, "0024")
        names = {i["name"] for i in inspect(engine).get_indexes("audit_record")}
        assert "ix_audit_record_actor_at" not in names
    finally:
        engine.dispose()


def test_0027_adds_the_follow_up_columns_and_will_not_drop_a_recorded_end(db_url: URL) -> None:
    """Up: events stored before have no end date nor per-drug relatedness. Down: refused
    while an event has an end date; allowed once none has."""
    migrate(db_url, "0027")
    engine = make_engine(db_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("adverse_event")}
        assert {
            "end_date",
            "related_belimumab",
            "related_mmf",
            "related_tacrolimus",
            "related_methylprednisolone",
        } <= columns
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO patient (study_id, arm, day0, sex, weight_kg, language, "
                    "status, created_at, timezone, daily_dose_reminders) VALUES "
                    "('P01', 'belimumab_mt', '2026-12-01', 'F', 60, 'en', 'active', "
                    "'2026-12-01 00:00:00+00:00', 'Asia/Shanghai', false)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO adverse_event (patient_id, ctcae_version, verbatim, coded, "
                    "grade, death, life_threatening, hospitalization, disability, "
                    "congenital_anomaly, important_medical_event, onset_date, awareness_at, "
                    "reported_by, reported_at, outcome, end_date) SELECT id, '5.0', 'rash', "
                    "false, 1, false, false, false, false, false, false, '2026-12-02', "
                    "'2026-12-02 00:00:00+00:00', 'staff:1', '2026-12-02 00:00:00+00:00', "
                    "'recovered', '2026-12-04' FROM patient"
                )
            )
        with pytest.raises(RuntimeError, match="1 adverse events have an end date"):
            migrate(db_url, "0025")
        with engine.begin() as connection:
            connection.execute(text("UPDATE adverse_event SET end_date = NULL"))
        migrate(db_url, "0025")
        columns = {c["name"] for c in inspect(engine).get_columns("adverse_event")}
        assert "end_date" not in columns
    finally:
        engine.dispose()
