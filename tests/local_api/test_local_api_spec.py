"""Request validation against the generated Bot API schema, and the schema's freshness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_servers.telegram.spec import BotApiSchema, SpecError, UploadedFile, load_schema
from tools import gen_bot_api_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "local_servers" / "telegram" / "bot_api_schema.json"


@pytest.fixture(scope="module")
def schema() -> BotApiSchema:
    return load_schema()


def keyboard(*rows: list[dict[str, Any]]) -> str:
    return json.dumps({"inline_keyboard": list(rows)})


def refused(schema: BotApiSchema, method: str, params: dict[str, Any], **files: bytes) -> SpecError:
    uploads = {k: UploadedFile(f"{k}.bin", None, v) for k, v in files.items()}
    with pytest.raises(SpecError) as caught:
        schema.validate_request(method, params, uploads)
    return caught.value


# --- the generated file ---------------------------------------------------------------------


def test_committed_schema_matches_the_generator() -> None:
    if not gen_bot_api_schema.SPEC_PATH.exists():
        pytest.skip(f"{gen_bot_api_schema.SPEC_PATH} is not present")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == gen_bot_api_schema.generate(), (
        "local_servers/telegram/bot_api_schema.json is stale: run python tools/gen_bot_api_schema.py"
    )


def test_generator_check_mode_detects_a_stale_file(tmp_path: Path) -> None:
    if not gen_bot_api_schema.SPEC_PATH.exists():
        pytest.skip(f"{gen_bot_api_schema.SPEC_PATH} is not present")
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert gen_bot_api_schema.main(["--check", "--output", str(stale)]) == 1
    assert gen_bot_api_schema.main(["--output", str(stale)]) == 0
    assert gen_bot_api_schema.main(["--check", "--output", str(stale)]) == 0


def test_generator_extracts_types_required_limits_and_discriminators() -> None:
    spec = {
        "version": "Bot API 0.0",
        "release_date": "today",
        "methods": {
            "sendThing": {
                "name": "sendThing",
                "returns": ["Message"],
                "fields": [
                    {
                        "name": "chat_id",
                        "types": ["Integer", "String"],
                        "required": True,
                        "description": "Target",
                    },
                    {
                        "name": "text",
                        "types": ["String"],
                        "required": True,
                        "description": "Text, 1-4096 characters after entities parsing",
                    },
                    {
                        "name": "parse_mode",
                        "types": ["String"],
                        "required": False,
                        "description": "Mode",
                    },
                ],
            }
        },
        "types": {
            "ScopeX": {
                "name": "ScopeX",
                "fields": [
                    {
                        "name": "type",
                        "types": ["String"],
                        "required": True,
                        "description": "Scope type, must be x",
                    },
                    {
                        "name": "data",
                        "types": ["String"],
                        "required": False,
                        "description": "Optional. Data, 1-64 bytes",
                    },
                ],
            },
            "Scope": {"name": "Scope", "subtypes": ["ScopeX"]},
        },
    }
    built = gen_bot_api_schema.build_schema(spec)
    fields = built["methods"]["sendThing"]["fields"]
    assert fields["chat_id"] == {"types": ["Integer", "String"], "required": True}
    assert fields["text"] == {
        "types": ["String"],
        "required": True,
        "length": [1, 4096, "characters"],
        "parse_mode": "parse_mode",
    }
    scope = built["types"]["ScopeX"]["fields"]
    assert scope["type"]["const"] == "x"
    assert scope["data"]["length"] == [1, 64, "bytes"]
    assert built["types"]["Scope"] == {"subtypes": ["ScopeX"]}
    text = gen_bot_api_schema.render(built)
    assert json.loads(text) == built
    assert text == gen_bot_api_schema.render(json.loads(text))  # deterministic


def test_schema_knows_the_methods_the_bot_calls(schema: BotApiSchema) -> None:
    for method in (
        "getMe",
        "getUpdates",
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "answerCallbackQuery",
        "setMyCommands",
        "deleteWebhook",
    ):
        assert schema.canonical_method(method) == method
    assert schema.canonical_method("SENDMESSAGE") == "sendMessage"  # methods are case-insensitive
    assert schema.canonical_method("sendMesage") is None
    assert schema.version.startswith("Bot API ")


# --- coercion ------------------------------------------------------------------------------


def test_form_strings_are_coerced_to_schema_types(schema: BotApiSchema) -> None:
    params = schema.validate_request(
        "sendMessage",
        {
            "chat_id": "1001",
            "text": "hi",
            "disable_notification": "true",
            "protect_content": "False",
            "reply_markup": keyboard([{"text": "Yes", "callback_data": "y"}]),
            "reply_parameters": json.dumps({"message_id": "7"}),
            "entities": json.dumps([{"type": "bold", "offset": 0, "length": 2}]),
        },
    )
    assert params["chat_id"] == 1001
    assert params["disable_notification"] is True
    assert params["protect_content"] is False
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    assert params["reply_parameters"] == {"message_id": 7}
    assert params["entities"][0]["length"] == 2


def test_json_bodies_take_native_values(schema: BotApiSchema) -> None:
    params = schema.validate_request(
        "sendMessage",
        {"chat_id": 1001, "text": "hi", "reply_markup": {"remove_keyboard": True}},
    )
    assert params == {"chat_id": 1001, "text": "hi", "reply_markup": {"remove_keyboard": True}}


@pytest.mark.parametrize(
    ("chat_id", "coerced"),
    [("1001", 1001), ("-100123", -100123), ("@channel", "@channel"), (42, 42)],
)
def test_union_chat_id_accepts_integer_or_string(
    schema: BotApiSchema, chat_id: Any, coerced: Any
) -> None:
    assert (
        schema.validate_request("sendMessage", {"chat_id": chat_id, "text": "x"})["chat_id"]
        == coerced
    )


@pytest.mark.parametrize(
    "markup",
    [
        {"inline_keyboard": [[{"text": "a", "url": "https://example.org"}]]},
        {"keyboard": [[{"text": "a"}]], "resize_keyboard": True},
        {"remove_keyboard": True},
        {"force_reply": True, "input_field_placeholder": "answer"},
    ],
)
def test_reply_markup_accepts_each_member_of_the_union(
    schema: BotApiSchema, markup: dict[str, Any]
) -> None:
    params = schema.validate_request(
        "sendMessage", {"chat_id": 1, "text": "x", "reply_markup": json.dumps(markup)}
    )
    assert params["reply_markup"] == markup


def test_input_file_accepts_upload_file_id_url_and_attach(schema: BotApiSchema) -> None:
    upload = UploadedFile("report.pdf", "application/pdf", b"%PDF")
    assert (
        schema.validate_request("sendDocument", {"chat_id": 1}, {"document": upload})["document"]
        is upload
    )
    assert (
        schema.validate_request("sendDocument", {"chat_id": 1, "document": "BQACAgI"})["document"]
        == "BQACAgI"
    )
    by_attach = schema.validate_request(
        "sendDocument", {"chat_id": 1, "document": "attach://part1"}, {"part1": upload}
    )
    assert by_attach["document"] is upload


def test_subtype_unions_use_the_discriminator(schema: BotApiSchema) -> None:
    params = schema.validate_request(
        "setMyCommands",
        {
            "commands": json.dumps([{"command": "start", "description": "Start"}]),
            "scope": json.dumps({"type": "chat", "chat_id": 1001}),
        },
    )
    assert params["scope"] == {"type": "chat", "chat_id": 1001}
    error = refused(
        schema, "setMyCommands", {"commands": "[]", "scope": json.dumps({"type": "galaxy"})}
    )
    assert error.field is not None and error.field.startswith("scope")
    error = refused(
        schema, "setMyCommands", {"commands": "[]", "scope": json.dumps({"type": "chat"})}
    )
    assert error.field == "scope.chat_id"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "description", "field"),
    [
        ("sendMessage", {"chat_id": 1}, "Bad Request: message text is empty", "text"),
        ("sendMessage", {"text": "x"}, "Bad Request: chat_id is empty", "chat_id"),
        ("sendMessage", {"chat_id": 1, "text": ""}, "Bad Request: message text is empty", "text"),
        (
            "sendMessage",
            {"chat_id": 1, "text": " \n "},
            "Bad Request: message text is empty",
            "text",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "<b></b>", "parse_mode": "HTML"},
            "Bad Request: message text is empty",
            "text",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x" * 4097},
            "Bad Request: message is too long",
            "text",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "😀" * 2049},
            "Bad Request: message is too long",
            "text",
        ),
        (
            "editMessageText",
            {"chat_id": 1, "message_id": 1, "text": "x" * 4097},
            "Bad Request: message is too long",
            "text",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "colour": "red"},
            "Bad Request: unknown parameter colour",
            "colour",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "parse_mode": "XML"},
            "Bad Request: unsupported parse_mode",
            "parse_mode",
        ),
        (
            "sendDocument",
            {"chat_id": 1, "document": "id", "caption": "c" * 1025},
            "Bad Request: message caption is too long",
            "caption",
        ),
        (
            "answerCallbackQuery",
            {"callback_query_id": "1", "text": "t" * 201},
            "Bad Request: MESSAGE_TOO_LONG",
            "text",
        ),
        (
            "setMyDescription",
            {"description": "d" * 513},
            "Bad Request: description must be 0-512 characters long",
            "description",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "Start", "description": "d"}])},
            "Bad Request: BOT_COMMAND_INVALID",
            "commands[0].command",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "c" * 33, "description": "d"}])},
            "Bad Request: BOT_COMMAND_INVALID",
            "commands[0].command",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "start", "description": ""}])},
            "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
            "commands[0].description",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "start", "description": "d" * 257}])},
            "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
            "commands[0].description",
        ),
        ("sendMessage", {"chat_id": "one", "text": "x"} | {"chat_id": True}, None, "chat_id"),
        ("getUpdates", {"limit": "ten"}, None, "limit"),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "disable_notification": "maybe"},
            None,
            "disable_notification",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": "{not json"},
            None,
            "reply_markup",
        ),
    ],
)
def test_refusals(
    schema: BotApiSchema,
    method: str,
    params: dict[str, Any],
    description: str | None,
    field: str,
) -> None:
    error = refused(schema, method, params)
    assert error.status == 400
    assert error.field == field
    if description is not None:
        assert error.description == description
    assert error.description.startswith("Bad Request: ")


def test_unknown_method_is_404(schema: BotApiSchema) -> None:
    error = refused(schema, "sendTelepathy", {})
    assert (error.status, error.description) == (404, "Not Found")


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ("x" * 64, True),
        ("x" * 65, False),
        ("尿" * 21, True),  # 63 bytes
        ("尿" * 22, False),  # 66 bytes although only 22 characters
        ("", False),
    ],
)
def test_callback_data_is_1_to_64_bytes(schema: BotApiSchema, data: str, ok: bool) -> None:
    params = {
        "chat_id": 1,
        "text": "x",
        "reply_markup": keyboard([{"text": "b", "callback_data": data}]),
    }
    if ok:
        schema.validate_request("sendMessage", params)
    else:
        error = refused(schema, "sendMessage", params)
        assert error.description == "Bad Request: BUTTON_DATA_INVALID"
        assert error.field == "reply_markup.inline_keyboard[0][0].callback_data"


@pytest.mark.parametrize(
    ("button", "description_part"),
    [
        ({"text": "label only"}, "Text buttons are unallowed in the inline keyboard"),
        ({"text": "two", "callback_data": "a", "url": "https://e.org"}, "exactly one of"),
        ({"callback_data": "no text"}, "field 'text' is required"),
        ({"text": "x", "callback": "typo"}, "unknown field 'callback'"),
    ],
)
def test_inline_buttons_must_be_well_formed(
    schema: BotApiSchema, button: dict[str, Any], description_part: str
) -> None:
    error = refused(
        schema, "sendMessage", {"chat_id": 1, "text": "x", "reply_markup": keyboard([button])}
    )
    assert description_part in error.description


def test_html_is_checked_only_with_parse_mode_html(schema: BotApiSchema) -> None:
    schema.validate_request("sendMessage", {"chat_id": 1, "text": "1 < 2 & 3"})
    error = refused(schema, "sendMessage", {"chat_id": 1, "text": "1 < 2", "parse_mode": "HTML"})
    assert error.description.startswith("Bad Request: can't parse entities: ")
    error = refused(
        schema,
        "sendPhoto",
        {"chat_id": 1, "photo": "id", "caption": "<p>x</p>", "parse_mode": "html"},
    )
    assert error.field == "caption"


def test_length_counts_visible_text_for_html(schema: BotApiSchema) -> None:
    long_markup = "<b>" + "a" * 4096 + "</b>"
    schema.validate_request(
        "sendMessage", {"chat_id": 1, "text": long_markup, "parse_mode": "HTML"}
    )
    escaped = "&lt;" * 4096
    schema.validate_request("sendMessage", {"chat_id": 1, "text": escaped, "parse_mode": "HTML"})
    refused(schema, "sendMessage", {"chat_id": 1, "text": escaped + "&lt;", "parse_mode": "HTML"})
    # Without parse_mode the same characters are literal and count in full.
    refused(schema, "sendMessage", {"chat_id": 1, "text": long_markup})


def test_uploaded_part_that_is_no_parameter_is_refused(schema: BotApiSchema) -> None:
    error = refused(schema, "sendMessage", {"chat_id": 1, "text": "x"}, stray=b"1")
    assert error.description == "Bad Request: unknown parameter stray"
    error = refused(schema, "sendDocument", {"chat_id": 1, "document": "attach://missing"})
    assert error.field == "document"


def test_validate_value_checks_response_objects(schema: BotApiSchema) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}
    assert schema.validate_value("Message", message) == message
    with pytest.raises(SpecError):
        schema.validate_value("Message", message | {"textt": "typo"})
