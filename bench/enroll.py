"""enroll: reminder rows written per second by the production enrollment, and the baseline's jobs."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from bench.measure import ZONE, progress


def enroll_all(url: str, patients: int, now: datetime, cohort: int) -> tuple[float, int]:
    """Enroll ``patients`` (half per arm, daily doses on) in cohorts; (seconds, reminder rows)."""
    from sqlalchemy import func
    from sqlmodel import select

    from core.protocol import load_protocol
    from core.store.db import make_engine, read_session
    from core.store.migrate import migrate
    from core.store.models import Reminder
    from core.store.services import Newcomer, enroll_patients
    from core.store.uow import UnitOfWork

    migrate(url)
    engine = make_engine(url)
    protocol = load_protocol()
    arms = list(protocol.arms)
    today = now.date()
    newcomers = [
        Newcomer(
            study_id=f"P{i:05d}",
            arm=arms[i % len(arms)],
            day0=today + timedelta(days=1 + i % 56),
            sex="F" if i % 3 else "M",
            weight_kg="62.5",
            language="zh_Hans" if i % 2 else "en",
            timezone=ZONE,
            daily_dose_reminders=True,
        )
        for i in range(patients)
    ]
    started = time.perf_counter()
    done = 0
    for start in range(0, patients, cohort):
        with UnitOfWork(engine, "system", now, reason="bench cohort") as uow:
            enroll_patients(uow, protocol, newcomers[start : start + cohort], now=now)
        if (start + cohort) // 1000 > done // 1000:
            progress(f"enrolled {start + cohort} patients in {time.perf_counter() - started:.1f} s")
        done = start + cohort
    seconds = time.perf_counter() - started
    with read_session(engine) as session:
        rows = int(session.exec(select(func.count()).select_from(Reminder)).one())
    engine.dispose()
    return seconds, rows


def naive_jobs(patients: int, now: datetime) -> list[tuple[str, datetime]]:
    """The sample's reminders as (job id, run date), from the same plan as production."""
    from core.protocol import load_protocol
    from core.schedule import Enrollment, plan

    protocol = load_protocol()
    arms = list(protocol.arms)
    jobs: list[tuple[str, datetime]] = []
    for i in range(patients):
        enrollment = Enrollment(
            arms[i % len(arms)], now.date() + timedelta(days=1 + i % 56), ZONE, True
        )
        for r in plan(protocol, enrollment).reminders:
            if r.due <= now:
                continue  # production stores these as missed; a naive bot would not add them
            jobs.append((f"P{i:05d}:{r.event_kind}:{r.event_number}:{r.slot}", r.due))
    return jobs
