"""Long replies in pages, with "‹ Previous" / "Next ›" buttons that edit the message.

Telegram refuses a message longer than 4096 characters (counted in UTF-16
code units, after entity parsing). The requirement: "Replies fit Telegram's
limits: long lists paginate with buttons instead of being cut."

Nothing is kept in memory between presses: a button's ``callback_data`` is
``pg:<command>:<argument>:<page>`` (at most 64 bytes) and a press recomputes
the list from the database through the page source its feature names
(:class:`~bot.conversations.feature.Feature`), then shows the page asked for (the last one if the
list got shorter). The authorization table is checked again on every press.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Final

from bot.context import Buttons, Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.roles import may
from core.messages import N_, RuleError

log = logging.getLogger(__name__)

PREFIX: Final = "pg:"
CALLBACK_PATTERN: Final = r"^pg:"
# Telegram's limit is 4096 UTF-16 units; the page line and headroom fit under it.
PAGE_LIMIT: Final = 3500
CALLBACK_LIMIT: Final = 64

PREVIOUS = N_("‹ Previous")
NEXT = N_("Next ›")
PAGE_OF = N_("Page {page} of {pages}")

# A page source: the blocks of text to show for (ctx, argument), recomputed on
# every press. A block stays on one page when it fits.
Source = Callable[[Ctx, str], Sequence[str]]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> list[str]:
    """Cut an over-long line into pieces of at most ``limit`` UTF-16 units."""
    pieces: list[str] = []
    current = ""
    size = 0
    for char in text:
        width = utf16_len(char)
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    if current:
        pieces.append(current)
    return pieces


def split_pages(blocks: Sequence[str], limit: int = PAGE_LIMIT) -> list[str]:
    """Join ``blocks`` with newlines into pages of at most ``limit`` UTF-16 units.

    A block that does not fit on the current page starts the next one; a block
    longer than a page is split at its line ends, and a single line longer
    than a page at the limit. Never returns an empty list.
    """
    pages: list[str] = []
    current = ""

    def push(text: str) -> None:
        nonlocal current
        joined = f"{current}\n{text}" if current else text
        if utf16_len(joined) <= limit:
            current = joined
        else:
            pages.append(current)
            current = text

    for block in blocks:
        if utf16_len(block) <= limit:
            push(block)
            continue
        for line in block.split("\n"):
            for piece in _cut(line, limit) if utf16_len(line) > limit else [line]:
                push(piece)
    pages.append(current)
    return pages


def page_data(command: str, argument: str, page: int) -> str:
    """``pg:<command>:<argument>:<page>``; ValueError when over Telegram's 64 bytes."""
    data = f"{PREFIX}{command}:{argument}:{page}"
    if len(data.encode("utf-8")) > CALLBACK_LIMIT:
        raise ValueError("page button data over 64 bytes")
    return data


def parse_data(data: str) -> tuple[str, str, int] | None:
    """(command, argument, page) of a page button, or None if it is not one."""
    if not data.startswith(PREFIX):
        return None
    command, _, rest = data.removeprefix(PREFIX).partition(":")
    argument, _, page = rest.rpartition(":")
    if not command or not (page.isascii() and page.isdigit()) or len(page) > 6:
        return None
    return command, argument, int(page)


def page_view(
    t: Translator, pages: Sequence[str], command: str, argument: str, page: int
) -> tuple[str, Buttons]:
    """The text of page ``page`` (1-based, clamped) and its buttons."""
    count = len(pages)
    number = min(max(page, 1), count)
    text = pages[number - 1]
    if count == 1:
        return text, []
    text = f"{text}\n\n{t._(PAGE_OF, page=number, pages=count)}"
    row: list[tuple[str, str]] = []
    if number > 1:
        row.append((t._(PREVIOUS), page_data(command, argument, number - 1)))
    if number < count:
        row.append((t._(NEXT), page_data(command, argument, number + 1)))
    return text, [row]


async def send_pages(ctx: Ctx, command: str, argument: str, blocks: Sequence[str]) -> None:
    """Send the first page of ``blocks`` with page buttons (plain text, escaped).

    If the argument is too long for a button's 64 bytes, every page is sent
    as its own message instead: still nothing cut.
    """
    pages = split_pages(blocks)
    try:
        page_data(command, argument, len(pages))
    except ValueError:
        for text in pages:
            await ctx.reply(text)
        return
    text, buttons = page_view(ctx.t, pages, command, argument, 1)
    await ctx.reply(text, buttons)


async def page_pressed(ctx: Ctx) -> None:
    """A page button: recompute the list and show the page asked for in the same message."""
    parsed = parse_data(ctx.inbound.token or "")
    source = ctx.tables.pages.get(parsed[0]) if parsed is not None else None
    if parsed is None or source is None or not may(ctx.person.role, parsed[0]):
        await ctx.toast(ctx.t._("This button is no longer valid."))
        return
    command, argument, page = parsed
    try:
        blocks = source(ctx, argument)
    except RuleError as exc:
        await ctx.toast(ctx.t.error(exc)[:200])
        return
    text, buttons = page_view(ctx.t, split_pages(blocks), command, argument, page)
    await ctx.toast()
    # Showing the page already shown changes nothing; the channel lets that pass.
    await ctx.edit(text, buttons)


FEATURE = Feature("pages", options=[(CALLBACK_PATTERN, page_pressed)])
