"""The longest replies a trial realistically produces: none is a request Telegram would reject.

A patient with a long history (many adverse events with the longest
descriptions, many open reports with the longest words in emoji, Chinese and
HTML, a photo whose caption is as long as Telegram allows), read by staff in
both languages: ``/reports`` and every one of its pages, one report whole,
``/status`` of the trial and of the patient and every page, the belimumab
plan, the patient's calendar, a triage note as long as allowed in a preview
with Confirm. The local Bot API server
checks every request against the Bot API specification; the harness fails
the test if one broke it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from core.entry_syntax import Relatedness
from core.store.clinical import AdverseEventEntry, add_adverse_event
from core.store.reports import file_written_report
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.conversations.test_bot_report import patient, reports
from tests.support.bot_harness import World
from tests.support.clinical_world import confirm, member

# The longest words a report keeps (1,000 characters), the longest AE description (200).
WORDS = ("😀长<b>&amp;</b> " * 100)[:1000]
DESCRIPTION = ("肾区疼痛 pain <i> " * 20)[:200]
NOTE = ("随访 🙂 " * 200)[:1000].strip()


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def seed_history(world: World, study_id: str) -> None:
    """Thirty open reports with the longest words, twelve AEs with the longest descriptions."""
    patient_id = world.patient(study_id).id
    assert patient_id is not None
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        for _ in range(30):
            file_written_report(uow, patient_id, WORDS)
        for grade in (1, 2, 3) * 4:
            add_adverse_event(
                uow,
                patient_id,
                AdverseEventEntry(
                    DESCRIPTION, None, grade, (), date(2026, 11, 29), Relatedness.POSSIBLE
                ),
                world.clock.now(),
            )


def edited(world: World, user: int, message: SentMessage, edits: int) -> Callable[[], bool]:
    """Whether ``message`` has been edited more than ``edits`` times."""
    return lambda: len(world.api.message(user, message.message_id).edits) > edits


async def every_page(world: World, user: int, first: SentMessage) -> list[str]:
    """Press "next" under a paged reply until the last page; each page's text."""
    pages = [first.shown]
    page = 1
    while True:
        message = world.api.message(user, first.message_id)
        following = [
            b.callback_data
            for b in message.buttons()
            if b.callback_data is not None and b.callback_data.endswith(f":{page + 1}")
        ]
        if not following:
            return pages
        await world.api.user_presses(user, first.message_id, following[0])
        await world.api.wait_until(
            edited(world, user, first, len(message.edits)), what=f"page {page + 1}"
        )
        page += 1
        pages.append(world.api.message(user, first.message_id).shown)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_longest_realistic_replies_are_all_requests_telegram_accepts(
    world: World, lang: str
) -> None:
    user = await patient(world, "P01", lang)
    seed_history(world, "P01")
    coordinator = await member(world, "coordinator", lang)

    # A photo with the longest caption Telegram allows, sent to the study team.
    caption = "长" * 1000
    await world.api.user_sends_photo(user, caption)
    offer = await world.reply(user)
    await world.press(user, offer, "Yes" if lang == "en" else "是")
    await world.reply(user)
    alert = await world.reply(coordinator)
    assert caption in alert.shown
    photo_report = reports(world)[-1]

    listed = await world.say(coordinator, "/reports")
    pages = await every_page(world, coordinator, listed)
    assert len(pages) > 1
    assert max(units(page) for page in pages) > 3000  # the pages really are long

    whole = await world.say(coordinator, f"/reports R{reports(world)[0].id}")
    assert WORDS in whole.shown
    await world.say(coordinator, f"/reports R{photo_report.id}")
    shown_again = await world.reply(coordinator)
    assert shown_again.method == "sendPhoto"

    for command in ("/status", "/status P01"):
        first = await world.say(coordinator, command)
        pages += await every_page(world, coordinator, first)
    assert all(units(page) <= 4096 for page in pages)

    # The belimumab plan and the patient's own calendar, after all that history.
    plan = await world.say(coordinator, "/dose P01 belimumab")
    assert "P01" in plan.shown
    assert (await world.say(user, "/schedule")).shown

    preview = await world.say(coordinator, f"/triage R{reports(world)[0].id} close {NOTE}")
    assert NOTE in preview.shown
    assert len(preview.buttons()) == 2
    await confirm(world, coordinator, preview)

    assert world.api.violations == []
