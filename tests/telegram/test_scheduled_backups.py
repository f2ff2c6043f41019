"""Scheduled backups: written at the scheduled trial time, checked, N kept; failures told.

The reminder engine runs the backup job on the injectable clock, as ``python
-m bot run`` does; coordinators are on Telegram through the local Bot API
server. On PostgreSQL the copy is a ``pg_dump`` archive, checked by restoring
it into a scratch database.
"""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import URL

from bot.backups import (
    FAILED_CHECK,
    NOT_WRITTEN,
    BackupPlan,
    backup_job,
    backup_plan,
    backup_schedule,
)
from bot.context import Services
from bot.i18n import Lang, Translator
from bot.routing import Router
from bot.runner import engine_router
from bot.settings import SettingError, Settings
from core.protocol import load_protocol
from core.store.backups import dump_problem, pg_dump_available, sqlite_file_problem
from core.store.db import make_engine
from core.store.migrate import migrate
from core.store.models import InviteRole
from scheduler.clock import FakeClock
from scheduler.engine import Engine as ReminderEngine
from scheduler.jobs import daily_at
from tests.support.bot_harness import World
from tests.support.store_fixtures import enroll

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock instant in December 2026, in UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _engine_with_backups(world: World, plan: BackupPlan) -> ReminderEngine:
    assert world.app is not None
    router = engine_router(world.app, world.services)
    engine = ReminderEngine(world.services.engine, world.clock, router, router)
    url = f"sqlite:///{world.services.engine.url.database}"
    engine.add_job(backup_job(world.services, url, plan))
    return engine


async def test_a_backup_is_written_at_the_scheduled_time_checked_and_only_n_kept(
    world: World, tmp_path: Path
) -> None:
    world.enroll("P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    folder = tmp_path / "backups"
    plan = BackupPlan(folder, daily_at(time(3, 0), SHANGHAI), keep=2)
    engine = _engine_with_backups(world, plan)
    world.clock.set(_at(1, 2, 0))
    await engine.run_due()  # the job is new: it starts from now, never for the past

    world.clock.set(_at(1, 2, 59))
    await engine.run_due()
    assert not folder.exists() or not list(folder.iterdir())

    for day in (1, 2, 3, 4):
        world.clock.set(_at(day, 3, 1))
        await engine.run_due()

    kept = sorted(p.name for p in folder.iterdir())
    # Named by the scheduled instant (03:00 Shanghai is 19:00 UTC the day before).
    assert kept == ["trial-20261202T190000Z.db", "trial-20261203T190000Z.db"]
    for name in kept:
        copy = folder / name
        assert sqlite_file_problem(copy) is None
        connection = sqlite3.connect(copy)
        try:
            assert connection.execute("SELECT study_id FROM patient").fetchall() == [("P01",)]
        finally:
            connection.close()
    # Nothing told to anyone when all is well.
    assert not any("backup" in m.shown for m in world.api.messages_to(coordinator))


async def test_a_backup_that_cannot_be_written_is_told_to_coordinators_in_their_language(
    world: World, tmp_path: Path
) -> None:
    english = await world.join_staff(InviteRole.COORDINATOR, "en")
    chinese = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the backup folder should be")
    engine = _engine_with_backups(
        world, BackupPlan(not_a_folder, daily_at(time(3, 0), SHANGHAI), keep=3)
    )
    world.clock.set(_at(1, 2, 0))
    await engine.run_due()
    before = {who: len(world.api.messages_to(who)) for who in (english, chinese, nurse)}

    world.clock.set(_at(1, 3, 0))
    await engine.run_due()

    when = _at(1, 3, 0)
    for who, lang in ((english, Lang.EN), (chinese, Lang.ZH_HANS)):
        t = Translator(lang, SHANGHAI)
        expected = t._(NOT_WRITTEN, when=t.datetime(when))
        shown = [m.shown for m in world.api.messages_to(who)[before[who] :]]
        assert shown == [expected]
    assert "备份" in world.api.messages_to(chinese)[-1].shown
    assert len(world.api.messages_to(nurse)) == before[nurse]
    # Told once for that backup: the next drain does not tell again.
    await engine.run_due()
    assert len(world.api.messages_to(english)) == before[english] + 1


async def test_a_backup_failing_its_check_is_set_aside_and_told(
    world: World, tmp_path: Path
) -> None:
    world.enroll("P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, "en")
    folder = tmp_path / "backups"
    engine = _engine_with_backups(world, BackupPlan(folder, daily_at(time(3, 0), SHANGHAI), 3))
    world.clock.set(_at(1, 2, 0))
    await engine.run_due()
    # Someone edits the audit trail behind the bot's back: a copy of it is no backup.
    database = Path(str(world.services.engine.url.database))
    connection = sqlite3.connect(database)
    connection.execute("UPDATE audit_record SET reason = 'edited' WHERE seq = 1")
    connection.commit()
    connection.close()

    world.clock.set(_at(1, 3, 0))
    await engine.run_due()

    assert [p.name for p in folder.iterdir()] == ["trial-20261130T190000Z.db.failed"]
    t = Translator("en", SHANGHAI)
    expected = t._(FAILED_CHECK, when=t.datetime(_at(1, 3, 0)))
    assert world.api.messages_to(coordinator)[-1].shown == expected


def test_backup_every_reads_a_daily_time_or_an_interval_and_refuses_the_rest() -> None:
    start = _at(1, 12, 0)
    assert backup_schedule("03:00", SHANGHAI)(start) == _at(2, 3, 0)
    assert backup_schedule("6h", SHANGHAI)(start) - start <= timedelta(hours=6)
    for bad in ("3am", "25:00", "1m", "0h", ""):
        with pytest.raises(SettingError, match="BACKUP_EVERY"):
            backup_schedule(bad, SHANGHAI)
    assert backup_plan(Settings(BACKUP_DIR=None), SHANGHAI) is None
    plan = backup_plan(Settings(BACKUP_DIR="b"), SHANGHAI)
    assert plan is not None and plan.keep == 14 and plan.schedule(start) == _at(2, 3, 0)
    with pytest.raises(SettingError, match="BACKUP_KEEP"):
        backup_plan(Settings(BACKUP_DIR="b", BACKUP_KEEP=0), SHANGHAI)


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
async def test_postgresql_is_backed_up_with_pg_dump_checked_and_n_kept(
    pg_database: URL, tmp_path: Path
) -> None:
    if not pg_dump_available():
        pytest.skip("pg_dump and pg_restore are not on the PATH")
    url = pg_database.render_as_string(hide_password=False)
    migrate(url)
    db = make_engine(url)
    try:
        enroll(db, load_protocol(), "P07")
        clock = FakeClock(_at(1, 2, 0))
        services = Services(db, load_protocol(), clock, SHANGHAI)
        services.router = Router(services, {})
        engine = ReminderEngine(db, clock, services.router, services.router)
        folder = tmp_path / "backups"
        engine.add_job(
            backup_job(services, url, BackupPlan(folder, daily_at(time(3, 0), SHANGHAI), 2))
        )
        await engine.run_due()
        for day in (1, 2, 3):
            clock.set(_at(day, 3, 0))
            await engine.run_due()
    finally:
        db.dispose()
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["trial-20261201T190000Z.dump", "trial-20261202T190000Z.dump"]
    for name in kept:
        dump = folder / name
        # Each restores whole into a scratch database, its audit chain intact ...
        assert dump_problem(url, dump) is None
        # ... and holds the trial's data.
        rows = subprocess.run(
            ["pg_restore", "--data-only", "--table=patient", "--file=-", str(dump)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "P07" in rows
