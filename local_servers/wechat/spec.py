"""docs/wechat-oa/api.json read as the stand-in's rule book: methods, fields, limits, errors.

Every request is checked against its method's entry before the stand-in acts
on it (by :mod:`local_servers.common.spec`, with WeChat's codes): query and
body fields by name, type and ``required``; ``enum``, ``min``/``max``,
``min_length``/``max_length`` and ``min_items``/``max_items`` where api.json
gives a number; nested ``fields`` and ``item_fields``. A field
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
from pathlib import Path
from typing import Any

from local_servers.common import spec as common
from local_servers.common.spec import FieldChecker, FieldSpec, MethodSpec

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


class Refusal(common.Refusal):
    """WeChat's error answer. ``violation``: the request broke api.json, not the world's state."""

    def answer(self) -> JSON:
        """The JSON body WeChat sends, its errmsg ending in a request id as WeChat's do."""
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {secrets.token_hex(8)}"}


class ApiSpec(FieldChecker):
    """The methods, template field types and error samples of api.json."""

    def __init__(self, raw: Mapping[str, Any], *, argument_errcode: int = 47003) -> None:
        self.raw = raw
        self.argument_errcode = argument_errcode
        self.methods: dict[str, MethodSpec] = {}
        for name, entry in raw["methods"].items():
            self.methods[name] = MethodSpec.of(name, entry)
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

    def shape_refusal(self, path: str, spec: FieldSpec | None, problem: str) -> Refusal:
        """47001 "data format error" naming the field, whatever is wrong with its shape."""
        return self.refusal(47001, field=path, violation=True)

    def limit_refusal(self, path: str, spec: FieldSpec, limit: str) -> Refusal:
        """The field's own code (40002, 40008) or the argument code, naming the field."""
        code = _ENUM_ERRCODE.get(spec.name, self.argument_errcode)
        return self.refusal(code, field=path, violation=True)

    def check_query(
        self,
        method: MethodSpec,
        query: Mapping[str, str],
        skip: frozenset[str] = frozenset({"access_token"}),
    ) -> None:
        """Refuse a query that breaks the method's query fields (the token is the server's)."""
        super().check_query(method, query, skip)


def load_spec(path: Path = SPEC_PATH, *, argument_errcode: int = 47003) -> ApiSpec:
    """Read api.json (by default docs/wechat-oa/api.json, the copy in the checkout)."""
    return ApiSpec(json.loads(path.read_text(encoding="utf-8")), argument_errcode=argument_errcode)
