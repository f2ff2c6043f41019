"""Rules beyond a field's type, as Telegram applies them, with Telegram's own descriptions.

parse_mode values, HTML that must parse, the lengths the specification states
("1-4096 characters after entities parsing", "1-64 bytes"), an inline button
that does exactly one thing, and bot command syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from local_servers.telegram.html import HtmlParseError, plain_text
from local_servers.telegram.spec_model import FieldSpec, SpecError, describe

#: parse_mode values the Bot API accepts (case-insensitively).
PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
#: InlineKeyboardButton fields that decorate a button rather than choose what it does.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})

#: Telegram's descriptions for length failures of request fields (method parameters).
METHOD_EMPTY = {"text": "Bad Request: message text is empty"}
_METHOD_TOO_LONG = {
    "text": "Bad Request: message is too long",
    "caption": "Bad Request: message caption is too long",
}
#: Telegram's descriptions for length failures of particular fields, by (method or type, field).
_SPECIAL_LENGTH = {
    ("answerCallbackQuery", "text"): "Bad Request: MESSAGE_TOO_LONG",
}
#: Telegram's descriptions for length failures inside objects, by (type, field).
_TYPE_LENGTH = {
    ("InlineKeyboardButton", "callback_data"): "Bad Request: BUTTON_DATA_INVALID",
    ("BotCommand", "command"): "Bad Request: BOT_COMMAND_INVALID",
    ("BotCommand", "description"): "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
    ("InputTextMessageContent", "message_text"): "Bad Request: MESSAGE_TOO_LONG",
}


def check_rules(
    owner: str,
    field: FieldSpec,
    container: Mapping[str, Any],
    path: str,
    *,
    method_level: bool,
) -> None:
    """Rules beyond the type: parse_mode values, HTML, stated lengths, command syntax."""
    value = container[field.name]
    is_mode = field.name == "parse_mode" or field.name.endswith("_parse_mode")
    if is_mode and str(value).lower() not in PARSE_MODES:
        raise SpecError(
            "Bad Request: unsupported parse_mode",
            field=path,
            reason=f"parse_mode {describe(value)} is not HTML, MarkdownV2 or Markdown",
        )
    if field.length is None or not isinstance(value, str):
        return
    low, high, unit = field.length
    if unit == "bytes":
        size = len(value.encode("utf-8"))
    else:
        mode = container.get(field.parse_mode) if field.parse_mode else None
        try:
            size = plain_text(value, mode if isinstance(mode, str) else None).length
        except HtmlParseError as exc:
            raise SpecError(
                exc.description, field=path, reason=f"invalid HTML: {exc.message}"
            ) from None
    if low <= size <= high:
        return
    too_short = size < low
    description: str | None
    if (owner, field.name) in _SPECIAL_LENGTH:
        description = _SPECIAL_LENGTH[(owner, field.name)]
    elif method_level and owner.startswith(("send", "edit")):
        table = METHOD_EMPTY if too_short else _METHOD_TOO_LONG
        description = table.get(field.name)
    else:
        description = _TYPE_LENGTH.get((owner, field.name))
    if description is None:
        description = f"Bad Request: {path} must be {low}-{high} {unit} long" + (
            " after entities parsing" if field.parse_mode else ""
        )
    raise SpecError(
        description,
        field=path,
        reason=f"{owner}.{field.name} is {size} {unit}, allowed {low}-{high}",
    )


def _inline_button(button: Mapping[str, Any], path: str) -> None:
    """An inline keyboard button must do exactly one thing (url, callback_data, ...)."""
    actions = sorted(set(button) - _BUTTON_DECORATION)
    if not actions:
        raise SpecError(
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
            field=path,
            reason="inline keyboard button has no action (callback_data, url, ...)",
        )
    if len(actions) > 1:
        raise SpecError(
            "Bad Request: can't parse inline keyboard button: "
            f"exactly one of {', '.join(actions)} must be used",
            field=path,
            reason=f"inline keyboard button has several actions: {', '.join(actions)}",
        )


def _bot_command(command: Mapping[str, Any], path: str) -> None:
    """BotCommand.command: "1-32 characters ... lowercase English letters, digits, underscores"."""
    text = command.get("command", "")
    if not _BOT_COMMAND.fullmatch(text):
        raise SpecError(
            "Bad Request: BOT_COMMAND_INVALID",
            field=f"{path}.command",
            reason=f"command {text!r} must be 1-32 characters of a-z, 0-9 and _",
        )


TYPE_RULES: dict[str, Callable[[Mapping[str, Any], str], None]] = {
    "InlineKeyboardButton": _inline_button,
    "BotCommand": _bot_command,
}
