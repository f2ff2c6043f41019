"""Logging of the long-running commands: format, ``LOG_LEVEL``, and no bot token in the log."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.cli.logs import (
    LOG_FORMAT,
    QUIET_LOGGERS,
    LogLevelError,
    configure_logging,
    parse_log_level,
)

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<name>\S+): (?P<msg>.*)$"
)
TOKEN_URL = "POST http://127.0.0.1:8081/bot123456:SECRET/getUpdates"


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Each test leaves the process's logging as it found it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def _lines(err: str) -> list[re.Match[str]]:
    lines = [line for line in err.splitlines() if line]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [m for m in matches if m is not None]


def test_a_record_is_one_line_with_time_level_logger_and_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "%(asctime)s" in LOG_FORMAT
    assert configure_logging("WARNING") == logging.WARNING
    log = logging.getLogger("bot.example")
    log.info("not shown at WARNING")
    log.warning("shown: %s", "reminder late")
    [line] = _lines(capsys.readouterr().err)
    assert (line["level"], line["name"], line["msg"]) == (
        "WARNING",
        "bot.example",
        "shown: reminder late",
    )


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (None, logging.INFO),
        ("", logging.INFO),
        ("debug", logging.DEBUG),
        (" Error ", logging.ERROR),
    ],
)
def test_the_level_comes_from_log_level_and_is_info_by_default(
    text: str | None, level: int
) -> None:
    assert parse_log_level(text) == level
    assert configure_logging(text) == level
    assert logging.getLogger().level == level


def test_configuring_twice_writes_each_record_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    configure_logging("INFO")
    logging.getLogger("bot.example").info("once")
    assert [m["msg"] for m in _lines(capsys.readouterr().err)] == ["once"]


def test_httpx_and_httpcore_stay_at_warning_even_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG")
    for name in ("httpx", "httpcore"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    logging.getLogger("httpx").info("HTTP Request: %s", TOKEN_URL)
    logging.getLogger("httpcore.http11").debug("send_request_headers %s", TOKEN_URL)
    logging.getLogger("bot.example").debug("the bot's own debug line")
    err = capsys.readouterr().err
    assert "SECRET" not in err
    assert [m["msg"] for m in _lines(err)] == ["the bot's own debug line"]


def test_the_schedulers_wake_ups_are_not_logged_but_its_warnings_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    logging.getLogger("apscheduler.executors.default").info('Running job "wake"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    logging.getLogger("scheduler.engine").info("reminder engine started")
    err = capsys.readouterr().err
    assert [m["msg"] for m in _lines(err)] == [
        "Run time of job was missed",
        "reminder engine started",
    ]


def test_a_bad_log_level_is_refused_with_what_is_accepted() -> None:
    with pytest.raises(LogLevelError, match=r"LOG_LEVEL must be one of DEBUG, INFO, .*'loud'"):
        parse_log_level("loud")
    before = logging.getLogger().handlers[:]
    with pytest.raises(LogLevelError):
        configure_logging("loud")
    assert logging.getLogger().handlers == before


@pytest.mark.parametrize(
    "argv",
    [["run"], ["local-api", "--port", "0"], ["demo", "--output", "never-written"]],
    ids=["run", "local-api", "demo"],
)
def test_long_running_commands_refuse_a_bad_log_level_before_starting(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LOG_LEVEL" in err and "'loud'" in err


def test_python_m_bot_run_refuses_a_bad_log_level() -> None:
    env = {**os.environ, "LOG_LEVEL": "verbose"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got 'verbose'"
    ]
