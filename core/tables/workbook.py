"""The workbook: one sheet per table, one function per sheet.

Rule: values are kept as entered (text), with a standardised numeric column
where one exists (labs: ``value_std`` in µmol/L, g/L or g/24h, exact);
changes from baseline are later value minus the week-0 value (SLEDAI-2K
total and renal subset, docs/clinical-facts.md §5; CD20 in the same unit
only); a lab row ``replaced`` by a later one for the same analyte and week is
kept and marked. Each sheet is sorted by study ID and time. Source: the export requirement
(the sheets). Pure.

The response endpoints are counted as ``/summary`` counts them
(:mod:`core.intention_to_treat`): the ``summary`` sheet has, per arm and
overall, the intention-to-treat figures (every enrolled patient in the
denominator) and the completers-only sensitivity analysis, each with its
exact 95% interval; the ``endpoints`` sheet has one row per enrolled patient,
their category (responder, non-responder, not evaluable, withdrawn, not yet at
week 24) and, for a patient without a week-24 class (a non-responder by
intention to treat), the reason.

A visit's outcome (attended, missed, not done, overdue, planned, cancelled) is
as of the data cut-off (:mod:`core.visits`). The ``codebook`` sheet describes
every column and coded value (:mod:`core.tables.codebook`); the ``about`` sheet
gives the export time, the cut-off, the protocol file's and the bot's versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from core.ae_outcomes import open_at_week
from core.endpoints import PatientEndpoints
from core.intention_to_treat import MissingReason, endpoint_category
from core.messages import RuleError
from core.renal_panel import CASTS, RENAL_ANALYTES
from core.response import ClauseKey
from core.schedule import EventKind
from core.statistics import Proportion
from core.tables.cells import (
    Cell,
    Table,
    coded_term,
    decimal_or_none,
    local_minute,
    number_or_text,
)
from core.tables.codebook import CODEBOOK, ColumnDoc
from core.tables.lab_file import renal_weeks
from core.tables.sdtm import sdtm_study_day
from core.trial_records import SERIOUSNESS_FLAGS, LabRecord, PatientRecord, TrialData
from core.trial_summary import GroupSummary, TrialSummary
from core.units import Analyte, canonical, parse_quantity
from core.visits import visit_outcome

__all__ = [
    "AE_OPEN_WEEK",
    "RELATEDNESS_DRUGS",
    "WORKBOOK_SHEETS",
    "ExportInfo",
    "adverse_events_sheet",
    "workbook_tables",
]

#: The study drugs an adverse event's relatedness is judged against, one column each
#: (:attr:`core.trial_records.AdverseEventRecord.related_to`).
RELATEDNESS_DRUGS: Final = ("belimumab", "mmf", "tacrolimus", "methylprednisolone")

#: The week an adverse event still open is reported at: the end of the 24-week induction
#: (docs/clinical-facts.md §1-§2; the primary endpoint's week).
AE_OPEN_WEEK: Final = 24


WORKBOOK_SHEETS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "patients": (
            "study_id",
            "arm",
            "day0",
            "sex",
            "weight_kg",
            "language",
            "status",
            "birth_year",
            "age",
            "consent_date",
            "withdrawn_on",
            "withdrawal_reason",
        ),
        "visits": (
            "study_id",
            "event",
            "number",
            "week",
            "target_date",
            "scheduled_date",
            "window_days_before",
            "window_days_after",
            "status",
            "outcome",
            "actual_date",
            "deviation_reason",
            "missed_reason",
        ),
        "doses": ("study_id", "drug", "amount", "unit", "date", "study_day", "week", "weight_kg"),
        "labs": (
            "study_id",
            "week",
            "analyte",
            "value",
            "unit",
            "ref_low",
            "ref_high",
            "ref_unit",
            "uti",
            "collected",
            "value_std",
            "unit_std",
            "replaced",
        ),
        "sledai_2k": (
            "study_id",
            "week",
            "assessed_on",
            "total",
            "renal_total",
            "total_change",
            "renal_change",
            "items",
        ),
        "cd20": ("study_id", "week", "value", "unit", "collected", "change_from_baseline"),
        "adverse_events": (
            "study_id",
            "ae_id",
            "verbatim",
            "ctcae_term",
            "soc",
            "coded",
            "ctcae_version",
            "grade",
            "serious",
            *SERIOUSNESS_FLAGS,
            "onset_date",
            "end_date",
            "outcome",
            "open_at_week_24",
            "action",
            "relatedness",
            *(f"related_{drug}" for drug in RELATEDNESS_DRUGS),
        ),
        "responses": (
            "study_id",
            "arm",
            "week",
            "class",
            "cr_met",
            "pr_met",
            *(key.value for key in ClauseKey),
        ),
        "endpoints": (
            "study_id",
            "arm",
            "category",
            "week24_class",
            "cumulative_class",
            "cumulative_cr",
            "cumulative_week",
            "assessed_weeks",
            "missing_reason",
        ),
        "summary": (
            "group",
            "analysis",
            "endpoint",
            "count",
            "n",
            "proportion",
            "ci_low",
            "ci_high",
            "ci_level",
            "as_of",
            "note",
        ),
        "codebook": ("sheet", "column", "description", "type", "unit", "codes"),
        "about": ("item", "value"),
    }
)

ITT = "intention to treat"
COMPLETERS = "sensitivity analysis (completers only)"


def _missing_label(reason: MissingReason, week: int) -> str:
    return {
        MissingReason.INCOMPLETE: f"week-{week} panel incomplete",
        MissingReason.WITHDRAWN_UNASSESSED: "withdrawn before any assessment",
        MissingReason.WITHDRAWN: "withdrawn",
        MissingReason.NO_RESULTS: f"no week-{week} panel",
        MissingReason.NOT_YET: f"not yet at week {week}",
    }[reason]


Row = tuple[Cell, ...]


def _table(name: str, rows: Iterable[Row]) -> Table:
    columns = WORKBOOK_SHEETS[name]
    materialised = tuple(rows)
    for row in materialised:
        if len(row) != len(columns):
            raise ValueError(f"{name}: a row has {len(row)} values for {len(columns)} columns")
    return Table(name, columns, materialised)


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _lab_std(record: LabRecord) -> tuple[Decimal | None, str | None]:
    # Below the detection limit is no measured number to standardise.
    if record.analyte == CASTS or record.below_limit:
        return None, None
    try:
        q = canonical(parse_quantity(Analyte(record.analyte), f"{record.value} {record.unit}"))
    except (RuleError, ValueError):
        return None, None
    return q.value, q.unit.value


def _sledai_items(items: Sequence[str]) -> str:
    return "; ".join(items)


def patients_sheet(data: TrialData) -> Table:
    """One row per patient, by study ID."""
    return _table(
        "patients",
        (
            (
                p.study_id,
                p.arm,
                p.day0,
                p.sex,
                Decimal(p.weight_kg),
                p.language,
                p.status,
                p.birth_year,
                p.age,
                p.consent_date,
                p.withdrawn_on,
                p.withdrawal_reason,
            )
            for p in sorted(data.patients, key=lambda p: p.study_id)
        ),
    )


def visits_sheet(data: TrialData, patients: Mapping[int, PatientRecord], cut_off: date) -> Table:
    """Every scheduled event but the daily oral doses, with its window, stored status, what
    became of it as of the data cut-off (:func:`core.visits.visit_outcome`), and why a
    missed one was missed."""
    events = sorted(
        (e for e in data.events if e.kind is not EventKind.ORAL_DOSE),
        key=lambda e: (patients[e.patient_id].study_id, e.target_date, e.kind.value, e.number),
    )
    return _table(
        "visits",
        (
            (
                patients[e.patient_id].study_id,
                e.kind.value,
                e.number,
                e.week,
                e.target_date,
                e.scheduled_date,
                e.window_before,
                e.window_after,
                e.status,
                visit_outcome(e, cut_off).value,
                e.actual_date,
                e.deviation_reason,
                e.missed_reason,
            )
            for e in events
        ),
    )


def doses_sheet(data: TrialData, patients: Mapping[int, PatientRecord]) -> Table:
    """Every dose given, with its SDTM study day."""
    return _table(
        "doses",
        (
            (
                patients[d.patient_id].study_id,
                d.drug,
                decimal_or_none(d.amount),
                d.unit,
                d.day,
                sdtm_study_day(patients[d.patient_id].day0, d.day),
                d.week,
                decimal_or_none(d.weight_kg),
            )
            for d in sorted(
                data.doses, key=lambda d: (patients[d.patient_id].study_id, d.day, d.id)
            )
        ),
    )


def labs_sheet(data: TrialData, patients: Mapping[int, PatientRecord], zone: tzinfo) -> Table:
    """Every lab row as entered, standardised where it can be; a corrected renal row is marked."""
    current = {record.id for week in renal_weeks(data.labs) for record in week.rows.values()}
    rows: list[Row] = []
    for lab in sorted(
        data.labs,
        key=lambda r: (patients[r.patient_id].study_id, r.week if r.week is not None else -1, r.id),
    ):
        value_std, unit_std = _lab_std(lab)
        renal = lab.analyte in RENAL_ANALYTES
        rows.append(
            (
                patients[lab.patient_id].study_id,
                lab.week,
                lab.analyte,
                f"<{lab.value}" if lab.below_limit else number_or_text(lab.value),
                lab.unit,
                number_or_text(lab.ref_low),
                number_or_text(lab.ref_high),
                lab.ref_unit,
                _flag(lab.uti),
                local_minute(lab.collected_at, zone),
                value_std,
                unit_std,
                _flag(renal and lab.id not in current) if renal else None,
            )
        )
    return _table("labs", rows)


def sledai_sheet(data: TrialData, patients: Mapping[int, PatientRecord]) -> Table:
    """Every SLEDAI-2K assessment, with the change of the total and renal subset from week 0."""
    base_of = {s.patient_id: s for s in data.sledai if s.week == 0}
    rows: list[Row] = []
    for s in sorted(
        data.sledai, key=lambda s: (patients[s.patient_id].study_id, s.week, s.assessed_on)
    ):
        base = base_of.get(s.patient_id)
        later = base is not None and s.week > 0
        rows.append(
            (
                patients[s.patient_id].study_id,
                s.week,
                s.assessed_on,
                s.total,
                s.renal_total,
                s.total - base.total if later and base else None,
                s.renal_total - base.renal_total if later and base else None,
                _sledai_items(s.items),
            )
        )
    return _table("sledai_2k", rows)


def cd20_sheet(data: TrialData, patients: Mapping[int, PatientRecord], zone: tzinfo) -> Table:
    """Every CD20 count, with the change from week 0 when both are in the same unit."""
    base_of = {c.patient_id: c for c in data.cd20 if c.week == 0}
    rows: list[Row] = []
    for c in sorted(
        data.cd20, key=lambda c: (patients[c.patient_id].study_id, c.week, c.collected_at)
    ):
        base = base_of.get(c.patient_id)
        change = (
            Decimal(c.value) - Decimal(base.value)
            if base is not None and c.week > 0 and base.unit == c.unit
            else None
        )
        rows.append(
            (
                patients[c.patient_id].study_id,
                c.week,
                Decimal(c.value),
                c.unit,
                local_minute(c.collected_at, zone),
                change,
            )
        )
    return _table("cd20", rows)


def adverse_events_sheet(
    data: TrialData, patients: Mapping[int, PatientRecord], cut_off: date
) -> Table:
    """Every adverse event, its CTCAE term when coded, one column per seriousness criterion,
    whether it was still open at week 24 (:func:`core.ae_outcomes.open_at_week`: begun
    and not ended by day 0 + 24 weeks; empty while that day is after ``cut_off``), and its
    relatedness to the study treatment overall and to each study drug."""
    rows: list[Row] = []
    for ae in sorted(
        data.adverse_events,
        key=lambda a: (patients[a.patient_id].study_id, a.onset_date, a.id),
    ):
        term = coded_term(ae)
        per_drug = dict(ae.related_to)
        rows.append(
            (
                patients[ae.patient_id].study_id,
                f"AE{ae.id}",
                ae.verbatim,
                term.term_en if term else None,
                term.soc_en if term else None,
                _flag(ae.coded),
                ae.ctcae_version,
                ae.grade,
                _flag(ae.serious),
                *(_flag(flag in ae.criteria) for flag in SERIOUSNESS_FLAGS),
                ae.onset_date,
                ae.end_date,
                ae.outcome,
                _flag(
                    open_at_week(
                        ae.onset_date,
                        ae.end_date,
                        patients[ae.patient_id].day0,
                        AE_OPEN_WEEK,
                        cut_off,
                    )
                ),
                ae.action,
                ae.relatedness,
                *(per_drug.get(drug) for drug in RELATEDNESS_DRUGS),
            )
        )
    return _table("adverse_events", rows)


def responses_sheet(data: TrialData, endpoints: Mapping[str, PatientEndpoints]) -> Table:
    """Each assessed week's response class and whether each clause (and its parts) was met."""
    arm_of = {p.study_id: p.arm for p in data.patients}
    rows: list[Row] = []
    for study_id in sorted(endpoints):
        for week, a in sorted(endpoints[study_id].assessments.items()):
            met = {clause.key: clause.met for clause in a.clauses}
            for clause in a.clauses:
                for part in clause.parts:
                    met[part.key] = part.met
            rows.append(
                (
                    study_id,
                    arm_of.get(study_id),
                    week,
                    a.cls.value,
                    _flag(a.cr_met),
                    _flag(a.pr_met),
                    *(_flag(met.get(key)) for key in ClauseKey),
                )
            )
    return _table("responses", rows)


def endpoints_sheet(
    data: TrialData, endpoints: Mapping[str, PatientEndpoints], summary: TrialSummary
) -> Table:
    """Every enrolled patient: their category at week 24 (:func:`endpoint_category`), week-24
    and cumulative endpoint classes, the weeks assessed, and why a patient without a
    week-24 class has none (counted as a non-responder)."""
    arm_of = {p.study_id: p.arm for p in data.patients}
    week = summary.endpoint_week
    rows: list[Row] = []
    for outcome in summary.outcomes:
        found = endpoints.get(outcome.study_id)
        r = found.result if found is not None else None
        rows.append(
            (
                outcome.study_id,
                arm_of.get(outcome.study_id),
                endpoint_category(outcome).value,
                r.week24.value if r and r.week24 else None,
                r.cumulative.value if r and r.cumulative else None,
                _flag(r.cumulative_cr) if r else None,
                r.cumulative_week if r else None,
                " ".join(str(w) for w in r.weeks) if r else None,
                _missing_label(outcome.missing, week) if outcome.missing else None,
            )
        )
    return _table("endpoints", rows)


def _figure(
    group: GroupSummary, analysis: str, endpoint: str, p: Proportion, as_of: date, note: str | None
) -> Row:
    interval = p.interval
    return (
        group.arm or "all",
        analysis,
        endpoint,
        p.count,
        p.n,
        p.fraction,
        interval.low if interval else None,
        interval.high if interval else None,
        p.confidence,
        as_of,
        note,
    )


def summary_sheet(summary: TrialSummary) -> Table:
    """Per arm, then all patients: each response endpoint by intention to treat, then
    completers only, with its exact (Clopper-Pearson) interval on its own denominator."""
    week = summary.endpoint_week
    as_of = summary.as_of
    rows: list[Row] = []
    for g in summary.groups:
        itt, done = g.itt, g.completers
        interim = f"interim: {itt.not_yet} not yet at week {week}" if itt.not_yet else None
        rows += [
            _figure(g, ITT, f"cumulative CR by week {week}", itt.cumulative_cr, as_of, interim),
            _figure(g, ITT, f"CR at week {week}", itt.cr, as_of, interim),
            _figure(g, ITT, f"PR at week {week}", itt.pr, as_of, interim),
            _figure(g, ITT, f"ORR (CR + PR) at week {week}", itt.orr, as_of, interim),
            _figure(
                g,
                ITT,
                f"non-responders at week {week} (NR or no week-{week} class)",
                itt.non_responders,
                as_of,
                interim,
            ),
            _figure(
                g, COMPLETERS, f"cumulative CR by week {week}", done.cumulative_cr, as_of, None
            ),
            _figure(g, COMPLETERS, f"CR at week {week}", done.cr, as_of, None),
            _figure(g, COMPLETERS, f"PR at week {week}", done.pr, as_of, None),
            _figure(g, COMPLETERS, f"NR at week {week}", done.nr, as_of, None),
            _figure(g, COMPLETERS, f"ORR (CR + PR) at week {week}", done.orr, as_of, None),
        ]
    return _table("summary", rows)


def _codes(doc: ColumnDoc, arm_names: Mapping[str, str]) -> str | None:
    codes = [*doc.codes, *(arm_names.items() if doc.arm_codes else ())]
    return "; ".join(f"{code} = {meaning}" for code, meaning in codes) or None


def codebook_sheet(arm_names: Mapping[str, str]) -> Table:
    """Every column of every sheet, in sheet order (:data:`core.tables.codebook.CODEBOOK`):
    what it holds, its kind, its unit and its codes (the arms: ``arm_names``, the
    protocol file's arms with their names)."""
    rows: list[Row] = []
    for sheet, columns in WORKBOOK_SHEETS.items():
        for column in columns:
            doc = CODEBOOK[sheet][column]
            rows.append(
                (sheet, column, doc.description, doc.kind, doc.unit, _codes(doc, arm_names))
            )
    return _table("codebook", rows)


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What the ``about`` sheet says: when the export was made (an aware instant, from the
    caller's clock, so the same instant gives the same workbook), the data cut-off, the
    protocol file's version and the bot's version; and the arms' names for the codebook."""

    exported_at: datetime
    cut_off: date
    protocol_version: str
    bot_version: str
    arm_names: Mapping[str, str]


def about_sheet(info: ExportInfo, zone: tzinfo) -> Table:
    """When and from what the workbook was made, one item a row."""
    if info.exported_at.tzinfo is None:
        # A naive time would be read in the machine's zone: not the same workbook everywhere.
        raise ValueError("the export time must carry its time zone")
    utc = info.exported_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    local = info.exported_at.astimezone(zone).replace(tzinfo=None, microsecond=0)
    return _table(
        "about",
        (
            ("exported_at_utc", utc),
            ("exported_at_local", local),
            ("time_zone", str(zone)),
            ("data_cut_off", info.cut_off),
            ("protocol_version", info.protocol_version),
            ("bot_version", info.bot_version),
        ),
    )


def workbook_tables(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    zone: tzinfo,
    summary: TrialSummary,
    info: ExportInfo,
) -> tuple[Table, ...]:
    """The workbook's sheets (:data:`WORKBOOK_SHEETS`), in that order.

    ``endpoints`` comes from :func:`core.tables.lab_file.derive_trial_endpoints`,
    ``summary`` from :func:`core.trial_summary.summarize` over the same data, as of
    ``info.cut_off``.
    """
    patients = {p.id: p for p in data.patients}
    return (
        patients_sheet(data),
        visits_sheet(data, patients, info.cut_off),
        doses_sheet(data, patients),
        labs_sheet(data, patients, zone),
        sledai_sheet(data, patients),
        cd20_sheet(data, patients, zone),
        adverse_events_sheet(data, patients, info.cut_off),
        responses_sheet(data, endpoints),
        endpoints_sheet(data, endpoints, summary),
        summary_sheet(summary),
        codebook_sheet(info.arm_names),
        about_sheet(info, zone),
    )
