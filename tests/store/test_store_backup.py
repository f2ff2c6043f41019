"""``python -m bot backup PATH``: a consistent SQLite copy while the bot writes."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bot import cli
from core.store.audit import verify_chain
from core.store.db import BackupError, backup_sqlite, make_engine, read_session
from core.store.migrate import migrate
from core.store.models import Staff, StaffRole
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import SQLITE_ONLY, url_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@SQLITE_ONLY
def test_a_backup_taken_while_another_connection_writes_is_consistent(
    db_url: URL, tmp_path: Path
) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            i = 0
            while not stop.is_set() or i < 20:
                with UnitOfWork(engine, "system", NOW) as uow:
                    uow.add(
                        Staff(role=StaffRole.NURSE, created_at=NOW),
                        "staff.joined",
                    )
                written.append(i)
                i += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    try:
        while len(written) < 5:
            stop.wait(0.01)
        for n in range(3):
            copy = tmp_path / f"backup-{n}.db"
            backup_sqlite(db_url, copy)
            copies.append(copy)
    finally:
        stop.set()
        thread.join(timeout=60)
        engine.dispose()
    assert errors == []

    for copy in copies:
        connection = sqlite3.connect(copy)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            staff = connection.execute("SELECT count(*) FROM staff").fetchone()[0]
            audited = connection.execute("SELECT count(*) FROM audit_record").fetchone()[0]
        finally:
            connection.close()
        assert 5 <= staff <= len(written)
        assert audited == staff  # a row and its audit record are copied together
        copy_engine = make_engine(f"sqlite:///{copy}")
        with read_session(copy_engine) as session:
            assert verify_chain(session) is None
        copy_engine.dispose()


@SQLITE_ONLY
def test_the_backup_command_writes_a_copy_and_refuses_to_overwrite(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrate(db_url)
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    target = tmp_path / "copy.db"
    assert cli.main(["backup", str(target)]) == 0
    assert target.is_file()
    size = target.stat().st_size
    capsys.readouterr()
    assert cli.main(["backup", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.stat().st_size == size


def test_the_backup_command_with_postgresql_says_to_use_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No server is needed: the command refuses before connecting.
    monkeypatch.setenv("DATABASE_URL", "postgresql://trial:secret@db.example:5432/trial")
    target = tmp_path / "copy.db"
    assert cli.main(["backup", str(target)]) != 0
    err = capsys.readouterr().err
    assert "pg_dump" in err
    assert "secret" not in err
    assert not target.exists()


def test_a_missing_database_file_is_not_backed_up(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database file"):
        backup_sqlite(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
