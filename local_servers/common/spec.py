"""An api.json read as a stand-in's rule book: methods, their fields and the limits they give.

The WeChat Official Account's and WeCom's api.json describe fields the same
way: ``name``, ``type``, ``required``, ``constraints`` and nested ``fields``
(``item_fields`` for the items of an array). :class:`FieldChecker` checks a
query or a body against them: names (a field api.json does not list is
refused: the platforms may ignore it, but refusing it catches a misspelt field
before it is silently dropped), types, ``required``, and the numeric limits
api.json gives (``enum``, ``min``/``max`` and ``minimum``/``maximum``,
``min_length``/``max_length``, ``max_bytes``, ``pattern``,
``min_items``/``max_items``, also on a ``separator``-joined string). A limit
given in words ("128 (unverified)") is not a number and is not checked.

Which error code a broken rule gets is the platform's: a subclass says it in
:meth:`FieldChecker.shape_refusal` and :meth:`FieldChecker.limit_refusal`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = ["FieldChecker", "FieldSpec", "MethodSpec", "Refusal", "type_ok"]

JSON = dict[str, Any]


class Refusal(Exception):
    """A platform's error answer. ``violation``: the request broke api.json, not the
    world's state (a test suite asserts there are none)."""

    def __init__(
        self, errcode: int, errmsg: str, *, field: str | None = None, violation: bool = False
    ) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.field = field
        self.violation = violation

    def answer(self) -> JSON:
        """The JSON body of the refusal (a platform's subclass adds its request id)."""
        return {"errcode": self.errcode, "errmsg": self.errmsg}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a query or body: api.json's ``name``, ``type``, ``required`` and limits.

    ``required`` is True or False; api.json's conditional requirements ("for
    click", "required when type=1") are False here, and the method's handler
    checks them. ``item_fields`` are the fields of an array's items (api.json's
    ``item_fields``, or ``fields`` on an array).
    """

    name: str
    type: str
    required: bool
    constraints: Mapping[str, Any]
    fields: tuple[FieldSpec, ...]
    item_fields: tuple[FieldSpec, ...]

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> FieldSpec:
        kind = entry["type"]
        fields = tuple(cls.of(e) for e in entry.get("fields", ()))
        items = tuple(cls.of(e) for e in entry.get("item_fields", ()))
        if kind.startswith("array") and fields and not items:
            fields, items = (), fields
        return cls(
            name=entry["name"],
            type=kind,
            required=entry.get("required") is True,
            constraints=entry.get("constraints") or {},
            fields=fields,
            item_fields=items,
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

    def body_field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.body or () if f.name == name), None)

    @classmethod
    def of(cls, name: str, entry: Mapping[str, Any]) -> MethodSpec:
        body = entry.get("body")
        return cls(
            name,
            entry["http"],
            entry["path"],
            tuple(FieldSpec.of(e) for e in entry.get("query") or ()),
            None if body is None else tuple(FieldSpec.of(e) for e in body),
        )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind.startswith(("number", "integer")):
        return _is_int(value)
    if kind.startswith("object"):
        return isinstance(value, dict)
    if kind.startswith("array"):
        if not isinstance(value, list):
            return False
        inner = kind[len("array<") : -1] if kind.startswith("array<") else ""
        if inner in ("string", "integer", "number"):
            return all(_one_type_ok(inner, item) for item in value)
        return True
    return True


def type_ok(kind: str, value: Any) -> bool:
    """Whether ``value`` is of api.json's ``kind`` (``a|b`` is either; unknown kinds pass)."""
    return any(_one_type_ok(alternative.strip(), value) for alternative in kind.split("|"))


class FieldChecker:
    """Checks queries and bodies against api.json's fields; subclasses give the codes."""

    def shape_refusal(self, path: str, spec: FieldSpec | None, problem: str) -> Refusal:
        """The refusal of a field that is ``unknown`` (``spec`` None), ``missing`` or of the
        wrong ``type``."""
        raise NotImplementedError

    def limit_refusal(self, path: str, spec: FieldSpec, limit: str) -> Refusal | None:
        """The refusal of a value that breaks the constraint ``limit`` (None: let it pass)."""
        raise NotImplementedError

    def check_query(
        self, method: MethodSpec, query: Mapping[str, str], skip: frozenset[str] = frozenset()
    ) -> None:
        """Refuse a query that breaks the method's query fields (``skip``: checked elsewhere,
        as the access token is)."""
        known = {f.name for f in method.query}
        for name in query:
            if name not in known:
                raise self.shape_refusal(name, None, "unknown")
        for spec in method.query:
            if spec.name not in skip:
                self.check_value(spec.name, spec, query.get(spec.name))

    def check_body(self, method: MethodSpec, body: Any) -> None:
        """Refuse a body that is not the method's shape or breaks a limit."""
        if method.body is None:
            return
        if not isinstance(body, dict):
            raise self.shape_refusal("body", None, "type")
        self.check_fields("", body, method.body)

    def check_fields(
        self, prefix: str, value: Mapping[str, Any], specs: tuple[FieldSpec, ...]
    ) -> None:
        """Check an object's fields against ``specs`` (``prefix`` names it in the answer)."""
        known = {spec.name for spec in specs}
        for name in value:
            if name not in known:
                raise self.shape_refusal(prefix + name, None, "unknown")
        for spec in specs:
            self.check_value(prefix + spec.name, spec, value.get(spec.name))

    def _limit(self, path: str, spec: FieldSpec, limit: str) -> None:
        refusal = self.limit_refusal(path, spec, limit)
        if refusal is not None:
            raise refusal

    def check_value(self, path: str, spec: FieldSpec, value: Any) -> None:
        """Check one value (None: absent) against its field."""
        if value is None:
            if spec.required:
                raise self.shape_refusal(path, spec, "missing")
            return
        if not type_ok(spec.type, value):
            raise self.shape_refusal(path, spec, "type")
        limits = spec.constraints
        allowed = limits.get("enum", limits.get("enum_used"))
        if allowed is not None and value not in allowed:
            self._limit(path, spec, "enum")
        if _is_int(value):
            for low, high in (("min", "max"), ("minimum", "maximum")):
                self._range(path, spec, value, low, high)
        if isinstance(value, str):
            self._string(path, spec, value)
        if isinstance(value, list):
            self._range(path, spec, len(value), "min_items", "max_items")
            for index, item in enumerate(value):
                if spec.item_fields:
                    if not isinstance(item, dict):
                        raise self.shape_refusal(f"{path}[{index}]", spec, "type")
                    self.check_fields(f"{path}[{index}].", item, spec.item_fields)
        if isinstance(value, dict) and spec.fields:
            self.check_fields(path + ".", value, spec.fields)

    def _string(self, path: str, spec: FieldSpec, value: str) -> None:
        limits = spec.constraints
        self._range(path, spec, len(value), "min_length", "max_length")
        max_bytes = limits.get("max_bytes")
        if _is_int(max_bytes) and len(value.encode()) > max_bytes:
            self._limit(path, spec, "max_bytes")
        pattern = limits.get("pattern")
        if isinstance(pattern, str) and re.fullmatch(pattern, value) is None:
            self._limit(path, spec, "pattern")
        separator = limits.get("separator")
        if isinstance(separator, str) and value:
            self._range(path, spec, len(value.split(separator)), "min_items", "max_items")

    def _range(self, path: str, spec: FieldSpec, number: int, low: str, high: str) -> None:
        lowest, highest = spec.constraints.get(low), spec.constraints.get(high)
        if _is_int(lowest) and number < lowest:
            self._limit(path, spec, low)
        if _is_int(highest) and number > highest:
            self._limit(path, spec, high)
