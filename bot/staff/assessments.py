"""/sledai and /cd20: disease activity and B cells at a study week, with the change from week 0.

- ``/sledai P01 w12 haematuria proteinuria low_complement dsdna``: the items
  present, by name in either language, with attribution flags such as
  ``leukopenia:drug`` (kept on the sheet, not scored); the reply shows the
  SLEDAI-2K total, the renal subset and the change from the week-0 baseline
  (docs/clinical-facts.md §5: "report the change and the renal subset").
- ``/cd20 P01 w4 120/uL`` (or ``8%`` of lymphocytes): the count, and its
  change from week 0 when both were counted the same way.

Both take an optional ``date=YYYY-MM-DD`` (today when left out) and store on
Confirm only; the week's planned assessment, if any, is then marked done. The
date is judged against the week's window as for ``/labs``
(:mod:`core.entry_calendar`): outside it the entry needs ``reason=...`` (the
rest of the message) and is a protocol deviation; far before it, refused; and
an assessment whose window has not opened stays planned.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.clinical import (
    by_language,
    calendar_lines,
    instant_on,
    last_week,
    patient_for_entry,
    quantity_text,
    signed,
    week_choices,
)
from bot.staff.commands import Field, StaffCommand, patient_choices
from core.cd20 import Cd20Change, cd20_change
from core.entry_calendar import EntryDate
from core.entry_syntax import parse_entry_date, parse_options, parse_week, split_reason
from core.messages import N_, RuleError
from core.schedule import EventKind
from core.sledai import (
    ITEMS_BY_KEY,
    Cause,
    Direction,
    RecordedItem,
    SledaiChange,
    SledaiScore,
    change_from_baseline,
    parse_items,
    score,
)
from core.store.clinical import (
    Entered,
    SledaiItem,
    assessment_entry,
    record_cd20,
    record_sledai,
)
from core.store.db import read_session
from core.store.models import Cd20Count, Cd20Unit, Patient, SledaiAssessment
from core.store.uow import UnitOfWork
from core.units import Analyte, Quantity, Unit, parse_quantity

log = logging.getLogger(__name__)

SLEDAI_KIND = "sledai"
CD20_KIND = "cd20"

SLEDAI_USAGE = N_(
    "/sledai <study ID> w<week> <items present> [date=YYYY-MM-DD] [reason=...]"
    "  e.g. /sledai P01 w12 haematuria proteinuria low_complement dsdna"
)
CD20_USAGE = N_(
    "/cd20 <study ID> w<week> <count>/uL or <percent>% [date=YYYY-MM-DD] [reason=...]"
    "  e.g. /cd20 P01 w4 120/uL"
)

DATE_KEYS = {"date": "date", "日期": "date"}

DIRECTION_NAMES: dict[Direction, str] = {
    Direction.IMPROVED: N_("improved"),
    Direction.UNCHANGED: N_("unchanged"),
    Direction.WORSENED: N_("worsened"),
}


def _split_date(ctx: Ctx, words: list[str]) -> tuple[list[str], date, str | None]:
    """The words that are neither ``date=...`` nor the reason, the date (today when not
    given) and the reason (``reason=...`` to the end of the message)."""
    words, reason = split_reason(words)
    dated = [
        w
        for w in words
        if unicodedata.normalize("NFKC", w).casefold().startswith(("date=", "日期="))
    ]
    rest = [w for w in words if w not in dated]
    options = parse_options(dated, DATE_KEYS)
    day = ctx.today()
    if "date" in options:
        day = parse_entry_date(options["date"][0], today=day)
    return rest, day, reason


def _judged(
    ctx: Ctx, patient: Patient, kind: EventKind, week: int, day: date, reason: str | None
) -> tuple[EntryDate, tuple[EventKind, int] | None]:
    """The date against the week's window, and the week's planned assessment (kind, number)."""
    with read_session(ctx.services.engine) as session:
        event, entry = assessment_entry(
            session, ctx.services.protocol, patient, kind, week, day, reason
        )
    return entry, (kind, event.number) if event is not None else None


def _event_of(entered: Entered[Any]) -> tuple[EventKind, int] | None:
    event = entered.event
    return (event.kind, event.number) if event is not None else None


def _week(ctx: Ctx, args: list[str]) -> int:
    if len(args) < 2:
        raise RuleError(N_("After the study ID, give the week, for example w24."))
    return parse_week(args[1], last_week=last_week(ctx))


# --- SLEDAI-2K -------------------------------------------------------------------------------


def sledai_items(result: SledaiScore) -> tuple[SledaiItem, ...]:
    """What ``sledai_assessment.items`` holds: each recorded item, its cause and if it scored."""
    return tuple(
        SledaiItem(
            line.item.key,
            line.attribution.value if line.attribution is not None else None,
            line.scored,
        )
        for line in result.lines
    )


def score_of_row(row: SledaiAssessment) -> SledaiScore:
    """The score of a stored assessment, rebuilt from its items."""
    recorded = [
        RecordedItem(ITEMS_BY_KEY[entry["item"]], Cause(entry["cause"]) if entry["cause"] else None)
        for entry in json.loads(row.items)
    ]
    return score(recorded)


def latest_sledai(session: Session, patient_id: int, week: int) -> SledaiAssessment | None:
    return session.exec(
        select(SledaiAssessment)
        .where(SledaiAssessment.patient_id == patient_id)
        .where(SledaiAssessment.week == week)
        .order_by(col(SledaiAssessment.entered_at).desc(), col(SledaiAssessment.id).desc())
    ).first()


def sledai_lines(t: Translator, result: SledaiScore) -> list[str]:
    lines = []
    for line in result.lines:
        name = by_language(t, line.item.name_en, line.item.name_zh)
        if line.scored:
            lines.append("  " + t._("{item}: {points}", item=name, points=line.points))
        else:
            assert line.reason is not None
            lines.append("  " + t._("{item}: {reason}", item=name, reason=t._(line.reason)))
    return lines


def change_line(t: Translator, change: SledaiChange) -> str:
    return t._(
        "Change from baseline (week 0, total {baseline}): total {total}, renal subset {renal} "
        "({direction}).",
        baseline=change.baseline_total,
        total=signed(t, change.total_change),
        renal=signed(t, change.renal_change),
        direction=t._(DIRECTION_NAMES[change.direction]),
    )


async def run_sledai(ctx: Ctx, args: list[str]) -> None:
    patient = patient_for_entry(ctx, args)
    assert patient.id is not None
    week = _week(ctx, args)
    words, day, reason = _split_date(ctx, args[2:])
    if not words:
        raise RuleError(N_("List the SLEDAI-2K items present, or none (无) when there are none."))
    result = score(parse_items(" ".join(words)))
    entry, event = _judged(ctx, patient, EventKind.SLEDAI, week, day, reason)
    with read_session(ctx.services.engine) as session:
        same_week = latest_sledai(session, patient.id, week)
        baseline = latest_sledai(session, patient.id, 0) if week > 0 else None
    t = ctx.t
    lines = [
        t._(
            "SLEDAI-2K for {study_id}, week {week}, assessed on {date}: total {total}, renal "
            "subset {renal}.",
            study_id=patient.study_id,
            week=week,
            date=t.date(day),
            total=result.total,
            renal=result.renal,
        ),
        *sledai_lines(t, result),
    ]
    if week == 0:
        lines.append(t._("This is the baseline (week 0)."))
    elif baseline is not None:
        lines.append(change_line(t, change_from_baseline(score_of_row(baseline), result)))
    else:
        lines.append(t._("There is no baseline (week 0) SLEDAI-2K yet, so no change is shown."))
    warnings = calendar_lines(t, entry, event, confirmed=False)
    if same_week is not None:
        warnings.append(
            t._("Week {week} already has a SLEDAI-2K: this one replaces it.", week=week)
        )
    payload = SledaiPayload(
        patient.id,
        patient.study_id,
        week,
        day,
        sledai_items(result),
        result.total,
        result.renal,
        entry.reason,
    )
    await propose(ctx, SLEDAI_KIND, Draft("\n".join(lines), payload, tuple(warnings)))


@dataclass(frozen=True, slots=True)
class SledaiStored:
    study_id: str
    week: int
    result: SledaiScore
    change: SledaiChange | None
    entry: EntryDate | None
    event: tuple[EventKind, int] | None


@dataclass(frozen=True, slots=True)
class SledaiPayload:
    """What Confirm stores for ``/sledai``; ``reason`` is the deviation's, for a date
    outside the week's window."""

    patient_id: int
    study_id: str
    week: int
    assessed_on: date
    items: tuple[SledaiItem, ...]
    total: int
    renal: int
    reason: str | None


def store_sledai(ctx: Ctx, uow: UnitOfWork, payload: SledaiPayload) -> SledaiStored:
    entered = record_sledai(
        uow,
        ctx.services.protocol,
        payload.patient_id,
        payload.study_id,
        week=payload.week,
        assessed_on=payload.assessed_on,
        items=payload.items,
        total=payload.total,
        renal=payload.renal,
        reason=payload.reason,
    )
    row = entered.row
    result = score_of_row(row)
    change = None
    if payload.week > 0:
        baseline = latest_sledai(uow.session, row.patient_id, 0)
        if baseline is not None:
            change = change_from_baseline(score_of_row(baseline), result)
    return SledaiStored(
        payload.study_id, payload.week, result, change, entered.entry, _event_of(entered)
    )


async def after_sledai(ctx: Ctx, stored: SledaiStored) -> None:
    t = ctx.t
    lines = [
        t._(
            "SLEDAI-2K is recorded for {study_id}, week {week}: total {total}, renal subset "
            "{renal}.",
            study_id=stored.study_id,
            week=stored.week,
            total=stored.result.total,
            renal=stored.result.renal,
        )
    ]
    if stored.change is not None:
        lines.append(change_line(t, stored.change))
    lines += calendar_lines(t, stored.entry, stored.event, confirmed=True)
    await ctx.reply("\n".join(lines))


# --- CD20 ------------------------------------------------------------------------------------


def latest_cd20(session: Session, patient_id: int, week: int) -> Cd20Count | None:
    return session.exec(
        select(Cd20Count)
        .where(Cd20Count.patient_id == patient_id)
        .where(Cd20Count.week == week)
        .order_by(col(Cd20Count.entered_at).desc(), col(Cd20Count.id).desc())
    ).first()


def cd20_quantity(row: Cd20Count) -> Quantity:
    return Quantity(Decimal(row.value), Unit(row.unit.value))


def cd20_change_line(t: Translator, change: Cd20Change) -> str:
    baseline = quantity_text(t, change.baseline)
    if not change.comparable or change.change is None:
        return t._(
            "The baseline (week 0) count was {baseline}, a different measure: no change is "
            "computed.",
            baseline=baseline,
        )
    amount = signed(t, change.change) + change.later.unit.suffix
    if change.percent is None:
        return t._(
            "Change from baseline (week 0, {baseline}): {change}.",
            baseline=baseline,
            change=amount,
        )
    return t._(
        "Change from baseline (week 0, {baseline}): {change} ({percent}%).",
        baseline=baseline,
        change=amount,
        percent=signed(t, change.percent),
    )


async def run_cd20(ctx: Ctx, args: list[str]) -> None:
    patient = patient_for_entry(ctx, args)
    assert patient.id is not None
    week = _week(ctx, args)
    words, day, reason = _split_date(ctx, args[2:])
    if not words:
        raise RuleError(N_("Give the CD20 count with its unit, for example 120/uL or 8%."))
    count = parse_quantity(Analyte.CD20, " ".join(words))
    entry, event = _judged(ctx, patient, EventKind.CD20, week, day, reason)
    with read_session(ctx.services.engine) as session:
        same_week = latest_cd20(session, patient.id, week)
        baseline = latest_cd20(session, patient.id, 0) if week > 0 else None
    t = ctx.t
    lines = [
        t._(
            "CD20 B cells for {study_id}, week {week}, collected on {date}: {count}.",
            study_id=patient.study_id,
            week=week,
            date=t.date(day),
            count=quantity_text(t, count),
        )
    ]
    if week == 0:
        lines.append(t._("This is the baseline (week 0)."))
    elif baseline is not None:
        lines.append(cd20_change_line(t, cd20_change(cd20_quantity(baseline), count)))
    else:
        lines.append(t._("There is no baseline (week 0) CD20 count yet, so no change is shown."))
    warnings = calendar_lines(t, entry, event, confirmed=False)
    if same_week is not None:
        warnings.append(
            t._("Week {week} already has a CD20 count: this one replaces it.", week=week)
        )
    unit = Cd20Unit(count.unit.value)
    payload = Cd20Payload(patient.id, patient.study_id, week, day, count.value, unit, entry.reason)
    await propose(ctx, CD20_KIND, Draft("\n".join(lines), payload, tuple(warnings)))


@dataclass(frozen=True, slots=True)
class Cd20Stored:
    study_id: str
    week: int
    count: Quantity
    change: Cd20Change | None
    entry: EntryDate | None
    event: tuple[EventKind, int] | None


@dataclass(frozen=True, slots=True)
class Cd20Payload:
    """What Confirm stores for ``/cd20``; ``reason`` is the deviation's, for a date
    outside the week's window."""

    patient_id: int
    study_id: str
    week: int
    collected_on: date
    value: Decimal
    unit: Cd20Unit
    reason: str | None


def store_cd20(ctx: Ctx, uow: UnitOfWork, payload: Cd20Payload) -> Cd20Stored:
    day = payload.collected_on
    entered = record_cd20(
        uow,
        ctx.services.protocol,
        payload.patient_id,
        payload.study_id,
        week=payload.week,
        value=payload.value,
        unit=payload.unit,
        collected_on=day,
        collected_at=instant_on(ctx, day, ctx.services.protocol.renal_assessment.time),
        reason=payload.reason,
    )
    row = entered.row
    count = cd20_quantity(row)
    change = None
    if payload.week > 0:
        baseline = latest_cd20(uow.session, row.patient_id, 0)
        if baseline is not None:
            change = cd20_change(cd20_quantity(baseline), count)
    return Cd20Stored(
        payload.study_id, payload.week, count, change, entered.entry, _event_of(entered)
    )


async def after_cd20(ctx: Ctx, stored: Cd20Stored) -> None:
    t = ctx.t
    lines = [
        t._(
            "CD20 B cells are recorded for {study_id}, week {week}: {count}.",
            study_id=stored.study_id,
            week=stored.week,
            count=quantity_text(t, stored.count),
        )
    ]
    if stored.change is not None:
        lines.append(cd20_change_line(t, stored.change))
    lines += calendar_lines(t, stored.entry, stored.event, confirmed=True)
    await ctx.reply("\n".join(lines))


# --- registration ------------------------------------------------------------------------------


SLEDAI_COMMAND = StaffCommand(
    "sledai",
    SLEDAI_USAGE,
    run_sledai,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field(
            "week",
            N_("Which week?"),
            choices=week_choices(lambda ctx: ctx.services.protocol.sledai.weeks),
        ),
        Field(
            "items",
            N_(
                "Type the SLEDAI-2K items present, for example haematuria proteinuria "
                "low_complement dsdna, or none (无)."
            ),
        ),
    ),
)

CD20_COMMAND = StaffCommand(
    "cd20",
    CD20_USAGE,
    run_cd20,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field(
            "week",
            N_("Which week?"),
            choices=week_choices(lambda ctx: ctx.services.protocol.cd20.weeks),
        ),
        Field("count", N_("Type the CD20 count, for example 120/uL or 8%.")),
    ),
)


FEATURE = Feature(
    "SLEDAI-2K and CD20",
    staff_commands=[SLEDAI_COMMAND, CD20_COMMAND],
    actions=[
        ActionSpec(SLEDAI_KIND, "sledai", SledaiPayload, store_sledai, after_sledai),
        ActionSpec(CD20_KIND, "cd20", Cd20Payload, store_cd20, after_cd20),
    ],
)
