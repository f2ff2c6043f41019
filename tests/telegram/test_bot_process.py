"""`python -m bot invite` and `python -m bot run` as real processes against the local server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from local_servers.telegram.server import LocalBotApi
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
