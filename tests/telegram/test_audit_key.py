"""AUDIT_KEY for `run`: required against real Telegram or WeChat, generated for a
rehearsal and kept beside its SQLite file, where `audit verify --anchor` finds it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot import cli
from bot.runner import NotConfigured, is_rehearsal, run_audit_key
from bot.settings import Settings
from core.store.anchor import anchor_of
from core.store.audit import GENESIS_HASH
from core.store.migrate import migrate

LOCAL = "http://127.0.0.1:8081/bot"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.model_validate({"DATABASE_URL": f"sqlite:///{tmp_path / 'trial.db'}", **env})


def test_a_rehearsal_generates_its_key_once_beside_its_database(tmp_path: Path) -> None:
    rehearsal = settings(tmp_path, TELEGRAM_BASE_URL=LOCAL)
    assert is_rehearsal(rehearsal)
    key = run_audit_key(rehearsal)
    file = tmp_path / "audit.key"
    assert file.read_text(encoding="utf-8").strip().encode() == key
    assert len(key) >= 32
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert run_audit_key(rehearsal) == key  # the next start signs with the same key


def test_production_needs_audit_key_and_refuses_a_short_one(tmp_path: Path) -> None:
    production = settings(tmp_path)
    assert not is_rehearsal(production)
    with pytest.raises(NotConfigured, match=r"^AUDIT_KEY is not set"):
        run_audit_key(production)
    with pytest.raises(NotConfigured, match="AUDIT_KEY must be at least 32 characters"):
        run_audit_key(settings(tmp_path, AUDIT_KEY="short"))
    assert run_audit_key(settings(tmp_path, AUDIT_KEY="s" * 32)) == b"s" * 32
    assert not (tmp_path / "audit.key").exists()


def test_a_rehearsal_against_real_wechat_is_production(tmp_path: Path) -> None:
    wechat = {
        "TELEGRAM_BASE_URL": LOCAL,
        "WECHAT_APP_ID": "wx0123456789abcdef",
        "WECHAT_APP_SECRET": "secret",
        "WECHAT_TOKEN": "token123",
        "WECHAT_ENCODING_AES_KEY": "a" * 43,
        "PUBLIC_BASE_URL": "https://trial.example.org",
    }
    assert not is_rehearsal(settings(tmp_path, **wechat))
    local = {**wechat, "WECHAT_API_BASE_URL": "http://127.0.0.1:8082"}
    assert is_rehearsal(settings(tmp_path, **local))


def test_audit_verify_checks_a_rehearsals_anchor_with_its_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    key = run_audit_key(settings(tmp_path, TELEGRAM_BASE_URL=LOCAL))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    anchor = anchor_of(key, 0, GENESIS_HASH)  # an empty trail's
    assert cli.main(["audit", "verify", "--anchor", anchor, "--count", "0"]) == 0
    assert f"anchor {anchor} holds at record 0" in capsys.readouterr().out
