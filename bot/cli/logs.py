"""Logging for the long-running commands (``run``, ``demo``, ``local-api``).

Rule: one line per record, ``<time> <level> <logger>: <message>``, on
standard error; the level comes from ``LOG_LEVEL`` (a level name such as
``DEBUG`` or ``WARNING``, any case; ``INFO`` when unset or empty), and a
value that is no level name is refused rather than guessed. The ``httpx``
and ``httpcore`` loggers stay at ``WARNING`` or above whatever ``LOG_LEVEL``
says: their ``INFO`` request lines carry the bot token in the URL
(``/bot<token>/getUpdates``), and a token in a log file is a leaked token.
APScheduler's are held there too: it logs every wake-up of the engine.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import TextIO

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "LOG_FORMAT",
    "QUIET_LOGGERS",
    "LogLevelError",
    "configure_logging",
    "parse_log_level",
]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS: Mapping[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
DEFAULT_LEVEL = logging.INFO
# httpx and httpcore: their request lines carry the token. APScheduler: one
# INFO line per wake-up of the reminder engine (27,000 in one demo) would
# drown the bot's own lines; its warnings and errors still show. Alembic's plugin
# set-up: six INFO lines each time it loads, saying nothing about the database (its
# "Running upgrade" lines stay).
QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler", "alembic.runtime.plugins")


class LogLevelError(ValueError):
    """``LOG_LEVEL`` is not a level name; the message says what is accepted."""


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    A handler that kept the stream it was created with would write into a
    closed stream once that one is replaced (as test runners do).
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def parse_log_level(text: str | None) -> int:
    """The level named by ``LOG_LEVEL``: :data:`DEFAULT_LEVEL` when unset or blank."""
    if text is None or not text.strip():
        return DEFAULT_LEVEL
    level = LEVELS.get(text.strip().upper())
    if level is None:
        raise LogLevelError(
            f"LOG_LEVEL must be one of {', '.join(LEVELS)} (any case), got {text!r}"
        )
    return level


def configure_logging(level_text: str | None) -> int:
    """Send log records to standard error in :data:`LOG_FORMAT` at the level named; returns it.

    ``level_text`` is ``LOG_LEVEL`` (:attr:`bot.settings.Settings.log_level`).

    Calling it again replaces the handler it added rather than adding a
    second one (each record would otherwise be written twice). Raises
    :class:`LogLevelError` before changing anything when ``LOG_LEVEL`` is bad.
    """
    level = parse_log_level(level_text)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return level
