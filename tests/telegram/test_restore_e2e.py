"""A restored backup does not resend unmarked: ``python -m bot restore`` between two runs.

A real bot process on a rehearsal clock sends the first evening's reminders
through the local Bot API server; the database was backed up before it ran,
so in the backup those reminders are still waiting. A restore is refused
while the bot runs; once it is stopped, ``python -m bot restore`` puts the
backup back, and the bot runs the same trial time again. Each reminder sent
between the backup and the restore arrives once more, marked as a repeat;
none arrives unmarked twice; the next morning's reminders, due after the
restore, go once, as usual.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import select

from core.protocol import load_protocol
from core.store.db import backup_sqlite, make_engine, read_session
from core.store.identities import reach_of
from core.store.migrate import migrate
from core.store.models import AuditRecord, Patient, ReminderStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from local_servers.telegram.server import LocalBotApi
from tests.support.bot_harness import TOKEN
from tests.support.crash_runs import ROOT, check_telegram_messages, start_bot, wait_until
from tests.support.scheduler_fakes import join, reminders

# Two runs of a real bot process and two restores (about 30 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PATIENTS = 6
FIRST_CHAT = 7101
ENROLLED_AT = datetime(2026, 11, 1, tzinfo=UTC)
DAY0 = date(2026, 12, 1)
CLOCK_START = "2026-11-29T19:59:50+08:00"
SPEED = "3600"  # a trial hour a second: the next morning's burst is 11 s after the first
EVENING = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
MORNING = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 07:00 the next day


def _prepare(db: DbEngine) -> list[int]:
    protocol = load_protocol()
    chats = []
    for n in range(PATIENTS):
        with UnitOfWork(db, "system", ENROLLED_AT) as uow:
            patient = enroll_patient(
                uow,
                protocol,
                study_id=f"R{n:02d}",
                arm="belimumab_mt" if n % 2 else "mt_only",
                day0=DAY0,
                sex="F",
                weight_kg="60",
                language="zh_Hans" if n % 2 else "en",
                timezone="Asia/Shanghai",
                daily_dose_reminders=False,
            )
        assert patient.id is not None
        join(db, patient.id, FIRST_CHAT + n, ENROLLED_AT)
        chats.append(FIRST_CHAT + n)
    return chats


async def _restore(env: Mapping[str, str], backup: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "restore",
        str(backup),
        cwd=ROOT,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _all_sent(db: DbEngine, until: datetime) -> Callable[[], bool]:
    def check() -> bool:
        due = [r for r in reminders(db) if r.due_at <= until]
        return bool(due) and all(r.status == ReminderStatus.SENT for r in due)

    return check


async def _run_until(env: Mapping[str, str], log: Path, done: Callable[[], bool]) -> None:
    proc = await start_bot(env, log, SPEED, "--clock-start", CLOCK_START)
    try:
        await wait_until(done, 40, "the reminders sent", log, every=0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0, log.read_text()[-3000:]


async def test_reminders_sent_after_the_backup_come_once_more_marked_after_a_restore(
    tmp_path: Path,
) -> None:
    database = tmp_path / "trial.db"
    url = f"sqlite:///{database}"
    migrate(url)
    db = make_engine(url)
    chats = _prepare(db)
    backup = tmp_path / "before-the-evening.db"
    backup_sqlite(url, backup)
    api = LocalBotApi(flood_limits=False)
    await api.start()
    for chat in chats:
        api.add_user(chat, first_name=f"Patient{chat}")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WEB_PORT": "0",  # /healthz on a port of its own: other tests run bots beside it
    }
    log = tmp_path / "bot.log"
    try:
        # The first run: the evening's reminders go out after the backup was taken.
        proc = await start_bot(env, log, SPEED, "--clock-start", CLOCK_START)
        try:
            await wait_until(_all_sent(db, EVENING), 40, "the evening sent", log, every=0.05)
            # A restore under the running bot is refused and changes nothing.
            code, _, err = await _restore(env, backup)
            assert code == 1, err
            assert "a bot is running" in err and "nothing was restored" in err
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == 0, log.read_text()[-3000:]
        evening = [r for r in reminders(db) if r.due_at <= EVENING]
        assert len(evening) == PATIENTS
        assert all(r.status == ReminderStatus.SENT and not r.is_repeat for r in evening)
        morning = [r for r in reminders(db) if EVENING < r.due_at <= MORNING]
        assert morning and all(r.status == ReminderStatus.PENDING for r in morning)

        # The restore: the evening's reminders are waiting again in the backup.
        code, out, err = await _restore(env, backup)
        assert code == 0, err
        kept = sorted(tmp_path.glob("trial.replaced-*.db"))
        assert len(kept) == 1 and str(kept[0]) in out
        assert f"{PATIENTS} reminders due by" in out
        db.dispose()
        by_id = {r.id: r for r in reminders(db)}
        assert all(by_id[r.id].status == ReminderStatus.UNCERTAIN for r in evening)
        assert all(by_id[r.id].status == ReminderStatus.PENDING for r in morning)
        with read_session(db) as session:
            restored = session.exec(
                select(AuditRecord).where(AuditRecord.action == "database.restored")
            ).one()
        assert restored.actor == "system"
        assert restored.reason == f"restore from {backup}"

        # The same trial time again, through the next morning.
        await _run_until(env, log, _all_sent(db, MORNING))
        final = {r.id: r for r in reminders(db)}
        assert all(final[r.id].is_repeat for r in evening)
        assert not any(final[r.id].is_repeat for r in morning)
        sent = [r for r in final.values() if r.status == ReminderStatus.SENT]
        with read_session(db) as session:
            chat_of = {
                p.id: int(reach.chat)
                for p in session.exec(select(Patient)).all()
                if p.id is not None and (reach := reach_of(session, p)) is not None
            }
        # Each evening reminder: the original before the restore, one marked repeat after;
        # each morning reminder once, unmarked; nothing else.
        check_telegram_messages(db, api, sent, chat_of)
        for chat in chats:
            assert len(api.messages_to(chat)) == 3, [m.shown for m in api.messages_to(chat)]
        assert not api.violations
    finally:
        await api.stop()
        db.dispose()
