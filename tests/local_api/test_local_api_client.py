"""The HTTP control interface (/control/...) through local_servers.telegram.client, and the runner."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, NetworkError

from local_servers.telegram import LocalBotApi, serve_forever
from local_servers.telegram.client import ControlRequestError, LocalApiClient

# A local Bot API server over HTTP, and one in a subprocess.
pytestmark = pytest.mark.e2e

TOKEN = "654321:" + "B" * 35
USER = 2002
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def api() -> AsyncIterator[LocalBotApi]:
    server = LocalBotApi(flood_limits=False)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def control(api: LocalBotApi) -> AsyncIterator[LocalApiClient]:
    async with LocalApiClient(api.url) as client:
        yield client


@pytest.fixture
async def bot(api: LocalBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("是 Yes", callback_data="y"),
                InlineKeyboardButton("No", callback_data="n"),
            ]
        ]
    )


async def test_users_send_press_and_read(
    api: LocalBotApi, control: LocalApiClient, bot: Bot
) -> None:
    user = await control.add_user(USER, "Wang", language_code="zh-CN")
    assert user == {"id": USER, "is_bot": False, "first_name": "Wang", "language_code": "zh-CN"}
    message_id = await control.send(USER, "/start tok123")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert (update.message.message_id, update.message.text) == (message_id, "/start tok123")
    assert (
        update.message.from_user is not None and update.message.from_user.language_code == "zh-CN"
    )

    await bot.send_message(USER, "<b>Took it?</b>", parse_mode="HTML", reply_markup=yes_no())
    shown = await control.wait(USER)
    assert (shown.text, shown.visible_text, shown.parse_mode) == (
        "<b>Took it?</b>",
        "Took it?",
        "HTML",
    )
    assert shown.callback_data() == ["y", "n"]

    query_id = await control.press(USER, shown.message_id, label="Yes")
    (pressed,) = await bot.get_updates(offset=update.update_id + 1)
    assert pressed.callback_query is not None
    assert (pressed.callback_query.id, pressed.callback_query.data) == (query_id, "y")
    await bot.answer_callback_query(query_id, text="记录了")
    (answer,) = await control.callback_answers()
    assert (answer.callback_query_id, answer.text, answer.data) == (query_id, "记录了", "y")

    with pytest.raises(ControlRequestError, match="no button"):
        await control.press(USER, shown.message_id, data="maybe")
    with pytest.raises(ControlRequestError, match="no user"):
        await control.send(9999, "who am I")
    assert [m.message_id for m in await control.messages(USER)] == [shown.message_id]
    assert await control.messages(USER, after=shown.message_id) == []
    assert [e["kind"] for e in await control.events()] == ["sent", "callback_answer"]
    assert await control.violations() == []


async def test_wait_long_polls_until_the_bot_sends(
    api: LocalBotApi, control: LocalApiClient, bot: Bot
) -> None:
    await control.add_user(USER)
    waiting = asyncio.create_task(control.wait(USER, timeout=10, contains="reminder"))
    await api.wait_until(lambda: api.waiting_readers == 1, timeout=5)
    await bot.send_message(USER, "unrelated")
    await bot.send_message(USER, "Dose reminder")
    message = await asyncio.wait_for(waiting, 5)
    assert message.text == "Dose reminder"
    with pytest.raises(TimeoutError, match="Dose reminder"):
        await control.wait(USER, timeout=0.1)


async def test_block_faults_and_stats(api: LocalBotApi, control: LocalApiClient, bot: Bot) -> None:
    await control.add_user(USER)
    await control.block(USER)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "blocked")
    with pytest.raises(ControlRequestError, match="blocked"):
        await control.send(USER, "hello")
    await control.block(USER, blocked=False)

    await control.inject_fault("sendMessage", "http_500")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "lost")
    await bot.send_message(USER, "delivered")
    await control.inject_fault(None, "forbidden", count=2)
    await control.clear_faults()
    await bot.send_message(USER, "not faulted")
    with pytest.raises(ControlRequestError, match="unknown fault kind"):
        await control.inject_fault("sendMessage", "gremlins")

    with pytest.raises(NetworkError):  # BadRequest is a NetworkError in PTB
        await bot.send_message(USER, "<b>broken", parse_mode="HTML")
    (violation,) = await control.violations()
    assert (violation["method"], violation["field"]) == ("sendMessage", "text")

    stats = await control.stats()
    assert stats["delivered"] == {str(USER): 2}
    assert stats["flood_errors"] == 0
    assert stats["violations"] == 1
    assert stats["faults_fired"] == 1
    assert stats["requests_by_method"]["sendMessage"] == 5


async def test_groups_over_http(api: LocalBotApi, control: LocalApiClient, bot: Bot) -> None:
    await control.add_user(USER)
    chat = await control.add_group(-4242, "Site A", [USER])
    assert chat == {"id": -4242, "type": "group", "title": "Site A"}
    await control.send(USER, "/report", chat_id=-4242)
    (update,) = await bot.get_updates()
    assert update.effective_chat is not None and update.effective_chat.id == -4242
    await bot.send_message(-4242, "Reports are private.")
    assert (await control.wait(-4242)).text == "Reports are private."


async def test_serve_forever_prints_the_base_url() -> None:
    class Announce(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.ready = asyncio.Event()

        def write(self, text: str) -> int:
            if "control interface" in text:
                self.ready.set()
            return super().write(text)

    out = Announce()
    task = asyncio.create_task(serve_forever("127.0.0.1", 0, flood_limits=False, out=out))
    try:
        await asyncio.wait_for(out.ready.wait(), 10)
        line = out.getvalue().splitlines()[0]
        assert line.startswith("TELEGRAM_BASE_URL=http://127.0.0.1:") and line.endswith("/bot")
        base_url = line.split("=", 1)[1]
        async with Bot(TOKEN, base_url=base_url) as bot:
            assert (await bot.get_me()).is_bot
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_module_entry_runs_a_server_another_process_can_drive() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "local_servers.telegram",
        "--port",
        "0",
        "--no-flood-limits",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert line.startswith("TELEGRAM_BASE_URL=")
        base_url = line.split("=", 1)[1]
        async with LocalApiClient(base_url.removesuffix("/bot")) as remote:
            await remote.add_user(USER)
            async with Bot(TOKEN, base_url=base_url) as bot:
                await bot.send_message(USER, "from another process")
            assert (await remote.wait(USER)).text == "from another process"
            assert (await remote.stats())["delivered"] == {str(USER): 1}
    finally:
        process.terminate()
        await process.wait()


async def test_users_send_a_photo_and_edit_a_message(
    api: LocalBotApi, control: LocalApiClient, bot: Bot
) -> None:
    """A photo arrives in the sizes Telegram makes, largest last, and the bot can send
    it again by its file_id; an edit arrives as ``edited_message`` of the same message."""
    await control.add_user(USER, "Li")
    photo_id = await control.send_photo(USER, "/report swollen", data=b"\x89PNG\r\n\x1a\nxx")
    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.message_id == photo_id
    assert message.caption == "/report swollen"
    assert [e.type for e in message.caption_entities] == ["bot_command"]
    assert [size.width for size in message.photo] == [90, 800]
    again = await bot.send_photo(USER, photo=message.photo[-1].file_id, caption="again")
    assert again.photo[-1].file_id == message.photo[-1].file_id
    assert (await bot.get_file(message.photo[-1].file_id)).file_size == len(b"\x89PNG\r\n\x1a\nxx")

    sent = await control.send(USER, "/weight P01 61.5kg")
    await control.edit(USER, sent, "/weight P01 60kg")
    updates = await bot.get_updates(offset=update.update_id + 1)
    assert [u.message is not None for u in updates] == [True, False]
    edited = updates[1].edited_message
    assert edited is not None
    assert (edited.message_id, edited.text, edited.edit_date is not None) == (
        sent,
        "/weight P01 60kg",
        True,
    )
    assert [e.type for e in edited.entities] == ["bot_command"]
    with pytest.raises(ControlRequestError, match="sent no message"):
        await control.edit(USER, again.message_id, "not mine")
    with pytest.raises(ControlRequestError, match="captions over 1024"):
        await control.send_photo(USER, "x" * 1025)
