"""The naive design the benchmark compares against: one APScheduler job per reminder.

Each reminder is an APScheduler ``date`` job in a ``SQLAlchemyJobStore``
(``sqlite:///...``), added with ``scheduler.add_job(send, "date", run_date=due)``:
what a first version of a reminder bot typically does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]


def send_reminder(reminder_key: str) -> None:
    """The job function (referenced by name in the job store); never run by the bench."""


def _scheduler(url: str) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )


def add_jobs(url: str, jobs: Sequence[tuple[str, datetime]]) -> float:
    """Add one job per reminder to a started (paused) scheduler; the seconds it took."""
    scheduler = _scheduler(url)
    scheduler.start(paused=True)
    try:
        started = time.perf_counter()
        for key, due in jobs:
            scheduler.add_job("bench.naive:send_reminder", "date", run_date=due, id=key, args=[key])
        return time.perf_counter() - started
    finally:
        scheduler.shutdown()


def cold_start(url: str) -> tuple[float, int]:
    """Start a scheduler on an existing job store and load its jobs; (seconds, jobs).

    APScheduler 3 reads only the due jobs when it starts; loading every job
    (``get_jobs``) is what the naive design needs to know what is armed (and
    what its misfire handling does after a long stop), so both are timed.
    """
    started = time.perf_counter()
    scheduler = _scheduler(url)
    scheduler.start(paused=True)
    count = len(scheduler.get_jobs())
    seconds = time.perf_counter() - started
    scheduler.shutdown()
    return seconds, count
