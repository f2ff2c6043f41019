"""How an adverse event ends: its outcome, the action taken with the study drugs, its end
date and its relatedness to each study drug.

Pure. The outcome and action words are the CDISC controlled terms the SDTM AE
domain uses (OUT, C66768: RECOVERED/RESOLVED, RECOVERING/RESOLVING, NOT
RECOVERED/NOT RESOLVED, RECOVERED/RESOLVED WITH SEQUELAE, FATAL, UNKNOWN; ACN,
C66767: DOSE NOT CHANGED, DOSE REDUCED, DRUG INTERRUPTED, DRUG WITHDRAWN, NOT
APPLICABLE, UNKNOWN), stored as lower-case keys (``recovered``,
``drug_interrupted``); :mod:`core.tables.sdtm.events` writes them back in CT.
The study drugs a relatedness is judged against are :class:`core.vocabulary.Drug`
(docs/registry-record.txt).

Rules on the end date and on death (:func:`check_follow_up`) are our choices,
listed in README ("Following an adverse event to its end"): CTCAE v5.0 defines
grade 5 as death related to the adverse event, so FATAL goes with grade 5 only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum

from core.messages import N_, RuleError
from core.vocabulary import Drug

__all__ = [
    "ENDED_OUTCOMES",
    "ONGOING_OUTCOMES",
    "Action",
    "Outcome",
    "check_follow_up",
    "check_related_drugs",
    "is_open",
    "open_at",
    "open_at_week",
    "parse_action",
    "parse_outcome",
]


class Outcome(StrEnum):
    """The outcome of an adverse event (CDISC OUT); the value is what is stored."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class Action(StrEnum):
    """The action taken with the study drugs because of the event (CDISC ACN)."""

    DOSE_NOT_CHANGED = "dose_not_changed"
    DOSE_REDUCED = "dose_reduced"
    DRUG_INTERRUPTED = "drug_interrupted"
    DRUG_WITHDRAWN = "drug_withdrawn"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


#: Outcomes that say the event is over: an end date is required.
ENDED_OUTCOMES = frozenset({Outcome.RECOVERED, Outcome.RECOVERED_WITH_SEQUELAE, Outcome.FATAL})
#: Outcomes that say the event goes on: an end date is refused.
ONGOING_OUTCOMES = frozenset({Outcome.RECOVERING, Outcome.NOT_RECOVERED})


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return " ".join(folded.replace("_", " ").replace("-", " ").replace("/", " ").split())


_OUTCOME_WORDS: Mapping[str, Outcome] = {
    **dict.fromkeys(
        ("recovered", "resolved", "recovered resolved", "痊愈", "已恢复", "恢复", "已痊愈"),
        Outcome.RECOVERED,
    ),
    **dict.fromkeys(
        ("recovering", "resolving", "recovering resolving", "恢复中", "好转", "好转中"),
        Outcome.RECOVERING,
    ),
    **dict.fromkeys(
        (
            "not recovered",
            "not resolved",
            "not recovered not resolved",
            "ongoing",
            "未恢复",
            "未痊愈",
            "持续",
        ),
        Outcome.NOT_RECOVERED,
    ),
    **dict.fromkeys(
        (
            "recovered with sequelae",
            "resolved with sequelae",
            "recovered resolved with sequelae",
            "sequelae",
            "痊愈伴后遗症",
            "恢复伴后遗症",
            "有后遗症",
        ),
        Outcome.RECOVERED_WITH_SEQUELAE,
    ),
    **dict.fromkeys(("fatal", "death", "died", "死亡"), Outcome.FATAL),
    **dict.fromkeys(("unknown", "未知", "不详"), Outcome.UNKNOWN),
}
_OUTCOME_ACCEPTED = (
    "recovered/痊愈, recovering/恢复中, not_recovered/未恢复, "
    "recovered_with_sequelae/痊愈伴后遗症, fatal/死亡, unknown/未知"
)

_ACTION_WORDS: Mapping[str, Action] = {
    **dict.fromkeys(
        ("dose not changed", "not changed", "none", "剂量不变", "未调整", "无"),
        Action.DOSE_NOT_CHANGED,
    ),
    **dict.fromkeys(("dose reduced", "reduced", "减量", "剂量减少"), Action.DOSE_REDUCED),
    **dict.fromkeys(
        ("drug interrupted", "interrupted", "暂停用药", "暂停", "中断用药"),
        Action.DRUG_INTERRUPTED,
    ),
    **dict.fromkeys(
        ("drug withdrawn", "withdrawn", "stopped", "停药", "永久停药"), Action.DRUG_WITHDRAWN
    ),
    **dict.fromkeys(("not applicable", "n a", "na", "不适用"), Action.NOT_APPLICABLE),
    **dict.fromkeys(("unknown", "未知", "不详"), Action.UNKNOWN),
}
_ACTION_ACCEPTED = (
    "dose_not_changed/剂量不变, dose_reduced/减量, drug_interrupted/暂停用药, "
    "drug_withdrawn/停药, not_applicable/不适用, unknown/未知"
)


def parse_outcome(text: str) -> Outcome:
    """Read an adverse event's outcome, in either language.

    Rule: the six CDISC OUT terms (C66768), typed as their keys
    (``recovered_with_sequelae``), their CT words (``recovered/resolved``) or in
    Chinese (痊愈, 恢复中, 未恢复, 痊愈伴后遗症, 死亡, 未知); anything else is refused
    with the accepted words.
    SOURCE: CDISC SDTM controlled terminology, OUT codelist; Chinese words our choice.
    """
    found = _OUTCOME_WORDS.get(_key(text))
    if found is None:
        raise RuleError(
            N_('"{text}" is not an adverse event outcome. Use one of: {accepted}.'),
            text=text,
            accepted=_OUTCOME_ACCEPTED,
        )
    return found


def parse_action(text: str) -> Action:
    """Read the action taken with the study drugs, in either language.

    Rule: the six CDISC ACN terms used here (C66767; DOSE INCREASED is not a
    response to an adverse event in this protocol), typed as their keys
    (``drug_interrupted``), CT words or in Chinese (剂量不变, 减量, 暂停用药, 停药,
    不适用, 未知); anything else is refused with the accepted words.
    SOURCE: CDISC SDTM controlled terminology, ACN codelist; Chinese words our choice.
    """
    found = _ACTION_WORDS.get(_key(text))
    if found is None:
        raise RuleError(
            N_('"{text}" is not an action taken with the study drugs. Use one of: {accepted}.'),
            text=text,
            accepted=_ACTION_ACCEPTED,
        )
    return found


def is_open(outcome: str | None) -> bool:
    """An adverse event is open while no outcome is recorded, or it is recovering or not
    recovered (our choice: UNKNOWN closes the follow-up, as the site can learn no more)."""
    return outcome is None or outcome in ONGOING_OUTCOMES


def check_related_drugs(drugs: Iterable[Drug], gets_belimumab: bool, study_id: str) -> None:
    """A relatedness is judged only against a drug the patient's arm gets: the control arm
    gets no belimumab (docs/registry-record.txt), so a relatedness to it is refused."""
    if not gets_belimumab and Drug.BELIMUMAB in drugs:
        raise RuleError(
            N_(
                "{study_id} is in an arm without belimumab: there is no relatedness to "
                "belimumab to record."
            ),
            study_id=study_id,
        )


def check_follow_up(
    *,
    ae_id: int,
    grade: int,
    onset: date,
    outcome: Outcome | None,
    end: date | None,
    end_given: bool,
    today: date,
) -> date | None:
    """The end date an adverse event keeps after a follow-up; refuses what cannot be.

    ``outcome`` and ``end`` are the values after the follow-up (what was typed,
    else what is stored); ``end_given`` says the end date was typed now.
    Rules (our choices, README):
    - the end date is not before the onset and not after ``today``;
    - RECOVERED, RECOVERED WITH SEQUELAE and FATAL need an end date (the event is
      over); RECOVERING and NOT RECOVERED refuse a typed one, and a stored one is
      cleared (the event goes on);
    - an end date needs an outcome;
    - FATAL goes with grade 5 only, and a grade 5 event's outcome is FATAL or
      UNKNOWN: CTCAE v5.0 defines grade 5 as death related to the adverse event,
      so a death from this event is recorded as grade 5 (with /ae, which makes it
      serious and starts the reporting clock), not as the outcome of a lower grade.
    SOURCE: CTCAE v5.0 (grade 5 definition); CDISC OUT codelist.
    """
    if outcome is Outcome.FATAL and grade != 5:
        raise RuleError(
            N_(
                "AE{id} is grade {grade}: a fatal outcome means the event caused death, which "
                "is CTCAE grade 5. Record the death as a grade 5 adverse event with /ae, which "
                "makes it serious and starts its reporting clock; if the patient died of "
                "something else, give this event's own outcome."
            ),
            id=ae_id,
            grade=grade,
        )
    if grade == 5 and outcome not in (None, Outcome.FATAL, Outcome.UNKNOWN):
        raise RuleError(
            N_("AE{id} is grade 5, which is death: its outcome can only be fatal or unknown."),
            id=ae_id,
        )
    if end is not None:
        if end < onset:
            raise RuleError(
                N_("The end date {end} is before the onset ({onset})."),
                end=end.isoformat(),
                onset=onset.isoformat(),
            )
        if end > today:
            raise RuleError(
                N_("{date} is in the future; enter a date up to today ({today})."),
                date=end.isoformat(),
                today=today.isoformat(),
            )
    if outcome in ONGOING_OUTCOMES:
        if end_given:
            raise RuleError(
                N_(
                    "An event still recovering or not recovered has no end date: leave out "
                    "end=, or give the outcome it ended with."
                )
            )
        return None
    if outcome is None and end is not None:
        raise RuleError(N_("Give the outcome with the end date, for example outcome=recovered."))
    if outcome in ENDED_OUTCOMES and end is None:
        raise RuleError(
            N_("An event that ended needs its end date: add end=YYYY-MM-DD."),
        )
    return end


def open_at(onset: date, end: date | None, day: date) -> bool:
    """The event had begun on ``day`` and had not ended by then (no end date, or a later one).

    Rule: an event ends on its end date, so on that day it is no longer open.
    """
    return onset <= day and (end is None or end > day)


def open_at_week(
    onset: date, end: date | None, day0: date, week: int, cut_off: date
) -> bool | None:
    """Whether the event was open on day 0 + ``week`` weeks; None when that day is after
    ``cut_off`` (not known yet).

    Rule: weeks count from day 0 (docs/clinical-facts.md §1), so week 24 is day 168.
    """
    day = day0 + timedelta(weeks=week)
    if day > cut_off:
        return None
    return open_at(onset, end, day)
