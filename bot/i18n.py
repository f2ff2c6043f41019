"""Languages: the gettext catalogs in ``locales/`` and Babel's formatting.

Two languages: simplified Chinese (``zh_Hans``, the default) and English.
Every sentence a person reads is a message id in the catalogs, written as a
whole sentence with named placeholders. Dates, times and numbers are
formatted by Babel for the reader's locale, in the trial's time zone, from
aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.dates import format_skeleton, get_datetime_format
from babel.numbers import format_decimal
from babel.support import Translations

from core.messages import RuleError
from core.vocabulary import DEFAULT_LANGUAGE as DEFAULT_LANGUAGE
from core.vocabulary import LANGUAGES as LANGUAGES
from core.vocabulary import Language, LanguageCode, language_from_tag


def _locales_dir() -> Path:
    """An installed wheel's catalogs (setup.py maps them into ``bot/locales``), else the
    checkout's top-level ``locales/``, where ``make catalogs`` compiles them."""
    here = Path(__file__).resolve().parent
    installed = here / "locales"
    return installed if installed.is_dir() else here.parent / "locales"


LOCALES_DIR = _locales_dir()
DOMAIN = "messages"

# The languages are core.vocabulary's; the old names stay for the call sites.
Lang = Language

# The catalogs are named by language and script; Babel's CLDR data formats
# better with a territory (``zh_Hans`` alone lacks some date skeletons).
_BABEL_LOCALE: dict[Lang, str] = {Language.ZH_HANS: "zh_Hans_CN", Language.EN: "en"}


# RuleError placeholders whose values are message ids (names of things).
_NAME_PARAMS = frozenset({"analyte", "item", "status"})


class CatalogMissing(RuntimeError):
    """The compiled catalog is absent: run ``make catalogs``."""


@cache
def _translations(lang: Lang) -> Translations:
    mo = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.exists():
        raise CatalogMissing(f"{mo} is missing; run `make catalogs` to compile the catalogs")
    with mo.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


# A channel's language code (``zh-CN``, ``en-GB``) to a supported language, or None.
parse_language = language_from_tag


def choose_language(stored: str | None, channel_hint: str | None) -> Lang:
    """The person's stored choice, else their channel's language hint, else Chinese."""
    return parse_language(stored) or parse_language(channel_hint) or DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True, init=False)
class Translator:
    """One reader's language: messages, dates, times and numbers.

    The language may be given by its code (``Translator("en", zone)``).
    """

    lang: Lang
    zone: dt.tzinfo

    def __init__(self, lang: Lang | LanguageCode, zone: dt.tzinfo) -> None:
        object.__setattr__(self, "lang", Language(lang))
        object.__setattr__(self, "zone", zone)

    def _(self, msgid: str, /, **params: object) -> str:
        """The translated sentence with its named placeholders filled."""
        text = _translations(self.lang).ugettext(msgid)
        return self._fill(text, params) if params else text

    def n_(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """A sentence whose form depends on the number ``n`` (also a placeholder)."""
        text = _translations(self.lang).ungettext(singular, plural, n)
        return self._fill(text, {"n": n, **params})

    def _fill(self, text: str, params: dict[str, object]) -> str:
        """``text.format(**params)``; in Chinese, no space after an event ending in Chinese.

        A Chinese sentence spaces ``{event}`` from the next word because an event's name
        may end in its number ("肾脏评估 1 已标记"); a name that ends in Chinese
        ("甲泼尼龙冲击，第 2 天") takes no space there ("第 2 天已标记").
        """
        if self.lang is not Language.ZH_HANS:
            return text.format(**params)
        parts: list[str] = []
        previous: str | None = None
        for literal, field, spec, conversion in _FORMATTER.parse(text):
            ends_chinese = previous in _SPACED_LABELS and _ends_chinese(parts[-1])
            if ends_chinese and literal[:1] == " " and _CJK.match(literal[1:2]):
                literal = literal[1:]
            parts.append(literal)
            previous = field
            if field is None:
                continue
            value = _FORMATTER.convert_field(params[field], conversion)
            parts.append(_FORMATTER.format_field(value, spec or ""))
        return "".join(parts)

    def error(self, error: RuleError) -> str:
        """A rule's refusal in this reader's language.

        Some placeholders hold names that are sentences of their own (the
        analyte "Serum creatinine"); those are translated too. A placeholder
        holding a date is written the reader's way ("Fri, Dec 18, 2026"). A
        counted refusal (:meth:`RuleError.counted`) takes the plural form its
        count needs in this language.
        """
        params = {k: self._param(k, v) for k, v in error.params.items()}
        if error.plural is not None:
            count = params.pop("n")
            assert isinstance(count, int)
            return self.n_(error.msgid, error.plural, count, **params)
        return self._(error.msgid, **params)

    def _param(self, key: str, value: object) -> object:
        if key in _NAME_PARAMS and isinstance(value, str):
            return self._(value)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return self.date(value)
        return value

    @property
    def babel_locale(self) -> str:
        return _BABEL_LOCALE[self.lang]

    def date(self, day: dt.date, skeleton: str = "yMMMEd") -> str:
        """A date such as "Tue, Dec 1, 2026" or "2026年12月1日周二"."""
        return format_skeleton(skeleton, day, locale=self.babel_locale)

    def datetime(self, instant: dt.datetime) -> str:
        """An aware instant in the trial's time zone: its date and 24-hour time,
        joined the way the locale joins them ("Tue, Dec 1, 2026, 20:00")."""
        local = self._local(instant)
        pattern = str(get_datetime_format("medium", locale=self.babel_locale))
        return pattern.replace("{1}", self.date(local.date())).replace("{0}", self.time(local))

    def time(self, instant: dt.datetime) -> str:
        """The wall-clock time of an aware instant in the trial's time zone."""
        return format_skeleton("Hm", self._local(instant), locale=self.babel_locale)

    def _local(self, instant: dt.datetime) -> dt.datetime:
        if instant.tzinfo is None:
            raise ValueError("naive datetime: instants must be aware")
        return instant.astimezone(self.zone)

    def join(self, items: Sequence[str]) -> str:
        """A list in the reader's language: "P01, P02 and P04", "P01、P02 和 P04".

        Babel's list patterns, with the space Chinese typesetting puts between a
        Chinese word (和) and Latin letters or digits, which Babel's patterns omit.
        """
        if not items:
            return ""
        patterns = Locale.parse(self.babel_locale).list_patterns["standard"]
        if len(items) == 1:
            return items[0]
        if len(items) == 2:
            return _fill(patterns["2"], items[0], items[1])
        text = _fill(patterns["end"], items[-2], items[-1])
        for item in reversed(items[1:-2]):
            text = _fill(patterns["middle"], item, text)
        return _fill(patterns["start"], items[0], text)

    def percent(self, value: Decimal) -> str:
        """A proportion's percentage with one decimal always (``60.0``, ``9.4``).

        A table of proportions and their intervals reads in one precision, so here
        (unlike a dose or a lab value) the trailing zero stays.
        """
        return format_decimal(value, format="#,##0.0", locale=self.babel_locale)

    def number(self, value: Decimal | int) -> str:
        """A number in the reader's locale, without trailing zeros (``483 mg``, ``1.5 g/24h``).

        The stored value keeps every digit the lab wrote; what a reader sees is the
        number itself, so ``0.40`` reads ``0.4`` and a computed ``615.0`` reads ``615``.
        Babel's own pattern would round to three places, so the pattern carries them all.
        """
        exact = Decimal(value).normalize()
        exponent = exact.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(exact, format=pattern, locale=self.babel_locale)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_FORMATTER = string.Formatter()
# Placeholders a Chinese sentence spaces from the next word (see Translator._fill).
_SPACED_LABELS = frozenset({"event"})


def _ends_chinese(text: str) -> bool:
    return bool(text) and bool(_CJK.match(text[-1]))


_LATIN = re.compile(r"[A-Za-z0-9]")


def _fill(pattern: str, first: str, second: str) -> str:
    """Fill a Babel list pattern ``{0}<sep>{1}``, spacing a Chinese separator from Latin."""
    separator = pattern.replace("{0}", "", 1).replace("{1}", "", 1)
    before = " " if first and _LATIN.match(first[-1]) and _CJK.match(separator[:1]) else ""
    after = " " if second and _LATIN.match(second[0]) and _CJK.match(separator[-1:]) else ""
    return pattern.replace("{0}", first + before, 1).replace("{1}", after + second, 1)
