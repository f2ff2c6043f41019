"""What a coordinator types to enroll a patient, read and checked.

Requirement: "``/enroll P01 belimumab_mt 2026-12-01 F 62kg zh`` (study ID, arm,
day 0, sex, weight, language) ... Duplicate study IDs, unknown arms,
impossible weights, and a day 0 more than 26 weeks back or 8 weeks ahead (a
likely typo) are refused."

Each reader takes the word as typed (English or Chinese, as the command examples show
them) and returns a plain value or raises :class:`~core.messages.RuleError`
naming what was expected. Nothing here reads the clock: "today" is passed in.

Choices (the facts are silent; the lead may move them to the protocol file):

- A study ID is 1 to 16 characters of ``A-Z a-z 0-9 _ -``
  (:data:`STUDY_ID_PATTERN`): enough for site prefixes ("NJ-P01"), short
  enough to read on a button, and nothing that could carry a name with spaces.
- The day-0 limits, 26 weeks back and 8 weeks ahead, are the requirement's
  own numbers (:class:`Day0Limits`); both bounds are inclusive ("more than").
- The weight uses the plausible weight range of :mod:`core.units`
  (25-250 kg, inclusive) and is checked again by
  :func:`core.dosing.check_weight`.
- The year of birth must give an age at day 0 of 18 to 100 years, inclusive
  (protocol file ``[enrollment]``, :class:`AgeRange`): docs/registry-record.txt and docs/clinical-facts.md
  state no age range, so these bounds only catch typos (an adult trial, and
  no one over 100); a site with a stated range sets it here.
- The informed-consent date may not lie after day 0 (consent comes before any
  study treatment) nor after today (it has already been obtained).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from core.dosing import check_weight
from core.messages import N_, RuleError
from core.protocol import Protocol
from core.units import DEFAULT_RANGES, Analyte, Unit, parse_quantity
from core.vocabulary import Language, Sex, language_from_word, sex_from_word

STUDY_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,16}")
_YEAR: Final = re.compile(r"[0-9]{4}")

_YES: Final = frozenset({"yes", "y", "true", "on", "1", "是"})
_NO: Final = frozenset({"no", "n", "false", "off", "0", "否"})


def _word(text: str) -> str:
    # Full-width letters and digits from a Chinese keyboard read as ASCII.
    return unicodedata.normalize("NFKC", text).strip()


def check_study_id(text: str) -> str:
    """Return the study ID as typed if it matches :data:`STUDY_ID_PATTERN`, else refuse.

    Rule (a choice, see the module docstring): 1-16 characters of
    ``A-Z a-z 0-9 _ -``. Source: the coordinator commands (study IDs name patients in chat and
    logs, docs/DESIGN.md §4: never names).
    """
    study_id = _word(text)
    if STUDY_ID_PATTERN.fullmatch(study_id) is None:
        raise RuleError(
            N_(
                "{study_id} is not a valid study ID: use 1 to 16 letters, digits, _ or -, "
                "for example P01."
            ),
            study_id=text,
        )
    return study_id


@dataclass(frozen=True, slots=True)
class Day0Limits:
    """How far from today a day 0 may lie before it is refused as a likely typo."""

    max_weeks_back: int = 26
    max_weeks_ahead: int = 8


def check_day0(day0: date, today: date, limits: Day0Limits = Day0Limits()) -> date:
    """Return ``day0`` unless it is more than 26 weeks before or 8 weeks after ``today``.

    Requirement: "A day 0 in the past is allowed (patients already on study when
    the bot goes live) ... a day 0 more than 26 weeks back or 8 weeks ahead (a
    likely typo) [is] refused." ``today`` is the date in the trial's time zone;
    exactly 26 weeks back or 8 weeks ahead is allowed.
    """
    earliest = today - timedelta(weeks=limits.max_weeks_back)
    latest = today + timedelta(weeks=limits.max_weeks_ahead)
    if day0 < earliest:
        raise RuleError(
            N_(
                "Day 0 {day0} is more than {weeks} weeks ago, which is likely a typo: "
                "day 0 must be between {earliest} and {latest}."
            ),
            day0=day0.isoformat(),
            weeks=limits.max_weeks_back,
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
    if day0 > latest:
        raise RuleError(
            N_(
                "Day 0 {day0} is more than {weeks} weeks ahead, which is likely a typo: "
                "day 0 must be between {earliest} and {latest}."
            ),
            day0=day0.isoformat(),
            weeks=limits.max_weeks_ahead,
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
    return day0


@dataclass(frozen=True, slots=True)
class AgeRange:
    """The ages at day 0 (in whole years, both inclusive) a year of birth may give:
    the protocol file's ``enrollment`` section (:meth:`from_protocol`)."""

    youngest: int
    oldest: int

    @classmethod
    def from_protocol(cls, protocol: Protocol) -> AgeRange:
        return cls(protocol.enrollment.age_at_day0_min, protocol.enrollment.age_at_day0_max)


def age_at_day0(birth_year: int, day0: date) -> int:
    """Age in whole years at day 0 from the year of birth alone: day 0's year minus it
    (as :attr:`core.trial_records.PatientRecord.age`; a year too high when the birthday
    falls after day 0 in that year)."""
    return day0.year - birth_year


def parse_birth_year(text: str, day0: date, ages: AgeRange) -> int:
    """A year of birth, four digits, giving an age at day 0 within ``ages`` (the
    protocol file's, 18-100 as shipped).

    The age is day 0's year minus the year of birth, as
    :attr:`core.trial_records.PatientRecord.age` computes it. Rule (a choice, see
    the module docstring): docs/registry-record.txt states no age range, so the
    bounds only refuse likely typos.
    """
    word = _word(text)
    if _YEAR.fullmatch(word) is None:
        raise RuleError(
            N_("{text} is not a year of birth: write four digits, for example 1984."), text=text
        )
    year = int(word)
    age = age_at_day0(year, day0)
    if not ages.youngest <= age <= ages.oldest:
        raise RuleError(
            N_(
                "Born in {year}, the patient would be {age} at day 0; "
                "the age at day 0 must be between {youngest} and {oldest}."
            ),
            year=year,
            age=age,
            youngest=ages.youngest,
            oldest=ages.oldest,
        )
    return year


def check_consent_date(consent: date, day0: date, today: date) -> date:
    """Return the informed-consent date unless it is after day 0 or after ``today``.

    Rule: consent is obtained before any study procedure, so it lies on or before
    day 0 (the first day of the methylprednisolone pulse, docs/clinical-facts.md §1),
    and it has already happened when the patient is enrolled. ``today`` is the
    trial time zone's date. SOURCE: ICH E6 (consent before participation); refusing
    a consent date after today is our choice (README, /enroll).
    """
    if consent > day0:
        raise RuleError(
            N_(
                "The consent date {consent} is after day 0 ({day0}): "
                "consent is obtained on or before day 0."
            ),
            consent=consent.isoformat(),
            day0=day0.isoformat(),
        )
    if consent > today:
        raise RuleError(
            N_("The consent date {consent} is in the future; enter a date up to today ({today})."),
            consent=consent.isoformat(),
            today=today.isoformat(),
        )
    return consent


def parse_arm(text: str, arms: Sequence[str]) -> str:
    """One of the protocol's arms by its key (any letter case), else refuse listing them.

    Source: the requirement ("unknown arms ... are refused"); the arms are the
    protocol file's ``[arms]``.
    """
    word = _word(text).casefold()
    for arm in arms:
        if arm.casefold() == word:
            return arm
    raise RuleError(
        N_("Unknown arm {arm}; expected one of: {arms}."), arm=text, arms=", ".join(arms)
    )


def parse_sex(text: str) -> Sex:
    """``F``/``M`` (also ``female``/``male``, 女/男), else refuse.

    Source: the ``/enroll`` example's ``F``; the sex picks the creatinine upper
    limit (docs/clinical-facts.md §4).
    """
    sex = sex_from_word(text)
    if sex is None:
        raise RuleError(N_("{text} is not a sex: write F or M (女 or 男)."), text=text)
    return sex


def parse_language(text: str) -> Language:
    """``zh``/``中文`` -> ``zh_Hans``, ``en`` -> ``en``, else refuse.

    Source: the ``/enroll`` example's ``zh`` and the two languages of the bot
    (docs/DESIGN.md §1: 中文 or English).
    """
    language = language_from_word(text)
    if language is None:
        raise RuleError(N_("{text} is not a language: write zh (中文) or en."), text=text)
    return language


def parse_weight(text: str) -> Decimal:
    """A body weight in kg, with or without the unit (``62kg``, ``62``, ``62公斤``).

    The value is exact (Decimal from the digits typed) and must lie in the
    plausible weight range of :data:`core.units.DEFAULT_RANGES` (25-250 kg);
    :func:`core.dosing.check_weight` confirms it. Source: docs/DESIGN.md §4
    ("Values outside physiological ranges are refused"), the requirement ("impossible
    weights ... are refused").
    """
    word = _word(text)
    if re.fullmatch(r"[+\-]?[0-9.,]+", word):
        word += "kg"  # a bare number is read in kilograms, the only unit accepted
    quantity = parse_quantity(Analyte.WEIGHT, word, DEFAULT_RANGES)
    assert quantity.unit == Unit.KG
    return check_weight(quantity.value)


def parse_yes_no(text: str) -> bool:
    """``yes``/``no`` (also ``是``/``否``), else refuse."""
    word = _word(text).casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise RuleError(N_("{text} is not yes or no: write yes or no (是 or 否)."), text=text)
