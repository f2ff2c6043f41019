"""/correct: change a stored value, with the reason, keeping the old one in the audit trail.

``/correct AE12 grade=2 reason=transcription`` corrects an adverse event: its
grade (``grade=``, 等级=; ``2`` or ``G2``), onset date (``onset=``, 发生日期=)
and term as typed (``term=``, 术语=; matched to a CTCAE term again, or kept
uncoded). ``/correct P01 w12 scr=71umol/L reason=...`` corrects the latest
stored result of an analyte in that week, with the keys and units ``/labs``
reads, by its own parser (:func:`bot.staff.labs.results_from_options`).

GCP (ICH E6 §4.9.3): a correction must not obscure the original and must be
explained, so ``reason=`` (原因=, the rest of the message) is required. The
preview shows each field "old → new" and the reason; Confirm stores through
:mod:`core.store.corrections`, whose audit record keeps the old and new
values with the reason. Each value is checked as on entry (the grade against
the term's CTCAE grades, the onset never in the future nor far before day 0,
lab values in their units and ranges). A correction to or from grade 5 is
refused: grade 5 is death, which makes the event serious and starts its
reporting clock, so it is reported with ``/ae`` (our choice, README).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.adverse_events import onset_lines
from bot.staff.clinical import by_language, last_week
from bot.staff.commands import StaffCommand
from bot.staff.labs import (
    CASTS_LABEL,
    RESULT_KEYS,
    panel_response_text,
    result_text,
    result_value_text,
    results_from_options,
)
from core.adverse_events import code_event, onset_before_day0, term_by_key
from core.entry_syntax import (
    parse_ae_number,
    parse_entry_date,
    parse_grade_token,
    parse_options,
    parse_week,
    split_reason,
)
from core.messages import N_, RuleError
from core.renal_panel import CASTS, is_complete, panel_from_results
from core.response import Assessment, classify
from core.store.clinical import LabValue, lab_rows, stored_results
from core.store.corrections import (
    NOTHING_CHANGED,
    AdverseEventChange,
    LabFix,
    adverse_event_columns,
    correct_adverse_event,
    correct_lab_results,
    lab_columns,
)
from core.store.db import read_session
from core.store.models import AdverseEvent, LabResult, Patient
from core.store.services import patient_by_study_id
from core.store.uow import UnitOfWork
from core.units import ANALYTE_LABELS, Analyte

AE_KIND = "correct_ae"
LAB_KIND = "correct_labs"

USAGE = N_(
    "/correct AE<number> grade=... onset=YYYY-MM-DD term=... reason=...  or  "
    "/correct <study ID> w<week> <result>=<value><unit> reason=...  e.g. /correct AE12 "
    "grade=2 reason=transcription, /correct P01 w12 scr=71umol/L reason=transcription"
)

AE_KEYS = {
    "grade": "grade",
    "等级": "grade",
    "分级": "grade",
    "onset": "onset",
    "发生": "onset",
    "发生日期": "onset",
    "起病": "onset",
    "term": "term",
    "术语": "term",
    "事件": "term",
}

# The longest reason kept, as for a protocol deviation's (core.entry_calendar).
MAX_REASON = 500


def _reason(reason: str | None) -> str:
    """The reason given; refused when missing, empty or too long."""
    if not reason:
        raise RuleError(
            N_(
                "A correction needs its reason: end the message with reason=..., for example "
                "reason=transcription error."
            )
        )
    if len(reason) > MAX_REASON:
        raise RuleError(
            N_("The reason is {length} characters long; keep it to {limit}."),
            length=len(reason),
            limit=MAX_REASON,
        )
    return reason


async def run(ctx: Ctx, args: list[str]) -> None:
    if not args:
        # The bare command has no guided flow: it says what it takes.
        t = ctx.t
        what = t._("Name what to correct: AE and its number, or a study ID and a week.")
        await ctx.reply(t._("{reason}\nExpected: {usage}", reason=what, usage=t._(USAGE)))
        return
    ae_id = parse_ae_number(args[0])
    if ae_id is not None:
        await _propose_ae(ctx, ae_id, args[1:])
    else:
        await _propose_labs(ctx, args)


# --- an adverse event -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AeCorrection:
    """What Confirm stores for ``/correct AE<n>``."""

    ae_id: int
    study_id: str
    change: AdverseEventChange
    reason: str


def _grade(text: str) -> int:
    folded = unicodedata.normalize("NFKC", text).strip()
    grade = int(folded) if folded.isdigit() else parse_grade_token(folded)
    if grade is None:
        raise RuleError(
            N_('"{text}" is not a CTCAE grade: write 1 to 5, for example grade=2.'), text=text
        )
    return grade


def _term_name(t: Translator, term_key: str | None, verbatim: str) -> str:
    if term_key is None:
        return t._('"{verbatim}" (uncoded)', verbatim=verbatim)
    term = term_by_key(term_key)
    return by_language(t, term.term_en, term.term_zh)


async def _propose_ae(ctx: Ctx, ae_id: int, args: list[str]) -> None:
    words, typed_reason = split_reason(args)
    options = parse_options(words, AE_KEYS)
    if not options:
        raise RuleError(N_("Give the field to correct, for example grade=2."))
    reason = _reason(typed_reason)
    with read_session(ctx.services.engine) as session:
        event = session.get(AdverseEvent, ae_id)
        patient = None if event is None else session.get(Patient, event.patient_id)
    if event is None or patient is None:
        raise RuleError(N_("There is no adverse event AE{id}."), id=ae_id)
    grade = _grade(options["grade"][0]) if "grade" in options else None
    if grade is not None and 5 in {grade, event.grade} and grade != event.grade:
        raise RuleError(
            N_(
                "Grade 5 means death, which makes the event serious and starts its reporting "
                "clock: /correct does not change a grade to or from 5. Record a death with /ae."
            )
        )
    onset = None
    if "onset" in options:
        onset = parse_entry_date(options["onset"][0], today=ctx.today())
        onset_before_day0(onset, patient.day0)
    verbatim = term = None
    if "term" in options:
        coded = code_event(options["term"][0], grade if grade is not None else event.grade)
        verbatim, term = coded.verbatim, coded.term.key if coded.term is not None else None
    change = AdverseEventChange(grade=grade, onset=onset, verbatim=verbatim, term=term)
    columns = adverse_event_columns(event, change)
    if not columns:
        raise RuleError(NOTHING_CHANGED)
    t = ctx.t
    lines = [t._("Correction of AE{id} ({study_id}):", id=ae_id, study_id=patient.study_id)]
    if "grade" in columns:
        lines.append("  " + t._("Grade: {old} → {new}", old=event.grade, new=columns["grade"]))
    if onset is not None and "onset_date" in columns:
        lines.append(
            "  " + t._("Onset: {old} → {new}", old=t.date(event.onset_date), new=t.date(onset))
        )
        lines += onset_lines(t, onset, patient.day0)
    if {"verbatim", "term"} & set(columns):
        assert verbatim is not None
        lines.append(
            "  "
            + t._(
                "Term: {old} → {new}",
                old=_term_name(t, event.term, event.verbatim),
                new=_term_name(t, term, verbatim),
            )
        )
    lines.append(t._("Reason: {reason}", reason=reason))
    payload = AeCorrection(ae_id, patient.study_id, change, reason)
    await propose(ctx, AE_KIND, Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class AeCorrected:
    ae_id: int
    study_id: str


def store_ae(ctx: Ctx, uow: UnitOfWork, payload: AeCorrection) -> AeCorrected:
    correct_adverse_event(uow, payload.ae_id, payload.change, payload.reason)
    return AeCorrected(payload.ae_id, payload.study_id)


async def after_ae(ctx: Ctx, stored: AeCorrected) -> None:
    await ctx.reply(
        ctx.t._(
            "AE{id} of {study_id} is corrected; the audit trail keeps the old values and the "
            "reason.",
            id=stored.ae_id,
            study_id=stored.study_id,
        )
    )


# --- a week's lab results -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabCorrection:
    """What Confirm stores for ``/correct <study ID> w<week> ...``."""

    patient_id: int
    study_id: str
    week: int
    fixes: tuple[LabFix, ...]
    reason: str


def _label_id(analyte: str) -> str:
    """The analyte's name as a msgid, for a refusal's ``{analyte}``."""
    return CASTS_LABEL if analyte == CASTS else ANALYTE_LABELS[Analyte(analyte)]


def _as_value(row: LabResult) -> LabValue:
    return LabValue(
        row.analyte,
        Decimal(row.value),
        row.unit,
        Decimal(row.ref_high) if row.ref_high is not None else None,
        row.ref_unit,
        row.below_limit,
    )


async def _propose_labs(ctx: Ctx, args: list[str]) -> None:
    study_id = args[0].strip()[:32]
    with read_session(ctx.services.engine) as session:
        patient = patient_by_study_id(session, study_id)
    if patient is None or patient.id is None:
        raise RuleError(N_("There is no patient with study ID {study_id}."), study_id=study_id)
    if len(args) < 2:
        raise RuleError(N_("After the study ID, give the week, for example w24."))
    week = parse_week(args[1], last_week=last_week(ctx))
    words, typed_reason = split_reason(args[2:])
    options = parse_options(words, RESULT_KEYS)
    values = results_from_options(options)
    if not values:
        raise RuleError(N_("Give the result to correct, for example scr=71umol/L."))
    reason = _reason(typed_reason)
    with read_session(ctx.services.engine) as session:
        stored = lab_rows(session, patient.id, week)
    t = ctx.t
    fixes: list[LabFix] = []
    lines = [
        t._(
            "Correction of the lab results of {study_id}, week {week}:",
            study_id=patient.study_id,
            week=week,
        )
    ]
    for value in values:
        # The latest result of the analyte is the one that counts (core.renal_panel).
        row = next((r for r in reversed(stored) if r.analyte == value.analyte), None)
        if row is None or row.id is None:
            raise RuleError(
                N_(
                    "Week {week} of {study_id} has no stored result for {analyte} to correct: "
                    "enter it with /labs."
                ),
                week=week,
                study_id=patient.study_id,
                analyte=_label_id(value.analyte),
            )
        if not lab_columns(row, value):
            continue
        fixes.append(LabFix(row.id, value))
        old = result_text(t, _as_value(row))
        new = result_value_text(t, value)
        lines.append("  " + t._("{old} → {new}", old=old, new=new))
    if not fixes:
        raise RuleError(NOTHING_CHANGED)
    lines.append(t._("Reason: {reason}", reason=reason))
    payload = LabCorrection(patient.id, patient.study_id, week, tuple(fixes), reason)
    await propose(ctx, LAB_KIND, Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class LabsCorrected:
    study_id: str
    week: int
    count: int
    assessment: Assessment | None  # the complete week's response, from the corrected rows
    has_baseline: bool


def store_labs(ctx: Ctx, uow: UnitOfWork, payload: LabCorrection) -> LabsCorrected:
    correct_lab_results(uow, payload.patient_id, payload.fixes, payload.reason)
    patient = uow.session.get(Patient, payload.patient_id)
    assert patient is not None
    week_results = stored_results(lab_rows(uow.session, payload.patient_id, payload.week))
    assessment = None
    baseline = stored_results(lab_rows(uow.session, payload.patient_id, 0))
    if payload.week > 0 and is_complete(week_results):
        assessment = classify(
            panel_from_results(baseline),
            panel_from_results(week_results),
            patient.sex,
            ctx.services.protocol.response_options(),
        )
    return LabsCorrected(
        payload.study_id, payload.week, len(payload.fixes), assessment, bool(baseline)
    )


async def after_labs(ctx: Ctx, stored: LabsCorrected) -> None:
    t = ctx.t
    lines = [
        t.n_(
            "Corrected {n} result for {study_id}, week {week}; the audit trail keeps the old "
            "value and the reason.",
            "Corrected {n} results for {study_id}, week {week}; the audit trail keeps the old "
            "values and the reason.",
            stored.count,
            study_id=stored.study_id,
            week=stored.week,
        )
    ]
    if stored.assessment is not None:
        lines.append(
            panel_response_text(
                t, stored.study_id, stored.week, stored.assessment, stored.has_baseline
            )
        )
    await ctx.reply("\n".join(lines))


COMMAND = StaffCommand("correct", USAGE, run)

FEATURE = Feature(
    "corrections",
    staff_commands=[COMMAND],
    actions=[
        ActionSpec(AE_KIND, "correct", AeCorrection, store_ae, after_ae),
        ActionSpec(LAB_KIND, "correct", LabCorrection, store_labs, after_labs),
    ],
)
