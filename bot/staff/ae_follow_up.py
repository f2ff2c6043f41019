"""/ae AE<number> ...: follow a stored adverse event to its end.

``/ae AE12 outcome=recovered end=2026-12-30 action=drug_interrupted
rel_mmf=possible`` (or ``/ae AE12 转归=痊愈 结束日期=2026-12-30 措施=暂停用药
吗替麦考酚酯相关性=可能``) records what became of event AE12: its outcome
(``outcome=``, 结局=, 转归=; CDISC OUT: recovered, recovering, not_recovered,
recovered_with_sequelae, fatal, unknown, or 痊愈, 恢复中, 未恢复, 痊愈伴后遗症,
死亡, 未知), its end date (``end=``, 结束=, 结束日期=), the action taken with
the study drugs (``action=``, 措施=; CDISC ACN: dose_not_changed, dose_reduced,
drug_interrupted, drug_withdrawn, not_applicable, unknown, or 剂量不变, 减量,
暂停用药, 停药, 不适用, 未知) and its relatedness to each study drug
(``rel_belimumab=``, ``rel_mmf=``, ``rel_tacrolimus=``, ``rel_mp=``, or
贝利尤单抗相关性= etc.; the one scale of ``core.entry_syntax.parse_relatedness``).
Any of them may be given, in any order, again later (recovering first, then
recovered). Only ``key=value`` words after ``AE<n>`` make it a follow-up: a
study ID may read ``AE7`` too, and ``/ae AE7 headache G1`` is a new event.

The preview shows each field "old → new"; Confirm stores through
:mod:`core.store.ae_follow_up`, whose audit record keeps the old and the new
values with who and when. The rules are ``core.ae_outcomes.check_follow_up``
(end date not before onset nor in the future, required when the event ended,
refused while it goes on; fatal only for a grade 5 event), and a relatedness to
belimumab is refused for a patient whose arm gets none (docs/registry-record.txt).
Choices, README ("Following an adverse event to its end").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from bot.context import Ctx
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.doses import DRUG_NAMES
from bot.texts import ACTION_NAMES, OUTCOME_NAMES, RELATEDNESS_NAMES
from bot.views.status import term_name
from core.ae_outcomes import (
    Action,
    Outcome,
    check_related_drugs,
    is_open,
    parse_action,
    parse_outcome,
)
from core.entry_syntax import Relatedness, parse_entry_date, parse_options, parse_relatedness
from core.messages import N_, RuleError
from core.store.ae_follow_up import (
    DRUG_COLUMNS,
    NOTHING_NEW,
    AdverseEventFollowUp,
    follow_up_adverse_event,
    follow_up_columns,
)
from core.store.db import read_session
from core.store.models import AdverseEvent, Patient
from core.store.uow import UnitOfWork
from core.vocabulary import Drug

KIND = "ae_follow_up"

USAGE = N_(
    "/ae AE<number> outcome=... end=YYYY-MM-DD action=... rel_<drug>=...  e.g. /ae AE12 "
    "outcome=recovered end=2026-12-30 action=drug_interrupted rel_mmf=possible"
)

_REL_KEYS: dict[str, Drug] = {
    "rel_belimumab": Drug.BELIMUMAB,
    "rel_mmf": Drug.MMF,
    "rel_tacrolimus": Drug.TACROLIMUS,
    "rel_mp": Drug.MP,
}

# What staff may type before "=", in either language.
KEYS = {
    "outcome": "outcome",
    "结局": "outcome",
    "转归": "outcome",
    "end": "end",
    "end_date": "end",
    "结束": "end",
    "结束日期": "end",
    "action": "action",
    "措施": "action",
    "rel_belimumab": "rel_belimumab",
    "贝利尤单抗相关性": "rel_belimumab",
    "rel_mmf": "rel_mmf",
    "吗替麦考酚酯相关性": "rel_mmf",
    "rel_tacrolimus": "rel_tacrolimus",
    "他克莫司相关性": "rel_tacrolimus",
    "rel_mp": "rel_mp",
    "rel_methylprednisolone": "rel_mp",
    "甲泼尼龙相关性": "rel_mp",
}


@dataclass(frozen=True, slots=True)
class FollowUpPayload:
    """What Confirm stores for ``/ae AE<n> ...``."""

    ae_id: int
    study_id: str
    follow_up: AdverseEventFollowUp


E = TypeVar("E", bound=StrEnum)


def _name(t: Translator, names: Mapping[E, str], value: str | None, kind: type[E]) -> str:
    """A stored outcome, action or relatedness in the reader's words; "not recorded" for none."""
    if value is None:
        return t._("not recorded")
    try:
        return t._(names[kind(value)])
    except (ValueError, KeyError):
        return value  # a word stored before the follow-up existed, shown as stored


def _date_text(t: Translator, day: date | None) -> str:
    return t._("not recorded") if day is None else t.date(day)


def _read(ctx: Ctx, patient: Patient, args: list[str]) -> AdverseEventFollowUp:
    options = parse_options(args, KEYS)
    if not options:
        raise RuleError(
            N_("Give what became of the event, for example outcome=recovered end=2026-12-30.")
        )
    related: list[tuple[Drug, Relatedness]] = []
    for key, drug in _REL_KEYS.items():
        if key in options:
            related.append((drug, parse_relatedness(options[key][0])))
    check_related_drugs(
        [drug for drug, _ in related],
        ctx.services.protocol.gets_belimumab(patient.arm),
        patient.study_id,
    )
    return AdverseEventFollowUp(
        outcome=parse_outcome(options["outcome"][0]) if "outcome" in options else None,
        action=parse_action(options["action"][0]) if "action" in options else None,
        end=parse_entry_date(options["end"][0], today=ctx.today()) if "end" in options else None,
        related=tuple(related),
    )


async def propose_follow_up(ctx: Ctx, ae_id: int, args: list[str]) -> None:
    """The preview of a follow-up of AE ``ae_id``, with Confirm."""
    with read_session(ctx.services.engine) as session:
        event = session.get(AdverseEvent, ae_id)
        patient = None if event is None else session.get(Patient, event.patient_id)
    if event is None or patient is None:
        raise RuleError(N_("There is no adverse event AE{id}."), id=ae_id)
    follow_up = _read(ctx, patient, args)
    columns = follow_up_columns(event, follow_up, ctx.today())
    if not columns:
        raise RuleError(NOTHING_NEW)
    t = ctx.t
    lines = [
        t._(
            "Follow-up of AE{id} ({study_id}): {term}, grade {grade}, onset {onset}.",
            id=ae_id,
            study_id=patient.study_id,
            term=term_name(t, event),
            grade=event.grade,
            onset=t.date(event.onset_date),
        )
    ]
    if "outcome" in columns:
        lines.append(
            "  "
            + t._(
                "Outcome: {old} → {new}",
                old=_name(t, OUTCOME_NAMES, event.outcome, Outcome),
                new=_name(t, OUTCOME_NAMES, str(columns["outcome"]), Outcome),
            )
        )
    if "end_date" in columns:
        new_end = columns["end_date"]
        assert new_end is None or isinstance(new_end, date)
        lines.append(
            "  "
            + t._(
                "End date: {old} → {new}",
                old=_date_text(t, event.end_date),
                new=_date_text(t, new_end),
            )
        )
    if "action" in columns:
        lines.append(
            "  "
            + t._(
                "Action taken with the study drugs: {old} → {new}",
                old=_name(t, ACTION_NAMES, event.action, Action),
                new=_name(t, ACTION_NAMES, str(columns["action"]), Action),
            )
        )
    for drug, column in DRUG_COLUMNS.items():
        if column in columns:
            lines.append(
                "  "
                + t._(
                    "Relatedness to {drug}: {old} → {new}",
                    drug=t._(DRUG_NAMES[drug]),
                    old=_name(t, RELATEDNESS_NAMES, getattr(event, column), Relatedness),
                    new=_name(t, RELATEDNESS_NAMES, str(columns[column]), Relatedness),
                )
            )
    outcome = columns.get("outcome", event.outcome)
    if is_open(None if outcome is None else str(outcome)):
        lines.append(t._("The event stays open: /status lists it until it has ended."))
    payload = FollowUpPayload(ae_id, patient.study_id, follow_up)
    await propose(ctx, KIND, Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class FollowedUp:
    ae_id: int
    study_id: str
    open: bool


def store(ctx: Ctx, uow: UnitOfWork, payload: FollowUpPayload) -> FollowedUp:
    event = follow_up_adverse_event(uow, payload.ae_id, payload.follow_up, ctx.today())
    return FollowedUp(payload.ae_id, payload.study_id, is_open(event.outcome))


async def after(ctx: Ctx, stored: FollowedUp) -> None:
    t = ctx.t
    if stored.open:
        text = t._(
            "AE{id} of {study_id} is updated and still open; the audit trail keeps the old values.",
            id=stored.ae_id,
            study_id=stored.study_id,
        )
    else:
        text = t._(
            "AE{id} of {study_id} is updated and closed; the audit trail keeps the old values.",
            id=stored.ae_id,
            study_id=stored.study_id,
        )
    await ctx.reply(text)


ACTION = ActionSpec(KIND, "ae", FollowUpPayload, store, after)
