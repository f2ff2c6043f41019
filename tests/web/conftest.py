"""The patients' pages on a real HTTP server (``pages_site``), in both languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.patient_pages import PagesSite, start_pages


@pytest.fixture(params=["en", "zh_Hans"])
async def pages_site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PagesSite]:
    """The pages for a patient reading English, then for one reading Chinese."""
    async for site in start_pages(tmp_path, request.param):
        yield site
