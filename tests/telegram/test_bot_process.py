"""`python -m bot invite` and `python -m bot run` as real processes against the local server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_servers.telegram.server import LocalBotApi
from scheduler.clock import Stretch
from tests.support.bot_harness import TOKEN

# Real `python -m bot` processes against the local server, seconds each.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_first_coordinator_joins_a_running_bot(tmp_path: Path) -> None:
    api = LocalBotApi(flood_limits=True)
    await api.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'trial.db'}",
    }
    try:
        code, out, err = await _run("invite", "--role", "coordinator", env=env)
        assert code == 0, err
        link = out.strip()
        assert link.startswith("https://t.me/trial_companion_bot?start=")
        token = link.rsplit("=", 1)[1]
        assert 20 <= len(token) <= 64

        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            api.add_user(42, first_name="Coordinator", language_code="en")
            await api.user_sends(42, f"/start {token}")
            welcome = await api.wait_for_message(42, timeout=30)
            assert "Welcome to the study team as coordinator" in welcome.shown
            # The same link does not work twice.
            api.add_user(43, first_name="Someone", language_code="en")
            await api.user_sends(43, f"/start {token}")
            again = await api.wait_for_message(43, timeout=30)
            assert "already been used" in again.shown
        finally:
            bot.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, stderr.decode()[-2000:]
        assert not api.violations
    finally:
        await api.stop()


async def test_run_without_token_explains(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trial.db'}"
    code, _, err = await _run("run", env=env)
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in err


async def test_invite_offline_with_a_given_username(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trial.db'}"
    code, out, _ = await _run("invite", "--role", "nurse", "--bot-username", "site_bot", env=env)
    assert code == 0
    assert out.startswith("https://t.me/site_bot?start=")
    code, _, err = await _run("invite", "--role", "nurse", env=env)
    assert code == 2
    assert "--bot-username" in err


async def _rehearsal(env: dict[str, str], *clock_args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *clock_args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _saved_position(url: str) -> datetime:
    """The rehearsal clock's resume point, once the running bot has saved one."""
    from core.store.db import make_engine, read_session
    from scheduler.rehearsal import resume_point

    db = make_engine(url)
    try:
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(Exception):  # not created yet
                    with read_session(db) as session:
                        point = resume_point(session)
                    if point is not None:
                        return point.position
                await asyncio.sleep(0.1)
    finally:
        db.dispose()


async def _engine_started(url: str, origin: float) -> None:
    """Wait for the engine of the bot whose clock began at ``origin`` to save that clock."""
    from core.store.db import make_engine, read_session
    from scheduler.outbox import get_setting
    from scheduler.rehearsal import KEY

    db = make_engine(url)
    try:
        async with asyncio.timeout(60):
            while True:
                with read_session(db) as session:
                    saved = get_setting(session, KEY)
                if isinstance(saved, dict) and saved.get("origin") == origin:
                    return
                await asyncio.sleep(0.05)
    finally:
        db.dispose()


async def test_resume_continues_from_the_saved_trial_time_after_a_command_ran_between(
    tmp_path: Path,
) -> None:
    api = LocalBotApi(flood_limits=False)
    await api.start()
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
    }
    clock_file = tmp_path / "clock.json"
    start = "2026-03-02T09:00:00+08:00"  # months before the real date these tests run on
    try:
        bot = await _rehearsal(env, "--init", "--clock-start", start, "--clock-speed", "3600")
        first = await _saved_position(url)
        await api.wait_until(lambda: api.waiting_polls > 0, timeout=60)  # running: Ctrl-C
        bot.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, stderr.decode()[-2000:]
        stood = await _saved_position(url)
        assert stood >= first

        # Between two runs, a command from the command line: it happens on the trial's
        # timeline, so resuming does not jump to today's real date.
        code, out, err = await _run(
            "invite", "--role", "nurse", "--bot-username", "site_bot", env=env
        )
        assert code == 0, err
        assert out.startswith("https://t.me/site_bot?start=")

        bot = await _rehearsal(env, "--resume", "--clock-file", str(clock_file))
        try:
            async with asyncio.timeout(60):
                while not clock_file.exists():
                    await asyncio.sleep(0.01)
            # Its first stretch: standing where the first run stood until the engine starts.
            resumed = Stretch.from_json(json.loads(clock_file.read_text(encoding="utf-8")))
            await _engine_started(url, resumed.origin)
            await api.wait_until(lambda: api.waiting_polls > 0, timeout=60)  # running: Ctrl-C
        finally:
            bot.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, stderr.decode()[-2000:]
        assert resumed.speed == 3600
        assert resumed.start == stood
        assert resumed.start < datetime(2026, 3, 3, tzinfo=UTC)
    finally:
        await api.stop()
