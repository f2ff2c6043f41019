"""The Bot API spec's vocabulary: methods, types and fields, uploaded files, and refusals.

What :mod:`local_servers.telegram.spec` reads from the committed schema, and what the
checks (:mod:`local_servers.telegram.spec_coercion`, :mod:`local_servers.telegram.spec_rules`)
raise when a request does not fit it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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


def describe(value: Any) -> str:
    """A value as a refusal quotes it: JSON, cut to 40 characters."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, UploadedFile) else "file"
    return text if len(text) <= 40 else text[:37] + "..."


class Mismatch(SpecError):
    """The value does not fit the type (as opposed to fitting it but breaking a rule)."""
