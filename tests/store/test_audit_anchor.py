"""The audit chain's anchor (`audit verify --anchor HASH`): a deleted tail or a chain
re-hashed after a change passes the chain's own check but not the anchor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine
from sqlmodel import col, select

from bot import cli
from core.protocol import Protocol
from core.store.anchor import Anchor, current_anchor
from core.store.audit import record_hash
from core.store.db import read_session
from core.store.models import AuditHead, AuditRecord, Staff, StaffRole
from core.store.uow import UnitOfWork
from tests.store.test_audit_reconcile import Trial
from tests.support.store_fixtures import url_text

KEY = "k" * 40
LATER = datetime(2026, 12, 22, 1, 0, tzinfo=UTC)


def _anchor(engine: Engine) -> Anchor:
    with read_session(engine) as session:
        return current_anchor(session, KEY.encode())


def _verify(
    db_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    key: str | None = KEY,
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    if key is None:
        monkeypatch.delenv("AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("AUDIT_KEY", key)
    code = cli.main(["audit", "verify", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _staff_join(engine: Engine, n: int) -> None:
    for i in range(n):
        with UnitOfWork(engine, "system", LATER + timedelta(minutes=i)) as uow:
            uow.add(Staff(role=StaffRole.NURSE, created_at=uow.now), "staff.joined")


def test_the_anchor_of_a_digest_holds_while_the_chain_only_grows(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Trial(engine, protocol)
    anchor = _anchor(engine)
    _staff_join(engine, 2)  # the trial goes on after the digest
    args = ("--anchor", anchor.short, "--count", str(anchor.count))
    code, out, err = _verify(db_url, monkeypatch, capsys, *args)
    assert code == 0, err
    assert f"anchor {anchor.short} holds at record {anchor.count}" in out
    # Copied without its count, the anchor is found all the same.
    code, out, _ = _verify(db_url, monkeypatch, capsys, "--anchor", anchor.short)
    assert code == 0
    assert f"holds at record {anchor.count}" in out


def test_a_deleted_tail_passes_the_chain_check_but_not_the_anchor(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Trial(engine, protocol)
    kept = _anchor(engine).count
    _staff_join(engine, 2)
    anchor = _anchor(engine)  # what this morning's digest showed
    # Someone deletes the last two records and moves the head back to match.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_record WHERE seq > :n"), {"n": kept})
        connection.execute(
            text(
                "UPDATE audit_head SET last_seq = :n, "
                "last_hash = (SELECT hash FROM audit_record WHERE seq = :n)"
            ),
            {"n": kept},
        )

    code, out, err = _verify(db_url, monkeypatch, capsys)
    assert code == 0, err  # the chain alone cannot tell
    assert f"{kept} records, chain intact" in out

    args = ("--anchor", anchor.short, "--count", str(anchor.count))
    code, _, err = _verify(db_url, monkeypatch, capsys, *args)
    assert code == 1
    assert f"the anchor was taken at {anchor.count} records but the chain now has {kept}" in err
    assert "tail was deleted" in err
    code, _, err = _verify(db_url, monkeypatch, capsys, "--anchor", anchor.short)
    assert code == 1
    assert f"no record of the chain ({kept} now) has the anchor {anchor.short}" in err


def test_a_re_hashed_chain_passes_the_chain_check_and_reconciliation_but_not_the_anchor(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trial = Trial(engine, protocol)
    anchor = _anchor(engine)
    # The grade is lowered in the table and in its audit record, and every record from
    # there on is hashed again, the head too: a forger without AUDIT_KEY.
    with UnitOfWork(engine, "system", LATER) as uow:
        uow.session.execute(
            text("UPDATE adverse_event SET grade = 1 WHERE id = :id"), {"id": trial.ae}
        )
        records = uow.session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))).all()
        prev = None
        for record in records:
            if record.entity == "adverse_event" and record.entity_key == str(trial.ae):
                assert record.after is not None
                record.after = record.after.replace('"grade":3', '"grade":1')
            if prev is not None:
                record.prev_hash = prev
            record.hash = record_hash(record)
            prev = record.hash
        head = uow.session.get(AuditHead, 1)
        assert head is not None and prev is not None
        head.last_hash = prev

    code, out, err = _verify(db_url, monkeypatch, capsys)
    assert code == 0, err
    assert "chain intact" in out and "clinical data reconciled" in out

    args = ("--anchor", anchor.short, "--count", str(anchor.count))
    code, _, err = _verify(db_url, monkeypatch, capsys, *args)
    assert code == 1
    assert f"the chain at record {anchor.count} no longer has the anchor {anchor.short}" in err
    assert "re-hashed" in err


def test_an_anchor_cannot_be_checked_without_the_key(
    engine: Engine,
    db_url: URL,
    protocol: Protocol,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    Trial(engine, protocol)
    anchor = _anchor(engine)
    monkeypatch.chdir(tmp_path)  # no rehearsal's data/audit.key here
    code, _, err = _verify(db_url, monkeypatch, capsys, "--anchor", anchor.short, key=None)
    assert code == 2
    assert "AUDIT_KEY is not set" in err
    # Another key makes other anchors: this one does not hold under it.
    args = ("--anchor", anchor.short, "--count", str(anchor.count))
    code, _, err = _verify(db_url, monkeypatch, capsys, *args, key="x" * 40)
    assert code == 1
    assert "no longer has the anchor" in err
