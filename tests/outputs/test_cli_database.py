"""A wrong database is one clear line, and ``run`` never starts an empty trial by mistake.

``run`` on a ``DATABASE_URL`` that holds no trial (a path with no file, an
empty PostgreSQL database) stops before anything is created, naming where it
looked; ``run --init`` (or ``migrate`` first) makes the new trial's database.
A URL that is not a database, another database's driver, or a server that
cannot be reached is one line on stderr for every command, without the
password.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from bot import cli
from core.store.db import make_engine
from core.store.schema import holds_a_trial
from local_servers.telegram.server import LocalBotApi
from tests.support.bot_harness import TOKEN
from tests.support.store_fixtures import url_text

ROOT = Path(__file__).resolve().parents[2]
REFUSAL = "There is no trial database at "


def _run(
    argv: list[str], url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_run_refuses_a_sqlite_path_with_no_trial_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "elsewhere" / "trial.db"
    for argv in (["run"], ["run", "--resume"]):
        code, err = _run(argv, f"sqlite:///{missing}", monkeypatch, capsys)
        assert code == 2
        assert err.count("\n") == 1
        assert err.startswith(f"{REFUSAL}{missing} (DATABASE_URL).")
        assert "python -m bot run --init" in err and "python -m bot migrate" in err
        assert not missing.parent.exists()


def test_a_relative_path_is_named_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = _run(["run"], "sqlite:///data/trial.db", monkeypatch, capsys)
    assert code == 2
    assert f"{REFUSAL}{tmp_path.resolve() / 'data' / 'trial.db'} " in err
    assert not (tmp_path / "data").exists()


def test_run_refuses_an_empty_database_on_either_backend(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["run"], url_text(db_url), monkeypatch, capsys)
    assert code == 2
    assert err.startswith(REFUSAL) and "(DATABASE_URL)" in err
    assert db_url.password is None or db_url.password not in err
    assert not holds_a_trial(db_url)
    if db_url.get_backend_name() == "postgresql":
        engine = make_engine(db_url)
        try:
            with engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "DATABASE_URL is not a database URL the bot can use"),
        ("mysql://trial@db.example/trial", "DATABASE_URL names a mysql database; the bot runs on"),
        (
            "postgresql://trial:hunter2secret@127.0.0.1:9/trial",
            "The database at postgresql+psycopg://trial:***@127.0.0.1:9/trial (DATABASE_URL) "
            "cannot be used: ",
        ),
    ],
    ids=["garbage", "mysql", "unreachable"],
)
@pytest.mark.parametrize("command", [["run"], ["migrate"], ["audit", "verify"]])
def test_a_wrong_database_url_is_one_line_for_every_command(
    url: str, expected: str, command: list[str]
) -> None:
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (1, 2)
    assert done.stderr.count("\n") == 1, done.stderr
    assert expected in done.stderr
    assert "hunter2secret" not in done.stderr


async def test_run_init_creates_the_trial_database_and_runs(tmp_path: Path) -> None:
    database = tmp_path / "new-trial" / "trial.db"
    url = f"sqlite:///{database}"
    api = LocalBotApi()
    await api.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WEB_PORT": "0",  # /healthz and /metrics on a port of its own
    }
    try:
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--init",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.wait_until(
                lambda: any(r.method == "getUpdates" for r in api.requests),
                timeout=60,
                what="the bot polling",
            )
        finally:
            bot.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, stderr.decode()[-2000:]
        assert holds_a_trial(url)
    finally:
        await api.stop()


def test_migrate_check_is_a_health_check_that_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What compose.yaml and the Dockerfile ask the bot's container: 0 once the bot's
    database holds the trial at this code's schema, 1 before (and nothing created)."""
    path = tmp_path / "trial.db"
    url = f"sqlite:///{path}"
    code, err = _run(["migrate", "--check"], url, monkeypatch, capsys)
    assert (code, err) == (1, f"{path}: no trial database\n")
    assert not path.exists()
    assert _run(["migrate", "--to", "0017"], url, monkeypatch, capsys)[0] == 0
    code, err = _run(["migrate", "--check"], url, monkeypatch, capsys)
    assert code == 1 and "revision 0017, this bot runs on" in err
    assert _run(["migrate"], url, monkeypatch, capsys)[0] == 0
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["migrate", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
