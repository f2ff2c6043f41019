"""`python -m bot invite` and `python -m bot run` as real processes against the local server:
the first coordinator joining, the health check, and the one-process-per-token lock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from core.store.db import make_engine, read_session
from core.store.models import ProcessLock
from core.store.process_lock import acquire, polling_lock_name
from core.store.schema import ensure_schema
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
        "WEB_PORT": "0",  # /healthz and /metrics on a port of its own
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


async def test_run_against_real_telegram_without_audit_key_refuses_naming_it(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUDIT_KEY", "TELEGRAM_BASE_URL")}
    env["TELEGRAM_BOT_TOKEN"] = TOKEN
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trial.db'}"
    code, _, err = await _run("run", "--init", env=env)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("AUDIT_KEY is not set")
    assert not (tmp_path / "audit.key").exists()  # production never makes one up


async def test_invite_offline_with_a_given_username(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trial.db'}"
    code, out, _ = await _run("invite", "--role", "nurse", "--bot-username", "site_bot", env=env)
    assert code == 0
    assert out.startswith("https://t.me/site_bot?start=")
    code, _, err = await _run("invite", "--role", "nurse", env=env)
    assert code == 2
    assert "--bot-username" in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _healthz(port: int) -> tuple[int, dict[str, object]] | None:
    """``GET /healthz`` of a bot process; None while nothing listens yet."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as answer,
        ):
            return answer.status, await answer.json()
    except aiohttp.ClientConnectionError:
        return None


async def _healthy(bot: asyncio.subprocess.Process, port: int, timeout: float = 60) -> None:
    """Wait until the bot at ``port`` answers /healthz with 200 (it polls, ticks and writes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    answer = None
    while asyncio.get_running_loop().time() < deadline:
        assert bot.returncode is None, "the bot stopped"
        answer = await _healthz(port)
        if answer is not None and answer[0] == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"/healthz never answered 200: {answer}")


async def _start_bot(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(bot: asyncio.subprocess.Process) -> str:
    bot.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    assert bot.returncode == 0, stderr.decode()[-2000:]
    return stderr.decode()


def _locks(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return [(lock.job, lock.holder) for lock in session.exec(select(ProcessLock))]
    finally:
        engine.dispose()


async def test_a_second_bot_on_the_same_database_and_token_refuses_and_the_first_runs_on(
    tmp_path: Path,
) -> None:
    """Two `python -m bot run` on one database and token: the second stops at once with one
    line saying why; the first keeps polling and answering. Its web server runs without
    WeChat (/healthz at WEB_PORT)."""
    api = LocalBotApi()
    await api.start()
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WEB_PORT": str(port),
    }
    try:
        first = await _start_bot(env, "--init")
        try:
            await _healthy(first, port)
            second = await _start_bot({**env, "WEB_PORT": "0"})
            _, err = await asyncio.wait_for(second.communicate(), timeout=60)
            assert second.returncode == 2
            lines = err.decode().strip().splitlines()
            assert len(lines) == 1, lines
            assert lines[0].startswith("Another bot process (")
            assert "is already polling Telegram with this token on this database" in lines[0]
            # The first one is untouched: healthy, and it answers.
            assert first.returncode is None
            assert (await _healthz(port)) == (200, {"ok": True, "reasons": []})
            api.add_user(50, first_name="Someone", language_code="en")
            await api.user_sends(50, "/start")
            assert "invited" in (await api.wait_for_message(50, timeout=30)).shown
        finally:
            await _stop(first)
        assert _locks(url) == []  # a graceful stop gives the lock back
        assert not api.violations
    finally:
        await api.stop()


async def test_a_stale_lock_of_a_bot_that_died_elsewhere_is_taken_over(tmp_path: Path) -> None:
    """A lock whose heartbeat stopped two minutes ago (its host died) does not keep the bot
    from starting: the new one takes it over and runs."""
    api = LocalBotApi()
    await api.start()
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    ensure_schema(url)
    engine = make_engine(url)
    try:
        name = polling_lock_name(TOKEN)
        two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)
        acquire(engine, name, "otherhost-4242", two_minutes_ago, stale_after=timedelta(minutes=1))
    finally:
        engine.dispose()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WEB_PORT": str(port),
    }
    try:
        bot = await _start_bot(env)
        try:
            await _healthy(bot, port)
            ((held, holder),) = _locks(url)
            assert held == name
            assert holder == f"{socket.gethostname()}-{bot.pid}"
        finally:
            await _stop(bot)
    finally:
        await api.stop()


async def test_a_web_port_in_use_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    """The web server always runs, so a WEB_PORT another program holds is said plainly."""
    api = LocalBotApi()
    await api.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": api.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'trial.db'}",
            "WEB_PORT": str(port),
        }
        try:
            code, _, err = await _run("run", "--init", env=env)
        finally:
            await api.stop()
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"the bot's web server cannot listen on 127.0.0.1:{port} (")
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
        bot = await _start_bot(env, "--init", "--clock-start", start, "--clock-speed", "3600")
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

        bot = await _start_bot(env, "--resume", "--clock-file", str(clock_file))
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
