"""Scheduled backups, run by the reminder engine on trial time: written, checked, N kept.

``BACKUP_DIR`` turns them on; ``BACKUP_EVERY`` is when (``03:00``: every day
at that time in the trial's time zone, the default; ``6h``, ``30m``: every so
long); ``BACKUP_KEEP`` how many good copies stay (14 by default: two weeks of
daily copies). SQLite is copied with its online backup API while the bot
runs, PostgreSQL with ``pg_dump``; each copy is checked as soon as it is
written (:mod:`core.store.backups`). A backup that could not be written, or
that fails its check, is logged and told to the coordinators on their own
channel, in their language; the bot keeps running and tries again at the
next scheduled time (a failed run is not retried sooner, so coordinators are
told once per scheduled backup).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.context import Services
from bot.i18n import Translator
from bot.routing import Pace
from bot.settings import SettingError, Settings
from core.messages import N_
from core.store.backups import BackupCheckFailed, write_backup
from core.store.db import BackupError
from core.store.models import StaffRole
from scheduler.jobs import PeriodicJob, Schedule, daily_at, every

log = logging.getLogger(__name__)

JOB_NAME = "backup"

NOT_WRITTEN = N_(
    "The scheduled backup of the trial database for {when} could not be written. "
    "The bot keeps running and tries again at the next scheduled time; the bot's log says why."
)
FAILED_CHECK = N_(
    "The scheduled backup of the trial database for {when} was written but failed its check "
    "(integrity or audit trail), so it does not count as a backup. The bot keeps running and "
    "tries again at the next scheduled time; the bot's log says why."
)

_WALL = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_INTERVAL = re.compile(r"^(\d+)\s*([hm])$")


@dataclass(frozen=True, slots=True)
class BackupPlan:
    """Where, when and how many: the three BACKUP_ settings, read."""

    directory: Path
    schedule: Schedule
    keep: int


def backup_schedule(text: str, zone: ZoneInfo) -> Schedule:
    """BACKUP_EVERY as a schedule: ``HH:MM`` daily in ``zone``, or ``<n>h`` / ``<n>m``."""
    value = text.strip().lower()
    if wall := _WALL.match(value):
        return daily_at(time(int(wall[1]), int(wall[2])), zone)
    if interval := _INTERVAL.match(value):
        amount = int(interval[1])
        span = timedelta(hours=amount) if interval[2] == "h" else timedelta(minutes=amount)
        if span >= timedelta(minutes=5):
            return every(span)
    raise SettingError(
        "BACKUP_EVERY must be a time of day such as 03:00 (daily, in TRIAL_TIMEZONE) or an "
        f"interval of at least 5 minutes such as 6h or 30m, not {text!r}"
    )


def backup_plan(settings: Settings, zone: ZoneInfo) -> BackupPlan | None:
    """The scheduled backups asked for, or None when BACKUP_DIR is not set (off)."""
    if settings.backup_dir is None:
        return None
    if settings.backup_keep < 1:
        raise SettingError(f"BACKUP_KEEP must be 1 or more, not {settings.backup_keep}")
    return BackupPlan(
        settings.backup_dir, backup_schedule(settings.backup_every, zone), settings.backup_keep
    )


async def take_backup(
    services: Services, url: str, plan: BackupPlan, at: datetime, pace: Pace | None = None
) -> Path | None:
    """The backup for trial instant ``at``: its path, or None when it failed (logged and
    told to the coordinators)."""
    try:
        written = await asyncio.to_thread(write_backup, url, plan.directory, at, plan.keep)
    except BackupCheckFailed as exc:
        log.error("scheduled backup for %s failed its check: %s", at.isoformat(), exc)
        await _tell_coordinators(services, FAILED_CHECK, at, pace)
        return None
    except (BackupError, OSError) as exc:
        log.error("scheduled backup for %s could not be written: %s", at.isoformat(), exc)
        await _tell_coordinators(services, NOT_WRITTEN, at, pace)
        return None
    log.info(
        "scheduled backup for %s written and checked: %s (%d older removed)",
        at.isoformat(),
        written.path,
        len(written.deleted),
    )
    return written.path


async def _tell_coordinators(
    services: Services, sentence: str, at: datetime, pace: Pace | None
) -> None:
    def text(t: Translator) -> str:
        return t._(sentence, when=t.datetime(at))

    assert services.router is not None
    reached = await services.router.alert_staff(text, roles=[StaffRole.COORDINATOR], pace=pace)
    if not reached:
        log.error("no coordinator could be told that the backup for %s failed", at.isoformat())


def backup_job(
    services: Services, url: str, plan: BackupPlan, pace: Pace | None = None
) -> PeriodicJob:
    """The scheduled backup as one of the engine's periodic jobs (on trial time)."""

    async def work(at: datetime) -> None:
        await take_backup(services, url, plan, at, pace)

    return PeriodicJob(JOB_NAME, plan.schedule, work)
