"""Crash test: ``python -m bot run`` killed with SIGKILL during bursts, restarted.

A real bot process runs on a rehearsal clock (14400 times real time) against
the local Bot API server in this test's process. Forty patients have a
reminder at the same instant several times a night. The process is killed
with SIGKILL as soon as a dozen messages of a burst went out, restarted with
``--resume``, three times; the fourth run is left to finish and stopped
with SIGINT. Then every reminder due is ``sent``, and the server delivered
each reminder's message exactly once, except reminders the uncertain policy
repeated: those were delivered as one repeat, plus at most the original.
None is lost.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import select

from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.identities import reach_of
from core.store.migrate import migrate
from core.store.models import Patient, ReminderStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from local_servers.telegram.server import LocalBotApi
from tests.support.bot_harness import TOKEN
from tests.support.crash_runs import (
    all_handled,
    check_telegram_messages,
    run_killed_and_resumed,
    trial_seconds,
)
from tests.support.scheduler_fakes import join, reminders

# A real bot process killed and restarted against the local server (about 20 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PATIENTS = 40
FIRST_CHAT = 7001
ENROLLED_AT = datetime(2026, 11, 1, tzinfo=UTC)
DAY0 = date(2026, 12, 1)
# Ten seconds of trial time before the first burst (every patient's 20:00 reminder).
CLOCK_START = "2026-11-29T19:59:50+08:00"
SPEED = "14400"
# Four bursts: 11-29 20:00, 11-30 07:00, 11-30 20:00, 12-01 07:00 (Shanghai).
CHECK_UNTIL = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
KILLS = 3
KILL_AFTER = 12  # messages delivered in a run before it is killed


def _prepare(db: DbEngine) -> list[int]:
    protocol = load_protocol()
    chats = []
    for n in range(PATIENTS):
        with UnitOfWork(db, "system", ENROLLED_AT) as uow:
            patient = enroll_patient(
                uow,
                protocol,
                study_id=f"C{n:02d}",
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


def _delivered(api: LocalBotApi, chats: list[int]) -> int:
    return sum(len(api.messages_to(chat)) for chat in chats)


async def test_sigkill_during_bursts_loses_nothing_and_repeats_only_by_the_policy(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    db = make_engine(url)
    chats = _prepare(db)
    log = tmp_path / "bot.log"
    seconds = trial_seconds(log, CLOCK_START)
    api = LocalBotApi(flood_limits=True, clock=seconds, wall_clock=seconds)
    await api.start()
    for chat in chats:
        api.add_user(chat, first_name=f"Patient{chat}")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WEB_PORT": "0",  # /healthz and /metrics on a port of its own
    }
    try:
        await run_killed_and_resumed(
            env,
            log,
            clock_start=CLOCK_START,
            speed=SPEED,
            kills=KILLS,
            progress=lambda: _delivered(api, chats),
            kill_after=KILL_AFTER,
            finished=lambda: all_handled(db, CHECK_UNTIL),
        )

        # Every reminder due was sent; none lost, none failed.
        due = [r for r in reminders(db) if r.due_at <= CHECK_UNTIL]
        assert len(due) == 4 * PATIENTS
        assert Counter(r.status for r in due) == Counter({ReminderStatus.SENT: len(due)})
        sent = [r for r in reminders(db) if r.status == ReminderStatus.SENT]
        repeated = [r for r in sent if r.is_repeat]
        assert repeated, "no send was interrupted: the kills came too late to test anything"
        assert len(repeated) <= KILLS * 10  # at most one batch in flight per kill

        # What the server delivered: once each, or one repeat plus at most the original.
        with read_session(db) as session:
            chat_of = {
                p.id: int(reach.chat)
                for p in session.exec(select(Patient)).all()
                if p.id is not None and (reach := reach_of(session, p)) is not None
            }
        assert sorted(chat_of.values()) == chats
        check_telegram_messages(db, api, sent, chat_of)
        assert not api.violations
        assert api.flood_errors == 0
    finally:
        await api.stop()
        db.dispose()
