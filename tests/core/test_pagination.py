"""bot.pagination: pages under Telegram's limit, nothing lost, buttons within 64 bytes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import Translator
from bot.pagination import (
    PAGE_LIMIT,
    page_data,
    page_view,
    parse_data,
    split_pages,
    utf16_len,
)

T = Translator("en", dt.UTC)


def test_utf16_counts_like_telegram() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("肾脏") == 2
    assert utf16_len("🙂") == 2  # outside the BMP: a surrogate pair


def test_short_list_is_one_page_without_buttons() -> None:
    pages = split_pages(["a", "b"])
    assert pages == ["a\nb"]
    text, buttons = page_view(T, pages, "reports", "", 1)
    assert text == "a\nb"
    assert buttons == []


def test_blocks_stay_whole_and_pages_stay_under_the_limit() -> None:
    blocks = [f"R{i} " + "x" * 90 + "\n  detail line" for i in range(100)]
    pages = split_pages(blocks, limit=1000)
    assert len(pages) > 1
    assert all(utf16_len(p) <= 1000 for p in pages)
    assert "\n".join(pages) == "\n".join(blocks)
    for block in blocks:
        assert any(block in page for page in pages)  # never split across pages


def test_an_over_long_line_is_cut_not_dropped() -> None:
    line = "肾" * 2500 + "🙂" * 10
    pages = split_pages([line], limit=1000)
    assert "".join(pages) == line
    assert all(utf16_len(p) <= 1000 for p in pages)


@given(st.lists(st.text(min_size=0, max_size=300), max_size=60))
def test_nothing_is_lost_and_no_page_is_too_long(blocks: list[str]) -> None:
    pages = split_pages(blocks, limit=500)
    assert all(utf16_len(p) <= 500 for p in pages)
    assert "".join("".join(pages).split("\n")) == "".join("".join(blocks).split("\n"))


@pytest.mark.parametrize(
    ("page", "shown", "labels"),
    [
        (1, 1, ["Next ›"]),
        (2, 2, ["‹ Previous", "Next ›"]),
        (3, 3, ["‹ Previous"]),
        (9, 3, ["‹ Previous"]),  # the list got shorter: the last page
        (0, 1, ["Next ›"]),
    ],
)
def test_page_view_buttons(page: int, shown: int, labels: list[str]) -> None:
    text, buttons = page_view(T, ["one", "two", "three"], "status", "P01", page)
    assert text.endswith(f"Page {shown} of 3")
    assert [label for label, _ in buttons[0]] == labels
    for _, data in buttons[0]:
        parsed = parse_data(data)
        assert parsed is not None and parsed[:2] == ("status", "P01")


def test_button_data_round_trip_and_limit() -> None:
    assert parse_data(page_data("status", "P01", 12)) == ("status", "P01", 12)
    assert parse_data(page_data("reports", "", 2)) == ("reports", "", 2)
    assert parse_data("pg:status:P01:x") is None
    assert parse_data("rep:cat:x") is None
    with pytest.raises(ValueError, match="64 bytes"):
        page_data("status", "P" * 60, 1)


def test_page_limit_leaves_room_for_the_page_line() -> None:
    assert PAGE_LIMIT + utf16_len("\n\nPage 999 of 999") <= 4096
