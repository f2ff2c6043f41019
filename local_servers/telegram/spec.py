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

Here are the schema and the request check; the vocabulary is
:mod:`local_servers.telegram.spec_model`, the coercion of values type by type
:mod:`local_servers.telegram.spec_coercion`, and the rules beyond the type
:mod:`local_servers.telegram.spec_rules`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from local_servers.telegram.spec_coercion import Checker
from local_servers.telegram.spec_model import (
    FieldSpec,
    MethodSpec,
    SpecError,
    TypeSpec,
    UploadedFile,
)
from local_servers.telegram.spec_rules import METHOD_EMPTY, PARSE_MODES, check_rules

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
            text = (
                resources.files("local_servers.telegram").joinpath(SCHEMA_FILE).read_text("utf-8")
            )
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
        checker = Checker(self.types, files)
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
                        METHOD_EMPTY.get(name, f"Bad Request: {name} is empty"),
                        field=name,
                        reason=f"required parameter {name!r} of {canonical} is missing",
                    )
                continue
            result[name] = checker.value(params[name], field.types, name, top_level=True)
        for name, field in spec.fields.items():
            if name in result:
                check_rules(canonical, field, result, name, method_level=True)
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
        return Checker(self.types, {}).value(value, (type_expr,), path, top_level=False)


_DEFAULT: BotApiSchema | None = None


def load_schema() -> BotApiSchema:
    """The packaged schema, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = BotApiSchema.load()
    return _DEFAULT
