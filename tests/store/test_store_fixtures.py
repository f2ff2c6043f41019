"""Without a PostgreSQL server the store's PostgreSQL tests skip, saying why, unless
``REQUIRE_POSTGRES=1`` (as in ``.ci/run``) makes them fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs pytest itself in subprocesses (about 10 s each).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:9/test"  # the discard port: nothing listens


def _run_postgres_cases(require: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REQUIRE_POSTGRES"}
    env["TEST_DATABASE_URL"] = NOWHERE
    if require:
        env["REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/store/test_store_types.py::test_a_unit_of_work_needs_an_aware_now",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("require", [False, True])
def test_an_unreachable_server_skips_with_the_reason_or_fails_when_required(
    require: bool,
) -> None:
    result = _run_postgres_cases(require)
    out = result.stdout
    assert "PostgreSQL not reachable at postgresql+psycopg://postgres@127.0.0.1:9/test" in out
    assert "set TEST_DATABASE_URL or start the server" in out
    assert "1 passed" in out  # the SQLite case still runs
    if require:
        assert result.returncode != 0
        assert "1 error" in out
    else:
        assert result.returncode == 0, out
        assert "1 skipped" in out
