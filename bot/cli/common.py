"""What the commands of ``python -m bot`` share: the command type, its refusal, argument types."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from bot.i18n import Lang, parse_language
from bot.settings import Settings

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from core.endpoints import PatientEndpoints
    from core.protocol import Protocol
    from core.trial_records import TrialData

__all__ = [
    "Command",
    "CommandError",
    "TrialRead",
    "database_refusal",
    "day_arg",
    "instant_arg",
    "kg_arg",
    "lang_arg",
    "read_trial",
    "speed_arg",
]

Command = Callable[[argparse.Namespace, Settings], int]
SUPPORTED_DATABASES = frozenset({"sqlite", "postgresql"})


class CommandError(Exception):
    """A command cannot do what was asked; the message says why (exit code 2)."""


def database_refusal(error: Exception, url: str) -> str | None:
    """One line for a ``DATABASE_URL`` that is not a usable database, or None for any other
    error (which stays a traceback: a bug, not a setting).

    The URL is shown without its password; the driver's reason by its first line.
    """
    if "sqlalchemy" not in sys.modules:  # nothing opened a database
        return None
    from sqlalchemy.exc import ArgumentError, OperationalError

    from core.store.db import normalise_url
    from core.store.schema import where

    if isinstance(error, ModuleNotFoundError):  # the driver of another database
        try:
            backend = normalise_url(url).get_backend_name()
        except ArgumentError:
            return None
        if backend in SUPPORTED_DATABASES:
            return None
        return f"DATABASE_URL names a {backend} database; the bot runs on SQLite or PostgreSQL"
    if isinstance(error, ArgumentError):
        return (
            f"DATABASE_URL is not a database URL the bot can use ({error}); give one such as "
            "sqlite:///data/trial.db or postgresql://user@host/trial"
        )
    if isinstance(error, OperationalError):
        reason = str(error.orig or error).strip().splitlines()
        return f"The database at {where(url)} (DATABASE_URL) cannot be used: " + (
            reason[0] if reason else type(error.orig).__name__
        )
    return None


def day_arg(text: str) -> date:
    """A date as ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def kg_arg(text: str) -> Decimal:
    """A body weight in kg (``62.5`` or ``62.5kg``), finite."""
    try:
        value = Decimal(text.removesuffix("kg").strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"expected a weight in kg such as 62.5, got {text!r}"
        ) from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"expected a weight in kg such as 62.5, got {text!r}")
    return value


def lang_arg(text: str) -> Lang:
    """``zh`` or ``en`` (and the spellings :func:`bot.i18n.parse_language` knows)."""
    lang = parse_language(text)
    if lang is None:
        raise argparse.ArgumentTypeError(f"expected zh or en, got {text!r}")
    return lang


def instant_arg(text: str) -> datetime:
    """A date and time with its UTC offset: a rehearsal clock needs an instant, not a wall time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected a date and time with its offset, such as 2026-12-01T06:00:00+08:00, "
            f"got {text!r}"
        )
    return value


def speed_arg(text: str) -> float:
    """A positive, finite number of trial seconds per real second."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number such as 3600, got {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class TrialRead:
    """The trial as the output commands (export, report) read it, with its cut-off."""

    protocol: Protocol
    zone: ZoneInfo
    data: TrialData
    endpoints: dict[str, PatientEndpoints]
    now: datetime
    today: date


def read_trial(settings: Settings, today: date | None) -> TrialRead | None:
    """The whole trial (planned events included) and its endpoints, as of ``today`` (the
    trial's today when None); None after printing why, when the database cannot be read."""
    from sqlalchemy.exc import DBAPIError

    from core.schedule import trial_today, trial_zone
    from core.store.db import make_engine, read_session, safe_url
    from core.store.trial_data import load_trial_data
    from core.tables.lab_file import derive_trial_endpoints

    protocol = settings.protocol()
    zone = trial_zone(settings.trial_timezone)
    engine = make_engine(settings.database_url)
    try:
        with read_session(engine) as session:
            data = load_trial_data(session, zone, events=True)
    except DBAPIError as exc:
        print(
            f"error: cannot read the database {safe_url(settings.database_url)}: {exc.orig}",
            file=sys.stderr,
        )
        return None
    finally:
        engine.dispose()
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    now = datetime.now(UTC)
    return TrialRead(protocol, zone, data, endpoints, now, today or trial_today(now, zone))
