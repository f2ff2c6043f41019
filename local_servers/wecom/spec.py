"""docs/wecom/api.json read as the stand-in's rule book, with WeCom's error codes.

Fields are checked as :mod:`local_servers.common.spec` does for any api.json
(names, types, ``required``, the numeric limits); ``$ref`` entries (the
template card of ``sendTemplateCard``) are replaced by the section they name.
A field api.json does not list is refused: WeCom is believed to ignore it
(``conventions.unknown_fields``, unverified), and api.json lets the stand-in
refuse it as the project's choice, which catches a misspelt field.

The codes are the ones api.json's error table gives for each case:

* missing: ``agentid`` 41011, ``msgtype`` 40008, ``media_id`` 41006,
  ``corpid`` 41002, ``corpsecret`` 41004, the upload's ``type`` 40005, its
  ``media`` part 44001, ``text.content`` 44004; any other 40058 "required
  value empty";
* of the wrong type: ``agentid`` 40056 ("must be an integer"); any other
  40058 with "Warning: wrong json format." (``conventions.json_warning``);
* out of range: ``msgtype`` 40008, the upload's ``type`` 40005, text or
  markdown content over 2048 bytes 45002 (or, configurably, let through to be
  truncated: which one WeCom does is unverified), empty text 44004, more than
  1000 users in ``touser`` 40032; any other 40058.

Every one of these is a violation: the request broke api.json. An errmsg is
WeCom's: ``<text>, hint: [<request id>], from ip: <ip>, more info at
https://open.work.weixin.qq.com/devtool/query?e=<errcode>``
(``errors_conventions``).
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_servers.common import spec as common
from local_servers.common.spec import FieldChecker, FieldSpec, MethodSpec

__all__ = ["SPEC_PATH", "Refusal", "WecomSpec", "load_spec"]

JSON = dict[str, Any]

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "wecom" / "api.json"
_MORE_INFO = "https://open.work.weixin.qq.com/devtool/query?e="
_JSON_WARNING = "Warning: wrong json format."
#: Code for a missing top-level field (query or body), where WeCom has one of its own.
_MISSING = {
    "agentid": 41011,
    "msgtype": 40008,
    "corpid": 41002,
    "corpsecret": 41004,
    "type": 40005,
    "media": 44001,
}
#: Code for a missing field inside an object, by its name.
_MISSING_INSIDE = {"media_id": 41006, "content": 44004}
#: Code for a value of the wrong type, by name.
_MISTYPED = {"agentid": 40056}
#: Code for a value out of range, by (path, limit) or path.
_LIMITS: dict[tuple[str, str] | str, int] = {
    "msgtype": 40008,
    "type": 40005,
    ("text.content", "max_bytes"): 45002,
    ("markdown.content", "max_bytes"): 45002,
    ("text.content", "min_length"): 44004,
    ("touser", "max_items"): 40032,
}
#: The send methods whose content a configurable stand-in may truncate instead.
_CONTENT = frozenset({"text.content", "markdown.content"})


class Refusal(common.Refusal):
    """WeCom's error answer. ``violation``: the request broke api.json, not the world's state."""

    def __init__(
        self,
        errcode: int,
        errmsg: str,
        *,
        field: str | None = None,
        violation: bool = False,
        json_warning: bool = False,
    ) -> None:
        super().__init__(errcode, errmsg, field=field, violation=violation)
        self.json_warning = json_warning

    def answer(self) -> JSON:
        """The JSON body WeCom sends: the text, a request id, the caller and a link."""
        rid = str(10**24 + secrets.randbelow(9 * 10**24))
        text = f"{self.errmsg}, hint: [{rid}], from ip: 127.0.0.1, more info at {_MORE_INFO}{self.errcode}"
        if self.json_warning:
            text = f"{text} {_JSON_WARNING}"
        return {"errcode": self.errcode, "errmsg": text}


def _resolve(raw: JSON, fields: list[Any]) -> list[Any]:
    """``fields`` with each ``{"$ref": "section.name"}`` replaced by that section's fields."""
    resolved: list[Any] = []
    for entry in fields:
        if "$ref" in entry:
            target: Any = raw
            for part in str(entry["$ref"]).split("."):
                target = target[part]
            resolved.extend(_resolve(raw, target["fields"]))
            continue
        if entry.get("fields"):
            entry = entry | {"fields": _resolve(raw, entry["fields"])}
        resolved.append(entry)
    return resolved


def _errmsg(entry: Mapping[str, Any]) -> str:
    """WeCom's English text for an error: api.json's sample, else its meaning's first words."""
    sample = entry.get("errmsg_example")
    if sample:
        return str(sample).split(", hint:")[0]
    meaning = str(entry.get("meaning", "error"))
    return meaning.split(" (")[0].split(":")[0].rstrip(".").lower()


class WecomSpec(FieldChecker):
    """The methods, template card section, limits and errors of docs/wecom/api.json.

    ``truncate_long_text``: let text and markdown content over 2048 bytes
    through (the method truncates it) instead of refusing it with 45002.
    """

    def __init__(self, raw: Mapping[str, Any], *, truncate_long_text: bool = False) -> None:
        self.raw: JSON = copy.deepcopy(dict(raw))
        self.truncate_long_text = truncate_long_text
        self.methods: dict[str, MethodSpec] = {}
        for name, entry in self.raw["methods"].items():
            if entry.get("body"):
                entry = entry | {"body": _resolve(self.raw, entry["body"])}
            self.methods[name] = MethodSpec.of(name, entry)
        card = self.raw["template_card"]
        self.card_types: frozenset[str] = frozenset(card["card_types"]["enum"])
        self.button_interaction: tuple[FieldSpec, ...] = tuple(
            FieldSpec.of(e) for e in _resolve(self.raw, card["button_interaction"]["fields"])
        )
        self.limits: JSON = self.raw["limits"]
        self._errmsg = {int(code): _errmsg(entry) for code, entry in self.raw["errors"].items()}

    def send_method(self, msgtype: Any) -> MethodSpec | None:
        """The ``message/send`` method of ``msgtype`` (None: api.json has none)."""
        for method in self.methods.values():
            field = method.body_field("msgtype")
            if field is not None and field.constraints.get("enum") == [msgtype]:
                return method
        return None

    def errmsg(self, errcode: int) -> str:
        return self._errmsg.get(errcode, "error")

    def refusal(
        self,
        errcode: int,
        *,
        field: str | None = None,
        violation: bool = False,
        why: str | None = None,
        json_warning: bool = False,
    ) -> Refusal:
        """A refusal with WeCom's text for the code, naming ``field`` (and ``why``)."""
        text = self.errmsg(errcode)
        if field is not None:
            text = f"{text} [{field}]"
        if why is not None:
            text = f"{text}: {why}"
        return Refusal(errcode, text, field=field, violation=violation, json_warning=json_warning)

    def shape_refusal(self, path: str, spec: FieldSpec | None, problem: str) -> Refusal:
        name = path.rsplit(".", 1)[-1]
        if problem == "missing":
            code = _MISSING.get(path) or _MISSING_INSIDE.get(name, 40058)
            return self.refusal(code, field=path, violation=True, why="missing")
        if problem == "type" and name in _MISTYPED:
            return self.refusal(_MISTYPED[name], field=path, violation=True)
        why = "unknown field" if problem == "unknown" else "wrong type"
        return self.refusal(
            40058, field=path, violation=True, why=why, json_warning=problem == "type"
        )

    def limit_refusal(self, path: str, spec: FieldSpec, limit: str) -> Refusal | None:
        if self.truncate_long_text and path in _CONTENT and limit == "max_bytes":
            return None
        code = _LIMITS.get((path, limit), _LIMITS.get(path, 40058))
        return self.refusal(code, field=path, violation=True, why=f"breaks {limit}")

    def check_query(
        self,
        method: MethodSpec,
        query: Mapping[str, str],
        skip: frozenset[str] = frozenset({"access_token"}),
    ) -> None:
        """Refuse a query that breaks the method's query fields (the token is the server's)."""
        super().check_query(method, query, skip)


def load_spec(path: Path = SPEC_PATH, *, truncate_long_text: bool = False) -> WecomSpec:
    """Read api.json (by default docs/wecom/api.json, the copy in the checkout)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return WecomSpec(raw, truncate_long_text=truncate_long_text)
