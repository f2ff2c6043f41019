"""Reading a paged reply (``bot.pagination``) to the end through its buttons, as a user would."""

from __future__ import annotations

from tests.support.bot_harness import World


async def read_all_pages(world: World, user: int, first: object) -> str:
    from local_servers.telegram.server import SentMessage

    assert isinstance(first, SentMessage)
    shown = first.shown
    marker = (
        "Page 1 of " if "Page 1 of" in shown else "第 1 页，共 " if "第 1 页" in shown else None
    )
    if marker is None:
        return shown
    pages = [shown]
    count = int("".join(ch for ch in shown.rsplit(marker, 1)[1] if ch.isdigit()))
    message = first
    for number in range(2, count + 1):
        await world.press(user, message, message.buttons()[-1].text)
        previous = pages[-1]

        def turned(previous: str = previous) -> bool:
            return world.api.message(user, first.message_id).shown != previous

        await world.api.wait_until(turned, what=f"page {number}")
        message = world.api.message(user, first.message_id)
        pages.append(message.shown)
    return "\n".join(pages)
