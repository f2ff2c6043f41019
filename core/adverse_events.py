"""Adverse events: CTCAE v5.0 coding and grading, seriousness, the reporting clock.

Rules from docs/clinical-facts.md §6:

- grade with CTCAE v5.0 and store the version with every grade;
- a bilingual term list for the terms likely in this trial
  (``core/data/ctcae_terms.toml``, matched by :mod:`core.term_matching`), free
  text for anything else, kept verbatim and marked *uncoded* unless staff
  choose one of the nearest terms suggested;
- seriousness follows ICH E2A (death, life-threatening, hospitalisation,
  disability, congenital anomaly, important medical event); "severe" is not
  "serious";
- a serious event is reported within 24 hours of the site becoming aware.

Pure: no clock reads; the caller passes "now".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from core.ctcae_terms import CTCAE_VERSION, GENERAL_GRADES, TERMS, CtcaeTerm, GradeText
from core.enrollment import Day0Limits
from core.messages import N_, RuleError
from core.term_matching import (
    MatchKind,
    TermMatch,
    chosen_match,
    match_term,
    normalise,
    suggest_terms,
    term_by_key,
)

__all__ = [
    "CTCAE_VERSION",
    "GENERAL_GRADES",
    "MAX_TERM_LENGTH",
    "ONSET_WEEKS_BEFORE_DAY0",
    "SAE_REPORTING_HOURS",
    "TERMS",
    "CodedEvent",
    "CtcaeTerm",
    "GradeText",
    "MatchKind",
    "Seriousness",
    "TermMatch",
    "check_grade",
    "chosen_match",
    "code_entry",
    "code_event",
    "grade_text",
    "hours_left",
    "is_overdue",
    "life_threatening_unanswered",
    "match_term",
    "normalise",
    "onset_before_day0",
    "parse_seriousness",
    "reporting_deadline",
    "seriousness_for_grade",
    "suggest_terms",
    "term_by_key",
    "time_left",
]

# docs/clinical-facts.md §6: "this site's clock is 24 hours from awareness".
SAE_REPORTING_HOURS = 24

_ALL_GRADES = (1, 2, 3, 4, 5)

# Our choice: an adverse event is named in a few words; 200 characters is ample for a
# term with its qualifiers and keeps the preview and every alert far below Telegram's
# 4,096-character message limit.
MAX_TERM_LENGTH = 200

# The earliest day 0 /enroll accepts is 26 weeks back: a patient's consent and
# screening lie within that range, so an onset further back than that before day 0
# is outside anything the study recorded about the patient (core.enrollment.Day0Limits).
ONSET_WEEKS_BEFORE_DAY0 = Day0Limits().max_weeks_back


# --------------------------------------------------------------------------- grades


def _grades_label(grades: tuple[int, ...]) -> str:
    # Digits and a dash read the same in both languages, so the placeholder
    # value needs no translation.
    if grades == tuple(range(grades[0], grades[-1] + 1)):
        return f"{grades[0]}-{grades[-1]}"
    return ", ".join(str(g) for g in grades)


def check_grade(term: CtcaeTerm | None, grade: int) -> int:
    """Return ``grade`` if CTCAE v5.0 defines it for ``term``; raise RuleError otherwise.

    Rule: CTCAE grades run from 1 to 5 and a term has only the grades CTCAE
    defines for it (e.g. Shingles 1-3, Anaphylaxis 3-5, Lung infection 2-5).
    ``term=None`` is an uncoded (free-text) event: the general grades 1-5 apply.
    SOURCE: CTCAE v5.0 (grade cells marked "-" do not exist); docs/clinical-facts.md §6.
    """
    # bool is an int subclass; True is not a grade.
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in _ALL_GRADES:
        raise RuleError(
            N_("CTCAE grades run from 1 to 5; {grade} is not a grade."),
            grade=str(grade),
        )
    if term is None:
        return grade
    if grade not in term.grade_numbers:
        raise RuleError(
            N_("{term} has no grade {grade}; CTCAE v5.0 grades it {grades} only."),
            term=term.term_en,
            grade=grade,
            grades=_grades_label(term.grade_numbers),
            # Extra values for the bot: the Chinese name and the stable key.
            term_zh=term.term_zh,
            term_key=term.key,
        )
    return grade


def grade_text(term: CtcaeTerm | None, grade: int) -> GradeText:
    """The bilingual wording of ``grade`` for ``term`` (general wording when uncoded).

    Rule: a coded event shows its term's CTCAE v5.0 grade text; an uncoded one
    shows the general grade definition (docs/clinical-facts.md §6: 1 mild; 2 moderate,
    limiting instrumental ADL; 3 severe, hospitalisation indicated, limiting
    self-care ADL; 4 life-threatening; 5 death). Refuses grades the term lacks.
    SOURCE: CTCAE v5.0.
    """
    check_grade(term, grade)
    if term is None:
        return GENERAL_GRADES[grade - 1]
    text = term.grade_text(grade)
    # check_grade has just confirmed the grade exists for this term.
    assert text is not None
    return text


@dataclass(frozen=True, slots=True)
class CodedEvent:
    """An adverse event as entered, with its CTCAE coding and grade.

    ``term`` and ``match`` are None for an uncoded event; ``verbatim`` is always
    the text as entered. ``ctcae_version`` is stored with every grade.
    """

    verbatim: str
    match: TermMatch | None
    grade: int
    grade_text: GradeText
    ctcae_version: str

    @property
    def term(self) -> CtcaeTerm | None:
        """The CTCAE term, or None when the event is uncoded."""
        return self.match.term if self.match is not None else None

    @property
    def coded(self) -> bool:
        """True when the verbatim text matched a listed CTCAE term."""
        return self.match is not None


def code_event(verbatim: str, grade: int) -> CodedEvent:
    """Code free text against the term list and check its grade, recording the version.

    Rule (docs/clinical-facts.md §6): grade with CTCAE v5.0 and store the version with
    every grade; accept free text for anything not on the list and mark it
    uncoded (general grades 1-5 apply). Refuses empty text, text longer than
    :data:`MAX_TERM_LENGTH` (200) characters (our choice: refused before anything is
    sent, so no reply built from it grows past what Telegram accepts) and impossible
    grades.
    SOURCE: CTCAE v5.0; docs/clinical-facts.md §6.
    """
    _check_text(verbatim)
    return _coded(verbatim, match_term(verbatim), grade)


def _check_text(verbatim: str) -> None:
    if not verbatim.strip():
        raise RuleError(N_("Describe the adverse event in a few words."))
    if len(verbatim.strip()) > MAX_TERM_LENGTH:
        raise RuleError(
            N_("The adverse event description is {length} characters long; keep it to {limit}."),
            length=len(verbatim.strip()),
            limit=MAX_TERM_LENGTH,
        )


def _coded(verbatim: str, match: TermMatch | None, grade: int) -> CodedEvent:
    term = match.term if match is not None else None
    return CodedEvent(
        verbatim=verbatim.strip(),
        match=match,
        grade=check_grade(term, grade),
        grade_text=grade_text(term, grade),
        ctcae_version=CTCAE_VERSION,
    )


def code_entry(verbatim: str, grade: int, term_key: str | None) -> CodedEvent:
    """An event as staff settled it: coded with ``term_key``, or uncoded when None.

    Rule (docs/clinical-facts.md §6): the term is the one matched from the text
    or chosen by staff from the suggestions (:func:`core.term_matching.suggest_terms`);
    None keeps the text uncoded even when it resembles a term, because staff chose
    to store it as typed. The grade is checked against that term (or the general
    grades 1-5). Refuses what :func:`code_event` refuses; KeyError for an unknown key.
    SOURCE: CTCAE v5.0; docs/clinical-facts.md §6.
    """
    _check_text(verbatim)
    match = None if term_key is None else chosen_match(verbatim, term_key)
    return _coded(verbatim, match, grade)


# --------------------------------------------------------------------------- seriousness


class Seriousness(StrEnum):
    """The ICH E2A seriousness criteria (docs/clinical-facts.md §6)."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALIZATION = "hospitalization"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"

    @property
    def name_en(self) -> str:
        """The criterion as ICH E2A words it."""
        return _SERIOUSNESS_INFO[self].name_en

    @property
    def name_zh(self) -> str:
        """The criterion in Chinese (wording of China's GCP, 2020)."""
        return _SERIOUSNESS_INFO[self].name_zh

    @property
    def accepted_words(self) -> tuple[str, ...]:
        """Words a user may type for this criterion, in both languages."""
        info = _SERIOUSNESS_INFO[self]
        return (self.value, *info.words_en, *info.words_zh)


@dataclass(frozen=True, slots=True)
class _SeriousnessInfo:
    name_en: str
    name_zh: str
    words_en: tuple[str, ...]  # first word is the one shown in refusals
    words_zh: tuple[str, ...]  # first word is the one shown in refusals


_SERIOUSNESS_INFO: dict[Seriousness, _SeriousnessInfo] = {
    Seriousness.DEATH: _SeriousnessInfo(
        "Results in death",
        "导致死亡",
        ("death", "died", "dead", "fatal"),
        ("死亡", "导致死亡"),
    ),
    Seriousness.LIFE_THREATENING: _SeriousnessInfo(
        "Is life-threatening",
        "危及生命",
        ("life-threatening",),
        ("危及生命", "威胁生命"),
    ),
    Seriousness.HOSPITALIZATION: _SeriousnessInfo(
        "Requires inpatient hospitalisation or prolongation of existing hospitalisation",
        "需要住院治疗或延长住院时间",
        (
            "hospitalization",
            "hospitalisation",
            "hospital",
            "hospitalized",
            "hospitalised",
            "admission",
            "admitted",
            "prolonged hospitalization",
            "prolonged hospitalisation",
        ),
        ("住院", "入院", "延长住院", "住院治疗"),
    ),
    Seriousness.DISABILITY: _SeriousnessInfo(
        "Results in persistent or significant disability/incapacity",
        "导致永久或严重的残疾或功能丧失",
        ("disability", "disabling", "incapacity"),
        ("残疾", "致残", "功能丧失"),
    ),
    Seriousness.CONGENITAL_ANOMALY: _SeriousnessInfo(
        "Is a congenital anomaly/birth defect",
        "先天畸形或出生缺陷",
        ("congenital", "congenital anomaly", "birth defect"),
        ("先天畸形", "先天性异常", "出生缺陷"),
    ),
    Seriousness.IMPORTANT_MEDICAL_EVENT: _SeriousnessInfo(
        "Is an important medical event",
        "其他重要医学事件",
        ("important", "ime", "important medical event", "medically important"),
        ("重要医学事件", "其他重要医学事件"),
    ),
}

# Intensity words. ICH E2A: "severe" describes intensity, "serious" is defined by
# outcome; in Chinese 严重 is used for "serious", 重度 for "severe". None of these
# names a criterion, so they get their own explanation.
_SEVERITY_WORDS = frozenset(normalise(w) for w in ("severe", "severity", "grade 3", "重度", "严重"))

_SERIOUSNESS_INDEX: dict[str, Seriousness] = {}
for _criterion in Seriousness:
    for _word in _criterion.accepted_words:
        _key = normalise(_word)
        if _SERIOUSNESS_INDEX.setdefault(_key, _criterion) is not _criterion:
            raise ValueError(f"seriousness word {_word!r} names two criteria")
        if _key in _SEVERITY_WORDS:
            raise ValueError(f"seriousness word {_word!r} is also a severity word")

_ACCEPTED_LABEL = ", ".join(
    f"{info.words_en[0]}/{info.words_zh[0]}" for info in _SERIOUSNESS_INFO.values()
)


def parse_seriousness(text: str) -> Seriousness:
    """Read one ICH E2A seriousness criterion from a word typed in English or Chinese.

    Rule: an event is serious if it results in death, is life-threatening,
    requires or prolongs hospitalisation, causes persistent or significant
    disability, is a congenital anomaly, or is an important medical event.
    "Severe" (intensity) is not "serious" and is refused with that explanation.
    Matching is exact after :func:`normalise`.
    SOURCE: ICH E2A §II.B; docs/clinical-facts.md §6.
    """
    key = normalise(text)
    criterion = _SERIOUSNESS_INDEX.get(key)
    if criterion is not None:
        return criterion
    if key in _SEVERITY_WORDS:
        raise RuleError(
            N_(
                '"{text}" describes how intense the event is, not why it is serious. '
                "Name the seriousness criterion: {accepted}."
            ),
            text=text.strip(),
            accepted=_ACCEPTED_LABEL,
        )
    raise RuleError(
        N_('"{text}" is not a seriousness criterion. Use one of: {accepted}.'),
        text=text.strip(),
        accepted=_ACCEPTED_LABEL,
    )


def seriousness_for_grade(grade: int, criteria: Iterable[Seriousness]) -> tuple[Seriousness, ...]:
    """The seriousness criteria of an event of ``grade``: grade 5 always adds ``death``.

    Rule: CTCAE v5.0 defines "Grade 5: Death related to AE" (docs/clinical-facts.md §6:
    "5 death"), and ICH E2A makes an event that results in death serious. So a grade 5
    event is serious with the criterion death whatever was typed; other criteria typed
    with it are kept. The result has no repeats, in the order of :class:`Seriousness`.
    SOURCE: CTCAE v5.0 (grade 5 definition); ICH E2A §II.B; docs/clinical-facts.md §6.
    """
    chosen = set(criteria)
    if grade == 5:
        chosen.add(Seriousness.DEATH)
    return tuple(c for c in Seriousness if c in chosen)


def life_threatening_unanswered(grade: int, criteria: Iterable[Seriousness]) -> bool:
    """True when a grade 4 event comes with no seriousness criterion: ask before storing.

    Rule: CTCAE v5.0 grade 4 reads "life-threatening consequences; urgent intervention
    indicated" (docs/clinical-facts.md §6: "4 life-threatening"), and ICH E2A makes a
    life-threatening event serious. CTCAE's intensity and ICH E2A's "life-threatening"
    (at risk of death at the time of the event) are not the same judgement, so the bot
    does not decide for the investigator: an unstated criterion on a grade 4 event is
    asked, never assumed either way.
    SOURCE: CTCAE v5.0; ICH E2A §II.B; docs/clinical-facts.md §6.
    """
    return grade == 4 and not tuple(criteria)


# --------------------------------------------------------------------------- onset


def onset_before_day0(onset: date, day0: date) -> bool:
    """True when ``onset`` is before ``day0``: accept it, but ask if it is medical history.

    Rule: an adverse event is an untoward occurrence in a patient given the study
    treatment (ICH E2A §II.A.1), and treatment starts on day 0 (the first MP pulse,
    docs/clinical-facts.md §1). An onset before day 0 may still be an event (one that
    began after consent, or a worsening), so it is accepted, with a question whether
    it is medical history instead. An onset more than :data:`ONSET_WEEKS_BEFORE_DAY0`
    (26) weeks before day 0 -- before any consent date /enroll allows -- is refused as
    a likely typo (RuleError); exactly 26 weeks before is accepted, as with /enroll's
    own day-0 limit.
    SOURCE: ICH E2A §II.A.1; docs/clinical-facts.md §1 and §6; our choice for 26 weeks
    (``core.enrollment.Day0Limits``).
    """
    earliest = day0 - timedelta(weeks=ONSET_WEEKS_BEFORE_DAY0)
    if onset < earliest:
        raise RuleError(
            N_(
                "The onset {onset} is more than {weeks} weeks before day 0 ({day0}), which is "
                "likely a typo: nothing was stored. Check the onset date."
            ),
            onset=onset.isoformat(),
            weeks=ONSET_WEEKS_BEFORE_DAY0,
            day0=day0.isoformat(),
        )
    return onset < day0


# --------------------------------------------------------------------------- reporting clock


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise RuleError(
            N_("The time {moment} has no time zone; enter it with its time zone."),
            moment=moment.isoformat(sep=" ", timespec="minutes"),
        )


def reporting_deadline(aware_at: datetime, hours: int = SAE_REPORTING_HOURS) -> datetime:
    """Return the moment a serious event must be reported by: awareness + ``hours``.

    Rule (docs/clinical-facts.md §6): the investigator reports a serious adverse event
    immediately; this site's clock is 24 hours from the moment the site became
    aware. ``hours`` is elapsed time, so the deadline is exact across daylight-
    saving changes. The result is in ``aware_at``'s time zone. A naive datetime
    is refused (RuleError, a ValueError): the clock needs an absolute moment.
    SOURCE: docs/clinical-facts.md §6 (the site's 24-hour clock; ICH E2A sets only
    regulator timelines).
    """
    _require_aware(aware_at)
    if isinstance(hours, bool) or not isinstance(hours, int) or hours <= 0:
        raise ValueError(f"reporting window must be a positive whole number of hours: {hours!r}")
    deadline_utc = aware_at.astimezone(UTC) + timedelta(hours=hours)
    return deadline_utc.astimezone(aware_at.tzinfo)


def time_left(deadline: datetime, now: datetime) -> timedelta:
    """Elapsed time from ``now`` to ``deadline``; negative when the deadline has passed.

    Rule: the reporting clock counts real elapsed time between two absolute
    moments, whatever time zones they are written in. Both must be aware.
    SOURCE: docs/clinical-facts.md §6 (show the 24-hour clock).
    """
    _require_aware(deadline)
    _require_aware(now)
    # Converting to UTC first: subtracting two datetimes that share a tzinfo
    # object compares wall clocks, which is wrong across a DST change.
    return deadline.astimezone(UTC) - now.astimezone(UTC)


def hours_left(deadline: datetime, now: datetime) -> Decimal:
    """Hours from ``now`` to ``deadline`` as an exact Decimal; negative means overdue.

    Rule: as :func:`time_left`, expressed in hours for display (e.g. Decimal("1.5")).
    SOURCE: docs/clinical-facts.md §6.
    """
    microseconds = time_left(deadline, now) // timedelta(microseconds=1)
    return Decimal(microseconds) / Decimal(3_600_000_000)


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """True once ``now`` is strictly after ``deadline``.

    Rule: a report made at the deadline itself is on time ("within 24 hours").
    SOURCE: docs/clinical-facts.md §6.
    """
    return time_left(deadline, now) < timedelta(0)
