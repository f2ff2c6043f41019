"""What a WeChat template message's values may hold, by the type in each key's name.

A category template's keys are ``<type><n>`` (``thing1``, ``time2``,
``character_string3``), and each type limits its value: ``thing`` at most 20
characters, ``phrase`` at most 5 Chinese characters, and so on
(docs/wechat-oa/api.json, ``template_field_types``). WeChat refuses a value
that breaks its rule with 47003 and names the key; :func:`check_template_data`
refuses it first, so a reminder that could never be sent fails before
anything leaves. The same rules check the protocol file's ``[wechat]`` table
at start-up (:mod:`core.reminder_templates`), which is why they live in
``core``: the protocol file may not depend on a channel adapter.

"Characters" are Unicode code points, a Chinese character counting one (how
WeChat counts emoji is unverified). Legacy keys (``first``, ``remark``,
``keyword1``) have no type and are refused: they are no longer displayed.
``enum`` and ``const`` values depend on the template's own settings, which
the client does not see, so only their presence is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

__all__ = [
    "RULES",
    "FieldRule",
    "TemplateValueError",
    "check_template_data",
    "field_type",
    "time_value",
]

_KEY = re.compile(r"([a-z]+(?:_[a-z]+)*)(\d+)")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_CJK_ONLY = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")
_DATE = r"\d{4}年\d{1,2}月\d{1,2}日"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d"
_TIME_POINT = rf"(?:{_DATE} ?)?{_CLOCK}"
_DATE_POINT = rf"{_DATE}(?: ?{_CLOCK})?"
_TIME = re.compile(rf"{_TIME_POINT}(?:~{_TIME_POINT})?")
_DATE_RANGE = re.compile(rf"{_DATE_POINT}(?:~{_DATE_POINT})?")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LETTERS = re.compile(r"[A-Za-z]+")
_AMOUNT = re.compile(r"[¥￥$€£]?[0-9]{1,10}(?:\.[0-9]+)?元?")
_CAR = re.compile("[\u4e00-\u9fff]?[A-Za-z0-9]+[\u4e00-\u9fff]?")


class TemplateValueError(ValueError):
    """A template value WeChat would refuse: ``key`` names it as WeChat's 47003 does."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"data.{key}.value: {reason}")
        self.key = key
        self.reason = reason

    @property
    def field(self) -> str:
        """The field as WeChat's own error message names it: ``data.thing1.value``."""
        return f"data.{self.key}.value"


def _symbols(value: str) -> bool:
    return not any(ch.isalnum() or ch.isspace() or _CJK.match(ch) for ch in value)


def _phone(value: str) -> bool:
    return any(ch.isdigit() for ch in value) and not any(
        ch.isalpha() or _CJK.match(ch) for ch in value
    )


def _no_chinese(value: str) -> bool:
    return _CJK.search(value) is None


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A field type's limit: at most ``max_chars`` characters, and what they may be."""

    max_chars: int | None
    allowed: str
    accepts: Callable[[str], object] = bool

    def problem(self, value: str) -> str | None:
        """Why WeChat would refuse ``value`` for this type, or None."""
        if not value:
            return "empty"
        if self.max_chars is not None and len(value) > self.max_chars:
            return f"more than {self.max_chars} characters"
        if not self.accepts(value):
            return f"not {self.allowed}"
        return None


class _NameRule(FieldRule):
    """``name``: 10 characters when any is Chinese, else 20 (letters and symbols)."""

    __slots__ = ()

    def problem(self, value: str) -> str | None:
        if not value:
            return "empty"
        limit = 10 if _CJK.search(value) else 20
        return f"more than {limit} characters" if len(value) > limit else None


#: The field types of api.json's ``template_field_types``, by key prefix.
RULES: dict[str, FieldRule] = {
    "thing": FieldRule(20, "any text"),
    "character_string": FieldRule(32, "digits, letters or symbols", _no_chinese),
    "number": FieldRule(32, "a number (digits, one decimal point)", _NUMBER.fullmatch),
    "letter": FieldRule(32, "letters only", _LETTERS.fullmatch),
    "symbol": FieldRule(5, "symbols only", _symbols),
    "time": FieldRule(None, "a 24-hour time: 15:01, 2019年10月1日 15:01", _TIME.fullmatch),
    "date": FieldRule(None, "a date: 2019年10月1日, 2019年10月1日 15:01", _DATE_RANGE.fullmatch),
    "amount": FieldRule(None, "an amount of up to 10 digits", _AMOUNT.fullmatch),
    "phone_number": FieldRule(17, "digits and symbols", _phone),
    "car_number": FieldRule(8, "a licence plate", _CAR.fullmatch),
    "name": _NameRule(None, "a name"),
    "phrase": FieldRule(5, "Chinese characters only", _CJK_ONLY.fullmatch),
    "const": FieldRule(None, "the template's constant"),
    "enum": FieldRule(None, "one of the template's values"),
    "enum_string": FieldRule(None, "one of the template's values"),
}


def field_type(key: str) -> str | None:
    """The type a key names (``character_string3`` -> ``character_string``), if it names one."""
    match = _KEY.fullmatch(key)
    if match is None or match.group(1) not in RULES:
        return None
    return match.group(1)


def check_template_data(data: Mapping[str, str]) -> None:
    """Refuse the first value its key's type does not allow (:class:`TemplateValueError`)."""
    if not data:
        raise TemplateValueError("", "a template message needs its values")
    for key, value in data.items():
        kind = field_type(key)
        if kind is None:
            raise TemplateValueError(key, "the key names no template field type")
        reason = RULES[kind].problem(value)
        if reason is not None:
            raise TemplateValueError(key, reason)


def time_value(instant: datetime, zone: tzinfo) -> str:
    """An instant as a ``time`` or ``date`` field takes it: ``2026年12月5日 09:00`` in ``zone``.

    The types' format whatever the reader's language (api.json
    ``template_field_types``: "2019年10月1日 15:01").
    """
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be aware")
    local = instant.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
