"""``python -m bot`` in a subprocess on a given SQLite file, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bot(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` on ``database`` (trial time zone Asia/Shanghai)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TRIAL_TIMEZONE": "Asia/Shanghai"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
