"""The audit trail: every change recorded, hash-chained, and checkable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine
from sqlmodel import select

from bot import cli
from core.protocol import Protocol
from core.store.audit import GENESIS_HASH, record_hash, verify, verify_chain
from core.store.db import make_engine, read_session
from core.store.identities import bind_account
from core.store.migrate import migrate
from core.store.models import AuditHead, AuditRecord, Channel, Patient, Staff, StaffRole
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import BEFORE_PLAN, SQLITE_ONLY, count, enroll, url_text

ROOT = Path(__file__).resolve().parents[2]
LATER = BEFORE_PLAN + timedelta(days=3)


def _records(engine: Engine) -> list[AuditRecord]:
    with read_session(engine) as session:
        return list(session.exec(select(AuditRecord).order_by(AuditRecord.seq)).all())  # type: ignore[arg-type]


def _history(engine: Engine, protocol: Protocol) -> int:
    """Several changes by several actors; returns the number of audit records."""
    pid = enroll(engine, protocol, "P01")
    enroll(engine, protocol, "P02", arm="mt_only")
    with UnitOfWork(engine, "patient:P01", LATER) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        bind_account(uow, patient, Channel.TELEGRAM, "11", "11")
    with UnitOfWork(engine, "staff:1", LATER, reason="moved to another city") as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        uow.update(patient, "patient.withdrawn", status="withdrawn", withdrawn_reason="moved")
        uow.add(Staff(role=StaffRole.NURSE, created_at=LATER), "staff.joined")
    return len(_records(engine))


def test_the_chain_links_every_record_to_the_one_before(engine: Engine, protocol: Protocol) -> None:
    n = _history(engine, protocol)
    records = _records(engine)
    assert [r.seq for r in records] == list(range(1, n + 1))
    assert records[0].prev_hash == "0" * 64 == GENESIS_HASH
    for before, after in pairwise(records):
        assert after.prev_hash == before.hash
    # The hash is SHA-256 over the canonical JSON of every other field.
    r = records[-1]
    canonical = json.dumps(
        {
            "seq": r.seq,
            "at": r.at.isoformat(timespec="microseconds"),
            "actor": r.actor,
            "action": r.action,
            "entity": r.entity,
            "entity_key": r.entity_key,
            "before": r.before,
            "after": r.after,
            "reason": r.reason,
            "prev_hash": r.prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert r.hash == hashlib.sha256(canonical.encode()).hexdigest()
    with read_session(engine) as session:
        assert verify_chain(session) is None
        head = session.get(AuditHead, 1)
        assert head is not None and (head.last_seq, head.last_hash) == (n, r.hash)


def test_an_update_records_before_after_actor_and_reason(
    engine: Engine, protocol: Protocol
) -> None:
    _history(engine, protocol)
    withdrawn = next(r for r in _records(engine) if r.action == "patient.withdrawn")
    assert withdrawn.actor == "staff:1"
    assert withdrawn.entity == "patient"
    assert withdrawn.at == LATER
    assert withdrawn.reason == "moved to another city"
    assert json.loads(withdrawn.before or "") == {"status": "active", "withdrawn_reason": None}
    assert json.loads(withdrawn.after or "") == {"status": "withdrawn", "withdrawn_reason": "moved"}


def test_an_update_that_changes_nothing_writes_nothing(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    n = count(engine, AuditRecord)
    with UnitOfWork(engine, "staff:1", LATER) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        uow.update(patient, "patient.edited", weight_kg="62.5", study_id="P01")
    assert count(engine, AuditRecord) == n


def test_an_unknown_column_is_refused(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    with UnitOfWork(engine, "staff:1", LATER) as uow:
        patient = uow.session.get(Patient, pid)
        assert patient is not None
        with pytest.raises(AttributeError, match="name"):
            uow.update(patient, "patient.edited", name="Zhang San")


def test_a_change_and_its_audit_record_roll_back_together(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    n = count(engine, AuditRecord)

    def withdraw_then_fail() -> None:
        with UnitOfWork(engine, "staff:1", LATER) as uow:
            patient = uow.session.get(Patient, pid)
            assert patient is not None
            uow.update(patient, "patient.withdrawn", status="withdrawn")
            raise RuntimeError("the bot failed before the end")

    with pytest.raises(RuntimeError):
        withdraw_then_fail()
    with read_session(engine) as session:
        patient = session.get(Patient, pid)
        assert patient is not None and patient.status == "active"
        assert verify(session) is None
    assert count(engine, AuditRecord) == n


@pytest.mark.parametrize("actor", ["Zhang San", "staff:", "patient:", "staff:abc", "", "SYSTEM"])
def test_an_actor_must_be_a_staff_or_patient_id_or_system(engine: Engine, actor: str) -> None:
    with pytest.raises(ValueError, match="actor"):
        UnitOfWork(engine, actor, LATER)


def _edit_after(connection: object, seq: int) -> None:
    connection.execute(  # type: ignore[attr-defined]
        text("UPDATE audit_record SET after = :a WHERE seq = :s"),
        {"a": '{"status":"active"}', "s": seq},
    )


def _edit_and_rehash(engine: Engine, seq: int) -> None:
    with UnitOfWork(engine, "system", LATER) as uow:  # a forger with database access
        record = uow.session.get(AuditRecord, seq)
        assert record is not None
        record.reason = "nothing happened"
        record.hash = record_hash(record)


def _delete(connection: object, seq: int) -> None:
    connection.execute(text("DELETE FROM audit_record WHERE seq = :s"), {"s": seq})  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("tamper", "expected_kind"),
    [
        ("edit after", "hash"),
        ("edit and recompute the hash", "link"),
        ("delete a middle record", "gap"),
        ("swap two records", "hash"),
        ("delete the last record", "head"),
    ],
)
def test_verify_names_the_first_record_that_does_not_hold(
    engine: Engine, protocol: Protocol, tamper: str, expected_kind: str
) -> None:
    n = _history(engine, protocol)
    assert n >= 6
    middle = 3
    with read_session(engine) as session:
        assert verify(session) is None
    if tamper == "edit and recompute the hash":
        _edit_and_rehash(engine, middle)
    else:
        with engine.begin() as connection:
            # Through 1004, not -1: the CHECK (seq >= 1) holds on the way.
            if tamper == "swap two records":
                connection.execute(text("UPDATE audit_record SET seq = seq + 1000 WHERE seq = 4"))
                connection.execute(text("UPDATE audit_record SET seq = 4 WHERE seq = 3"))
                connection.execute(text("UPDATE audit_record SET seq = 3 WHERE seq = 1004"))
            elif tamper == "edit after":
                _edit_after(connection, middle)
            elif tamper == "delete a middle record":
                _delete(connection, middle)
            elif tamper == "delete the last record":
                _delete(connection, n)
    with read_session(engine) as session:
        problem = verify_chain(session)
    assert problem is not None
    assert problem.kind == expected_kind
    expected_seq = {
        "edit and recompute the hash": middle + 1,
        "delete the last record": n,
    }.get(tamper, middle)
    assert problem.seq == expected_seq
    assert str(expected_seq) in problem.message


def test_concurrent_writers_never_fork_the_chain(engine: Engine, protocol: Protocol) -> None:
    enroll(engine, protocol)
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def writer(base: int) -> None:
        try:
            start.wait()
            for _ in range(15):
                with UnitOfWork(engine, f"staff:{base}", LATER) as uow:
                    uow.add(
                        Staff(role=StaffRole.NURSE, created_at=LATER),
                        "staff.joined",
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records = _records(engine)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert sum(r.action == "staff.joined" for r in records) == 45
    with read_session(engine) as session:
        assert verify_chain(session) is None


def _run_cli(url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url_text(url)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# `python -m bot audit verify` as subprocesses, over 3 s.
@pytest.mark.e2e
@pytest.mark.slow
@SQLITE_ONLY
def test_the_audit_verify_command_exits_non_zero_naming_the_record(
    db_url: URL, protocol: Protocol
) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        n = _history(engine, protocol)
    finally:
        engine.dispose()
    ok = _run_cli(db_url, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert f"{n} records" in ok.stdout

    engine = make_engine(db_url)
    with engine.begin() as connection:
        _edit_after(connection, 2)
    engine.dispose()
    broken = _run_cli(db_url, "audit", "verify")
    assert broken.returncode == 1
    assert "record 2" in broken.stderr and "hash" in broken.stderr


def test_audit_verify_in_process_on_both_databases(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    n = _history(engine, protocol)
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    assert cli.main(["audit", "verify"]) == 0
    assert f"{n} records" in capsys.readouterr().out
    with engine.begin() as connection:
        _delete(connection, 4)
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "record 4" in err and "gap" in err


def test_an_empty_trail_verifies(engine: Engine) -> None:
    with read_session(engine) as session:
        assert verify_chain(session) is None


def test_instants_in_the_trail_are_utc(engine: Engine, protocol: Protocol) -> None:
    enroll(engine, protocol, now=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    first = _records(engine)[0]
    assert first.at == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert json.loads(first.after or "")["created_at"] == "2026-11-01T09:00:00.000000+00:00"
