"""The stand-in's check of template message values, from api.json's ``template_field_types``.

A key ``<type><n>`` takes its limits from its type: the ``max_chars`` api.json
gives (``thing`` 20, ``character_string`` 32, ``phrase`` 5, ``name`` 10 Chinese
or 20 other characters) and what the ``allowed`` text says the characters may
be. A value that breaks them is what WeChat answers 47003 "argument invalid!
data.<key>.value invalid" for. ``enum`` and ``const`` values are checked
against what the template was registered with, when it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["value_problem"]

_KEY = re.compile(r"([a-z]+(?:_[a-z]+)*)\d+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_DATE = r"\d{4}年\d{1,2}月\d{1,2}日"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d"
# Per type, a pattern the whole value must match (api.json's "allowed", with its examples).
_PATTERNS = {
    "number": re.compile(r"\d+(?:\.\d+)?", re.ASCII),
    "letter": re.compile(r"[A-Za-z]+"),
    "time": re.compile(rf"(?:{_DATE} ?)?{_CLOCK}(?:~(?:{_DATE} ?)?{_CLOCK})?"),
    "date": re.compile(rf"{_DATE}(?: ?{_CLOCK})?(?:~{_DATE}(?: ?{_CLOCK})?)?"),
    "amount": re.compile(r"[¥￥$€£]?\d{1,10}(?:\.\d+)?元?", re.ASCII),
    "car_number": re.compile("[\u4e00-\u9fff]?[A-Za-z0-9]+[\u4e00-\u9fff]?"),
    "phrase": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"),
}


def _characters_ok(kind: str, value: str) -> bool:
    if kind in _PATTERNS:
        return _PATTERNS[kind].fullmatch(value) is not None
    if kind == "character_string":
        return _HAN.search(value) is None
    if kind == "symbol":
        return not any(ch.isalnum() or ch.isspace() for ch in value)
    if kind == "phone_number":
        return any(ch.isdigit() for ch in value) and not any(ch.isalpha() for ch in value)
    return True


def value_problem(
    key: str, value: str, field_types: Mapping[str, Mapping[str, Any]], allowed: frozenset[str]
) -> str | None:
    """Why WeChat refuses ``value`` under ``key`` (None if it does not).

    ``allowed`` is the template's list for an ``enum`` or ``const`` key
    (empty when unknown).
    """
    match = _KEY.fullmatch(key)
    if match is None or match.group(1) not in field_types:
        return "the key names no field type"
    kind = match.group(1)
    if not value:
        return "empty"
    if kind == "name":
        limit = 10 if _HAN.search(value) else 20
        return f"longer than {limit}" if len(value) > limit else None
    max_chars = field_types[kind].get("max_chars")
    if isinstance(max_chars, int) and len(value) > max_chars:
        return f"longer than {max_chars}"
    if allowed and value not in allowed:
        return "not one of the template's values"
    return None if _characters_ok(kind, value) else f"not allowed for {kind}"
