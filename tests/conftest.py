"""Shared fixtures, the catalog check, and the automatic `e2e` marker.

The tests never write into the source tree: the gettext catalogs are compiled by
`make catalogs` (a prerequisite of `make test` and `make test-fast`), and a run
without them stops at once, naming that command, instead of failing test by test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.protocol import Protocol, load_protocol

# Plugins may only be declared in the root conftest (pytest refuses them elsewhere).
pytest_plugins = [
    "tests.support.store_fixtures",
    "tests.support.bot_harness",
    "tests.support.wechat_world",
    "tests.support.wecom_world",
]

ROOT = Path(__file__).resolve().parent.parent

# Fixtures that run the bot end to end: the real Application, polling the
# local Bot API server over HTTP, or the patients' pages on a real HTTP server.
# A test that uses one is an `e2e` test.
E2E_FIXTURES = frozenset({"world", "pages_site"})


def stale_catalogs(root: Path = ROOT) -> list[Path]:
    """The compiled catalogs (.mo) that are missing or older than their .po.

    Older counts as stale because that is make's own rule for the `catalogs`
    target: a translation edited since the last compile would otherwise be
    tested with the previous text.
    """
    stale = []
    for po in sorted((root / "locales").glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(mo.relative_to(root))
    return stale


def pytest_sessionstart(session: pytest.Session) -> None:
    # Listing tests (--collect-only) needs no catalogs; running them does.
    if session.config.option.collectonly:
        return
    stale = stale_catalogs()
    if stale:
        names = ", ".join(str(path) for path in stale)
        raise pytest.UsageError(
            f"compiled catalogs missing or older than their .po: {names}; run `make catalogs`"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the end-to-end harness as `e2e`.

    Done here rather than by hand so that a new test using `world` is
    deselected by `make test-fast` without anyone remembering to mark it.
    """
    for item in items:
        if E2E_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return load_protocol()
