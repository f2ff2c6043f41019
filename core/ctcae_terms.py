"""The CTCAE v5.0 term list of this trial, read from ``core/data/ctcae_terms.toml``.

The file holds the data (docs/clinical-facts.md §6: "ship a bilingual term list"):
each term's English CTCAE name, our Chinese name, its MedDRA system organ class,
synonyms in both languages, and the grades CTCAE v5.0 defines for it with their
wording. This module reads it, checks it and turns it into :class:`CtcaeTerm`
values; matching free text against it is :mod:`core.term_matching`.

A wrong file fails on import with :class:`TermListError`, naming the term and the
field, so the bot never starts with a term list it cannot trust.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

BUNDLED_TERMS = Path(__file__).parent / "data" / "ctcae_terms.toml"

_GRADES = frozenset(range(1, 6))
_GENERAL = "general"


@dataclass(frozen=True, slots=True)
class GradeText:
    """The wording of one CTCAE grade, in English and Chinese."""

    grade: int
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    """One CTCAE v5.0 adverse-event term with its grades and synonyms.

    ``key`` is a stable identifier for storage (the English term in snake case).
    ``grades`` lists only the grades CTCAE v5.0 defines for the term, ascending.
    """

    key: str
    term_en: str
    term_zh: str
    soc_en: str
    synonyms_en: tuple[str, ...]
    synonyms_zh: tuple[str, ...]
    grades: tuple[GradeText, ...]

    @property
    def grade_numbers(self) -> tuple[int, ...]:
        """The grades CTCAE v5.0 defines for this term, ascending."""
        return tuple(g.grade for g in self.grades)

    def grade_text(self, grade: int) -> GradeText | None:
        """The wording of ``grade`` for this term, or None if the term has no such grade."""
        for g in self.grades:
            if g.grade == grade:
                return g
        return None


@dataclass(frozen=True, slots=True)
class TermList:
    """The whole file: the CTCAE version, the general grade definitions and the terms."""

    version: str
    general: tuple[GradeText, ...]
    terms: tuple[CtcaeTerm, ...]


class TermListError(ValueError):
    """The term list file is not usable; the message names what to fix."""


# --------------------------------------------------------------------------- the file's shape

Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    # A misspelt field must fail loudly rather than be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Grade(_Strict):
    en: Text
    zh: Text


Scale = dict[int, _Grade]


def _check_scale(scale: Scale) -> Scale:
    outside = sorted(set(scale) - _GRADES)
    if outside:
        raise ValueError(f"grades {outside} are outside 1-5")
    if not scale:
        raise ValueError("no grades")
    return scale


class _Term(_Strict):
    key: Text
    en: Text
    zh: Text
    soc: Text
    synonyms_en: list[Text] = []
    synonyms_zh: list[Text] = []
    # Either a shared scale by name ("general": the general grade definitions) or
    # the term's own grades.
    scale: str | None = None
    grades: Scale | None = None

    @model_validator(mode="after")
    def _one_scale(self) -> Self:
        if (self.scale is None) == (self.grades is None):
            raise ValueError("give either scale or grades, not both or neither")
        if self.grades is not None:
            _check_scale(self.grades)
        if self.key != re.sub(r"[^a-z0-9]+", "_", self.en.lower()):
            raise ValueError(f"key {self.key!r} is not the English term in snake case")
        if not _has_cjk(self.zh) or _has_cjk(self.en):
            raise ValueError("en must be English and zh Chinese")
        for synonym in self.synonyms_en:
            if _has_cjk(synonym):
                raise ValueError(f"English synonym {synonym!r} has Chinese characters")
        for synonym in self.synonyms_zh:
            if not _has_cjk(synonym):
                raise ValueError(f"Chinese synonym {synonym!r} has no Chinese character")
        return self


class _File(_Strict):
    ctcae_version: Text
    general: Scale
    scales: dict[str, Scale] = {}
    terms: list[_Term] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if set(self.general) != _GRADES:
            raise ValueError("general must define grades 1 to 5")
        for name, scale in self.scales.items():
            _check_scale(scale)
            if name == _GENERAL:
                raise ValueError(f"scales.{_GENERAL} is the general section; use another name")
        seen: set[str] = set()
        for term in self.terms:
            if term.key in seen:
                raise ValueError(f"term {term.key} is listed twice")
            seen.add(term.key)
            if term.scale is not None and term.scale != _GENERAL and term.scale not in self.scales:
                raise ValueError(f"term {term.key}: no scale named {term.scale!r}")
        return self


def _has_cjk(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH") for ch in text)


def _grades(scale: Scale) -> tuple[GradeText, ...]:
    return tuple(GradeText(n, scale[n].en, scale[n].zh) for n in sorted(scale))


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
        for problem in error.errors()
    )


def load_terms(path: Path = BUNDLED_TERMS) -> TermList:
    """Read and check the term list; :class:`TermListError` names every problem.

    Checked: every field present and non-empty, no unknown field; grades within
    1-5 and the general definitions complete; each term either names a shared
    scale or lists its own grades; keys unique and equal to the English term in
    snake case; English names and synonyms without Chinese characters, Chinese
    ones with. That no spelling points at two terms is checked where the
    spellings are indexed (:mod:`core.term_matching`).
    SOURCE: docs/clinical-facts.md §6 (a bilingual term list, CTCAE v5.0).
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        data = _File.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise TermListError(f"{path.name}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise TermListError(f"{path.name}: {_problems(exc)}") from exc
    general = _grades(data.general)
    scales = {name: _grades(scale) for name, scale in data.scales.items()}
    scales[_GENERAL] = general
    terms = tuple(
        CtcaeTerm(
            key=term.key,
            term_en=term.en,
            term_zh=term.zh,
            soc_en=term.soc,
            synonyms_en=tuple(term.synonyms_en),
            synonyms_zh=tuple(term.synonyms_zh),
            grades=scales[term.scale] if term.scale is not None else _grades(term.grades or {}),
        )
        for term in data.terms
    )
    return TermList(data.ctcae_version, general, terms)


_LOADED = load_terms()

CTCAE_VERSION = _LOADED.version
# General grade definitions (CTCAE v5.0 "Grades"; docs/clinical-facts.md §6).
GENERAL_GRADES: tuple[GradeText, ...] = _LOADED.general
TERMS: tuple[CtcaeTerm, ...] = _LOADED.terms
