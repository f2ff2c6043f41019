"""Editing a command message replaces its preview: only the latest preview can be confirmed.

End to end over HTTP, in both languages: Telegram's ``edited_message`` with a
command answers the edited command anew; the first preview's Confirm then
stores nothing and says it was replaced; an edit after Confirm says the
first version stays stored; an edit of anything but a command changes nothing.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from core.store.db import read_session
from core.store.models import ActionStatus, AuditRecord, PendingAction
from tests.conversations.test_bot_report import press_and_answer
from tests.support.bot_harness import World
from tests.support.clinical_world import confirm, member

LANGS = ["en", "zh"]

PREVIEW = {
    "en": "New weight for P01: {weight} kg (was 62 kg).",
    "zh": "P01 的新体重：{weight} kg（原为 62 kg）。",
}
CONFIRM = {"en": "Confirm", "zh": "确认"}
REPLACED = {"en": "This preview was replaced by a newer one.", "zh": "此预览已被更新的预览取代。"}
STORED_BEFORE = {
    "en": "The first version of this message was already confirmed and stays stored; "
    "confirming an edited version would store it again.",
    "zh": "这条消息的原始版本已经确认并保存，仍然有效；再确认修改后的版本会再保存一次。",
}


def weight(world: World) -> str:
    return world.patient("P01").weight_kg


def actions(world: World) -> list[PendingAction]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(PendingAction).order_by(col(PendingAction.id))).all())


@pytest.mark.parametrize("lang", LANGS)
async def test_the_edited_command_replaces_its_preview(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    sent = await world.api.user_sends(nurse, "/weight P01 61.5kg")
    first = await world.reply(nurse)
    assert first.shown.splitlines()[0] == PREVIEW[lang].format(weight="61.5")

    await world.api.user_edits(nurse, sent, "/weight P01 60kg")
    second = await world.reply(nurse)
    assert second.shown.splitlines()[0] == PREVIEW[lang].format(weight="60")

    assert await press_and_answer(world, nurse, first, CONFIRM[lang]) == REPLACED[lang]
    assert weight(world) == "62"
    old, new = actions(world)
    assert (old.status, new.status) == (ActionStatus.REPLACED, ActionStatus.OPEN)
    assert old.source_message == new.source_message == f"{nurse}:{sent}"
    with read_session(world.services.engine) as session:
        audit = session.exec(
            select(AuditRecord).where(
                AuditRecord.action == "action.replaced", AuditRecord.entity_key == str(old.id)
            )
        ).all()
    assert len(audit) == 1

    await confirm(world, nurse, second)
    assert weight(world) == "60"


@pytest.mark.parametrize("lang", LANGS)
async def test_an_edit_after_confirm_says_the_first_version_stays_stored(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    sent = await world.api.user_sends(nurse, "/weight P01 61.5kg")
    first = await world.reply(nurse)
    await confirm(world, nurse, first)
    assert weight(world) == "61.5"

    await world.api.user_edits(nurse, sent, "/weight P01 60kg")
    notice = await world.reply(nurse)
    assert notice.shown == STORED_BEFORE[lang]
    again = await world.reply(nurse)
    assert again.shown.splitlines()[0] == PREVIEW[lang].format(weight="60").replace("62", "61.5")
    assert weight(world) == "61.5"
    assert [a.status for a in actions(world)] == [ActionStatus.CONFIRMED, ActionStatus.OPEN]


@pytest.mark.parametrize("lang", LANGS)
async def test_an_edit_of_anything_but_a_command_changes_nothing(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    sent = await world.api.user_sends(nurse, "hello")
    await world.reply(nurse)  # the hint
    await world.api.user_edits(nurse, sent, "hello again")
    # The next message the nurse gets answers the next command, not the edit.
    help_text = await world.say(nurse, "/help")
    assert help_text.shown.startswith("What you can do:" if lang == "en" else "您可以")
    assert actions(world) == []
