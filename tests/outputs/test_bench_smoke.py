"""``make bench`` runs end to end on a tiny trial and prints its JSON last (speeds not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The benchmark as a process, on its smallest settings (over 30 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIRED = {
    "enroll": {"patients", "reminders", "seconds", "rows_per_s", "baseline_rows_per_s"},
    "cold_start": {"seconds", "rss_mb", "baseline_seconds"},
    "burst": {"reminders", "msgs_per_s", "flood_errors", "lost", "duplicates"},
    "lateness_ms": {"p50", "p99"},
    "status_ms": {"p95"},
    "mixed_burst": {
        "reminders",
        "telegram_sent",
        "wechat_sent",
        "lost",
        "duplicates",
        "telegram_msg_per_s",
        "wechat_msg_per_s",
        "staff_reply_p50_ms",
        "staff_reply_p95_ms",
        "targets",
        "met",
    },
}
TARGETS = {
    "no_loss",
    "no_duplicates",
    "telegram_28_per_s",
    "wechat_not_slower",
    "staff_p95_500_ms",
}


def test_bench_prints_the_issue_json_as_its_last_line() -> None:
    root = Path(__file__).resolve().parents[2]
    args = ["--patients", "20", "--burst", "30", "--lateness", "10", "--lateness-span", "3"]
    args += [
        "--baseline-patients",
        "2",
        "--status-runs",
        "3",
        "--mixed",
        "30",
        "--mixed-staff",
        "2",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for section, keys in REQUIRED.items():
        assert keys <= set(result[section]), (section, keys - set(result[section]))
    assert result["enroll"]["patients"] == 20
    assert result["enroll"]["reminders"] > 20  # every patient got a plan
    assert result["burst"]["reminders"] == 30
    assert result["burst"]["lost"] == 0
    assert result["burst"]["duplicates"] == 0
    assert result["burst"]["flood_errors"] == 0
    assert result["lateness_ms"]["p50"] >= 0  # nothing is delivered before it is due
    # The mixed burst: the bot in its own process, both local servers, staff asking.
    mixed = result["mixed_burst"]
    assert mixed["reminders"] == 30
    assert (mixed["telegram_sent"], mixed["wechat_sent"]) == (15, 15)
    assert (mixed["lost"], mixed["duplicates"]) == (0, 0)
    assert mixed["spec_violations"] == 0
    assert set(mixed["targets"]) == TARGETS
    assert mixed["targets"]["no_loss"] and mixed["targets"]["no_duplicates"]
