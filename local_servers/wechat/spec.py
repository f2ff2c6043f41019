"""docs/wechat-oa/api.json read as the stand-in's rule book: methods, fields, limits, errors.

Every request is checked against its method's entry before the stand-in acts
on it: query and body fields by name, type and ``required``; ``enum``,
``min``/``max``, ``min_length``/``max_length`` and ``min_items``/``max_items``
where api.json gives a number; nested ``fields`` and ``item_fields``. A field
api.json does not list is refused: real WeChat may ignore it
(``conventions.unknown_fields``), but a stand-in that refuses it catches a
misspelt field before WeChat silently drops it.

The answers are WeChat's own codes: 47001 "data format error" for JSON that
is not the method's shape (missing, unknown or mistyped field), 40002 for a
wrong ``grant_type``, 40008 for a ``msgtype`` the stand-in does not carry,
and for a value out of range the code api.json suggests (47003 "argument
invalid!" by default; which one WeChat really uses is unverified).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SPEC_PATH", "ApiSpec", "FieldSpec", "MethodSpec", "Refusal", "load_spec"]

JSON = dict[str, Any]

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "api.json"

# errmsg texts for codes api.json gives no sample of (the samples it has are used as given).
_ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40008: "invalid message type",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44004: "empty content",
    47001: "data format error",
    47003: "argument invalid!",
}
# Codes for an enum a field breaks, where WeChat has one of its own.
_ENUM_ERRCODE = {"grant_type": 40002, "msgtype": 40008}


class Refusal(Exception):
    """WeChat's error answer. ``violation``: the request broke api.json, not the world's state."""

    def __init__(
        self, errcode: int, errmsg: str, *, field: str | None = None, violation: bool = False
    ) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.field = field
        self.violation = violation

    def answer(self) -> JSON:
        """The JSON body WeChat sends, its errmsg ending in a request id as WeChat's do."""
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {secrets.token_hex(8)}"}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a query or body: api.json's ``name``, ``type``, ``required`` and limits.

    ``required`` is True or False; api.json's conditional requirements ("for
    click", "required unless sub_button is given") are False here, and the
    method's handler checks them.
    """

    name: str
    type: str
    required: bool
    constraints: Mapping[str, Any]
    fields: tuple[FieldSpec, ...]
    item_fields: tuple[FieldSpec, ...]

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> FieldSpec:
        return cls(
            name=entry["name"],
            type=entry["type"],
            required=entry.get("required") is True,
            constraints=entry.get("constraints") or {},
            fields=tuple(cls.of(e) for e in entry.get("fields", ())),
            item_fields=tuple(cls.of(e) for e in entry.get("item_fields", ())),
        )


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A method: HTTP verb, path, query fields, body fields (None: no body)."""

    name: str
    http: str
    path: str
    query: tuple[FieldSpec, ...]
    body: tuple[FieldSpec, ...] | None

    @property
    def takes_token(self) -> bool:
        return any(f.name == "access_token" for f in self.query)


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind.startswith("number"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind.startswith("array"):
        return isinstance(value, list)
    return True


class ApiSpec:
    """The methods, template field types and error samples of api.json."""

    def __init__(self, raw: Mapping[str, Any], *, argument_errcode: int = 47003) -> None:
        self.raw = raw
        self.argument_errcode = argument_errcode
        self.methods: dict[str, MethodSpec] = {}
        for name, entry in raw["methods"].items():
            body = entry.get("body")
            self.methods[name] = MethodSpec(
                name,
                entry["http"],
                entry["path"],
                tuple(FieldSpec.of(e) for e in entry.get("query", ())),
                None if body is None else tuple(FieldSpec.of(e) for e in body),
            )
        self.field_types: dict[str, JSON] = {}
        for key, entry in raw["template_field_types"].items():
            if key.startswith("_") or "first" in key:
                continue
            for name in key.split(" / "):
                self.field_types[name] = entry
        self._errmsg = dict(_ERRMSG)
        for code, entry in raw["errors"].items():
            sample = entry.get("errmsg_example")
            if sample:
                self._errmsg[int(code)] = sample.split(" rid:")[0].rstrip(", ")

    def errmsg(self, errcode: int) -> str:
        """WeChat's text for ``errcode`` (api.json's sample, else the global table's words)."""
        return self._errmsg.get(errcode, "error")

    def refusal(
        self, errcode: int, *, field: str | None = None, violation: bool = False
    ) -> Refusal:
        """A refusal with WeChat's text for the code, naming ``field`` as WeChat does."""
        text = self.errmsg(errcode)
        if field is not None and errcode == 47001:
            text = f"data format error hint: [{field}]"
        elif field is not None and errcode == self.argument_errcode:
            text = f"argument invalid! {field} invalid"
        return Refusal(errcode, text, field=field, violation=violation)

    def _format(self, path: str) -> Refusal:
        return self.refusal(47001, field=path, violation=True)

    def _argument(self, path: str, name: str) -> Refusal:
        code = _ENUM_ERRCODE.get(name, self.argument_errcode)
        return self.refusal(code, field=path, violation=True)

    def check_query(self, method: MethodSpec, query: Mapping[str, str]) -> None:
        """Refuse a query that breaks the method's query fields (the token is the server's)."""
        known = {f.name for f in method.query}
        for name in query:
            if name not in known:
                raise self._format(name)
        for spec in method.query:
            if spec.name == "access_token":
                continue
            self._check_value(spec.name, spec, query.get(spec.name))

    def check_body(self, method: MethodSpec, body: Any) -> None:
        """Refuse a body that is not the method's shape or breaks a limit."""
        if method.body is None:
            return
        if not isinstance(body, dict):
            raise self._format("body")
        self.check_fields("", body, method.body)

    def check_fields(
        self, prefix: str, value: Mapping[str, Any], specs: tuple[FieldSpec, ...]
    ) -> None:
        """Check an object's fields against ``specs`` (``prefix`` names it in the answer)."""
        known = {spec.name for spec in specs}
        for name in value:
            if name not in known:
                raise self._format(prefix + name)
        for spec in specs:
            self._check_value(prefix + spec.name, spec, value.get(spec.name))

    def _check_value(self, path: str, spec: FieldSpec, value: Any) -> None:
        if value is None:
            if spec.required:
                raise self._format(path)
            return
        if not _type_ok(spec.type, value):
            raise self._format(path)
        limits = spec.constraints
        allowed = limits.get("enum", limits.get("enum_used"))
        if allowed is not None and value not in allowed:
            raise self._argument(path, spec.name)
        if isinstance(value, int) and not self._within(value, limits, "min", "max"):
            raise self._argument(path, spec.name)
        if isinstance(value, str) and not self._within(
            len(value), limits, "min_length", "max_length"
        ):
            raise self._argument(path, spec.name)
        if isinstance(value, list):
            if not self._within(len(value), limits, "min_items", "max_items"):
                raise self._argument(path, spec.name)
            if spec.item_fields:
                for index, item in enumerate(value):
                    if not isinstance(item, dict):
                        raise self._format(f"{path}[{index}]")
                    self.check_fields(f"{path}[{index}].", item, spec.item_fields)
        if isinstance(value, dict) and spec.fields:
            self.check_fields(path + ".", value, spec.fields)

    @staticmethod
    def _within(number: int, limits: Mapping[str, Any], low: str, high: str) -> bool:
        lowest, highest = limits.get(low), limits.get(high)
        if isinstance(lowest, int) and number < lowest:
            return False
        return not (isinstance(highest, int) and number > highest)


def load_spec(path: Path = SPEC_PATH, *, argument_errcode: int = 47003) -> ApiSpec:
    """Read api.json (by default docs/wechat-oa/api.json, the copy in the checkout)."""
    return ApiSpec(json.loads(path.read_text(encoding="utf-8")), argument_errcode=argument_errcode)
