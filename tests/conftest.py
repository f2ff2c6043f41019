"""Shared fixtures. The catalogs are compiled here too, so `pytest` alone works."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.protocol import Protocol, load_protocol

pytest_plugins = ["tests.store_fixtures", "tests.bot_harness"]

ROOT = Path(__file__).resolve().parent.parent


def _compile_catalogs() -> None:
    for po in (ROOT / "locales").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            with mo.open("wb") as dst:
                write_mo(dst, catalog)


_compile_catalogs()


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return load_protocol()
