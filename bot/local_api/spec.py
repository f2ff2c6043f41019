"""Check Bot API requests against the committed schema, the way Telegram checks them.

The schema (``bot_api_schema.json``) is generated from the Bot API
specification by ``tools/gen_bot_api_schema.py``. A request is refused, with
Telegram's own description where one is known, when it names an unknown
method (404 "Not Found") or an unknown parameter, leaves out a required one,
passes a value that does not fit the field's types, breaks a length stated in
the specification ("1-4096 characters after entities parsing", "1-64 bytes"),
or has HTML that Telegram cannot parse.

Values are coerced as Telegram coerces them: form fields arrive as strings
("123" for an Integer, "true" for a Boolean) and objects as JSON text, which is
decoded and validated field by field. Union types accept any member.

Unknown parameters are ignored by Telegram itself; they are refused here on
purpose, so a test run catches a bot that misspells a parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.local_api.html import HtmlParseError, plain_text

__all__ = [
    "PARSE_MODES",
    "BotApiSchema",
    "FieldSpec",
    "MethodSpec",
    "SpecError",
    "TypeSpec",
    "UploadedFile",
    "load_schema",
]

SCHEMA_FILE = "bot_api_schema.json"
#: parse_mode values the Bot API accepts (case-insensitively).
PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String"})
_INTEGER = re.compile(r"[+-]?\d+")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
#: InlineKeyboardButton fields that decorate a button rather than choose what it does.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})

#: Telegram's descriptions for length failures of request fields (method parameters).
_METHOD_EMPTY = {"text": "Bad Request: message text is empty"}
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


class SpecError(Exception):
    """A request Telegram (or this server's stricter reading of the spec) refuses.

    ``description`` is the Bot API error description, ``field`` the offending
    parameter path (``reply_markup.inline_keyboard[0][1].callback_data``) or
    None, ``reason`` a short human explanation, ``status`` the HTTP status.
    """

    def __init__(
        self, description: str, *, field: str | None, reason: str, status: int = 400
    ) -> None:
        super().__init__(description)
        self.description = description
        self.field = field
        self.reason = reason
        self.status = status
        self.depth = 0 if field is None else field.count(".") + field.count("[") + 1


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart/form-data request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter or object field: accepted types, whether required, stated limits."""

    name: str
    types: tuple[str, ...]
    required: bool
    length: tuple[int, int, str] | None = None
    parse_mode: str | None = None
    const: str | None = None


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A Bot API method: its parameters and return types."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A Bot API type: an object with fields, or a union of ``subtypes``."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...] = ()


def _field_spec(name: str, raw: Mapping[str, Any]) -> FieldSpec:
    length = raw.get("length")
    return FieldSpec(
        name=name,
        types=tuple(raw["types"]),
        required=bool(raw["required"]),
        length=(int(length[0]), int(length[1]), str(length[2])) if length else None,
        parse_mode=raw.get("parse_mode"),
        const=raw.get("const"),
    )


def _fields(raw: Mapping[str, Any]) -> dict[str, FieldSpec]:
    return {name: _field_spec(name, spec) for name, spec in raw.items()}


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, UploadedFile) else "file"
    return text if len(text) <= 40 else text[:37] + "..."


class _Mismatch(SpecError):
    """The value does not fit the type (as opposed to fitting it but breaking a rule)."""


class BotApiSchema:
    """The Bot API methods and types, and request validation against them."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = raw["version"]
        self.release_date: str = raw["release_date"]
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(name, _fields(m.get("fields", {})), tuple(m.get("returns", [])))
            for name, m in raw["methods"].items()
        }
        self.types: dict[str, TypeSpec] = {
            name: TypeSpec(name, _fields(t.get("fields", {})), tuple(t.get("subtypes", [])))
            for name, t in raw["types"].items()
        }
        # Bot API method names are case-insensitive ("All methods in the Bot API are
        # case-insensitive", Making requests).
        self._by_lower = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSchema:
        """The schema from ``path`` or, by default, the packaged ``bot_api_schema.json``."""
        if path is None:
            text = resources.files("bot.local_api").joinpath(SCHEMA_FILE).read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return cls(json.loads(text))

    def canonical_method(self, name: str) -> str | None:
        """The method's spelling in the spec, matched case-insensitively, or None if unknown."""
        return self._by_lower.get(name.lower())

    def validate_request(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> dict[str, Any]:
        """Coerce and check one request; returns the parameters with Bot API types.

        ``params`` are the form, query or JSON fields; ``files`` the multipart
        file parts by part name. Uploaded parts appear in the result as
        :class:`UploadedFile`. Raises :class:`SpecError` for anything Telegram
        would refuse, and for unknown parameters.
        """
        canonical = self.canonical_method(method)
        if canonical is None:
            raise SpecError(
                "Not Found", field=None, reason=f"unknown method {method!r}", status=404
            )
        spec = self.methods[canonical]
        files = dict(files or {})
        checker = _Checker(self, files)
        for key in params:
            if key not in spec.fields:
                raise SpecError(
                    f"Bad Request: unknown parameter {key}",
                    field=key,
                    reason=f"{canonical} has no parameter {key!r}",
                )
        result: dict[str, Any] = {}
        for name, field in spec.fields.items():
            if name in files and "InputFile" in field.types:
                checker.used.add(name)
                result[name] = files[name]
                continue
            if params.get(name) is None:
                if field.required:
                    raise SpecError(
                        _METHOD_EMPTY.get(name, f"Bad Request: {name} is empty"),
                        field=name,
                        reason=f"required parameter {name!r} of {canonical} is missing",
                    )
                continue
            result[name] = checker.value(params[name], field.types, name, top_level=True)
        for name, field in spec.fields.items():
            if name in result:
                checker.check_rules(canonical, field, result, name, method_level=True)
        unused = sorted(set(files) - checker.used)
        if unused:
            raise SpecError(
                f"Bad Request: unknown parameter {unused[0]}",
                field=unused[0],
                reason=f"file part {unused[0]!r} is neither a parameter nor attached",
            )
        return result

    def validate_value(self, type_expr: str, value: Any, path: str = "value") -> Any:
        """Coerce and check ``value`` against a type expression such as ``Array of BotCommand``."""
        return _Checker(self, {}).value(value, (type_expr,), path, top_level=False)


class _Checker:
    """One validation pass: tracks which uploaded parts were referenced."""

    def __init__(self, schema: BotApiSchema, files: Mapping[str, UploadedFile]) -> None:
        self.schema = schema
        self.files = files
        self.used: set[str] = set()

    def value(self, value: Any, types: tuple[str, ...], path: str, *, top_level: bool) -> Any:
        """``value`` coerced to the first of ``types`` it fits; else the most specific error."""
        errors: list[SpecError] = []
        if (
            top_level
            and isinstance(value, str)
            and not any(t in _PRIMITIVES or t == "InputFile" for t in types)
        ):
            # Form fields carry objects and arrays as JSON text; nested values are never
            # decoded a second time.
            value = self._json(value, path)
        candidates = types
        if "InputFile" in types and isinstance(value, str) and value.startswith("attach://"):
            candidates = ("InputFile",)  # an attach:// reference is never a file_id
        elif isinstance(value, dict) and len(types) > 1:
            candidates = self._discriminate(value, types)
        for type_expr in candidates:
            try:
                return self._one(value, type_expr, path)
            except SpecError as exc:
                errors.append(exc)
        if len(errors) == 1 or not all(isinstance(e, _Mismatch) for e in errors):
            # A member that fits but breaks a rule explains the failure best.
            specific = [e for e in errors if not isinstance(e, _Mismatch)] or errors
            raise max(specific, key=lambda e: e.depth)
        deepest = max(errors, key=lambda e: e.depth)
        if deepest.depth > path.count(".") + path.count("[") + 1:
            raise deepest
        raise _Mismatch(
            f"Bad Request: can't parse {path}: expected {' or '.join(types)}",
            field=path,
            reason=f"{_describe(value)} is not {' or '.join(types)}",
        )

    def _discriminate(self, value: Mapping[str, Any], types: tuple[str, ...]) -> tuple[str, ...]:
        """Object members whose fixed ``type`` field (if any) matches, best field overlap first."""

        def expand(type_expr: str) -> list[str]:
            spec = self.schema.types.get(type_expr)
            if spec is None or not spec.subtypes:
                return [type_expr]
            return [leaf for sub in spec.subtypes for leaf in expand(sub)]

        leaves = [leaf for t in types for leaf in expand(t)]
        objects = [t for t in leaves if t in self.schema.types]
        matching = [
            t
            for t in objects
            if any(
                f.const is not None and value.get(f.name) == f.const
                for f in self.schema.types[t].fields.values()
            )
        ]
        pool = matching or objects or leaves
        return (
            tuple(sorted(pool, key=lambda t: -len(set(value) & set(self._fields_of(t))))) or types
        )

    def _fields_of(self, type_expr: str) -> Mapping[str, FieldSpec]:
        spec = self.schema.types.get(type_expr)
        return spec.fields if spec is not None else {}

    def _json(self, value: str, path: str) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            raise _Mismatch(
                f"Bad Request: can't parse {path} JSON object",
                field=path,
                reason=f"{_describe(value)} is not valid JSON",
            ) from None

    def _one(self, value: Any, type_expr: str, path: str) -> Any:
        if type_expr.startswith("Array of "):
            inner = type_expr.removeprefix("Array of ")
            if not isinstance(value, list):
                raise _Mismatch(
                    f"Bad Request: can't parse {path}: expected an array",
                    field=path,
                    reason=f"{_describe(value)} is not {type_expr}",
                )
            return [
                self.value(item, (inner,), f"{path}[{i}]", top_level=False)
                for i, item in enumerate(value)
            ]
        if type_expr in _PRIMITIVES:
            return _primitive(value, type_expr, path)
        if type_expr == "InputFile":
            return self._input_file(value, path)
        spec = self.schema.types.get(type_expr)
        if spec is None:
            raise _Mismatch(
                f"Bad Request: can't parse {path}", field=path, reason=f"unknown type {type_expr}"
            )
        if spec.subtypes:
            return self.value(value, spec.subtypes, path, top_level=False)
        if not isinstance(value, dict):
            raise _Mismatch(
                f"Bad Request: can't parse {path}: expected {type_expr} object",
                field=path,
                reason=f"{_describe(value)} is not a {type_expr} object",
            )
        return self._object(spec, value, path)

    def _input_file(self, value: Any, path: str) -> Any:
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name in self.files:
                self.used.add(name)
                return self.files[name]
            raise SpecError(
                f"Bad Request: file {name!r} must be uploaded as multipart/form-data",
                field=path,
                reason=f"{value} names no uploaded part",
            )
        raise _Mismatch(
            f"Bad Request: {path} must be an uploaded file",
            field=path,
            reason=f"{_describe(value)} is not an uploaded file",
        )

    def _object(self, spec: TypeSpec, value: Mapping[str, Any], path: str) -> dict[str, Any]:
        for key in value:
            if key not in spec.fields:
                raise _Mismatch(
                    f"Bad Request: can't parse {spec.name}: unknown field {key!r}",
                    field=f"{path}.{key}",
                    reason=f"{spec.name} has no field {key!r}",
                )
        result: dict[str, Any] = {}
        for name, field in spec.fields.items():
            if name not in value or value[name] is None:
                if field.required:
                    raise _Mismatch(
                        f"Bad Request: can't parse {spec.name}: field {name!r} is required",
                        field=f"{path}.{name}",
                        reason=f"required field {name!r} of {spec.name} is missing",
                    )
                continue
            coerced = self.value(value[name], field.types, f"{path}.{name}", top_level=False)
            if field.const is not None and coerced != field.const:
                raise _Mismatch(
                    f"Bad Request: can't parse {spec.name}: {name} must be {field.const!r}",
                    field=f"{path}.{name}",
                    reason=f"{spec.name}.{name} is {_describe(coerced)}, not {field.const!r}",
                )
            result[name] = coerced
        for name, field in spec.fields.items():
            if name in result:
                self.check_rules(spec.name, field, result, f"{path}.{name}", method_level=False)
        extra = _TYPE_RULES.get(spec.name)
        if extra is not None:
            extra(result, path)
        return result

    def check_rules(
        self,
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
                reason=f"parse_mode {_describe(value)} is not HTML, MarkdownV2 or Markdown",
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
            table = _METHOD_EMPTY if too_short else _METHOD_TOO_LONG
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


def _primitive(value: Any, type_expr: str, path: str) -> Any:
    """Coerce a scalar as the Bot API does: form strings to numbers and booleans."""
    if type_expr == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif type_expr == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
    elif type_expr == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif type_expr == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
    raise _Mismatch(
        f"Bad Request: can't parse {path}: expected {type_expr}",
        field=path,
        reason=f"{_describe(value)} is not {type_expr}",
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


_TYPE_RULES: dict[str, Callable[[Mapping[str, Any], str], None]] = {
    "InlineKeyboardButton": _inline_button,
    "BotCommand": _bot_command,
}


_DEFAULT: BotApiSchema | None = None


def load_schema() -> BotApiSchema:
    """The packaged schema, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = BotApiSchema.load()
    return _DEFAULT
