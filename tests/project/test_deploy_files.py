"""The Dockerfile, compose.yaml and the systemd unit run commands the bot has.

Docker itself is not on the test machines; what the image does (build the
wheel, install it, run the bot from elsewhere) is tests/project/test_wheel.py.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FILES = ("Dockerfile", "compose.yaml", "deploy/trial-bot.service")
_EXEC_FORM = re.compile(r'\[\s*"python",\s*"-m",\s*"bot"[^\]]*\]')
_SHELL_FORM = re.compile(r"python -m bot ([^\n\"'#]+)")


def bot_commands(text: str) -> list[list[str]]:
    """Every ``python -m bot ...`` in a file: exec form (JSON) and shell form, arguments only."""
    found = [json.loads(m.group(0))[3:] for m in _EXEC_FORM.finditer(text)]
    found += [shlex.split(m.group(1)) for m in _SHELL_FORM.finditer(text)]
    return found


@pytest.mark.parametrize("name", FILES)
def test_every_bot_command_in_the_deploy_files_exists(name: str) -> None:
    commands = bot_commands((ROOT / name).read_text(encoding="utf-8"))
    assert ["run"] in commands
    parser = build_parser()
    for argv in commands:
        parser.parse_args(argv)  # an unknown command or option exits 2


def test_the_image_runs_the_wheel_as_a_user_without_privileges() -> None:
    stages = (ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ")
    final = stages[-1]
    assert final.startswith("python:3.11-slim")
    install = final.index("pip install /wheels/*.whl")
    user = final.index("\nUSER trial")
    assert install < user < final.index("\nCMD ")
    assert "useradd --system" in final


def test_compose_checks_the_health_of_both_services() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert compose.count("healthcheck:") == 2
    assert "pg_isready" in compose
    assert "condition: service_healthy" in compose
    assert "db-data:/var/lib/postgresql/data" in compose


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    unit = (ROOT / "deploy/trial-bot.service").read_text(encoding="utf-8")
    # verify insists that ExecStart's program exists; the venv is on the server only.
    local = tmp_path / "trial-bot.service"
    local.write_text(unit.replace("/opt/lupus-trial-bot/bin/python", shutil.which("python3") or ""))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
