"""What every measurement of ``make bench`` shares: the trial's zone and bot token, progress
lines, percentiles, memory."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

TOKEN = "123456:" + "B" * 35
ZONE = "Asia/Shanghai"


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
