"""``python -m bot restore PATH``: what it refuses, what it keeps, what it marks.

A restore changes nothing when it refuses: a backup that fails SQLite's
integrity check, one whose audit chain is broken, a database a bot runs on,
a dump that does not load, a file that is not there. When it restores, the
replaced database is kept beside it, the restore is in the audit trail, and
only the reminders that may have gone out after the backup are uncertain.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlmodel import col, select

from bot import cli
from core.protocol import load_protocol
from core.store.audit import verify_chain
from core.store.backups import dump_postgres, pg_dump_available
from core.store.db import backup_sqlite, make_engine, read_session
from core.store.migrate import migrate
from core.store.models import AuditRecord, Reminder, ReminderStatus
from core.store.run_lock import running_on
from core.store.services import claim_due_reminders, mark_reminder_sent
from core.store.uow import UnitOfWork
from scheduler.outbox import mark_uncertain, schedule_repeat, uncertain_to_repeat
from tests.support.store_fixtures import enroll

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _reminders(url: str) -> dict[int, Reminder]:
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            rows = session.exec(select(Reminder).order_by(col(Reminder.due_at))).all()
    finally:
        engine.dispose()
    return {r.id: r for r in rows if r.id is not None}


def _trial(tmp_path: Path) -> tuple[str, Path]:
    """A trial with one patient, and a backup of it taken before any reminder went."""
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    engine = make_engine(url)
    enroll(engine, load_protocol(), now=NOW)
    engine.dispose()
    backup = tmp_path / "backup.db"
    backup_sqlite(url, backup)
    return url, backup


def _send_first(url: str, count: int) -> tuple[list[int], datetime]:
    """The first ``count`` reminders go out after the backup: claimed and sent at their time."""
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            due = session.exec(select(Reminder.due_at).order_by(col(Reminder.due_at))).all()
        at = due[count - 1]
        with UnitOfWork(engine, "system", at) as uow:
            claimed = claim_due_reminders(uow, limit=count, worker="host-1", now=at)
            for n, reminder in enumerate(claimed):
                mark_reminder_sent(uow, reminder, message_id=100 + n)
        return [r.id for r in claimed if r.id is not None], at
    finally:
        engine.dispose()


def _restore(
    url: str, backup: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    code = cli.main(["restore", str(backup)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_restore_marks_what_went_after_the_backup_keeps_the_replaced_copy_and_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, backup = _trial(tmp_path)
    sent, last = _send_first(url, 3)

    code, out, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 0, err
    after = _reminders(url)
    # Sent after the backup: uncertain now, so the engine repeats each once, marked.
    assert [after[i].status for i in sent] == [ReminderStatus.UNCERTAIN] * 3
    assert all("restored from a backup" in (after[i].last_error or "") for i in sent)
    # Due after the replaced database's last record: they cannot have gone; as usual.
    later = [r for r in after.values() if r.due_at > last]
    assert later and all(r.status == ReminderStatus.PENDING for r in later)
    assert "3 reminders due by" in out
    # The replaced database is kept, with what it had recorded.
    kept = list(tmp_path.glob("trial.replaced-*.db"))
    assert len(kept) == 1 and str(kept[0]) in out
    replaced = _reminders(f"sqlite:///{kept[0]}")
    assert [replaced[i].status for i in sent] == [ReminderStatus.SENT] * 3
    # The restore is a change like any other: in the audit trail, the chain intact.
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            assert verify_chain(session) is None
            record = session.exec(
                select(AuditRecord).where(AuditRecord.action == "database.restored")
            ).one()
            marked = session.exec(
                select(AuditRecord).where(AuditRecord.action == "reminder.restored_uncertain")
            ).one()
    finally:
        engine.dispose()
    assert record.actor == "system" and record.reason == f"restore from {backup}"
    assert record.after is not None and str(kept[0]) in record.after
    assert marked.entity_key == ",".join(str(i) for i in sent)


def test_a_backup_failing_the_integrity_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, backup = _trial(tmp_path)
    sent, _ = _send_first(url, 2)
    damaged = bytearray(backup.read_bytes())
    page = 4096
    damaged[page * 3 : page * 3 + 200] = b"\x00" * 200  # a table page overwritten
    backup.write_bytes(bytes(damaged))

    code, _, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 1
    assert "nothing was restored" in err
    assert "fails SQLite's integrity check" in err
    assert [_reminders(url)[i].status for i in sent] == [ReminderStatus.SENT] * 2
    assert not list(tmp_path.glob("trial.replaced-*"))


def test_a_backup_whose_audit_chain_is_broken_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, backup = _trial(tmp_path)
    sent, _ = _send_first(url, 2)
    connection = sqlite3.connect(backup)
    connection.execute("UPDATE audit_record SET reason = 'edited' WHERE seq = 2")
    connection.commit()
    connection.close()

    code, _, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 1
    assert "audit trail" in err and "broken at record 2" in err
    assert [_reminders(url)[i].status for i in sent] == [ReminderStatus.SENT] * 2


def test_a_restore_over_a_running_bot_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, backup = _trial(tmp_path)
    sent, _ = _send_first(url, 2)

    with running_on(url):  # what python -m bot run holds while it runs
        code, _, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 1
    assert "a bot is running on" in err and "stop it" in err
    assert [_reminders(url)[i].status for i in sent] == [ReminderStatus.SENT] * 2
    # Once the bot has stopped, the same restore goes through.
    code, _, err = _restore(url, backup, monkeypatch, capsys)
    assert code == 0, err


def test_a_missing_backup_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = _trial(tmp_path)
    code, _, err = _restore(url, tmp_path / "no-such.db", monkeypatch, capsys)
    assert code == 2 and "there is no backup file at" in err


def test_a_reminder_already_repeated_is_not_repeated_again_after_a_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    engine = make_engine(url)
    enroll(engine, load_protocol(), now=NOW)
    with read_session(engine) as session:
        first = session.exec(select(Reminder).order_by(col(Reminder.due_at))).first()
    assert first is not None and first.id is not None
    at = first.due_at + timedelta(minutes=1)
    # In the backup, the first reminder is a repeat waiting to go (its original's fate unknown).
    with UnitOfWork(engine, "system", at) as uow:
        (claimed,) = claim_due_reminders(uow, limit=1, worker="host-1", now=first.due_at)
        mark_uncertain(uow, claimed, "read timeout")
        schedule_repeat(uow, claimed)
    engine.dispose()
    backup = tmp_path / "backup.db"
    backup_sqlite(url, backup)
    _send_first(url, 1)  # the repeat went after the backup

    code, _, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 0, err
    restored = _reminders(url)[first.id]
    assert restored.status == ReminderStatus.UNCERTAIN and restored.is_repeat
    engine = make_engine(url)
    try:
        with UnitOfWork(engine, "system", at) as uow:
            assert first.id not in [r.id for r in uncertain_to_repeat(uow.session)]
    finally:
        engine.dispose()


def test_a_damaged_database_is_replaced_and_kept_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, backup = _trial(tmp_path)
    database = tmp_path / "trial.db"
    damaged = b"this disk went bad" * 100
    database.write_bytes(damaged)

    code, out, err = _restore(url, backup, monkeypatch, capsys)

    assert code == 0, err
    (kept,) = tmp_path.glob("trial.replaced-*.db")
    assert kept.read_bytes() == damaged
    # Its last moment unknown, every reminder due by the restore's own time is uncertain.
    due = [r for r in _reminders(url).values() if r.due_at <= datetime.now(UTC)]
    assert due and all(r.status == ReminderStatus.UNCERTAIN for r in due)
    assert f"{len(due)} reminders due by" in out


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgresql_dump_is_restored_and_what_went_after_it_is_uncertain(
    pg_database: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PostgreSQL too: the dump checked, the database kept as a dump beside it, loaded with
    pg_restore, and the reminders that went after the dump was taken uncertain."""
    if not pg_dump_available():
        pytest.skip("pg_dump and pg_restore are not on the PATH")
    url = pg_database.render_as_string(hide_password=False)
    migrate(url)
    engine = make_engine(url)
    enroll(engine, load_protocol(), now=NOW)
    engine.dispose()
    backup = tmp_path / "trial.dump"
    dump_postgres(url, backup)
    sent, last = _send_first(url, 3)

    # A bot running on the database: refused, nothing changed.
    with running_on(url):
        code, _, err = _restore(url, backup, monkeypatch, capsys)
    assert code == 1 and "a bot is running" in err
    assert [_reminders(url)[i].status for i in sent] == [ReminderStatus.SENT] * 3

    code, out, err = _restore(url, backup, monkeypatch, capsys)
    assert code == 0, err
    after = _reminders(url)
    assert [after[i].status for i in sent] == [ReminderStatus.UNCERTAIN] * 3
    later = [r for r in after.values() if r.due_at > last]
    assert later and all(r.status == ReminderStatus.PENDING for r in later)
    (kept,) = tmp_path.glob(f"{pg_database.database}.replaced-*.dump")
    assert str(kept) in out
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            assert verify_chain(session) is None
            record = session.exec(
                select(AuditRecord).where(AuditRecord.action == "database.restored")
            ).one()
            assert record.reason == f"restore from {backup}"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_dump_that_does_not_restore_is_refused(
    pg_database: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not pg_dump_available():
        pytest.skip("pg_dump and pg_restore are not on the PATH")
    url = pg_database.render_as_string(hide_password=False)
    migrate(url)
    damaged = tmp_path / "trial.dump"
    damaged.write_bytes(b"PGDMP not really a dump")
    code, _, err = _restore(url, damaged, monkeypatch, capsys)
    assert code == 1 and "nothing was restored" in err
    assert not list(tmp_path.glob("*.replaced-*"))
