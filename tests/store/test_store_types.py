"""Instants come back aware and in UTC; clinical numbers keep their exact text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import select

from core.store.db import read_session
from core.store.models import LabResult, Patient, Reminder, Sex
from core.store.types import NaiveDatetimeError
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import POSTGRES_ONLY, SQLITE_ONLY, count

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _patient(created_at: datetime, **kw: object) -> Patient:
    values: dict[str, object] = {
        "study_id": "P01",
        "arm": "belimumab_mt",
        "day0": date(2026, 12, 1),
        "sex": Sex.F,
        "weight_kg": "62.5",
        "language": "zh_Hans",
        "timezone": "Asia/Shanghai",
        "created_at": created_at,
    }
    values.update(kw)
    return Patient.model_validate(values)


def _store_patient(engine: Engine, created_at: datetime, **kw: object) -> int:
    with UnitOfWork(engine, "system", datetime(2026, 11, 1, tzinfo=UTC)) as uow:
        patient = uow.add(_patient(created_at, **kw), "patient.enrolled")
    assert patient.id is not None
    return patient.id


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI),  # +08:00
        datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI),  # the previous day in UTC
        datetime(2026, 3, 29, 1, 59, 59, tzinfo=ZoneInfo("Europe/Berlin")),  # before DST
        datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
    ],
)
def test_an_instant_comes_back_equal_aware_and_in_utc(engine: Engine, moment: datetime) -> None:
    pid = _store_patient(engine, moment, unreachable_since=moment)
    with read_session(engine) as session:
        got = session.get(Patient, pid)
        assert got is not None
        for value in (got.created_at, got.unreachable_since):
            assert value == moment
            assert value is not None and value.utcoffset() == timedelta(0)
            assert value.tzinfo is UTC
            assert value.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)


@SQLITE_ONLY
def test_sqlite_stores_the_utc_wall_clock(engine: Engine) -> None:
    _store_patient(engine, datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI))
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT created_at FROM patient")).scalar_one()
    assert raw.startswith("2026-12-01 01:30:00")


@POSTGRES_ONLY
def test_postgresql_session_time_zone_does_not_leak_into_values(engine: Engine) -> None:
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
    pid = _store_patient(engine, moment)
    with read_session(engine) as session:
        session.execute(text("SET TIME ZONE 'America/New_York'"))
        got = session.get(Patient, pid)
        assert got is not None
        assert got.created_at == moment
        assert got.created_at.tzinfo is UTC


def test_a_naive_datetime_is_refused_and_nothing_is_stored(engine: Engine) -> None:
    with (
        pytest.raises(StatementError) as excinfo,
        UnitOfWork(engine, "system", datetime(2026, 11, 1, tzinfo=UTC)) as uow,
    ):
        uow.add(_patient(datetime(2026, 12, 1, 9, 30)), "patient.enrolled")
    assert isinstance(excinfo.value.orig, NaiveDatetimeError)
    assert count(engine, Patient) == 0


def test_a_naive_datetime_is_refused_in_a_query_too(engine: Engine) -> None:
    with read_session(engine) as session, pytest.raises(StatementError) as excinfo:
        session.exec(select(Reminder).where(Reminder.due_at <= datetime(2026, 12, 1))).all()
    assert isinstance(excinfo.value.orig, NaiveDatetimeError)


def test_a_unit_of_work_needs_an_aware_now(engine: Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        UnitOfWork(engine, "system", datetime(2026, 11, 1))


def _lab(patient_id: int, value: object, ref_high: str | None = None) -> LabResult:
    moment = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    lab = LabResult(
        patient_id=patient_id,
        analyte="serum_creatinine",
        value="0",
        unit="µmol/L",
        ref_high=ref_high,
        collected_at=moment,
        entered_by="staff:1",
        entered_at=moment,
    )
    lab.value = value  # type: ignore[assignment]  # the store, not pydantic, must refuse
    return lab


@pytest.mark.parametrize("entered", ["0.90", "69", "1.500", "-0.0", "1E+2", "0.000001", "84.0"])
def test_decimal_text_comes_back_exactly_as_entered(engine: Engine, entered: str) -> None:
    pid = _store_patient(engine, datetime(2026, 11, 1, tzinfo=UTC), weight_kg=entered)
    with UnitOfWork(engine, "staff:1", datetime(2026, 12, 1, tzinfo=UTC)) as uow:
        lab = uow.add(_lab(pid, entered, ref_high=entered), "lab.entered")
    with read_session(engine) as session:
        stored = session.get(LabResult, lab.id)
        patient = session.get(Patient, pid)
        assert stored is not None and patient is not None
        assert (stored.value, stored.ref_high, patient.weight_kg) == (entered, entered, entered)


@pytest.mark.parametrize("bad", ["", " 1.0", "abc", "NaN", "Infinity", "1,5", 0.9])
def test_text_that_is_not_a_finite_decimal_is_refused(engine: Engine, bad: object) -> None:
    pid = _store_patient(engine, datetime(2026, 11, 1, tzinfo=UTC))
    with (
        pytest.raises(StatementError) as excinfo,
        UnitOfWork(engine, "staff:1", datetime(2026, 12, 1, tzinfo=UTC)) as uow,
    ):
        uow.add(_lab(pid, bad), "lab.entered")
    assert isinstance(excinfo.value.orig, ValueError | TypeError)
    assert count(engine, LabResult) == 0
