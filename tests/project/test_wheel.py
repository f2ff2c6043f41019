"""The bot as a hospital installs it: a wheel, in a fresh venv, run from another folder.

The wheel is built (``pip wheel``) from a copy of the checkout's files, so a
stale ``build/`` or compiled catalog in the checkout cannot stand in for what
the build makes. It is installed with its dependencies, from the package
index, into a new venv (about a minute: nothing is borrowed from the
project's own venv, as nothing would be on a server), and ``python -m bot run
--init`` is started in an empty folder against the local Telegram server. A
coordinator writing in Chinese joins with an invitation: the answer proves
the migrations made the database and the compiled catalogs were found.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from local_servers.telegram.server import LocalBotApi
from tests.support.bot_harness import TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 300
INSTALL_TIMEOUT = 600  # dependencies come from the package index


def _checkout_copy(target: Path) -> Path:
    """The files git tracks or would track (not .venv, build/, .mo, data/), copied."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _checkout_copy(tmp_path_factory.mktemp("checkout"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        timeout=BUILD_TIMEOUT,
    )
    (built,) = dist.glob("lupus_trial_bot-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=120)
    subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    return home


def test_the_wheel_carries_catalogs_migrations_and_fonts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA")
        )
    for lang in ("en", "zh_Hans"):
        assert f"bot/locales/{lang}/LC_MESSAGES/messages.mo" in names
    migrations = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert {n.rsplit("/", 1)[1] for n in names if "core/store/migrations/versions/" in n} >= (
        migrations
    )
    assert {"core/store/migrations/env.py", "core/store/migrations/script.py.mako"} <= names
    assert {
        "bot/outputs/fonts/NotoSansSC-Regular.ttf",
        "bot/outputs/fonts/NotoSansSC-Bold.ttf",
        "bot/outputs/fonts/OFL.txt",
    } <= names
    assert "local_servers/telegram/bot_api_schema.json" in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and not [line for line in requires if "manimgx" in line]
    # The checkout's own tools and tests stay out of the product.
    assert not [n for n in names if n.startswith(("tests/", "tools/", "bench/"))]


def _env(elsewhere: Path, api: LocalBotApi) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        DATABASE_URL=f"sqlite:///{elsewhere / 'trial.db'}",
        PYTHONUNBUFFERED="1",
        # Its own free port: tests beside it run bots too, and 8080 can only be had once.
        WEB_PORT="0",
    )
    return env


async def test_the_installed_bot_runs_from_another_folder(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    api = LocalBotApi()
    await api.start()
    env = _env(elsewhere, api)
    try:
        where = subprocess.run(
            [
                python,
                "-c",
                "import bot.i18n, core.store.migrate, bot.outputs.chart_fonts as fonts; "
                "print(bot.i18n.LOCALES_DIR); print(core.store.migrate.MIGRATIONS); "
                "print(fonts.FONT_FILES['bold']); assert fonts.find_cjk_font() == 'Noto Sans SC'",
            ],
            cwd=elsewhere,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        # Read from the install, not from a checkout.
        assert len(where) == 3 and all(Path(p).is_relative_to(venv) for p in where), where

        bot = await asyncio.create_subprocess_exec(
            python,
            "-m",
            "bot",
            "run",
            "--init",
            cwd=elsewhere,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            invite = await asyncio.create_subprocess_exec(
                python,
                *("-m", "bot", "invite", "--role", "coordinator"),
                cwd=elsewhere,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(invite.communicate(), timeout=60)
            assert invite.returncode == 0, err.decode()
            token = out.decode().strip().rsplit("=", 1)[1]
            api.add_user(42, first_name="协调员", language_code="zh-hans")
            await api.user_sends(42, f"/start {token}")
            welcome = await api.wait_for_message(42, timeout=60)
            assert "欢迎以" in welcome.shown and "加入研究团队" in welcome.shown
        finally:
            ended_early = bot.returncode is not None
            if not ended_early:
                bot.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
            if ended_early:
                raise AssertionError("the bot ended on its own:\n" + stderr.decode()[-2000:])
        assert bot.returncode == 0, stderr.decode()[-2000:]
        assert (elsewhere / "trial.db").exists()
        assert not api.violations
    finally:
        await api.stop()
