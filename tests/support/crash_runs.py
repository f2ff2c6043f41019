"""Crash tests' harness: ``python -m bot run`` killed with SIGKILL mid-burst, resumed, checked.

The bot runs as a real process on a rehearsal clock against local servers in
the test's own event loop. :func:`run_killed_and_resumed` kills it as soon as
a burst is under way (a count the test reads off its local server), restarts
it with ``--resume``, and stops the last run with SIGINT once the test's
condition holds. :func:`check_telegram_messages` then reads what the local
Bot API server delivered against the reminders: each once, or one marked
repeat plus at most the original.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import col, select

from bot.demo.process import TrialClock
from bot.escalations import URINE_NUDGE
from bot.i18n import Translator
from bot.views.reminder import render_reminder
from core.protocol import load_protocol
from core.schedule import trial_zone
from core.store.db import read_session
from core.store.models import Patient, PlannedEventRow, Reminder, ReminderStatus
from local_servers.telegram.server import LocalBotApi

ROOT = Path(__file__).resolve().parents[2]
ZONE = "Asia/Shanghai"


async def start_bot(
    env: Mapping[str, str], log: Path, speed: str, *extra: str
) -> asyncio.subprocess.Process:
    """``python -m bot run`` on a rehearsal clock at ``speed``; its stderr appended to ``log``;
    its clock kept in :func:`clock_file` for the local server's flood limits."""
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--clock-speed",
            speed,
            "--clock-file",
            str(clock_file(log)),
            *extra,
            cwd=ROOT,
            env=dict(env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


def clock_file(log: Path) -> Path:
    """Where the bot logging to ``log`` keeps its rehearsal clock (``--clock-file``)."""
    return log.with_name("clock.json")


def trial_seconds(log: Path, clock_start: str) -> Callable[[], float]:
    """The bot's trial time in seconds, as its pacing counts them: the local server's flood
    limits must run on it too, or a rehearsal at 14,400 times real time floods it."""
    clock = TrialClock(datetime.fromisoformat(clock_start))
    clock.follow(clock_file(log))
    return clock.seconds


async def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, log: Path, every: float
) -> None:
    """Poll ``condition``; the local servers share this event loop, so polls stay cheap."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            tail = log.read_text()[-3000:]
            raise AssertionError(f"{what} not reached in {timeout} s; bot log:\n{tail}")
        await asyncio.sleep(every)


def all_handled(db: DbEngine, until: datetime) -> bool:
    """No reminder due by ``until`` is still waiting or being sent."""
    query = select(func.count()).where(
        col(Reminder.due_at) <= until,
        col(Reminder.status).in_([ReminderStatus.PENDING, ReminderStatus.SENDING]),
    )
    with read_session(db) as session:
        return session.exec(query).one() == 0


async def run_killed_and_resumed(
    env: Mapping[str, str],
    log: Path,
    *,
    clock_start: str,
    speed: str,
    kills: int,
    progress: Callable[[], int],
    kill_after: int,
    finished: Callable[[], bool],
) -> None:
    """Start the bot at ``clock_start``; ``kills`` times, SIGKILL it once ``progress()`` has
    grown by ``kill_after`` in that run and restart it with ``--resume``; stop the last run
    with SIGINT once ``finished()``. Fails if a run ends on its own or the last one uncleanly.
    """
    extra: tuple[str, ...] = ("--clock-start", clock_start)
    for _ in range(kills):
        base = progress()
        proc = await start_bot(env, log, speed, *extra)

        def burst_under_way(base: int = base, proc: asyncio.subprocess.Process = proc) -> bool:
            return progress() >= base + kill_after or proc.returncode is not None

        try:
            # Polled every 2 ms so the kill lands while the burst's batch is in flight.
            await wait_until(burst_under_way, 40, "a burst", log, every=0.002)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
        extra = ("--resume",)

    proc = await start_bot(env, log, speed, *extra)
    try:
        await wait_until(finished, 40, "every reminder due handled", log, every=0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _texts(db: DbEngine, reminder: Reminder) -> tuple[str, str]:
    """The reminder's text as first sent, and as its one marked repeat."""
    with read_session(db) as session:
        event = session.get(PlannedEventRow, reminder.event_id)
        patient = session.get(Patient, reminder.patient_id)
    assert event is not None and patient is not None
    t = Translator(patient.language.value, trial_zone(ZONE))
    protocol = load_protocol()
    original, _ = render_reminder(t, protocol, reminder, event)
    repeat, _ = render_reminder(t, protocol, reminder, event, repeat=True)
    return original, repeat


def check_telegram_messages(
    db: DbEngine, api: LocalBotApi, sent: Iterable[Reminder], chat_of: Mapping[int, int]
) -> None:
    """What the local Bot API server delivered to the chats of ``chat_of`` (patient id ->
    chat): each reminder of ``sent`` once, or one marked repeat plus at most the original;
    nothing else but at most one urine-collection nudge per patient."""
    by_chat: dict[int, list[str]] = {
        chat: [m.shown for m in api.messages_to(chat)] for chat in chat_of.values()
    }
    explained = Counter[int]()
    for r in sent:
        chat = chat_of[r.patient_id]
        original, repeat = _texts(db, r)
        originals = by_chat[chat].count(original)
        repeats = by_chat[chat].count(repeat)
        if r.is_repeat:
            assert (repeats, originals <= 1) == (1, True), r
        else:
            assert (originals, repeats) == (1, 0), r
        explained[chat] += originals + repeats
    # The only other messages a patient may get here: the one nudge for a urine
    # collection not started by noon (bot.escalations).
    nudges = {Translator(lang, trial_zone(ZONE))._(URINE_NUDGE) for lang in ("en", "zh_Hans")}
    for chat, shown in by_chat.items():
        nudged = sum(text in nudges for text in shown)
        assert nudged <= 1, f"more than one nudge to {chat}"
        assert explained[chat] + nudged == len(shown), f"unexplained messages to {chat}"
