"""Languages: the gettext catalogs in ``locales/`` and Babel's formatting.

Two languages: simplified Chinese (``zh_Hans``, the default) and English.
Every sentence a person reads is a message id in the catalogs, written as a
whole sentence with named placeholders. Dates, times and numbers are
formatted by Babel for the reader's locale, in the trial's time zone, from
aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_skeleton, get_datetime_format
from babel.numbers import format_decimal
from babel.support import Translations

from core.messages import RuleError
from core.vocabulary import DEFAULT_LANGUAGE as DEFAULT_LANGUAGE
from core.vocabulary import LANGUAGES as LANGUAGES
from core.vocabulary import Language, LanguageCode, language_from_tag

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
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
        return text.format(**params) if params else text

    def n_(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """A sentence whose form depends on the number ``n`` (also a placeholder)."""
        text = _translations(self.lang).ungettext(singular, plural, n)
        return text.format(n=n, **params)

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

    def number(self, value: Decimal | int) -> str:
        """A number in the reader's locale, keeping every decimal place entered.

        "0.40" stays "0.40": a clinical value is shown as the lab wrote it.
        Babel alone drops trailing zeros, so the pattern carries the places.
        """
        exact = Decimal(value)
        exponent = exact.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(exact, format=pattern, locale=self.babel_locale)
