"""The protocol file's ``[wechat]`` table: which template each kind of reminder goes out with.

On WeChat a reminder is a template message (docs/wechat-oa/api.json,
``sendTemplateMessage``): one of the templates the site added to its
Official Account, whose fields (``thing2``, ``time3``...) take short values
whose limits depend on the type in the key's name
(:mod:`core.template_fields`). The registry is silent on all of it, so
which template each kind of reminder uses and what goes in each field is a
site choice, kept in the protocol file::

    [wechat.templates.infusion]
    template_id = "..."
    fields = { character_string1 = "{study_id}", thing2 = "{event}",
               time3 = "{time}", thing4 = "{note}" }

A field takes one placeholder, filled for each reminder, or fixed text:

=============  ===============================================  ==================
placeholder    what it holds                                    field types
=============  ===============================================  ==================
``{study_id}`` the patient's study ID                           character_string,
                                                                thing
``{event}``    the event, short, in the patient's language      thing
               ("Infusion 3", "第 3 次输液"), no drug name and
               no diagnosis
``{time}``     when it is (``2026年12月5日 09:00``)                time, date
``{note}``     "Tap for details", or on the one resend of a     thing
               reminder that may not have arrived, that it is
               a repeat
=============  ===============================================  ==================

Fixed text is the same in both languages (``"..."``) or given in each
(``{ en = "...", zh_Hans = "..." }``). Every template carries all four
placeholders: a reminder says whose it is, what and when (the minimal
content, the rest is on the patient's page it links to), and a repeat says
so. Everything is checked when the file is loaded, so a template WeChat
would refuse stops the bot at start-up rather than failing each reminder
(docs/DESIGN.md §4: every request is valid for the API it calls): an
unknown kind, a key whose type WeChat does not have, a placeholder in a
field its values do not fit, fixed text over its type's limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.template_fields import RULES, field_type
from core.vocabulary import Language


class ReminderKind(StrEnum):
    """The kinds of reminder a site chooses a template for (core.schedule.REMINDER_KINDS)."""

    INFUSION = "infusion"
    URINE_INSTRUCTIONS = "urine_instructions"
    URINE_START = "urine_start"
    URINE_END = "urine_end"
    VISIT = "visit"
    MEDICATION = "medication"


class Placeholder(StrEnum):
    """What the bot fills in for each reminder (see the module's table)."""

    STUDY_ID = "study_id"
    EVENT = "event"
    TIME = "time"
    NOTE = "note"


# The field types each placeholder's values always fit: a study ID is at most 16
# ASCII characters (core.enrollment.STUDY_ID_PATTERN); the event and note labels
# are held to a thing's 20 characters in both languages (tests/wechat).
FITS: Mapping[Placeholder, frozenset[str]] = {
    Placeholder.STUDY_ID: frozenset({"character_string", "thing"}),
    Placeholder.EVENT: frozenset({"thing"}),
    Placeholder.TIME: frozenset({"time", "date"}),
    Placeholder.NOTE: frozenset({"thing"}),
}
# Their values are the template's own, which only WeChat's console shows.
_TEMPLATE_VALUES = frozenset({"const", "enum", "enum_string"})
_PLACEHOLDER = re.compile(r"\{(\w*)\}")

TemplateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
FixedText = str | dict[Language, str]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReminderTemplate(_Section):
    """One kind's template and the value of each of its fields."""

    template_id: TemplateId
    fields: dict[str, FixedText] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_fit(self) -> Self:
        for key, value in self.fields.items():
            problem = _field_problem(key, value)
            if problem is not None:
                raise ValueError(f"fields.{key}: {problem}")
        missing = [f"{{{p.value}}}" for p in Placeholder if p not in self.placeholders().values()]
        if missing:
            raise ValueError(
                f"fields: {', '.join(missing)} missing (every reminder says whose it is, "
                "what, when, and whether it is a repeat)"
            )
        return self

    def placeholders(self) -> dict[str, Placeholder]:
        """The fields that take a placeholder, by key."""
        found: dict[str, Placeholder] = {}
        for key, value in self.fields.items():
            if isinstance(value, str) and (match := _PLACEHOLDER.fullmatch(value)):
                found[key] = Placeholder(match.group(1))
        return found

    def values(self, filled: Mapping[Placeholder, str], language: Language) -> dict[str, str]:
        """Every field's value for one reminder: its placeholder filled, or its fixed text."""
        placeholders = self.placeholders()
        out: dict[str, str] = {}
        for key, value in self.fields.items():
            if key in placeholders:
                out[key] = filled[placeholders[key]]
            else:
                out[key] = value if isinstance(value, str) else value[language]
        return out


def _field_problem(key: str, value: FixedText) -> str | None:
    """Why WeChat would refuse what the file puts in field ``key``, or None."""
    kind = field_type(key)
    if kind is None:
        known = ", ".join(sorted(RULES))
        return f"the key names no template field type (<type><number>, type one of {known})"
    if isinstance(value, str) and (match := _PLACEHOLDER.fullmatch(value)):
        name = match.group(1)
        if name not in {p.value for p in Placeholder}:
            known = ", ".join(f"{{{p.value}}}" for p in Placeholder)
            return f"unknown placeholder {{{name}}}; the placeholders are {known}"
        fits = FITS[Placeholder(name)]
        if kind not in fits:
            return (
                f"{{{name}}} does not fit a {kind} field (it goes in {' or '.join(sorted(fits))})"
            )
        return None
    texts = {None: value} if isinstance(value, str) else dict(value)
    if not isinstance(value, str) and set(value) != set(Language):
        wanted = " and ".join(lang.value for lang in Language)
        return f"fixed text is given in {wanted}, or once for both"
    for language, text in texts.items():
        where = "" if language is None else f" ({language.value})"
        if "{" in text or "}" in text:
            return f"{text!r}{where}: a value is one placeholder or fixed text, not both"
        if kind in _TEMPLATE_VALUES:
            continue
        problem = RULES[kind].problem(text)
        if problem is not None:
            return f"{text!r}{where} is {problem} for a {kind} field"
    return None


class Wechat(_Section):
    """The ``[wechat]`` table: a template for every kind of reminder."""

    templates: dict[ReminderKind, ReminderTemplate]

    @model_validator(mode="after")
    def _every_kind(self) -> Self:
        missing = [kind.value for kind in ReminderKind if kind not in self.templates]
        if missing:
            raise ValueError(f"templates: no template for {', '.join(missing)}")
        return self

    def template(self, kind: ReminderKind) -> ReminderTemplate:
        return self.templates[kind]
