"""`python -m bot audit verify` reconciles the clinical tables with the audit trail: a value
changed directly in its table is named with its table, key, stored and expected value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from bot import cli
from core.protocol import Protocol
from core.schedule import Slot
from core.store.clinical import (
    AdverseEventEntry,
    LabValue,
    record_adverse_event,
    record_cd20,
    record_dose,
    record_lab_panel,
    record_weight,
)
from core.store.models import Cd20Unit, Drug, Patient, Reminder, ReminderStatus
from core.store.reconcile import AuditedTable, Change, replay
from core.store.reminder_answers import Outcome, record_reminder_answer
from core.store.uow import UnitOfWork
from core.units import Analyte
from tests.support.store_fixtures import enroll, url_text

NOW = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
NURSE = "staff:7"


class Trial:
    """A patient with a lab result, a new weight, an adverse event, a dose, a CD20 count
    and an answered reminder: the ids of what the tests edit."""

    def __init__(self, engine: Engine, protocol: Protocol) -> None:
        self.patient = enroll(engine, protocol, "P01")
        with UnitOfWork(engine, NURSE, NOW) as uow:
            record_lab_panel(
                uow,
                protocol,
                self.patient,
                "P01",
                week=4,
                collected_on=date(2026, 12, 28),
                collected_at=NOW,
                uti=False,
                results=[LabValue(Analyte.URINE_PROTEIN_24H.value, Decimal("0.25"), "g/24h")],
            )
            self.lab = _lab_id(uow, self.patient)
        with UnitOfWork(engine, NURSE, NOW) as uow:
            record_weight(uow, self.patient, "P01", Decimal("58.5"))
        with UnitOfWork(engine, NURSE, NOW) as uow:
            entry = AdverseEventEntry("lung infection", "lung_infection", 3, (), date(2026, 12, 20))
            ae = record_adverse_event(uow, self.patient, "P01", entry)
            assert ae.id is not None
            self.ae = ae.id
        with UnitOfWork(engine, NURSE, NOW) as uow:
            dose = record_dose(
                uow,
                protocol,
                self.patient,
                "P01",
                drug=Drug.MMF,
                amount=Decimal("0.75"),
                unit="g",
                given_on=date(2026, 12, 20),
            ).row
            assert dose.id is not None
            self.dose = dose.id
            record_cd20(
                uow,
                protocol,
                self.patient,
                "P01",
                week=4,
                value=Decimal("5"),
                unit=Cd20Unit.PER_UL,
                collected_on=date(2026, 12, 28),
                collected_at=NOW,
            )
        self.reminder = _answer_a_reminder(engine, self.patient)


def _lab_id(uow: UnitOfWork, patient_id: int) -> int:
    found = uow.session.execute(
        text("SELECT id FROM lab_result WHERE patient_id = :p"), {"p": patient_id}
    ).scalar_one()
    return int(found)


def _answer_a_reminder(engine: Engine, patient_id: int) -> int:
    with UnitOfWork(engine, "system", NOW) as uow:
        reminder = uow.session.execute(
            text("SELECT id FROM reminder WHERE patient_id = :p ORDER BY id LIMIT 1"),
            {"p": patient_id},
        ).scalar_one()
        row = uow.session.get(Reminder, reminder)
        assert row is not None
        uow.update(row, "reminder.sent", status=ReminderStatus.SENT, message_id=1)
    with UnitOfWork(engine, "patient:P01", NOW) as uow:
        answer = record_reminder_answer(
            uow, patient_id, reminder, "done", choices={slot: {"done"} for slot in Slot}
        )
        assert answer.outcome == Outcome.RECORDED
    return int(reminder)


def _edit(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        assert connection.execute(text(sql), params).rowcount == 1


def _verify(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    code = cli.main(["audit", "verify"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clean_clinical_data_reconciles(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Trial(engine, protocol)
    code, out, err = _verify(db_url, monkeypatch, capsys)
    assert code == 0, err
    assert "chain intact" in out
    assert "clinical data reconciled" in out


def test_a_lab_value_a_weight_and_an_ae_grade_edited_in_their_tables_are_reported(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trial = Trial(engine, protocol)
    _edit(engine, "UPDATE lab_result SET value = '2.5' WHERE id = :id", id=trial.lab)
    _edit(engine, "UPDATE patient SET weight_kg = '48.5' WHERE id = :id", id=trial.patient)
    _edit(engine, "UPDATE adverse_event SET grade = 2 WHERE id = :id", id=trial.ae)

    code, out, err = _verify(db_url, monkeypatch, capsys)

    assert code == 1
    assert "chain intact" in out  # the trail itself was not touched: the tables were
    assert "3 clinical value(s) differ" in err
    assert f"lab_result {trial.lab} value: stored 2.5, expected 0.25" in err
    # The weight the nurse recorded after enrollment (62.5 -> 58.5), not the first one.
    assert f"patient {trial.patient} weight_kg: stored 48.5, expected 58.5" in err
    assert f"adverse_event {trial.ae} grade: stored 2, expected 3" in err


def test_a_deleted_dose_a_forged_answer_and_an_unrecorded_row_are_reported(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trial = Trial(engine, protocol)
    _edit(engine, "DELETE FROM dose_administration WHERE id = :id", id=trial.dose)
    _edit(engine, "UPDATE reminder SET response = 'skipped' WHERE id = :id", id=trial.reminder)
    forged = trial.reminder + 1
    _edit(engine, "UPDATE reminder SET response = 'done' WHERE id = :id", id=forged)
    # A second CD20 count, copied from the first by hand.
    _edit(
        engine,
        "INSERT INTO cd20_count (patient_id, week, value, unit, collected_at, entered_by,"
        " entered_at) SELECT patient_id, 12, value, unit, collected_at, entered_by, entered_at"
        " FROM cd20_count",
    )

    code, _, err = _verify(db_url, monkeypatch, capsys)

    assert code == 1
    assert f"dose_administration {trial.dose}: the audit trail has this row" in err
    assert f"reminder {trial.reminder} response: stored skipped, expected done" in err
    assert f"reminder {forged} response: stored done, expected (none)" in err
    assert "the table has this row but the audit trail never recorded it" in err
    assert "cd20_count 2:" in err


def test_replay_reads_older_records_whose_columns_the_table_has_since_changed() -> None:
    """A record from before a migration: a column since dropped is ignored, one since
    added is not known (so not compared) until a later record sets it."""
    old = Change("1", None, {"id": 1, "study_id": "P01", "telegram_user_id": 5, "weight_kg": "60"})
    weight = Change("1", {"weight_kg": "60"}, {"weight_kg": "61"})
    channel = Change("1", {"preferred_channel": None}, {"preferred_channel": "wechat"})
    columns = ["id", "study_id", "weight_kg", "preferred_channel"]

    rows = replay(AuditedTable(Patient), columns, [old, weight])
    assert rows == {"1": {"id": 1, "study_id": "P01", "weight_kg": "61"}}

    rows = replay(AuditedTable(Patient), columns, [old, weight, channel])
    assert rows["1"]["preferred_channel"] == "wechat"


def test_a_batch_record_of_reminders_is_not_taken_for_an_answer() -> None:
    batch = Change("4,5,6", None, {"ids": [4, 5, 6], "status": "claimed"})
    answer = Change("5", {"response": None}, {"response": "done", "responded_at": "x"})
    table = AuditedTable(Reminder, whole_rows=False, columns=("response", "responded_at"))
    assert replay(table, ["id", "response", "responded_at", "status"], [batch, answer]) == {
        "5": {"response": "done", "responded_at": "x"}
    }
