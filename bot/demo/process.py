"""The bot under demonstration: ``python -m bot run`` as a child process, and its trial time.

The bot runs in stretches, each a process started with ``--clock-start`` or
``--resume`` and stopped with SIGINT as Ctrl-C would; between stretches trial
time stands where the bot saved its rehearsal clock. :class:`TrialClock`
follows that clock from the file the bot keeps its current stretch in
(``--clock-file``: the bot holds trial time at each reminder due and slows
it while it sends), so the transcript is stamped with the bot's own trial time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine as DbEngine

from core.store.db import read_session
from local_servers.telegram.server import LocalBotApi
from scheduler.clock import Stretch
from scheduler.outbox import get_setting
from scheduler.rehearsal import KEY as CLOCK_KEY
from scheduler.rehearsal import resume_point

ROOT = Path(__file__).resolve().parents[2]
# A token of Telegram's shape; only the demo's own local server ever sees it.
DEMO_TOKEN = "7000000001:" + "DemoTokenOnlyForTheLocalServer00000"[:35]
START_TIMEOUT = 60.0  # real seconds for the bot process to start


class DemoError(Exception):
    """A step of the demo did not happen; the message says which."""


# --- trial time, as the bot process's clock reads it ---------------------------------------


class TrialClock:
    """Follows the bot's rehearsal clock: frozen between runs, exact during one."""

    def __init__(self, position: datetime) -> None:
        self._frozen = position
        self._file: Path | None = None
        self._stretch: Stretch | None = None
        self._read: int | None = None

    def now(self) -> datetime:
        stretch = self._current()
        if stretch is None:
            return self._frozen
        # Never behind what was read before (a stretch is read a moment after it began).
        self._frozen = max(self._frozen, stretch.at(time.monotonic()))
        return self._frozen

    def seconds(self) -> float:
        """Trial time as seconds: the local server's flood limits run on it, as the bot's
        pacing does."""
        return self.now().timestamp()

    def _current(self) -> Stretch | None:
        if self._file is None:
            return None
        try:
            mark = self._file.stat().st_mtime_ns
            if mark != self._read:
                self._stretch = Stretch.from_json(json.loads(self._file.read_text("utf-8")))
                self._read = mark
        except (OSError, ValueError):
            pass  # being replaced: the stretch read last holds for this moment
        return self._stretch

    def follow(self, path: Path) -> None:
        self._file = path
        self._stretch = None
        self._read = None

    def freeze(self, position: datetime) -> None:
        self._file = None
        self._stretch = None
        self._frozen = position


# --- the bot process ---------------------------------------------------------------------


class BotProcess:
    """``python -m bot run`` with the demo's server, database and a rehearsal clock."""

    def __init__(
        self,
        api: LocalBotApi,
        url: str,
        db: DbEngine,
        clock: TrialClock,
        log: Path,
        extra_env: dict[str, str] | None = None,
    ):
        self.api = api
        self.extra_env = extra_env or {}
        self.url = url
        self.db = db
        self.clock = clock
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self._origin: float | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TELEGRAM_BOT_TOKEN=DEMO_TOKEN,
            TELEGRAM_BASE_URL=self.api.base_url,
            DATABASE_URL=self.url,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return ""

    @property
    def clock_file(self) -> Path:
        """Where the bot keeps its rehearsal clock's current stretch (``--clock-file``)."""
        return self.log.with_name("clock.json")

    async def start(self, *clock_args: str) -> None:
        self.clock_file.unlink(missing_ok=True)
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                *clock_args,
                "--clock-file",
                str(self.clock_file),
                cwd=ROOT,
                env=self.env(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        # The engine saves its clock (with its real-time origin) as it starts.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            saved = self._saved_clock()
            if saved is not None and saved.get("origin") not in (None, self._origin):
                self._origin = float(str(saved["origin"]))
                self.clock.follow(self.clock_file)
                return
            self.check_running()
            if time.monotonic() > deadline:
                raise DemoError(f"the bot did not start within {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.02)

    def _saved_clock(self) -> dict[str, object] | None:
        with read_session(self.db) as session:
            saved = get_setting(session, CLOCK_KEY)
        return saved if isinstance(saved, dict) else None

    def check_running(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            raise DemoError(f"the bot stopped unexpectedly (exit code {self.proc.returncode})")

    async def stop(self) -> None:
        """SIGINT, as Ctrl-C would; then trial time stands where the bot saved it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise DemoError("the bot did not stop within 30 s of Ctrl-C") from None
        if proc.returncode != 0:
            raise DemoError(f"the bot exited with code {proc.returncode}")
        with read_session(self.db) as session:
            point = resume_point(session)
        if point is not None:
            self.clock.freeze(point.position)
