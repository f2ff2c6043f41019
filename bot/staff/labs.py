"""/labs: renal results of one week, and the response once the week's panel is complete.

``/labs P01 w24 protein=0.25g/24h rbc=2/hpf wbc=3/hpf casts=none alb=39g/L
scr=69umol/L`` (any subset; also ``scr_uln=`` the result's own creatinine
upper limit, ``uti=yes``, ``date=YYYY-MM-DD`` the collection date, today when
left out). Keys have Chinese names too (蛋白, 红细胞, 白细胞, 管型, 白蛋白, 肌酐).
Values are read by :func:`core.units.parse_quantity`: kept exactly as typed
with their unit, and impossible values refused naming the accepted range
(docs/clinical-facts.md §4); a 24-hour urine protein the laboratory reports
only as below its detection limit is typed as such (``protein=<0.1g/24h``)
and stored as below that value. The results are linked to that week's renal assessment
when the plan has one.

The collection date must fall in the week's window (:mod:`core.entry_calendar`,
docs/clinical-facts.md §2; week 0's is the baseline window): outside it the
summary says how many days outside and the entry needs ``reason=...`` (the
rest of the message), recorded as a protocol deviation; a date before the
window opens by more than the window itself is refused. The results mark
done only the week's own assessment, and never before its window opens.

When the week's six results are all in (:mod:`core.renal_panel`), the
response is classified against week 0 (:func:`core.response.classify`, the
registry's CR/PR definitions) and shown with every clause to the sender and
to every coordinator; a complete week 0 is the baseline, and the sender is
told so.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.outputs.followup import load_progress, progress_text
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.clinical import (
    calendar_lines,
    instant_on,
    last_week,
    patient_for_entry,
    quantity_text,
    week_choices,
)
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.views.response import assessment_lines
from core.entry_calendar import EntryDate
from core.entry_syntax import (
    parse_entry_date,
    parse_options,
    parse_week,
    parse_yes_no,
    split_reason,
)
from core.messages import N_, RuleError
from core.renal_panel import (
    CASTS,
    CREATININE,
    URINE_ANALYTES,
    casts_row,
    panel_from_results,
)
from core.response import Assessment, Sex, classify
from core.schedule import EventKind
from core.store.clinical import (
    LabValue,
    assessment_entry,
    lab_rows,
    record_lab_panel,
    stored_results,
)
from core.store.db import read_session
from core.store.models import StaffRole
from core.store.uow import UnitOfWork
from core.units import ANALYTE_LABELS, Analyte, Quantity, Unit, parse_casts, parse_quantity

log = logging.getLogger(__name__)

KIND = "labs"

USAGE = N_(
    "/labs <study ID> w<week> protein=... rbc=... wbc=... casts=... alb=... scr=... "
    "[scr_uln=...] [uti=yes] [date=YYYY-MM-DD] [reason=...]  e.g. /labs P01 w24 protein=0.25g/24h "
    "rbc=2/hpf wbc=3/hpf casts=none alb=39g/L scr=69umol/L"
)

OPTION_KEYS = {
    "protein": "protein",
    "蛋白": "protein",
    "尿蛋白": "protein",
    "rbc": "rbc",
    "红细胞": "rbc",
    "wbc": "wbc",
    "白细胞": "wbc",
    "casts": "casts",
    "cast": "casts",
    "管型": "casts",
    "alb": "alb",
    "albumin": "alb",
    "白蛋白": "alb",
    "scr": "scr",
    "creatinine": "scr",
    "肌酐": "scr",
    "scr_uln": "scr_uln",
    "肌酐上限": "scr_uln",
    "uti": "uti",
    "尿路感染": "uti",
    "date": "date",
    "日期": "date",
}

# The keys that name a result (every key but the collection's uti= and date=).
RESULT_KEYS = {word: key for word, key in OPTION_KEYS.items() if key not in {"uti", "date"}}

# Which analyte each key stores (lab_result.analyte, as in the lab file export).
ANALYTE_OF_KEY: dict[str, Analyte] = {
    "protein": Analyte.URINE_PROTEIN_24H,
    "rbc": Analyte.URINE_RBC,
    "wbc": Analyte.URINE_WBC,
    "alb": Analyte.SERUM_ALBUMIN,
    "scr": Analyte.SERUM_CREATININE,
}

CASTS_LABEL = N_("Cellular casts")
CASTS_NAMES: dict[str, str] = {
    "none": N_("none"),
    "rbc": N_("RBC casts"),
    "wbc": N_("WBC casts"),
    "rbc+wbc": N_("RBC and WBC casts"),
}


def analyte_label(t: Translator, analyte: str) -> str:
    if analyte == CASTS:
        return t._(CASTS_LABEL)
    return t._(ANALYTE_LABELS[Analyte(analyte)])


def result_text(t: Translator, row: LabValue) -> str:
    """One result as entered: "Serum creatinine: 69 µmol/L"."""
    label = analyte_label(t, row.analyte)
    return t._("{analyte}: {value}", analyte=label, value=result_value_text(t, row))


def result_value_text(t: Translator, row: LabValue) -> str:
    """A result's value as entered, without its name: "69 µmol/L (upper limit 73 µmol/L)"."""
    if row.analyte == CASTS:
        return t._(CASTS_NAMES[row.unit])
    value = quantity_text(t, Quantity(row.value, Unit(row.unit)))
    if row.below_limit:
        value = t._("below {limit}", limit=value)
    if row.ref_high is not None and row.ref_unit is not None:
        uln = quantity_text(t, Quantity(row.ref_high, Unit(row.ref_unit)))
        return t._("{value} (upper limit {uln})", value=value, uln=uln)
    return value


def below_detection_limit(analyte: Analyte, text: str) -> tuple[str, bool]:
    """The value text without a leading ``<``, and whether it had one.

    A 24-hour urine protein reported below the laboratory's detection limit
    (``<0.1g/24h``) is stored as below that value, as the lab file reads it
    (README, choices table); any other analyte keeps the refusal of a limit.
    """
    clean = unicodedata.normalize("NFKC", text).strip()
    if analyte is Analyte.URINE_PROTEIN_24H and clean.startswith("<") and clean[1:2] != "=":
        return clean[1:], True
    return text, False


def missing_text(t: Translator, missing: tuple[str, ...]) -> str:
    return t.join([analyte_label(t, a) for a in missing])


def default_uln_text(ctx: Ctx, sex: Sex) -> str:
    """Which protocol default judges a creatinine entered without its own upper limit."""
    protocol, t = ctx.services.protocol, ctx.t
    uln = quantity_text(t, protocol.response_options().default_creatinine_uln(sex))
    source = protocol.reference_ranges.creatinine_uln_source
    if sex is Sex.F:
        return t._(
            "No upper limit came with the creatinine result: the protocol's limit for women, "
            "{uln} ({source}), will be used. If the lab printed its own, add scr_uln=.",
            uln=uln,
            source=source,
        )
    return t._(
        "No upper limit came with the creatinine result: the protocol's limit for men, "
        "{uln} ({source}), will be used. If the lab printed its own, add scr_uln=.",
        uln=uln,
        source=source,
    )


def results_from_options(options: Mapping[str, tuple[str, ...]]) -> list[LabValue]:
    """The results typed as ``key=value`` (keys of :data:`RESULT_KEYS`): the one reading
    of result values, for ``/labs`` and ``/correct``.

    Each value is read by :func:`core.units.parse_quantity` (units as typed, impossible
    values refused naming the range); ``scr_uln=`` belongs to a ``scr=`` given with it.
    """
    results: list[LabValue] = []
    for key, analyte in ANALYTE_OF_KEY.items():
        if key in options:
            text, below = below_detection_limit(analyte, options[key][0])
            q = parse_quantity(analyte, text)
            results.append(LabValue(analyte.value, q.value, q.unit.value, below_limit=below))
    if "casts" in options:
        value, unit = casts_row(parse_casts(options["casts"][0]))
        results.append(LabValue(CASTS, Decimal(value), unit))
    if "scr_uln" in options:
        at = next((i for i, r in enumerate(results) if r.analyte == CREATININE), None)
        if at is None:
            raise RuleError(
                N_("scr_uln= is the upper limit printed with a creatinine result: give scr= too.")
            )
        uln = parse_quantity(Analyte.SERUM_CREATININE, options["scr_uln"][0])
        results[at] = replace(results[at], ref_high=uln.value, ref_unit=uln.unit.value)
    return results


# --- the one-message form ---------------------------------------------------------------


async def run(ctx: Ctx, args: list[str]) -> None:
    patient = patient_for_entry(ctx, args)
    assert patient.id is not None
    if len(args) < 2:
        raise RuleError(N_("After the study ID, give the week, for example w24."))
    week = parse_week(args[1], last_week=last_week(ctx))
    words, reason = split_reason(args[2:])
    options = parse_options(words, OPTION_KEYS)
    results = results_from_options(options)
    uti = parse_yes_no(options["uti"][0]) if "uti" in options else False
    if not results:
        raise RuleError(N_("Give at least one result, for example protein=0.25g/24h."))
    if uti and not any(r.analyte in URINE_ANALYTES for r in results):
        raise RuleError(
            N_("uti=yes belongs to a urine result: give it with protein, rbc, wbc or casts.")
        )
    collected = ctx.today()
    if "date" in options:
        collected = parse_entry_date(options["date"][0], today=collected)

    protocol = ctx.services.protocol
    kind = EventKind.RENAL_ASSESSMENT
    with read_session(ctx.services.engine) as session:
        event, entry = assessment_entry(session, protocol, patient, kind, week, collected, reason)
        earlier = lab_rows(session, patient.id, week)
    t = ctx.t
    lines = [
        t._(
            "Lab results for {study_id}, week {week}, collected on {date}:",
            study_id=patient.study_id,
            week=week,
            date=t.date(collected),
        )
    ]
    lines += ["  " + result_text(t, row) for row in results]
    if uti:
        lines.append(
            t._(
                "A urinary tract infection is recorded: white cells do not count toward "
                "active sediment."
            )
        )
    if any(r.analyte == CREATININE and r.ref_high is None for r in results):
        lines.append(default_uln_text(ctx, patient.sex))
    warnings = calendar_lines(
        t, entry, (kind, event.number) if event is not None else None, confirmed=False
    )
    before = {r.analyte for r in earlier}
    for row in results:
        if row.analyte in before:
            warnings.append(
                t._(
                    "Week {week} already has a result for {analyte}: this one replaces it.",
                    week=week,
                    analyte=analyte_label(t, row.analyte),
                )
            )
    if event is None:
        warnings.append(
            t._(
                "There is no planned renal assessment in week {week}: the results are stored "
                "for week {week} without one.",
                week=week,
            )
        )
    payload = LabsPayload(
        patient.id, patient.study_id, week, collected, uti, tuple(results), entry.reason
    )
    await propose(ctx, KIND, Draft("\n".join(lines), payload, tuple(warnings)))


# --- Confirm ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    study_id: str
    week: int
    count: int
    missing: tuple[str, ...]
    assessment: Assessment | None
    has_baseline: bool
    entry: EntryDate
    event: tuple[EventKind, int] | None


@dataclass(frozen=True, slots=True)
class LabsPayload:
    """What Confirm stores for ``/labs``; ``reason`` is the deviation's, for a collection
    date outside the week's window."""

    patient_id: int
    study_id: str
    week: int
    collected: date
    uti: bool
    results: tuple[LabValue, ...]
    reason: str | None


def store(ctx: Ctx, uow: UnitOfWork, payload: LabsPayload) -> Stored:
    protocol = ctx.services.protocol
    stored = record_lab_panel(
        uow,
        protocol,
        payload.patient_id,
        payload.study_id,
        week=payload.week,
        collected_on=payload.collected,
        collected_at=instant_on(ctx, payload.collected, protocol.renal_assessment.time),
        uti=payload.uti,
        results=payload.results,
        reason=payload.reason,
    )
    patient, week = stored.patient, payload.week
    assert patient.id is not None
    assessment = None
    has_baseline = week == 0
    if not stored.missing and week > 0:
        baseline_rows = stored_results(lab_rows(uow.session, patient.id, 0))
        has_baseline = bool(baseline_rows)
        assessment = classify(
            panel_from_results(baseline_rows),
            panel_from_results(stored.results),
            patient.sex,
            protocol.response_options(),
        )
        log.info("%s week %d renal response %s", patient.study_id, week, assessment.cls)
    event = stored.event
    return Stored(
        patient.study_id,
        week,
        len(payload.results),
        stored.missing,
        assessment,
        has_baseline,
        stored.entry,
        (event.kind, event.number) if event is not None else None,
    )


def response_text(t: Translator, stored: Stored) -> str:
    """The week's class and each clause, in one reader's language."""
    assert stored.assessment is not None
    return panel_response_text(
        t, stored.study_id, stored.week, stored.assessment, stored.has_baseline
    )


def panel_response_text(
    t: Translator, study_id: str, week: int, assessment: Assessment, has_baseline: bool
) -> str:
    """A complete week's class and each clause (after ``/labs`` and ``/correct``)."""
    lines = [
        t._(
            "Renal panel of {study_id}, week {week}, is complete. Response:",
            study_id=study_id,
            week=week,
        )
    ]
    lines += assessment_lines(t, assessment)
    if not has_baseline:
        lines.append(
            t._(
                "There is no baseline (week 0) panel yet, so the partial-response clauses "
                "cannot be judged."
            )
        )
    return "\n".join(lines)


async def after(ctx: Ctx, stored: Stored) -> None:
    t = ctx.t
    lines = [
        t.n_(
            "Stored {n} result for {study_id}, week {week}.",
            "Stored {n} results for {study_id}, week {week}.",
            stored.count,
            study_id=stored.study_id,
            week=stored.week,
        )
    ]
    if stored.missing:
        lines.append(
            t._(
                "Still missing for week {week}: {missing}.",
                week=stored.week,
                missing=missing_text(t, stored.missing),
            )
        )
    elif stored.week == 0:
        lines.append(
            t._(
                "The baseline (week 0) renal panel of {study_id} is complete.",
                study_id=stored.study_id,
            )
        )
    lines += calendar_lines(t, stored.entry, stored.event, confirmed=True)
    await ctx.reply("\n".join(lines))
    if stored.assessment is not None:
        # The response summary: the class with each clause, then the cumulative status (and,
        # at week 24, that the patient completed it and what is still missing).
        progress = load_progress(ctx.services, stored.study_id, stored.week)

        def message(reader: Translator) -> str:
            return response_text(reader, stored) + "\n" + progress_text(reader, progress)

        await ctx.reply(message(t))
        await ctx.router.alert_staff(message, roles=[StaffRole.COORDINATOR])


# --- the guided flow ----------------------------------------------------------------------


COMMAND = StaffCommand(
    "labs",
    USAGE,
    run,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field(
            "week",
            N_("Which week?"),
            choices=week_choices(lambda ctx: ctx.services.protocol.renal_assessment.weeks),
        ),
        Field(
            "values",
            N_(
                "Type the results as key=value, for example protein=0.25g/24h rbc=2/hpf "
                "wbc=3/hpf casts=none alb=39g/L scr=69umol/L"
            ),
        ),
    ),
)


FEATURE = Feature(
    "renal labs",
    staff_commands=[COMMAND],
    actions=[
        ActionSpec(KIND, "labs", LabsPayload, store, after),
    ],
)
