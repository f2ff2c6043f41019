"""The local Bot API server spoken to by the real python-telegram-bot client and by raw HTTP."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from local_servers.telegram import ControlError, LocalBotApi
from local_servers.telegram.spec import load_schema

# Every test talks HTTP to a local Bot API server.
pytestmark = pytest.mark.e2e

TOKEN = "123456:" + "A" * 35
USER = 1001


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def api() -> AsyncIterator[LocalBotApi]:
    server = LocalBotApi(flood_limits=False)
    await server.start()
    server.add_user(USER, "Li", language_code="zh-hans")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: LocalBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


async def raw(
    api: LocalBotApi,
    method: str,
    data: Any = None,
    *,
    json_body: Any = None,
    token: str = TOKEN,
    session: aiohttp.ClientSession | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one Bot API call the way PTB does (form fields) or as JSON; returns status and body."""
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        async with http.post(f"{api.base_url}{token}/{method}", data=data, json=json_body) as resp:
            return resp.status, await resp.json()
    finally:
        if own:
            await http.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


def tiny_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --- the PTB client against the server ---------------------------------------------------------


async def test_get_me_describes_the_bot(api: LocalBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "trial_companion_bot")
    assert me.can_join_groups is True
    status, body = await raw(api, "getMe")
    assert status == 200 and body["ok"] is True
    load_schema().validate_value("User", body["result"])
    assert api.violations == []


async def test_send_message_plain_html_and_keyboard(api: LocalBotApi, bot: Bot) -> None:
    plain = await bot.send_message(USER, "Hello")
    html = await bot.send_message(USER, "<b>Dose</b> &lt; 2 g", parse_mode="HTML")
    with_keys = await bot.send_message(
        USER, "Did you take it?", reply_markup=keyboard(("Yes", "dose:yes"), ("No", "dose:no"))
    )
    assert plain.message_id < html.message_id < with_keys.message_id
    assert plain.chat.id == USER and plain.chat.type == "private"
    assert plain.from_user is not None and plain.from_user.is_bot
    assert html.text == "Dose < 2 g"
    assert [(e.type, e.offset, e.length) for e in html.entities] == [("bold", 0, 4)]
    assert with_keys.reply_markup == keyboard(("Yes", "dose:yes"), ("No", "dose:no"))
    sent = api.messages_to(USER)
    assert [m.text for m in sent] == ["Hello", "<b>Dose</b> &lt; 2 g", "Did you take it?"]
    assert sent[1].parse_mode == "HTML" and sent[1].visible_text == "Dose < 2 g"
    assert sent[2].callback_data() == ["dose:yes", "dose:no"]
    assert sent[2].data_for("No") == "dose:no"
    assert [r.method for r in api.requests].count("sendMessage") == 3
    assert api.violations == []


async def test_responses_conform_to_the_spec_types(api: LocalBotApi) -> None:
    schema = load_schema()
    markup = json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})
    status, body = await raw(
        api,
        "sendMessage",
        {"chat_id": str(USER), "text": "<i>x</i>", "parse_mode": "HTML", "reply_markup": markup},
    )
    assert status == 200
    schema.validate_value("Message", body["result"])
    form = aiohttp.FormData()
    form.add_field("chat_id", str(USER))
    form.add_field("document", b"a,b\n1,2\n", filename="visits.csv", content_type="text/csv")
    status, body = await raw(api, "sendDocument", form)
    assert status == 200
    schema.validate_value("Message", body["result"])
    assert body["result"]["document"]["file_name"] == "visits.csv"
    assert body["result"]["document"]["file_size"] == 8


async def test_json_bodies_are_accepted_like_form_bodies(api: LocalBotApi) -> None:
    status, body = await raw(
        api,
        "sendMessage",
        json_body={"chat_id": USER, "text": "json", "reply_markup": {"remove_keyboard": True}},
    )
    assert status == 200 and body["result"]["text"] == "json"
    assert api.messages_to(USER)[0].reply_markup == {"remove_keyboard": True}


async def test_edit_message_text_applies_in_place(api: LocalBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Question?", reply_markup=keyboard(("Yes", "y")))
    edited = await bot.edit_message_text(
        "Answered: <b>yes</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, object) and getattr(edited, "text", None) == "Answered: yes"
    stored = api.messages_to(USER)
    assert len(stored) == 1
    assert stored[0].visible_text == "Answered: yes"
    assert stored[0].reply_markup is None  # Telegram drops the keyboard when an edit omits it
    assert len(stored[0].edits) == 1 and stored[0].edit_date is not None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "Answered: <b>yes</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(BadRequest, match="to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard(("Undo", "u")))
    assert api.messages_to(USER)[0].callback_data() == ["u"]
    assert api.violations == []


async def test_send_document_uploads_bytes(api: LocalBotApi, bot: Bot) -> None:
    payload = "患者,剂量\n1001,10 mg/kg\n".encode()
    message = await bot.send_document(
        USER, document=payload, filename="doses.csv", caption="<b>Doses</b>", parse_mode="HTML"
    )
    assert message.document is not None and message.document.file_size == len(payload)
    assert message.caption == "Doses"
    stored = api.messages_to(USER)[0]
    assert stored.document is not None
    assert (stored.document.file_name, stored.document.data) == ("doses.csv", payload)
    assert stored.document.mime_type == "text/csv"
    assert stored.visible_caption == "Doses"
    # The uploaded file is downloadable again through getFile and the file URL.
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload
    # Re-sending by file_id refers to the same file.
    again = await bot.send_document(USER, document=message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    assert api.violations == []


async def test_send_photo_reports_its_size(api: LocalBotApi, bot: Bot) -> None:
    image = tiny_png(3, 2)
    message = await bot.send_photo(USER, photo=image, caption="chart")
    assert [(p.width, p.height) for p in message.photo] == [(3, 2)]
    stored = api.messages_to(USER)[0]
    assert stored.photo is not None and stored.photo.data == image
    assert stored.visible_caption == "chart"


async def test_buttons_press_and_answer(api: LocalBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Take dose?", reply_markup=keyboard(("Yes", "yes")))
    query_id = await api.user_presses(USER, sent.message_id, "yes")
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "yes"
    assert query.from_user.id == USER and query.from_user.language_code == "zh-hans"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="Recorded") is True
    assert [(a.callback_query_id, a.text, a.data) for a in api.callback_answers] == [
        (query_id, "Recorded", "yes")
    ]
    with pytest.raises(BadRequest, match="query id is invalid"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ControlError, match="no button"):
        await api.user_presses(USER, sent.message_id, "no")
    await bot.delete_message(USER, sent.message_id)
    with pytest.raises(ControlError):
        await api.user_presses(USER, sent.message_id, "yes")


async def test_commands_menu_and_webhook(api: LocalBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("dose", "Record a dose")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh") is True
    assert list(await bot.get_my_commands()) == commands
    assert [c["command"] for c in api.commands(language_code="zh")] == ["start"]
    await api.user_sends(USER, "pending")
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert api.pending_updates == []
    assert await bot.get_chat_menu_button() is not None
    assert api.violations == []


# --- getUpdates ---------------------------------------------------------------------------


async def test_get_updates_offsets_confirm_earlier_updates(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(USER, "/start abc")
    await api.user_sends(USER, "second")
    first, second = await bot.get_updates()
    assert first.message is not None and first.message.text == "/start abc"
    assert [(e.type, e.offset, e.length) for e in first.message.entities] == [("bot_command", 0, 6)]
    assert second.update_id == first.update_id + 1
    # Asking again without offset returns both; offset confirms the first.
    assert len(await bot.get_updates()) == 2
    (only,) = await bot.get_updates(offset=first.update_id + 1)
    assert only.update_id == second.update_id
    assert await bot.get_updates(offset=second.update_id + 1) == ()
    assert api.pending_updates == []
    await api.user_sends(USER, "a")
    await api.user_sends(USER, "b")
    (last,) = await bot.get_updates(offset=-1)
    assert last.message is not None and last.message.text == "b"
    assert (await bot.get_updates(limit=1))[0].update_id == last.update_id


async def test_long_poll_wakes_when_a_user_writes(api: LocalBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_until(lambda: api.waiting_polls == 1, timeout=5)
    started = loop.time()
    await api.user_sends(USER, "wake up")
    (update,) = await asyncio.wait_for(poll, 5)
    assert update.message is not None and update.message.text == "wake up"
    assert loop.time() - started < 5


async def test_long_poll_returns_empty_after_its_timeout(api: LocalBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= loop.time() - started < 5


async def test_a_second_poller_terminates_the_first_with_409(api: LocalBotApi) -> None:
    async with (
        Bot(TOKEN, base_url=api.base_url) as first,
        Bot(TOKEN, base_url=api.base_url) as second,
    ):
        waiting = asyncio.create_task(first.get_updates(timeout=30))
        await api.wait_until(lambda: api.waiting_polls == 1, timeout=5)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(waiting, 5)


async def test_application_polling_receives_start_and_replies(api: LocalBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"welcome, token {' '.join(context.args or [])}")

    application = Application.builder().token(TOKEN).base_url(api.base_url).build()
    application.add_handler(CommandHandler("start", start))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        await api.user_sends(USER, "/start abc")
        reply = await api.wait_for_message(USER, timeout=10)
        await application.updater.stop()
        await application.stop()
    assert reply.visible_text == "welcome, token abc"
    called = [r.method for r in api.requests]
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= set(called)
    assert api.violations == []


# --- refusals -----------------------------------------------------------------------------


def form(**fields: Any) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}


def markup_with(data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": "b", "callback_data": data}]]}


@pytest.mark.parametrize(
    ("method", "fields", "status", "description", "field"),
    [
        ("sendTelepathy", form(chat_id=USER), 404, "Not Found", None),
        (
            "sendMessage",
            form(chat_id=USER, text="x", colour="red"),
            400,
            "Bad Request: unknown parameter colour",
            "colour",
        ),
        ("sendMessage", form(text="x"), 400, "Bad Request: chat_id is empty", "chat_id"),
        ("sendMessage", form(chat_id=USER), 400, "Bad Request: message text is empty", "text"),
        (
            "sendMessage",
            form(chat_id=USER, text=""),
            400,
            "Bad Request: message text is empty",
            "text",
        ),
        (
            "sendMessage",
            form(chat_id=USER, text="x" * 4097),
            400,
            "Bad Request: message is too long",
            "text",
        ),
        (
            "sendMessage",
            form(chat_id=USER, text="😀" * 2049),
            400,
            "Bad Request: message is too long",
            "text",
        ),
        ("sendMessage", form(chat_id=USER, text="1 < 2", parse_mode="HTML"), 400, None, "text"),
        ("sendMessage", form(chat_id=USER, text="<p>x</p>", parse_mode="HTML"), 400, None, "text"),
        ("sendMessage", form(chat_id=USER, text="<b>x", parse_mode="HTML"), 400, None, "text"),
        (
            "sendMessage",
            form(chat_id=USER, text="<b><i>x</b></i>", parse_mode="HTML"),
            400,
            None,
            "text",
        ),
        ("sendMessage", form(chat_id=USER, text="a&nbsp;b", parse_mode="HTML"), 400, None, "text"),
        (
            "sendMessage",
            form(chat_id=USER, text="x", reply_markup=markup_with("x" * 65)),
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            "reply_markup.inline_keyboard[0][0].callback_data",
        ),
        (
            "sendMessage",
            form(chat_id=USER, text="x", reply_markup=markup_with("药" * 22)),
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            "reply_markup.inline_keyboard[0][0].callback_data",
        ),
    ],
)
async def test_refused_requests_are_recorded_as_violations(
    api: LocalBotApi,
    method: str,
    fields: dict[str, str],
    status: int,
    description: str | None,
    field: str | None,
) -> None:
    code, body = await raw(api, method, fields)
    assert code == status
    assert body["ok"] is False and body["error_code"] == status
    if description is not None:
        assert body["description"] == description
    else:
        assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert api.messages_to(USER) == []
    (violation,) = api.violations
    assert (violation.method, violation.field, violation.description) == (
        method,
        field,
        body["description"],
    )


@pytest.mark.parametrize(
    "fields",
    [
        form(chat_id=USER, text="x" * 4096),
        form(chat_id=USER, text="😀" * 2048),  # 4096 UTF-16 code units
        form(chat_id=USER, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"),
        form(chat_id=USER, text="&amp;" * 4096, parse_mode="HTML"),
        form(chat_id=USER, text="x", reply_markup=markup_with("x" * 64)),
        form(chat_id=USER, text="x", reply_markup=markup_with("药" * 21)),
    ],
)
async def test_limits_are_inclusive(api: LocalBotApi, fields: dict[str, str]) -> None:
    code, body = await raw(api, "sendMessage", fields)
    assert (code, body["ok"]) == (200, True), body
    assert api.violations == []


async def test_ptb_sees_spec_refusals_as_bad_request(api: LocalBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=keyboard(("b", "药" * 22)))
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "dose < 2", parse_mode="HTML")
    assert [v.field for v in api.violations] == [
        "reply_markup.inline_keyboard[0][0].callback_data",
        "text",
    ]


async def test_bad_token_is_unauthorized(api: LocalBotApi) -> None:
    code, body = await raw(api, "getMe", token="not-a-token")
    assert (code, body["description"]) == (401, "Unauthorized")
    with pytest.raises(InvalidToken):
        async with Bot("not-a-token", base_url=api.base_url):
            pass


async def test_semantic_errors_are_not_spec_violations(api: LocalBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "nobody")
    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(USER, "re", reply_parameters=ReplyParameters(message_id=77))
    original = await api.user_sends(USER, "question")
    reply = await bot.send_message(USER, "answer", reply_parameters=ReplyParameters(original))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "question"
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=original)
    assert api.violations == []


async def test_blocked_user_gets_403_and_sends_nothing(api: LocalBotApi, bot: Bot) -> None:
    api.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "reminder")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    with pytest.raises(ControlError, match="blocked"):
        await api.user_sends(USER, "hello?")
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    api.unblock(USER)
    await bot.send_message(USER, "welcome back")
    assert [m.text for m in api.messages_to(USER)] == ["welcome back"]


async def test_group_chats_with_privacy_mode(api: LocalBotApi, bot: Bot) -> None:
    api.add_group(-100200, "Ward 3", [USER])
    await api.user_sends(USER, "chatter the bot must not see", chat_id=-100200)
    await api.user_sends(USER, "/help", chat_id=-100200)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.text == "/help"
    assert update.message.chat.type == "group" and update.message.chat.id == -100200
    sent = await bot.send_message(-100200, "Please write to me privately.")
    assert sent.chat.type == "group"
    assert [m.text for m in api.messages_to(-100200)] == ["Please write to me privately."]


async def test_wait_for_message_walks_the_conversation_and_explains_timeouts(
    api: LocalBotApi, bot: Bot
) -> None:
    await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    assert (await api.wait_for_message(USER)).text == "one"
    assert (await api.wait_for_message(USER)).text == "two"
    later = asyncio.create_task(api.wait_for_message(USER, lambda m: "three" in m.shown))
    await bot.send_message(USER, "three")
    assert (await asyncio.wait_for(later, 5)).text == "three"
    with pytest.raises(TimeoutError, match=r"#1 sendMessage: 'one'"):
        await api.wait_for_message(USER, timeout=0.05)


# --- flood limits ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_per_chat_flood_limit_with_a_fake_clock() -> None:
    clock = FakeClock()
    api = LocalBotApi(clock=clock)
    await api.start()
    api.add_user(USER)
    try:
        async with aiohttp.ClientSession() as http:
            for i in range(3):
                code, _ = await raw(
                    api, "sendMessage", form(chat_id=USER, text=f"m{i}"), session=http
                )
                assert code == 200
            code, body = await raw(api, "sendMessage", form(chat_id=USER, text="m3"), session=http)
            assert code == 429
            assert body["parameters"] == {"retry_after": 1}
            assert body["description"] == "Too Many Requests: retry after 1"
            # Edits count too.
            code, _ = await raw(
                api, "editMessageText", form(chat_id=USER, message_id=1, text="e"), session=http
            )
            assert code == 429
            clock.now += 1.0
            code, _ = await raw(api, "sendMessage", form(chat_id=USER, text="m3"), session=http)
            assert code == 200
            async with Bot(TOKEN, base_url=api.base_url) as bot:
                with pytest.raises(RetryAfter):
                    await bot.send_message(USER, "too soon")
        assert api.flood_errors == 3
        assert [m.text for m in api.messages_to(USER)] == ["m0", "m1", "m2", "m3"]
        assert api.stats()["flood_errors"] == 3
        assert api.violations == []
    finally:
        await api.stop()


async def test_global_flood_limit_of_30_per_second() -> None:
    clock = FakeClock()
    api = LocalBotApi(clock=clock)
    await api.start()
    try:
        async with aiohttp.ClientSession() as http:
            codes = []
            for user_id in range(1, 32):
                api.add_user(user_id)
                code, body = await raw(
                    api, "sendMessage", form(chat_id=user_id, text="hi"), session=http
                )
                codes.append(code)
            assert codes == [200] * 30 + [429]
            assert body["parameters"]["retry_after"] == 1
            clock.now += 0.5
            code, _ = await raw(api, "sendMessage", form(chat_id=31, text="hi"), session=http)
            assert code == 200
        assert api.flood_errors == 1
    finally:
        await api.stop()


async def test_flood_limits_can_be_turned_off(api: LocalBotApi, bot: Bot) -> None:
    for i in range(40):
        await bot.send_message(USER, f"m{i}")
    assert api.flood_errors == 0 and len(api.messages_to(USER)) == 40


# --- faults -------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        ("http_500", {}, NetworkError),
        ("http_429", {"retry_after": 7}, RetryAfter),
        ("http_400", {"description": "Bad Request: chat not found"}, BadRequest),
        ("forbidden", {}, Forbidden),
        ("drop", {}, NetworkError),
    ],
)
async def test_faults_reach_ptb_as_telegram_errors(
    api: LocalBotApi, bot: Bot, kind: str, params: dict[str, Any], error: type[TelegramError]
) -> None:
    api.inject_fault("sendMessage", kind, **params)
    with pytest.raises(TelegramError) as caught:
        await bot.send_message(USER, "lost")
    assert type(caught.value) is error
    assert api.messages_to(USER) == []
    await bot.send_message(USER, "delivered")  # the fault was consumed once
    assert [m.text for m in api.messages_to(USER)] == ["delivered"]
    assert api.violations == []


async def test_fault_answers_seen_over_raw_http(api: LocalBotApi) -> None:
    api.inject_fault("sendMessage", "http_429", retry_after=3)
    code, body = await raw(api, "sendMessage", form(chat_id=USER, text="x"))
    assert (code, body["parameters"]) == (429, {"retry_after": 3})
    api.inject_fault("sendMessage", "drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw(api, "sendMessage", form(chat_id=USER, text="x"))
    assert api.messages_to(USER) == []
    assert api.fired_faults == [("sendMessage", "http_429"), ("sendMessage", "drop")]


async def test_fault_for_any_sending_method_spares_other_calls(api: LocalBotApi, bot: Bot) -> None:
    api.inject_fault(None, "http_500", count=2)
    await bot.get_me()
    await bot.set_my_commands([BotCommand("start", "Start")])
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "a")
    with pytest.raises(NetworkError):
        await bot.send_document(USER, document=b"x", filename="x.txt")
    await bot.send_message(USER, "b")
    assert [m.text for m in api.messages_to(USER)] == ["b"]


async def test_timeout_after_delivery_delivers_although_the_client_timed_out(
    api: LocalBotApi,
) -> None:
    api.inject_fault("sendMessage", "timeout_after_delivery", delay=1.0)
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=api.base_url, request=request) as slow:
        with pytest.raises(TimedOut):
            await slow.send_message(USER, "did it arrive?")
    assert [m.text for m in api.messages_to(USER)] == ["did it arrive?"]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("http_500_after_delivery", "Internal Server Error"),
        ("http_502_after_delivery", "Bad Gateway"),
        ("drop_after_delivery", "httpx.RemoteProtocolError"),
    ],
)
async def test_a_failure_after_delivery_delivers_although_the_bot_hears_an_error(
    api: LocalBotApi, bot: Bot, kind: str, status: str
) -> None:
    api.inject_fault("sendMessage", kind)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "did it arrive?")
    assert status in caught.value.message
    assert [m.text for m in api.messages_to(USER)] == ["did it arrive?"]
    assert api.fired_faults == [("sendMessage", kind)]


def test_unknown_fault_kind_is_refused() -> None:
    api = LocalBotApi()
    with pytest.raises(ControlError):
        api.inject_fault("sendMessage", "gremlins")
    with pytest.raises(ControlError):
        api.inject_fault("sendTelepathy", "http_500")
