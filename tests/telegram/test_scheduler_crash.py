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

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import col, select

from bot.escalations import URINE_NUDGE
from bot.i18n import Translator
from bot.local_api.server import LocalBotApi
from bot.views.reminder import render_reminder
from core.protocol import load_protocol
from core.schedule import trial_zone
from core.store.db import make_engine, read_session
from core.store.identities import reach_of
from core.store.migrate import migrate
from core.store.models import Patient, PlannedEventRow, Reminder, ReminderStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from tests.support.bot_harness import TOKEN
from tests.support.scheduler_fakes import join, reminders

# A real bot process killed and restarted against the local server (about 30 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
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


async def _start(env: dict[str, str], log: Path, *extra: str) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--clock-speed",
            SPEED,
            *extra,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


def _delivered(api: LocalBotApi, chats: list[int]) -> int:
    return sum(len(api.messages_to(chat)) for chat in chats)


def _all_done(db: DbEngine) -> bool:
    """No reminder due by CHECK_UNTIL is still waiting or being sent."""
    query = select(func.count()).where(
        col(Reminder.due_at) <= CHECK_UNTIL,
        col(Reminder.status).in_([ReminderStatus.PENDING, ReminderStatus.SENDING]),
    )
    with read_session(db) as session:
        return session.exec(query).one() == 0


async def _wait(
    condition: Callable[[], bool], timeout: float, what: str, log: Path, every: float
) -> None:
    """Poll ``condition``; the local server shares this event loop, so polls stay cheap."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            tail = log.read_text()[-3000:]
            raise AssertionError(f"{what} not reached in {timeout} s; bot log:\n{tail}")
        await asyncio.sleep(every)


def _texts(db: DbEngine, reminder: Reminder) -> tuple[str, str]:
    with read_session(db) as session:
        event = session.get(PlannedEventRow, reminder.event_id)
        patient = session.get(Patient, reminder.patient_id)
    assert event is not None and patient is not None
    t = Translator(patient.language.value, trial_zone("Asia/Shanghai"))
    protocol = load_protocol()
    original, _ = render_reminder(t, protocol, reminder, event)
    repeat, _ = render_reminder(t, protocol, reminder, event, repeat=True)
    return original, repeat


async def test_sigkill_during_bursts_loses_nothing_and_repeats_only_by_the_policy(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    db = make_engine(url)
    chats = _prepare(db)
    api = LocalBotApi(flood_limits=True)
    await api.start()
    for chat in chats:
        api.add_user(chat, first_name=f"Patient{chat}")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
    }
    log = tmp_path / "bot.log"
    try:
        extra: tuple[str, ...] = ("--clock-start", CLOCK_START)
        for _ in range(KILLS):
            base = _delivered(api, chats)
            proc = await _start(env, log, *extra)

            def burst_under_way(base: int = base, proc: asyncio.subprocess.Process = proc) -> bool:
                return _delivered(api, chats) >= base + KILL_AFTER or proc.returncode is not None

            try:
                await _wait(burst_under_way, 40, "a burst", log, every=0.002)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)
                await proc.wait()
            assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
            extra = ("--resume",)

        proc = await _start(env, log, *extra)
        try:
            await _wait(lambda: _all_done(db), 40, "every reminder due handled", log, every=0.2)
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == 0, log.read_text()[-3000:]

        # Every reminder due was sent; none lost, none failed.
        due = [r for r in reminders(db) if r.due_at <= CHECK_UNTIL]
        assert len(due) == 4 * PATIENTS
        assert Counter(r.status for r in due) == Counter({ReminderStatus.SENT: len(due)})
        sent = [r for r in reminders(db) if r.status == ReminderStatus.SENT]
        repeated = [r for r in sent if r.is_repeat]
        assert repeated, "no send was interrupted: the kills came too late to test anything"
        assert len(repeated) <= KILLS * 10  # at most one batch in flight per kill

        # What the server delivered: once each, or one repeat plus at most the original.
        by_chat: dict[int, list[str]] = {
            chat: [m.shown for m in api.messages_to(chat)] for chat in chats
        }
        with read_session(db) as session:
            chat_of = {
                p.id: int(reach.chat) if (reach := reach_of(session, p)) else None
                for p in session.exec(select(Patient)).all()
            }
        explained = Counter[int]()
        for r in sent:
            patient_chat = chat_of[r.patient_id]
            assert patient_chat is not None
            original, repeat = _texts(db, r)
            originals = by_chat[patient_chat].count(original)
            repeats = by_chat[patient_chat].count(repeat)
            if r.is_repeat:
                assert (repeats, originals <= 1) == (1, True), r
            else:
                assert (originals, repeats) == (1, 0), r
            explained[patient_chat] += originals + repeats
        # The only other messages a patient may get here: the one nudge for a
        # urine collection not started by noon (bot.escalations).
        nudges = {
            Translator(lang, trial_zone("Asia/Shanghai"))._(URINE_NUDGE)
            for lang in ("en", "zh_Hans")
        }
        for chat in chats:
            nudged = sum(text in nudges for text in by_chat[chat])
            assert nudged <= 1, f"more than one nudge to {chat}"
            assert explained[chat] + nudged == len(by_chat[chat]), f"unexplained messages to {chat}"
        assert not api.violations
        assert api.flood_errors == 0
    finally:
        await api.stop()
        db.dispose()
