"""The trial's closed vocabularies, each defined once: sex, drug, role, language.

The database columns (core/store/models.py), the rules (core/response.py,
core/dosing.py, core/enrollment.py) and the bot (bot/roles.py, bot/i18n.py,
bot/staff/*) all use these classes, so a value means the same thing
everywhere and a new one is added in one place. Their values are what the
database stores (CHECK constraints in the migrations): changing a value is a
migration.

Each vocabulary has its parser here too: the words staff may type for it, in
both languages (English words case-insensitively, full-width letters read as
ASCII).
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal, get_args

__all__ = [
    "DEFAULT_LANGUAGE",
    "DRUG_WORDS",
    "LANGUAGES",
    "LANGUAGE_WORDS",
    "ORAL_DRUGS",
    "ROLE_WORDS",
    "SEX_WORDS",
    "STAFF_ROLES",
    "Drug",
    "Language",
    "LanguageCode",
    "Role",
    "Sex",
    "drug_from_word",
    "language_from_tag",
    "language_from_word",
    "role_from_word",
    "sex_from_word",
]


def _word(text: str) -> str:
    # Full-width letters and digits from a Chinese keyboard read as ASCII.
    return unicodedata.normalize("NFKC", text).strip().casefold()


# --------------------------------------------------------------------------- sex


class Sex(StrEnum):
    """The patient's sex, which picks the default creatinine upper limit
    (docs/clinical-facts.md §4)."""

    F = "F"
    M = "M"


SEX_WORDS: Final = MappingProxyType(
    {
        "f": Sex.F,
        "female": Sex.F,
        "女": Sex.F,
        "m": Sex.M,
        "male": Sex.M,
        "男": Sex.M,
    }
)


def sex_from_word(text: str) -> Sex | None:
    """``F``/``M`` (also ``female``/``male``, 女/男), else None."""
    return SEX_WORDS.get(_word(text))


# --------------------------------------------------------------------------- drug


class Drug(StrEnum):
    """The study drugs (docs/registry-record.txt): belimumab and methylprednisolone
    infusions, and the oral drugs of the multi-target regimen."""

    MP = "mp"
    BELIMUMAB = "belimumab"
    MMF = "mmf"
    TACROLIMUS = "tacrolimus"

    @property
    def name_en(self) -> str:
        """English name."""
        return _DRUG_NAMES[self][0]

    @property
    def name_zh(self) -> str:
        """Chinese name."""
        return _DRUG_NAMES[self][1]


_DRUG_NAMES: Final = MappingProxyType(
    {
        Drug.MP: ("methylprednisolone", "甲泼尼龙"),
        Drug.BELIMUMAB: ("belimumab", "贝利尤单抗"),
        Drug.MMF: ("mycophenolate mofetil", "吗替麦考酚酯"),
        Drug.TACROLIMUS: ("tacrolimus", "他克莫司"),
    }
)

# The oral drugs whose daily total is checked against a range (core/dosing.py).
ORAL_DRUGS: Final = (Drug.MMF, Drug.TACROLIMUS)

DRUG_WORDS: Final = MappingProxyType(
    {
        **dict.fromkeys(
            ("belimumab", "bel", "benlysta", "贝利尤单抗", "贝利木单抗"), Drug.BELIMUMAB
        ),
        **dict.fromkeys(
            ("mp", "methylprednisolone", "甲泼尼龙", "甲强龙", "甲基强的松龙"), Drug.MP
        ),
        **dict.fromkeys(("mmf", "mycophenolate", "吗替麦考酚酯", "骁悉"), Drug.MMF),
        **dict.fromkeys(("tacrolimus", "tac", "fk506", "他克莫司"), Drug.TACROLIMUS),
    }
)


def drug_from_word(text: str) -> Drug | None:
    """A study drug by any of its names in :data:`DRUG_WORDS`, else None."""
    return DRUG_WORDS.get(_word(text))


# --------------------------------------------------------------------------- role


class Role(StrEnum):
    """Who someone is in the trial: what they may do (bot/roles.py) and what an
    invite makes them."""

    PATIENT = "patient"
    NURSE = "nurse"
    INVESTIGATOR = "investigator"
    COORDINATOR = "coordinator"


# The roles of the study team (every role but the patient's), in Role's order:
# the values the staff table accepts.
STAFF_ROLES: Final[tuple[Role, ...]] = tuple(role for role in Role if role is not Role.PATIENT)

# The words /invite accepts; patients are invited by /enroll, not by a word.
ROLE_WORDS: Final = MappingProxyType(
    {
        "nurse": Role.NURSE,
        "护士": Role.NURSE,
        "investigator": Role.INVESTIGATOR,
        "研究者": Role.INVESTIGATOR,
        "coordinator": Role.COORDINATOR,
        "协调员": Role.COORDINATOR,
    }
)


def role_from_word(text: str) -> Role | None:
    """A staff role by its English or Chinese name, else None."""
    return ROLE_WORDS.get(text.strip().casefold())


# --------------------------------------------------------------------------- language


class Language(StrEnum):
    """The bot's two languages (docs/DESIGN.md §1: 中文 or English), named as the
    catalogs in ``locales/`` are."""

    ZH_HANS = "zh_Hans"
    EN = "en"


# The same values as a static type, for code that names a language by a literal
# (``Translator("en", zone)``); checked against Language below.
LanguageCode = Literal["zh_Hans", "en"]
assert set(get_args(LanguageCode)) == {language.value for language in Language}

LANGUAGES: Final = (Language.ZH_HANS, Language.EN)
DEFAULT_LANGUAGE: Final = Language.ZH_HANS

# The words /enroll accepts for the patient's language.
LANGUAGE_WORDS: Final = MappingProxyType(
    {
        "zh": Language.ZH_HANS,
        "zh_hans": Language.ZH_HANS,
        "zh-hans": Language.ZH_HANS,
        "中文": Language.ZH_HANS,
        "en": Language.EN,
        "english": Language.EN,
        "英文": Language.EN,
    }
)


def language_from_word(text: str) -> Language | None:
    """``zh``/``中文`` -> ``zh_Hans``, ``en``/``英文`` -> ``en``, else None."""
    return LANGUAGE_WORDS.get(_word(text))


def language_from_tag(code: str | None) -> Language | None:
    """A channel's language code mapped to a supported language, or None.

    Accepts our own keys (``zh``, ``zh_Hans``, ``en``) and IETF tags
    (``zh-hans``, ``zh-CN``, ``en-GB``). Any Chinese that is not Traditional
    (``zh-Hant``, ``zh-TW``, ``zh-HK``, ``zh-MO``) maps to ``zh_Hans``. The
    match is done by hand because Babel's ``Locale.negotiate`` does not match
    ``zh-CN`` to ``zh_Hans``.
    """
    if not code:
        return None
    parts = code.replace("_", "-").lower().split("-")
    if parts[0] == "en":
        return Language.EN
    if parts[0] in {"zh", "中文", "cn"}:
        traditional = {"hant", "tw", "hk", "mo"}
        return None if traditional.intersection(parts[1:]) else Language.ZH_HANS
    return None
