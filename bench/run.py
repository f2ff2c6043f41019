"""``make bench``: the speed and memory targets, measured in one run on this machine.

Progress goes to stderr; the last line of stdout is one JSON object::

    {"enroll": {...}, "cold_start": {...}, "burst": {...}, "lateness_ms": {...},
     "status_ms": {...}}

Everything runs in a temporary directory (SQLite files there), through the
production code paths:

- enroll: ``core.store.services.enroll_patients``, a cohort of
  ``--cohort`` patients per unit of work (one transaction, each patient with
  their own audit records), both arms, daily doses on, day 0 spread over 8
  weeks. Baseline: the reminders of a sample of patients added
  as one APScheduler ``date`` job each to a ``SQLAlchemyJobStore``
  (:mod:`bench.naive`).
- cold_start: a fresh interpreter, from nothing to an armed reminder window
  (migrate, build the Application and ``bot.runner.build_engine``, ``start``
  and its first ``refill``), with the peak RSS. Baseline: the naive job store
  started with every job loaded, measured on the sample and scaled.
- burst and lateness: the real Engine and ``bot.routing.Router`` with the Telegram transport
  through PTB to a ``LocalBotApi(flood_limits=True)`` on 127.0.0.1, on a
  rehearsal clock at real speed (a daytime trial instant, out of the quiet
  hours); each delivery is timed when the server accepts it.
- status_ms: ``bot.staff.status.overview_blocks`` (what ``/status`` renders)
  on the enrolled database, after one warm-up call and
  ``bot.runner.freeze_startup_heap``, as in a running bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

TOKEN = "123456:" + "B" * 35
ZONE = "Asia/Shanghai"
# A weekday 10:00 in Shanghai: trial time for burst and lateness (outside the quiet hours).
REHEARSAL_START = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)
DELIVERY_DAY0 = date(2027, 2, 1)
FIRST_CHAT = 500_000


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB (/proc/self/status)."""
    values: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


# --------------------------------------------------------------------------- enroll


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


# --------------------------------------------------------------------------- /status


def status_times(url: str, runs: int, at: datetime) -> list[float]:
    """Milliseconds per ``/status`` overview (queries and rendering), ``runs`` times."""
    from bot.context import Ctx, Services
    from bot.i18n import Translator
    from bot.runner import freeze_startup_heap
    from bot.staff.status import overview_blocks
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine
    from scheduler.clock import FakeClock

    zone = trial_zone(ZONE)
    services = Services(make_engine(url), load_protocol(), FakeClock(at), zone)

    @dataclass
    class StatusCtx:
        services: Services
        t: Translator

        def now(self) -> datetime:
            return self.services.clock.now()

    ctx = cast(Ctx, StatusCtx(services, Translator("en", zone)))
    overview_blocks(ctx)  # connection pool and caches warm, as in a running bot
    freeze_startup_heap()  # as the bot does once its engine has started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        blocks = overview_blocks(ctx)
        times.append((time.perf_counter() - started) * 1000)
        assert blocks
    services.engine.dispose()
    return times


# --------------------------------------------------------------------------- cold start


def cold_start_child(url: str) -> None:
    """In a fresh interpreter: schema to head, build the bot's engine, start it, wait until armed."""
    started = time.perf_counter()
    from bot.channels.telegram.app import build_application
    from bot.context import Services
    from bot.runner import build_engine, freeze_startup_heap
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine
    from core.store.schema import ensure_schema
    from scheduler.clock import SystemClock
    from scheduler.ports import Alert

    class NeverSends:
        """Sender and alerter that never reach Telegram (nothing is due at start-up)."""

        async def send(self, reminder_id: int, *, repeat: bool) -> int:
            return 1

        async def alert(self, alert: Alert) -> None:
            return None

    async def main() -> dict[str, float]:
        ensure_schema(url)  # as bot.runner.make_services
        services = Services(make_engine(url), load_protocol(), SystemClock(), trial_zone(ZONE))
        app = build_application(services, TOKEN, base_url="http://127.0.0.1:9/bot")
        engine = build_engine(app, services)
        engine.sender = engine.alerter = NeverSends()
        armed = asyncio.Event()
        refill = engine.refill

        async def first_refill() -> None:
            await refill()
            armed.set()

        engine.refill = first_refill  # type: ignore[method-assign]
        await engine.start()
        freeze_startup_heap()  # what bot.runner.attach_engine does next, on the same loop
        await asyncio.wait_for(armed.wait(), 60)
        seconds = time.perf_counter() - started
        current, peak = rss_mb()
        instants = len(engine.wake_instants())
        await engine.stop()
        return {"seconds": seconds, "rss_mb": current, "peak_rss_mb": peak, "armed": instants}

    print(json.dumps(asyncio.run(main())))


def cold_start(url: str) -> dict[str, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--cold-start-child", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    wall = time.perf_counter() - started
    child = json.loads(out.stdout.strip().splitlines()[-1])
    child["process_wall_seconds"] = wall
    return cast(dict[str, float], child)


# --------------------------------------------------------------------------- delivery


@dataclass
class Delivery:
    """What reached the local server, by chat: real monotonic instants."""

    due_real: dict[int, float]  # chat -> when its reminder was due (real monotonic)
    delivered: list[tuple[int, float]]
    flood_errors: int
    statuses: dict[str, int]


def _setup_delivery_db(url: str, offsets: Sequence[float]) -> dict[int, datetime]:
    """One joined patient per offset, with exactly one reminder due at start + offset.

    Patients are enrolled through ``enroll_patient`` (day 0 weeks ahead, no
    daily doses); their first reminder is then moved to its due instant and
    their other reminders stay weeks away. Returns chat id -> due instant.
    """
    from sqlalchemy import func, update
    from sqlmodel import col, select

    from core.protocol import load_protocol
    from core.store.db import make_engine
    from core.store.identities import bind_account
    from core.store.migrate import migrate
    from core.store.models import Channel, Reminder
    from core.store.services import enroll_patient
    from core.store.uow import UnitOfWork

    migrate(url)
    engine = make_engine(url)
    protocol = load_protocol()
    arms = list(protocol.arms)
    before = REHEARSAL_START - timedelta(days=1)
    due: dict[int, datetime] = {}
    for i, offset in enumerate(offsets):
        with UnitOfWork(engine, "system", before) as uow:
            patient = enroll_patient(
                uow,
                protocol,
                study_id=f"D{i:05d}",
                arm=arms[i % len(arms)],
                day0=DELIVERY_DAY0,
                sex="F",
                weight_kg="60",
                language="en" if i % 2 else "zh_Hans",
                timezone=ZONE,
                daily_dose_reminders=False,
                now=before,
            )
            assert patient.id is not None
            chat = FIRST_CHAT + patient.id
            bind_account(uow, patient, Channel.TELEGRAM, str(chat), str(chat))
            first = uow.session.exec(
                select(func.min(Reminder.id)).where(Reminder.patient_id == patient.id)
            ).one()
            instant = REHEARSAL_START + timedelta(seconds=offset)
            uow.session.execute(
                update(Reminder).where(col(Reminder.id) == first).values(due_at=instant)
            )
            due[chat] = instant
    engine.dispose()
    return due


async def _deliver(url: str, due: dict[int, datetime], timeout: float) -> Delivery:
    from sqlmodel import select

    from bot.channels.telegram.app import build_application
    from bot.context import Services
    from bot.local_api.server import LocalBotApi, SentMessage
    from bot.runner import build_engine
    from core.protocol import load_protocol
    from core.schedule import trial_zone
    from core.store.db import make_engine, read_session
    from core.store.models import Reminder
    from scheduler.clock import RehearsalClock

    class TimedApi(LocalBotApi):
        """The local server, noting when it accepted each message."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.delivered: list[tuple[int, float]] = []

        def _deliver(self, sent: SentMessage, reply_to: Any) -> Any:
            self.delivered.append((sent.chat_id, time.monotonic()))
            return super()._deliver(sent, reply_to)

    api = TimedApi(flood_limits=True)
    await api.start()
    for chat in due:
        api.add_user(chat, first_name=f"Patient{chat}", language_code="en")
    engine_db = make_engine(url)
    clock = RehearsalClock(REHEARSAL_START, 1.0)
    services = Services(engine_db, load_protocol(), clock, trial_zone(ZONE))
    app = build_application(services, TOKEN, base_url=api.base_url)
    due_real = {
        chat: clock._origin + (instant - clock.start).total_seconds() / clock.speed
        for chat, instant in due.items()
    }
    last_due = max(due_real.values())
    try:
        async with app:
            engine = build_engine(app, services)
            await engine.start()
            try:
                reported = 0
                while time.monotonic() < last_due + timeout:
                    await asyncio.sleep(0.5)
                    if len(api.delivered) >= len(due) and time.monotonic() > last_due:
                        await asyncio.sleep(2.0)  # anything sent twice would show up now
                        break
                    if len(api.delivered) - reported >= 500:
                        reported = len(api.delivered)
                        progress(f"  {reported} of {len(due)} delivered")
            finally:
                await engine.stop()
    finally:
        await api.stop()
    with read_session(engine_db) as session:
        statuses = Counter(str(s) for s in session.exec(select(Reminder.status)).all())
    engine_db.dispose()
    return Delivery(due_real, list(api.delivered), api.flood_errors, dict(statuses))


def delivery(url: str, offsets: Sequence[float], timeout: float) -> Delivery:
    due = _setup_delivery_db(url, offsets)
    return asyncio.run(_deliver(url, due, timeout))


def counts(run: Delivery) -> tuple[int, int]:
    """(lost, duplicates): reminders never delivered, deliveries beyond one per reminder."""
    per_chat = Counter(chat for chat, _ in run.delivered)
    lost = sum(1 for chat in run.due_real if per_chat[chat] == 0)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    return lost, duplicates


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="500 patients, burst 300, 60 on time")
    parser.add_argument(
        "--cohort", type=int, default=200, help="patients enrolled per unit of work"
    )
    parser.add_argument("--burst", type=int, default=3_000)
    parser.add_argument("--lateness", type=int, default=200, help="reminders at normal load")
    parser.add_argument("--lateness-span", type=float, default=120.0, help="real seconds")
    parser.add_argument("--baseline-patients", type=int, default=20)
    parser.add_argument("--status-runs", type=int, default=20)
    parser.add_argument("--cold-start-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_start_child:
        cold_start_child(args.cold_start_child)
        return 0
    if args.quick:
        args.patients, args.burst, args.lateness, args.lateness_span = 500, 300, 60, 30.0
    baseline_patients = max(1, min(args.baseline_patients, args.patients))

    import logging

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    result: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="trial-bench-") as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'trial.db'}"
        now = datetime.now(UTC).replace(microsecond=0)

        progress(f"enroll: {args.patients} patients (both arms, daily doses on)")
        seconds, rows = enroll_all(url, args.patients, now, args.cohort)
        rate = rows / seconds
        progress(f"enroll: {rows} reminder rows in {seconds:.1f} s = {rate:,.0f} rows/s")

        progress(f"baseline: APScheduler SQLAlchemyJobStore, {baseline_patients} patients")
        jobs = naive_jobs(baseline_patients, now)
        from bench import naive

        naive_url = f"sqlite:///{root / 'naive.db'}"
        naive_seconds = naive.add_jobs(naive_url, jobs)
        naive_rate = len(jobs) / naive_seconds
        progress(f"baseline: {len(jobs)} jobs in {naive_seconds:.1f} s = {naive_rate:,.0f} rows/s")
        naive_cold, loaded = naive.cold_start(naive_url)
        scale = args.patients / baseline_patients
        result["enroll"] = {
            "patients": args.patients,
            "reminders": rows,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rate),
            "baseline_rows_per_s": round(naive_rate),
            "speedup": round(rate / naive_rate, 1),
            "baseline_sample_patients": baseline_patients,
            "baseline_sample_jobs": len(jobs),
            "transactions": f"one per cohort of {args.cohort} patients",
        }

        progress(f"status: /status overview x{args.status_runs}")
        status = status_times(url, args.status_runs, now + timedelta(weeks=8))
        result["status_ms"] = {
            "p95": round(percentile(status, 95), 1),
            "p50": round(statistics.median(status), 1),
            "runs": len(status),
        }
        progress(f"status: p95 {result['status_ms']['p95']} ms")

        progress("cold start: fresh interpreter to an armed engine")
        child = cold_start(url)
        result["cold_start"] = {
            "seconds": round(child["seconds"], 3),
            "rss_mb": round(child["peak_rss_mb"], 1),
            "baseline_seconds": round(naive_cold * scale, 2),
            "rss_mb_is": "peak (VmHWM) of the fresh process",
            "process_wall_seconds": round(child["process_wall_seconds"], 3),
            "armed_instants": child["armed"],
            "baseline_measured_seconds": round(naive_cold, 3),
            "baseline_measured_jobs": loaded,
            "baseline_scaled_by": round(scale, 1),
        }
        progress(f"cold start: {result['cold_start']}")

        burst_timeout = args.burst / 20 + 60
        progress(
            f"burst: {args.burst} reminders due at the same instant (~{args.burst / 28:.0f} s)"
        )
        burst = delivery(f"sqlite:///{root / 'burst.db'}", [5.0] * args.burst, burst_timeout)
        lost, duplicates = counts(burst)
        times = sorted(t for _, t in burst.delivered)
        span = times[-1] - times[0] if len(times) > 1 else float("nan")
        result["burst"] = {
            "reminders": args.burst,
            "msgs_per_s": round(len(times) / span, 2) if span == span else None,
            "flood_errors": burst.flood_errors,
            "lost": lost,
            "duplicates": duplicates,
            "delivered": len(times),
            "seconds": round(span, 2),
            "statuses": burst.statuses,
        }
        progress(f"burst: {result['burst']}")

        progress(f"lateness: {args.lateness} reminders over {args.lateness_span:.0f} s")
        step = args.lateness_span / max(1, args.lateness)
        offsets = [5.0 + i * step for i in range(args.lateness)]
        normal = delivery(f"sqlite:///{root / 'normal.db'}", offsets, 60.0)
        late_ms = [(t - normal.due_real[chat]) * 1000 for chat, t in normal.delivered]
        lost_n, dup_n = counts(normal)
        result["lateness_ms"] = {
            "p50": round(percentile(late_ms, 50), 1),
            "p99": round(percentile(late_ms, 99), 1),
            "max": round(max(late_ms), 1) if late_ms else None,
            "reminders": args.lateness,
            "lost": lost_n,
            "duplicates": dup_n,
            "flood_errors": normal.flood_errors,
        }
        progress(f"lateness: {result['lateness_ms']}")

    ordered = {k: result[k] for k in ("enroll", "cold_start", "burst", "lateness_ms", "status_ms")}
    print(json.dumps(ordered))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
