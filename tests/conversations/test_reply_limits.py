"""Every reply within what one message on its channel may hold, or refused with a reason.

The guard (:mod:`bot.conversations.guard`) on its own, then through the
conversation layer on both channels: a text over the limit goes in parts,
a text with options over it is refused with a localized sentence (in both
languages), a caption too long for its file follows it as a message. On
Telegram, no request reaches the local Bot API server that it would reject.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from bot.channels.memory import MemoryChannel
from bot.context import Ctx, Services
from bot.conversations.dispatch import Conversations
from bot.conversations.events import (
    Attachment,
    Limits,
    MessageRef,
    Options,
    Reply,
    Text,
)
from bot.conversations.feature import Feature
from bot.conversations.guard import GuardedReplies, ReplyTooLong
from bot.features import FEATURES
from bot.handlers import basics
from bot.routing import Router
from core.protocol import load_protocol
from core.store.db import make_engine
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.uow import UnitOfWork
from scheduler.clock import FakeClock
from tests.support.bot_harness import START, open_world
from tests.support.clinical_world import LANGUAGE_CODES

LIMITS = Limits(text=4096, caption=1024, token_bytes=64, notice=200)

# Lines of 100 characters, one an emoji (two UTF-16 units): 45 lines are 4,589 units.
LINE = "😀" + "x" * 98
LONG = "\n".join([LINE] * 45)

REFUSAL = {
    "en": "That reply would be {length} characters long, more than the 4096 one message can "
    "hold, so it was not sent. Please shorten what you typed and send it again.",
    "zh": "这条回复将有 {length} 个字符，超过一条消息最多可容纳的 4096 个字符，因此未发送。"
    "请缩短您输入的内容后重新发送。",
}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- the guard on its own --------------------------------------------------------------------


class Recorder:
    """A channel's replies, kept: what the guard let through."""

    limits = LIMITS

    def __init__(self) -> None:
        self.sent: list[Reply] = []
        self.edits: list[str] = []
        self.toasts: list[str | None] = []

    async def send(self, reply: Reply) -> MessageRef:
        self.sent.append(reply)
        return MessageRef("c", str(len(self.sent)))

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        self.edits.append(text)

    async def remove_options(self, ref: MessageRef) -> None:
        return None

    async def toast(self, text: str | None = None) -> None:
        self.toasts.append(text)


async def test_a_long_text_goes_in_parts_cut_between_lines_nothing_lost() -> None:
    inner = Recorder()
    await GuardedReplies(inner).send(Text(LONG))
    texts = [r.text for r in inner.sent if isinstance(r, Text)]
    assert len(texts) == 2
    assert all(units(text) <= LIMITS.text for text in texts)
    assert "\n".join(texts) == LONG


async def test_a_long_text_with_options_is_refused_and_nothing_sent() -> None:
    inner = Recorder()
    with pytest.raises(ReplyTooLong) as refused:
        await GuardedReplies(inner).send(Text(LONG, [[("Confirm", "act:1:ok")]]))
    assert (refused.value.length, refused.value.limit) == (units(LONG), 4096)
    assert inner.sent == []


async def test_an_option_token_over_the_limit_is_refused() -> None:
    inner = Recorder()
    with pytest.raises(ReplyTooLong):
        await GuardedReplies(inner).send(Text("Which?", [[("P01", "g:" + "长" * 21)]]))
    assert inner.sent == []


async def test_a_long_caption_follows_its_file_as_a_message() -> None:
    inner = Recorder()
    caption = "c" * 1500
    await GuardedReplies(inner).send(Attachment(b"png", "chart.png", caption, image=True))
    file, text = inner.sent
    assert isinstance(file, Attachment) and file.caption == "" and file.image
    assert isinstance(text, Text) and text.text == caption


async def test_a_long_notice_becomes_a_message_and_a_long_edit_is_refused() -> None:
    inner = Recorder()
    guard = GuardedReplies(inner)
    await guard.toast("n" * 300)
    assert inner.toasts == [None]
    assert [r.text for r in inner.sent if isinstance(r, Text)] == ["n" * 300]
    with pytest.raises(ReplyTooLong):
        await guard.edit(MessageRef("c", "1"), LONG, None)
    assert inner.edits == []


# --- through the conversation layer, on both channels ---------------------------------------


async def long_replies(ctx: Ctx) -> None:
    """/help made to answer too long, as a handler might: ``text``, ``preview``, ``caption``."""
    what = ctx.args[0] if ctx.args else ""
    if what == "text":
        await ctx.reply(LONG)
    elif what == "preview":
        await ctx.reply(LONG, [[("Confirm", "act:1:ok"), ("Cancel", "act:1:no")]])
    elif what == "caption":
        await ctx.send_file(b"\x89PNG\r\n\x1a\n", "chart.png", "c" * 1500, image=True)


def with_long_replies() -> list[Feature]:
    """Every feature, /help answering through :func:`long_replies`."""
    changed = dataclasses.replace(
        basics.FEATURE, commands={**basics.FEATURE.commands, "help": long_replies}
    )
    return [changed if feature is basics.FEATURE else feature for feature in FEATURES]


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_on_telegram_no_request_is_over_a_limit(tmp_path: Path, lang: str) -> None:
    async with open_world(tmp_path, with_long_replies()) as world:
        nurse = await world.join_staff(InviteRole.NURSE, LANGUAGE_CODES[lang])

        first = await world.say(nurse, "/help text")
        second = await world.reply(nurse)
        assert f"{first.shown}\n{second.shown}" == LONG

        refused = await world.say(nurse, "/help preview")
        assert refused.shown == REFUSAL[lang].format(length=units(LONG))
        assert refused.buttons() == []

        photo = await world.say(nurse, "/help caption")
        caption = await world.reply(nurse)
        assert (photo.method, photo.shown) == ("sendPhoto", "")
        assert caption.shown == "c" * 1500
        assert world.api.violations == []
    # open_world fails here if any request broke the Bot API spec.


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[tuple[MemoryChannel, Services]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    services = Services(engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"))
    channel = MemoryChannel(Conversations(services, with_long_replies()))
    services.router = Router(services, {Channel.MEMORY: channel.transport})
    yield channel, services
    engine.dispose()


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_in_memory_the_same_replies(
    memory: tuple[MemoryChannel, Services], lang: str
) -> None:
    channel, services = memory
    with UnitOfWork(services.engine, "system", START) as uow:
        token = create_invite(uow, InviteRole.NURSE)
    language = LANGUAGE_CODES[lang]
    await channel.say("n1", f"/start {token}", language)

    parts = await channel.say("n1", "/help text", language)
    assert "\n".join(shown.text for shown in parts) == LONG
    [refused] = await channel.say("n1", "/help preview", language)
    assert refused.text == REFUSAL[lang].format(length=units(LONG))
    assert refused.options == []
    photo, caption = await channel.say("n1", "/help caption", language)
    assert photo.attachment is not None and photo.attachment.caption == ""
    assert caption.text == "c" * 1500
