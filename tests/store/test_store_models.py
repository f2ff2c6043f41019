"""Table rules that the database itself enforces, and what the schema never holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from core.protocol import Protocol
from core.store import services
from core.store.db import read_session
from core.store.models import AdverseEvent, Invite, InviteRole
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import count, enroll

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_schema_has_no_column_for_a_name_or_a_phone_number() -> None:
    """docs/DESIGN.md §4: the trial knows study IDs, never names or phones (nor dates of
    birth: only the year)."""
    personal = re.compile(
        r"(^|_)(name|surname|phone|mobile|tel|telephone|email|address|birth)(_|$)"
    )
    columns = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
    ]
    assert len(columns) > 100
    # The year of birth alone is kept (for the age at day 0): not a date of birth.
    allowed = {"patient.birth_year"}
    assert [c for c in columns if personal.search(c.split(".")[1]) and c not in allowed] == []


def _invite(token: str, role: InviteRole, patient_id: int | None) -> Invite:
    return Invite(
        token_hash=services.hash_token(token),
        role=role,
        patient_id=patient_id,
        created_by="staff:1",
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def test_an_invite_is_found_by_its_token_which_is_not_stored(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    token = "x7Qk3mP-the-secret-part"
    with UnitOfWork(engine, "staff:1", NOW) as uow:
        uow.add(_invite(token, InviteRole.PATIENT, pid), "invite.created")
    with read_session(engine) as session:
        found = services.invite_by_token(session, token)
        assert found is not None and found.patient_id == pid
        assert found.token_hash != token and len(found.token_hash) == 64
        assert services.invite_by_token(session, token + "x") is None
    with engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.exec_driver_sql("SELECT * FROM invite"))
        audit = "\n".join(
            str(row) for row in connection.exec_driver_sql("SELECT * FROM audit_record")
        )
    assert token not in dump and token not in audit


@pytest.mark.parametrize(
    ("role", "with_patient"),
    [(InviteRole.PATIENT, False), (InviteRole.NURSE, True)],
)
def test_a_patient_invite_names_a_patient_and_a_staff_invite_does_not(
    engine: Engine, protocol: Protocol, role: InviteRole, with_patient: bool
) -> None:
    pid = enroll(engine, protocol)
    with pytest.raises(IntegrityError), UnitOfWork(engine, "staff:1", NOW) as uow:
        uow.add(_invite("t", role, pid if with_patient else None), "invite.created")
    assert count(engine, Invite) == 0


def _ae(patient_id: int, grade: int, **flags: bool) -> AdverseEvent:
    ae = AdverseEvent(
        patient_id=patient_id,
        ctcae_version="5.0",
        term="Headache",
        verbatim="头痛",
        coded=True,
        grade=grade,
        onset_date=date(2026, 12, 3),
        awareness_at=NOW,
        reported_by="staff:1",
        reported_at=NOW,
    )
    for flag, value in flags.items():
        setattr(ae, flag, value)
    return ae


@pytest.mark.parametrize(
    ("flags", "serious"),
    [
        ({}, False),
        ({"hospitalization": True}, True),
        ({"important_medical_event": True}, True),
        ({"death": True, "life_threatening": True}, True),
    ],
)
def test_seriousness_is_derived_from_the_six_criteria(
    engine: Engine, protocol: Protocol, flags: dict[str, bool], serious: bool
) -> None:
    pid = enroll(engine, protocol)
    with UnitOfWork(engine, "staff:1", NOW) as uow:
        ae = uow.add(_ae(pid, 3, **flags), "ae.reported")
    with read_session(engine) as session:
        stored = session.get(AdverseEvent, ae.id)
        assert stored is not None and stored.serious is serious
        assert stored.verbatim == "头痛"


@pytest.mark.parametrize("grade", [0, 6])
def test_a_grade_outside_one_to_five_is_refused_by_the_database(
    engine: Engine, protocol: Protocol, grade: int
) -> None:
    pid = enroll(engine, protocol)
    with pytest.raises(IntegrityError), UnitOfWork(engine, "staff:1", NOW) as uow:
        uow.add(_ae(pid, grade), "ae.reported")
    assert count(engine, AdverseEvent) == 0
