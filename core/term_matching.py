"""Free text against the CTCAE term list: an exact match, or the nearest terms to suggest.

Rule (docs/clinical-facts.md §6): free text that is a listed term, in either
language or as a listed synonym, is coded with it; anything else stays uncoded,
kept verbatim. Nothing is coded by guessing: a near miss ("lung infectoin") is
only *suggested*, and staff choose the term or keep the text as typed.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from enum import Enum

from core.ctcae_terms import TERMS, CtcaeTerm

# Our choice (README, "choices" table): a listed spelling is near the typed text
# when difflib's similarity ratio is at least 0.6 (difflib's own default for
# "close matches"), or when one contains the other and the shorter has at least
# 4 letters or 2 Chinese characters ("rash" in "rash maculo-papular", 皮疹 in
# 斑丘疹样皮疹; not "alt" in "health"). At most three terms are offered.
SUGGESTION_CUTOFF = 0.6
MIN_CONTAINED = 4
MIN_CONTAINED_CJK = 2
MAX_SUGGESTIONS = 3


def normalise(text: str) -> str:
    """Reduce free text to a comparison key: NFKC, case-folded, letters and digits only.

    Rule: case, whitespace and punctuation never distinguish two terms, so
    "Lung-infection.", " LUNG  infection" and full-width "ＵＴＩ" compare equal
    to the listed forms. Letters and digits are kept exactly: no spelling
    correction (docs/clinical-facts.md §6: free text that is not a listed term stays
    uncoded rather than silently becoming another term).
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Keep letters (L*), digits (N*) and combining marks (M*); drop punctuation,
    # symbols, separators and controls, which carry no meaning for a term name.
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")


class MatchKind(Enum):
    """How free text came to be coded with a CTCAE term."""

    TERM = "term"  # the English CTCAE term itself
    CHINESE_NAME = "chinese_name"  # the Chinese name of the term
    SYNONYM_EN = "synonym_en"  # an English synonym
    SYNONYM_ZH = "synonym_zh"  # a Chinese synonym
    CHOSEN = "chosen"  # not a listed form: staff chose the term from the suggestions

    @property
    def is_synonym(self) -> bool:
        """True when the match went through a synonym rather than the term's own name."""
        return self in (MatchKind.SYNONYM_EN, MatchKind.SYNONYM_ZH)


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A free-text entry resolved to a CTCAE term.

    ``matched`` is the listed form that matched (e.g. "pneumonia" for an entry
    "Pneumonia."), so the caller can show "Pneumonia -> Lung infection (synonym)";
    for a term chosen from the suggestions it is the text as typed.
    """

    term: CtcaeTerm
    matched: str
    kind: MatchKind


def _build_index(terms: tuple[CtcaeTerm, ...]) -> dict[str, TermMatch]:
    index: dict[str, TermMatch] = {}
    for term in terms:
        forms: list[tuple[str, MatchKind]] = [
            (term.term_en, MatchKind.TERM),
            (term.term_zh, MatchKind.CHINESE_NAME),
            *((s, MatchKind.SYNONYM_EN) for s in term.synonyms_en),
            *((s, MatchKind.SYNONYM_ZH) for s in term.synonyms_zh),
        ]
        for form, kind in forms:
            key = normalise(form)
            if not key:
                raise ValueError(f"term list: {form!r} of {term.key} normalises to nothing")
            existing = index.get(key)
            if existing is not None and existing.term.key != term.key:
                # One spelling may never point at two terms: refuse to load.
                raise ValueError(
                    f"term list: {form!r} of {term.key} collides with "
                    f"{existing.matched!r} of {existing.term.key}"
                )
            # The term's own names come first in ``forms``, so they win over a
            # synonym that normalises to the same key.
            index.setdefault(key, TermMatch(term=term, matched=form, kind=kind))
    return index


_INDEX: dict[str, TermMatch] = _build_index(TERMS)
_BY_KEY: dict[str, CtcaeTerm] = {t.key: t for t in TERMS}


def match_term(text: str) -> TermMatch | None:
    """Resolve free text to a CTCAE v5.0 term from the trial's list, or None.

    Rule (docs/clinical-facts.md §6): compare the normalised text (see :func:`normalise`)
    with the English term, the Chinese name and the synonyms in both languages;
    only an exact normalised match counts. Anything else -- including typos such
    as "lung infectoin" and neighbouring CTCAE terms such as "pneumonitis" --
    returns None: the caller suggests the nearest terms (:func:`suggest_terms`)
    or keeps the text verbatim as an uncoded event.
    SOURCE: CTCAE v5.0 term names; synonyms from ``core/data/ctcae_terms.toml``.
    """
    key = normalise(text)
    if not key:
        return None
    return _INDEX.get(key)


def suggest_terms(text: str) -> tuple[CtcaeTerm, ...]:
    """The listed terms nearest to free text that matches none: at most three, nearest first.

    Rule: every listed spelling (English and Chinese names, synonyms in both
    languages) is compared with the normalised text by difflib's similarity
    ratio; a term is suggested when one of its spellings reaches
    :data:`SUGGESTION_CUTOFF` (0.6), or contains the text or is contained in it
    (the shorter at least 4 letters or 2 Chinese characters). Each term is
    suggested once, ranked by its nearest spelling, and at most
    :data:`MAX_SUGGESTIONS` (3) terms are returned. Text that matches a
    term exactly, or is empty, has no suggestions. A suggestion is never
    applied by itself: staff choose it, or keep the text uncoded.
    SOURCE: docs/clinical-facts.md §6 (free text stays uncoded unless coded);
    our choice of rule and numbers (README, "choices" table).
    """
    key = normalise(text)
    if not key or key in _INDEX:
        return ()
    matcher = difflib.SequenceMatcher()
    # difflib caches what it learns about the second sequence: the typed text.
    matcher.set_seq2(key)
    near: list[tuple[float, str]] = []
    for form in _INDEX:
        matcher.set_seq1(form)
        ratio = matcher.ratio()
        if ratio >= SUGGESTION_CUTOFF or _contains(form, key):
            near.append((ratio, form))
    # Nearest first; equally near spellings in the list's order (sorted is stable).
    near.sort(key=lambda pair: -pair[0])
    found: list[CtcaeTerm] = []
    for _ratio, form in near:
        term = _INDEX[form].term
        if term not in found:
            found.append(term)
    return tuple(found[:MAX_SUGGESTIONS])


def _contains(a: str, b: str) -> bool:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    if shorter not in longer:
        return False
    cjk = any(unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH") for ch in shorter)
    return len(shorter) >= (MIN_CONTAINED_CJK if cjk else MIN_CONTAINED)


def term_by_key(key: str) -> CtcaeTerm:
    """Return the term stored under ``key`` (e.g. "lung_infection"); KeyError if unknown.

    Rule: stored events refer to terms by their stable key, never by display name.
    SOURCE: ``core/data/ctcae_terms.toml``.
    """
    return _BY_KEY[key]


def chosen_match(verbatim: str, key: str) -> TermMatch:
    """How an entry coded with the term ``key`` reads: its own listed form, or chosen.

    Rule: text that is a listed form of that term matches as usual; any other
    text was coded by staff choosing the term from the suggestions
    (:attr:`MatchKind.CHOSEN`). KeyError for an unknown key.
    SOURCE: docs/clinical-facts.md §6.
    """
    term = term_by_key(key)
    found = match_term(verbatim)
    if found is not None and found.term.key == key:
        return found
    return TermMatch(term=term, matched=verbatim.strip(), kind=MatchKind.CHOSEN)
