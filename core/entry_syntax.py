"""The small words of staff's one-message commands: weeks, dates, grades, key=value.

Staff type clinical data as one message (requirement: "every action works as one
message", "each example must work exactly as written, in either language's
chat"): ``/labs P01 w24 protein=0.25g/24h ... date=2026-12-20``,
``/ae P01 肺部感染 G3 serious=住院 onset=2026-12-20``. This module reads the
pieces that are not clinical values (those are :mod:`core.units`,
:mod:`core.adverse_events`, :mod:`core.sledai`): a study week, a calendar
date, a CTCAE grade token, ``key=value`` options, yes/no, and the
relatedness of an adverse event. Every refusal is a :class:`RuleError` that
says what was expected.

Pure: "today" is passed in by the caller (the trial time zone's date).
Full-width characters from Chinese keyboards ("ｗ２４", "＝") are folded
with NFKC first; :func:`fold_command_words` does it once for every command
before any handler reads the words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum

from core.messages import N_, RuleError

__all__ = [
    "Relatedness",
    "fold_command_text",
    "fold_command_words",
    "parse_ae_number",
    "parse_date",
    "parse_entry_date",
    "parse_grade_token",
    "parse_options",
    "parse_relatedness",
    "parse_week",
    "parse_yes_no",
    "split_reason",
]

_AE_NUMBER = re.compile(r"ae(\d+)")
_WEEK = re.compile(r"(?:w|wk|week|第)?([0-9]{1,3})(?:周)?")
_GRADE = re.compile(r"(?:g|grade)([0-9]{1,2})|([0-9]{1,2})级")
_DATE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_MONTH_DAY = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})")

# The full-width forms of ASCII (U+FF01-U+FF5E: "Ｐ０１", "Ｇ３", "＝", "／")
# read as ASCII, and the ideographic space as a space. Only these: NFKC over
# the whole text would also rewrite CJK compatibility ideographs and circled
# digits in what a person wrote.
_FULL_WIDTH = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = " "
_FULL_WIDTH_COMMA = "\uff0c"
_FULL_WIDTH_COLON = "\uff1a"
_PROSE_MARKS = {_FULL_WIDTH_COMMA, _FULL_WIDTH_COLON}
_SEPARATOR = "\x00"  # never typed: marks where a full-width comma separates fields


def _is_prose(before: str, after: str) -> bool:
    # Between two characters that are not ASCII (Chinese text: "电话随访，已好转"),
    # a comma or colon is the writer's punctuation, kept as typed.
    return bool(before) and bool(after) and not before.isascii() and not after.isascii()


def _fold_word(word: str) -> list[str]:
    folded = "".join(char if char in _PROSE_MARKS else char.translate(_FULL_WIDTH) for char in word)
    chars: list[str] = []
    for i, char in enumerate(folded):
        if char in _PROSE_MARKS and not _is_prose(folded[i - 1 : i], folded[i + 1 : i + 2]):
            char = _SEPARATOR if char == _FULL_WIDTH_COMMA else ":"
        chars.append(char)
    # A separating comma splits fields ("p01，61.5kg"), except inside a
    # key=value when what follows is no new key: there it lists values, as
    # the ASCII comma does ("serious=hospitalization，death").
    words: list[str] = []
    for piece in "".join(chars).split(_SEPARATOR):
        if not piece.strip():
            continue
        if words and "=" in words[-1] and "=" not in piece:
            words[-1] = f"{words[-1]},{piece}"
        else:
            words.append(piece)
    return [w for part in words for w in part.split()]


def fold_command_words(words: Sequence[str]) -> list[str]:
    """The words of a command as ASCII command syntax, whatever keyboard typed them.

    Rule: full-width letters, digits and punctuation (``Ｐ０１``, ``Ｇ３``, ``＝``,
    ``／``) read as their ASCII forms and the ideographic space as a space. A
    full-width comma ``，`` between fields separates them like a space
    (``/weight p01，61.5kg``), and inside a ``key=value`` followed by no new
    key it is the ASCII comma that lists values (``serious=hospitalization，
    death``); a full-width colon ``：`` between fields reads as ``:``. Between
    two Chinese (non-ASCII) characters ``，`` and ``：`` are the writer's
    punctuation and kept as typed (a note "电话随访，已好转"; ``serious=住院，危及生命``
    still lists two values, as :func:`parse_options` reads ``，`` as a comma).
    Chinese characters are kept as typed (CTCAE terms, reasons, notes). Applied once,
    by the conversation layer, to the words of every command and typed answer.
    SOURCE: our choice (Chinese keyboards type full-width forms; docs/DESIGN.md
    asks for every example to work as written in either language's chat).
    """
    return [folded for word in words for folded in _fold_word(word)]


def fold_command_text(text: str) -> str:
    """:func:`fold_command_words` over a typed answer, its words joined by one space."""
    return " ".join(fold_command_words(text.split()))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def parse_week(text: str, *, last_week: int) -> int:
    """Read a study week: ``w24`` (also ``W24``, ``wk24``, ``week24``, ``第24周``, ``24周``).

    Rule: weeks count from day 0 (docs/clinical-facts.md §1, "Weeks count from day
    0"), so week 0 is the baseline and ``last_week`` (the protocol's last
    week, 24 for the induction) is the last one accepted; anything else is
    refused as a likely typo. A bare number is refused too, so a value such as
    "24" typed in the wrong place is never read as a week.
    SOURCE: docs/clinical-facts.md §1-§2 (week 0 baseline, 24-week induction).
    """
    folded = _fold(text).casefold()
    match = _WEEK.fullmatch(folded)
    if match is None or folded.isdigit():
        raise RuleError(
            N_('"{text}" is not a study week. Write w and the week number, for example w24.'),
            text=text,
        )
    week = int(match.group(1))
    if week > last_week:
        raise RuleError(
            N_("Week {week} is outside the study: weeks run from 0 to {last}."),
            week=week,
            last=last_week,
        )
    return week


def _nearest(month: int, day: int, today: date) -> date | None:
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    # Closest to today; at equal distance the past one (False sorts first).
    return min(candidates, key=lambda c: (abs((c - today).days), c > today))


def parse_date(text: str, *, today: date) -> date:
    """Read a calendar date, the one way every command reads dates.

    Accepted: ``2026-12-01``, ``2026/12/1``, ``2026.12.1`` (year, month, day;
    one or two digits for month and day), and ``12-01`` / ``12/1`` / ``12.1``
    (month and day) meaning the nearest such date: of that month and day in
    last year, this year and next year (``today`` is the trial time zone's
    date), the one fewest days from today, and at equal distance the earlier
    one. A month/day that exists in none of those years (02-29 away from a
    leap year) is refused like a date that does not exist. Anything else is
    refused with the same sentence everywhere, naming the form to write.
    Whether the date may lie in the future is the caller's rule
    (:func:`parse_entry_date`, :func:`core.enrollment.check_day0`).
    SOURCE: the command examples (``2026-12-01``); the other forms and
    "nearest" are our choice, listed in README's choices table.
    """
    folded = _fold(text)
    full = _DATE.fullmatch(folded)
    short = _MONTH_DAY.fullmatch(folded)
    if full is None and short is None:
        raise RuleError(
            N_('"{text}" is not a date. Write it as YYYY-MM-DD, for example {example}.'),
            text=text,
            example=today.isoformat(),
        )
    found: date | None
    if full is not None:
        try:
            found = date(int(full.group(1)), int(full.group(2)), int(full.group(3)))
        except ValueError:
            found = None
    else:
        assert short is not None
        found = _nearest(int(short.group(1)), int(short.group(2)), today)
    if found is None:
        raise RuleError(
            N_("{text} is not a date in the calendar: write it as YYYY-MM-DD."), text=text
        )
    return found


def parse_entry_date(text: str, *, today: date) -> date:
    """Read a date that has already happened: :func:`parse_date`, up to ``today``.

    Rule: a date staff record (onset, collection, assessment) has already
    happened, so a date after ``today`` (the trial time zone's date) is
    refused.
    SOURCE: the staff command syntax (``onset=2026-12-20``, ``date=...``); refusing
    the future is our choice.
    """
    day = parse_date(text, today=today)
    if day > today:
        raise RuleError(
            N_("{date} is in the future; enter a date up to today ({today})."),
            date=day.isoformat(),
            today=today.isoformat(),
        )
    return day


def parse_ae_number(word: str) -> int | None:
    """The adverse event a word names (``AE12``, ``ae12``, ``ＡＥ１２``): its number, or None.

    SOURCE: the staff command syntax (``/ack AE12``, ``/correct AE12 ...``,
    ``/ae AE12 outcome=...``): staff name a stored event by AE and its row number.
    """
    match = _AE_NUMBER.fullmatch(_fold(word).casefold())
    return None if match is None else int(match.group(1))


def parse_grade_token(word: str) -> int | None:
    """The CTCAE grade a word names (``G3``, ``g3``, ``grade3``, ``3级``), or None.

    Rule: only the grade token is recognised here; whether the grade exists
    (1-5, and for the term) is :func:`core.adverse_events.check_grade`'s rule,
    so ``G7`` returns 7 and is refused there with the reason.
    SOURCE: the staff command syntax (``/ae P01 lung infection G3 ...``).
    """
    match = _GRADE.fullmatch(_fold(word).casefold())
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def _joined(words: Sequence[str]) -> list[str]:
    # A value typed with a space ("scr=69 umol/L", "serious=prolonged
    # hospitalization") arrives as two words: the one without "=" belongs to
    # the value before it.
    out: list[str] = []
    for word in words:
        if out and "=" not in _fold(word):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def parse_options(
    words: Sequence[str],
    aliases: Mapping[str, str],
    *,
    repeatable: frozenset[str] = frozenset(),
) -> dict[str, tuple[str, ...]]:
    """Read ``key=value`` words into ``{key: values}`` (values in the order typed).

    ``aliases`` maps every accepted spelling (English and Chinese, matched
    without case) to its key. A word without ``=``, an unknown key, an empty
    value, or a key given twice that is not in ``repeatable`` is refused,
    naming what is accepted. A repeatable key also takes comma-separated
    values (``serious=hospitalization,death``). A word without ``=`` after
    a ``key=value`` continues that value (``scr=69 umol/L``).
    SOURCE: the staff command syntax (``serious=`` zero or more times; ``scr_uln=``,
    ``uti=``, ``date=``).
    """
    accepted = ", ".join(sorted({f"{key}=" for key in aliases.values()}))
    lookup = {_fold(spelling).casefold(): key for spelling, key in aliases.items()}
    found: dict[str, list[str]] = {}
    for word in _joined(words):
        folded = _fold(word)
        name, equals, value = folded.partition("=")
        if not equals:
            raise RuleError(
                N_('"{word}" is not understood here. Write key=value, with one of: {accepted}.'),
                word=word,
                accepted=accepted,
            )
        key = lookup.get(name.strip().casefold())
        if key is None:
            raise RuleError(
                N_('"{key}" is not a known field. Accepted: {accepted}.'),
                key=name.strip(),
                accepted=accepted,
            )
        parts = [v.strip() for v in value.split(",")] if key in repeatable else [value.strip()]
        if not all(parts):
            raise RuleError(N_('"{word}" has no value after "=".'), word=word)
        if key in found and key not in repeatable:
            raise RuleError(N_("{key}= is given twice; give it once."), key=key)
        found.setdefault(key, []).extend(parts)
    return {key: tuple(values) for key, values in found.items()}


_REASON_PREFIXES = ("reason=", "原因=")


def split_reason(words: Sequence[str]) -> tuple[list[str], str | None]:
    """The words before ``reason=`` (``原因=``), and the reason: that word's text and every
    word after it, joined by spaces (None when no word starts with it).

    A reason is free text (spaces, ``=``, anything), so it comes last and runs to
    the end of the message; it is kept as typed.
    SOURCE: the staff command syntax (``/reschedule ... reason=...``, and ``reason=``
    for an entry dated outside its window).
    """
    for i, word in enumerate(words):
        folded = _fold(word).casefold()
        for prefix in _REASON_PREFIXES:
            if folded.startswith(prefix):
                return list(words[:i]), " ".join([word[len(prefix) :], *words[i + 1 :]]).strip()
    return list(words), None


_YES = frozenset({"yes", "y", "true", "1", "是", "有"})
_NO = frozenset({"no", "n", "false", "0", "否", "无"})


def parse_yes_no(text: str) -> bool:
    """``yes``/``是``/``有`` -> True, ``no``/``否``/``无`` -> False; anything else is refused.

    SOURCE: the staff command syntax (``uti=yes``).
    """
    folded = _fold(text).casefold()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise RuleError(N_('"{text}" is not yes or no (是 or 否).'), text=text)


class Relatedness(StrEnum):
    """How likely the study treatment caused an adverse event (the investigator's judgement).

    Five levels, from unrelated to definite; the value is what is stored.
    """

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


# The words staff type, in either language. "related", "yes" and 相关 alone are not
# on the scale: they do not say how likely, so they are refused.
_RELATEDNESS_WORDS: Mapping[str, Relatedness] = {
    **dict.fromkeys(
        ("unrelated", "not related", "none", "no", "无关", "不相关", "肯定无关"),
        Relatedness.UNRELATED,
    ),
    **dict.fromkeys(
        ("unlikely", "unlikely related", "不太可能", "不太可能相关", "可能无关"),
        Relatedness.UNLIKELY,
    ),
    **dict.fromkeys(
        ("possible", "possibly", "possibly related", "可能", "可能相关", "可能有关"),
        Relatedness.POSSIBLE,
    ),
    **dict.fromkeys(
        (
            "probable",
            "probably",
            "likely",
            "probably related",
            "很可能",
            "很可能相关",
            "很可能有关",
        ),
        Relatedness.PROBABLE,
    ),
    **dict.fromkeys(
        ("definite", "definitely", "certain", "definitely related", "肯定", "肯定相关", "肯定有关"),
        Relatedness.DEFINITE,
    ),
}

_RELATEDNESS_ACCEPTED = (
    "unrelated/无关, unlikely/不太可能, possible/可能, probable/很可能, definite/肯定"
)


def _relatedness_key(text: str) -> str:
    # "not related", "not_related" and "not-related" read the same.
    return " ".join(_fold(text).casefold().replace("_", " ").replace("-", " ").split())


def parse_relatedness(text: str) -> Relatedness:
    """Read the relatedness of an adverse event to the study treatment.

    Rule: one five-level scale in both languages -- unrelated (无关), unlikely
    (不太可能, also 可能无关 as China's ADR causality scale words it), possible
    (可能), probable (很可能), definite (肯定) -- each also with "related"/相关
    (``possibly related``, 很可能相关) and the value stored is the level typed.
    Anything else, including a bare "related", "yes" or 相关 that does not say
    how likely, is refused with the accepted words.
    SOURCE: our choice (README, "choices" table): the registry and
    docs/clinical-facts.md name no scale; the levels follow the WHO-UMC
    causality categories (certain, probable, possible, unlikely) with
    "unrelated" added.
    """
    found = _RELATEDNESS_WORDS.get(_relatedness_key(text))
    if found is None:
        raise RuleError(
            N_('"{text}" is not a relatedness. Use one of: {accepted}.'),
            text=text,
            accepted=_RELATEDNESS_ACCEPTED,
        )
    return found
