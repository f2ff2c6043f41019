"""``make bench``: the speed and memory targets, measured in one run on this machine.

Progress goes to stderr; the last line of stdout is one JSON object::

    {"enroll": {...}, "cold_start": {...}, "burst": {...}, "lateness_ms": {...},
     "status_ms": {...}, "mixed_burst": {...}}

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
- mixed_burst: ``--mixed`` reminders due at one instant, half to Telegram and
  half to WeChat, sent by the bot itself (``python -m bot run`` with WeChat on)
  through both local servers, while ``--mixed-staff`` coordinators send
  ``/status`` and ``/ae`` on Telegram; with each target (none lost or doubled,
  Telegram >= 28 msg/s, WeChat no slower, staff replies p95 <= 500 ms) met or
  not (:mod:`bench.mixed_burst`).

Each measurement is a module of its own (:mod:`bench.enroll`,
:mod:`bench.cold_start`, :mod:`bench.delivery`, :mod:`bench.status`,
:mod:`bench.mixed_burst`); here they run in order and the JSON is put together.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cold_start import cold_start, cold_start_child
from bench.delivery import counts, delivery
from bench.enroll import enroll_all, naive_jobs
from bench.measure import percentile, progress
from bench.mixed_burst import mixed_burst
from bench.status import status_times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument(
        "--quick", action="store_true", help="500 patients, bursts of 300, 60 on time"
    )
    parser.add_argument(
        "--cohort", type=int, default=200, help="patients enrolled per unit of work"
    )
    parser.add_argument("--burst", type=int, default=3_000)
    parser.add_argument("--lateness", type=int, default=200, help="reminders at normal load")
    parser.add_argument("--lateness-span", type=float, default=120.0, help="real seconds")
    parser.add_argument("--baseline-patients", type=int, default=20)
    parser.add_argument("--status-runs", type=int, default=20)
    parser.add_argument(
        "--mixed", type=int, default=3_000, help="reminders of the Telegram and WeChat burst"
    )
    parser.add_argument("--mixed-staff", type=int, default=20, help="staff asking during it")
    parser.add_argument("--cold-start-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_start_child:
        cold_start_child(args.cold_start_child)
        return 0
    if args.quick:
        args.patients, args.burst, args.lateness, args.lateness_span = 500, 300, 60, 30.0
        args.mixed = 300
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

        progress(
            f"mixed burst: {args.mixed} reminders, half Telegram and half WeChat, "
            f"{args.mixed_staff} staff asking"
        )
        result["mixed_burst"] = mixed_burst(
            root, args.mixed, args.mixed_staff, args.mixed / 20 + 60
        )
        progress(f"mixed burst: {result['mixed_burst']}")

    sections = ("enroll", "cold_start", "burst", "lateness_ms", "status_ms", "mixed_burst")
    ordered = {k: result[k] for k in sections}
    print(json.dumps(ordered))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
