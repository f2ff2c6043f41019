"""The statistician's tables: the long-format lab file, the workbook sheets, SDTM datasets.

Pure: every function takes :class:`~core.trial_records.TrialData` (and the
trial's time zone for local dates) and returns rows; writing them to
``.xlsx``/``.csv`` is the bot's job. Rows are sorted, so the same data always
gives the same files. Study IDs only: no Telegram id, no name, no actor.

The long-format lab file is the one ``python -m bot endpoints --labs`` reads
(:data:`core.endpoints.COLUMNS`). It holds each renal result once, as the
response rules read the store (:func:`core.renal_panel.panel_from_results`): the
latest row for an analyte and week (a later row is a correction); a urinary
tract infection recorded on any result of a week applies to the week's urine;
casts are written as ``none``, ``rbc``, ``wbc`` or ``rbc+wbc``; the
creatinine row carries its own upper limit in the row's unit. Rows without a
protocol week, with a negative week, or that cannot be read are left out (the
response rules leave them out too).

SDTM-style datasets follow the CDISC SDTM Implementation Guide v3.4 variable
names for DM, EX, LB and AE; dates are ISO 8601 (``YYYY-MM-DD``, date-times
``YYYY-MM-DDThh:mm`` in the trial's local time). Study day (``--DY``) follows
SDTM: the reference start date (day 0 of the protocol, ``RFSTDTC``) is day 1,
the day before it day -1 (there is no day 0). Choices where the facts are
silent: ``USUBJID`` is ``<registry id>-<study ID>``; test codes are listed in
:data:`LB_TESTS`; doses use the drug names in :data:`EX_TREATMENTS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from core.adverse_events import match_term, term_by_key
from core.ctcae_terms import CtcaeTerm
from core.endpoints import COLUMNS, PatientEndpoints, derive_endpoints
from core.messages import RuleError
from core.renal_panel import CASTS, RENAL_ANALYTES, StoredResult, panel_from_results
from core.response import ClauseKey, RenalPanel, ResponseOptions
from core.schedule import EventKind
from core.trial_records import (
    SERIOUSNESS_FLAGS,
    AdverseEventRecord,
    LabRecord,
    PatientRecord,
    TrialData,
)
from core.units import Analyte, CastKind, Quantity, canonical, parse_quantity

__all__ = [
    "AE_COLUMNS",
    "DM_COLUMNS",
    "EX_COLUMNS",
    "EX_TREATMENTS",
    "LB_COLUMNS",
    "LB_TESTS",
    "WORKBOOK_SHEETS",
    "Cell",
    "RenalWeek",
    "SdtmOptions",
    "Table",
    "derive_trial_endpoints",
    "long_lab_rows",
    "renal_weeks",
    "sdtm_study_day",
    "sdtm_tables",
    "workbook_tables",
]

Cell = str | int | Decimal | date | datetime | bool | None


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: column names and rows (one value per column)."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _casts_text(kinds: frozenset[CastKind]) -> str:
    names = sorted(kind.value for kind in kinds)
    return "+".join(names) if names else "none"


@dataclass(frozen=True, slots=True)
class RenalWeek:
    """A patient's renal panel of one protocol week, and the stored row behind each value."""

    patient_id: int
    week: int
    panel: RenalPanel
    rows: Mapping[str, LabRecord]


def _stored(record: LabRecord) -> StoredResult:
    return StoredResult(
        record.analyte, record.value, record.unit, record.ref_high, record.ref_unit, record.uti
    )


def renal_weeks(labs: Iterable[LabRecord]) -> list[RenalWeek]:
    """Each patient's renal panel per week, as the response rules read the store.

    Rule: :func:`core.renal_panel.panel_from_results` over the week's rows in
    the order they were entered (a later row of an analyte corrects an earlier
    one); rows without a protocol week or with a negative one are left out,
    and so is a week whose rows cannot be read (as
    :func:`core.patient_response.patient_response` does). Sorted by patient
    row id and week.
    """
    groups: dict[tuple[int, int], list[LabRecord]] = {}
    for record in sorted(labs, key=lambda r: (r.entered_at, r.id)):
        if record.analyte not in RENAL_ANALYTES or record.week is None or record.week < 0:
            continue
        groups.setdefault((record.patient_id, record.week), []).append(record)
    out: list[RenalWeek] = []
    for (patient_id, week), records in sorted(groups.items()):
        try:
            panel = panel_from_results(_stored(r) for r in records)
        except (ValueError, ArithmeticError):
            continue
        out.append(RenalWeek(patient_id, week, panel, {r.analyte: r for r in records}))
    return out


def _panel_values(panel: RenalPanel) -> list[tuple[str, Quantity | frozenset[CastKind]]]:
    values: list[tuple[str, Quantity | frozenset[CastKind] | None]] = [
        ("urine_protein_24h", panel.protein),
        ("urine_rbc", panel.rbc),
        ("urine_wbc", panel.wbc),
        (CASTS, panel.casts),
        ("serum_albumin", panel.albumin),
        ("serum_creatinine", panel.creatinine),
    ]
    return [(name, value) for name, value in values if value is not None]


def long_lab_rows(data: TrialData) -> list[dict[str, str]]:
    """The long-format lab file (``core.endpoints.COLUMNS``), sorted by study ID, week, analyte.

    Rule: one row per value of each week's panel (:func:`renal_weeks`), the
    value written exactly as stored (``0.40`` stays ``0.40``) with its unit as
    a ``core.units.Unit`` code, which ``parse_quantity`` reads back; casts as
    ``none``, ``rbc``, ``wbc`` or ``rbc+wbc``; the week's urinary tract
    infection flag on every row of the week; the creatinine row carries its
    own upper limit. When that limit is in another unit than the value, both
    are written in µmol/L (exact: x 88.4), so every comparison is unchanged.
    Source: core.endpoints module docstring (the file format);
    docs/clinical-facts.md §4 (the conversion).
    """
    patients = {p.id: p for p in data.patients}
    out: list[dict[str, str]] = []
    for week in renal_weeks(data.labs):
        patient = patients[week.patient_id]
        for analyte, value in _panel_values(week.panel):
            row = dict.fromkeys(COLUMNS, "")
            row.update(
                patient_id=patient.study_id,
                sex=patient.sex,
                week=str(week.week),
                analyte=analyte,
                uti="yes" if week.panel.uti else "no",
            )
            if isinstance(value, frozenset):
                row["value"] = _casts_text(value)
            else:
                q, uln = value, None
                if analyte == "serum_creatinine" and week.panel.creatinine_uln is not None:
                    uln = week.panel.creatinine_uln
                    if uln.unit is not q.unit:
                        q, uln = canonical(q), canonical(uln)
                row["value"] = _plain(q.value)
                row["unit"] = q.unit.value
                row["uln"] = "" if uln is None else _plain(uln.value)
            out.append(row)
    order = {name: i for i, name in enumerate(RENAL_ANALYTES)}
    return sorted(out, key=lambda r: (r["patient_id"], int(r["week"]), order[r["analyte"]]))


def derive_trial_endpoints(
    data: TrialData, options: ResponseOptions | None = None
) -> dict[str, PatientEndpoints]:
    """Each patient's assessments and endpoint classes, derived from the long-format lab file.

    Rule: :func:`core.endpoints.derive_endpoints` over :func:`long_lab_rows`,
    so what coordinators see is exactly what ``python -m bot endpoints``
    derives from the exported file. Keyed by study ID.
    """
    rows = long_lab_rows(data)
    return {e.patient_id: e for e in derive_endpoints(enumerate(rows, start=2), options)}


# --------------------------------------------------------------------------- workbook

WORKBOOK_SHEETS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "patients": ("study_id", "arm", "day0", "sex", "weight_kg", "language", "status"),
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
            "actual_date",
            "deviation_reason",
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
            "relatedness",
            "action",
            "outcome",
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
            "week24_class",
            "cumulative_class",
            "cumulative_cr",
            "cumulative_week",
            "assessed_weeks",
        ),
    }
)


def _local(instant: datetime, zone: tzinfo) -> datetime:
    # Local wall-clock time, naive, minute precision: what the site's records show.
    return instant.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _table(name: str, rows: Iterable[tuple[Cell, ...]]) -> Table:
    columns = WORKBOOK_SHEETS[name]
    materialised = tuple(rows)
    for row in materialised:
        if len(row) != len(columns):
            raise ValueError(f"{name}: a row has {len(row)} values for {len(columns)} columns")
    return Table(name, columns, materialised)


def _ctcae(event: AdverseEventRecord) -> CtcaeTerm | None:
    if not event.coded or not event.term:
        return None
    try:
        return term_by_key(event.term)
    except KeyError:
        match = match_term(event.term)
        return match.term if match is not None else None


def _sledai_items(items: Sequence[str]) -> str:
    return "; ".join(items)


def _lab_std(record: LabRecord) -> tuple[Decimal | None, str | None]:
    if record.analyte == CASTS:
        return None, None
    try:
        q = canonical(parse_quantity(Analyte(record.analyte), f"{record.value} {record.unit}"))
    except (RuleError, ValueError):
        return None, None
    return q.value, q.unit.value


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def workbook_tables(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    zone: tzinfo,
) -> tuple[Table, ...]:
    """The workbook's sheets (:data:`WORKBOOK_SHEETS`), each sorted by study ID and time.

    Rule: values are kept as entered (text), with a standardised numeric
    column where one exists (labs: ``value_std`` in µmol/L, g/L or g/24h,
    exact); changes from baseline are later value minus the week-0 value
    (SLEDAI-2K total and renal subset, docs/clinical-facts.md §5; CD20 in the
    same unit only); a lab row ``replaced`` by a later one for the same
    analyte and week is kept and marked. ``endpoints`` comes from
    :func:`derive_trial_endpoints`. Source: the export requirement (the sheets).
    """
    patients = {p.id: p for p in data.patients}

    def sid(patient_id: int) -> str:
        return patients[patient_id].study_id

    def order(patient_id: int) -> str:
        return sid(patient_id)

    patient_rows = [
        (p.study_id, p.arm, p.day0, p.sex, Decimal(p.weight_kg), p.language, p.status)
        for p in sorted(data.patients, key=lambda p: p.study_id)
    ]
    events = sorted(
        (e for e in data.events if e.kind is not EventKind.ORAL_DOSE),
        key=lambda e: (order(e.patient_id), e.target_date, e.kind.value, e.number),
    )
    visit_rows = [
        (
            sid(e.patient_id),
            e.kind.value,
            e.number,
            e.week,
            e.target_date,
            e.scheduled_date,
            e.window_before,
            e.window_after,
            e.status,
            e.actual_date,
            e.deviation_reason,
        )
        for e in events
    ]
    dose_rows = [
        (
            sid(d.patient_id),
            d.drug,
            _number(d.amount),
            d.unit,
            d.day,
            sdtm_study_day(patients[d.patient_id].day0, d.day),
            d.week,
            _number(d.weight_kg),
        )
        for d in sorted(data.doses, key=lambda d: (order(d.patient_id), d.day, d.id))
    ]
    current = {record.id for week in renal_weeks(data.labs) for record in week.rows.values()}
    lab_rows = []
    for lab in sorted(
        data.labs, key=lambda r: (order(r.patient_id), r.week if r.week is not None else -1, r.id)
    ):
        value_std, unit_std = _lab_std(lab)
        renal = lab.analyte in RENAL_ANALYTES
        lab_rows.append(
            (
                sid(lab.patient_id),
                lab.week,
                lab.analyte,
                lab.value,
                lab.unit,
                lab.ref_low,
                lab.ref_high,
                lab.ref_unit,
                _flag(lab.uti),
                _local(lab.collected_at, zone),
                value_std,
                unit_std,
                _flag(renal and lab.id not in current) if renal else None,
            )
        )
    sledai_base = {s.patient_id: s for s in data.sledai if s.week == 0}
    sledai_rows = []
    for s in sorted(data.sledai, key=lambda s: (order(s.patient_id), s.week, s.assessed_on)):
        base = sledai_base.get(s.patient_id)
        later = base is not None and s.week > 0
        sledai_rows.append(
            (
                sid(s.patient_id),
                s.week,
                s.assessed_on,
                s.total,
                s.renal_total,
                s.total - base.total if later and base else None,
                s.renal_total - base.renal_total if later and base else None,
                _sledai_items(s.items),
            )
        )
    cd20_base = {c.patient_id: c for c in data.cd20 if c.week == 0}
    cd20_rows = []
    for c in sorted(data.cd20, key=lambda c: (order(c.patient_id), c.week, c.collected_at)):
        cbase = cd20_base.get(c.patient_id)
        change = (
            Decimal(c.value) - Decimal(cbase.value)
            if cbase is not None and c.week > 0 and cbase.unit == c.unit
            else None
        )
        cd20_rows.append(
            (
                sid(c.patient_id),
                c.week,
                Decimal(c.value),
                c.unit,
                _local(c.collected_at, zone),
                change,
            )
        )
    ae_rows = []
    for ae in sorted(data.adverse_events, key=lambda a: (order(a.patient_id), a.onset_date, a.id)):
        term = _ctcae(ae)
        ae_rows.append(
            (
                sid(ae.patient_id),
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
                ae.relatedness,
                ae.action,
                ae.outcome,
            )
        )
    arm_of = {p.study_id: p.arm for p in data.patients}
    response_rows = []
    endpoint_rows = []
    for study_id in sorted(endpoints):
        e = endpoints[study_id]
        for week, a in sorted(e.assessments.items()):
            met = {clause.key: clause.met for clause in a.clauses}
            for clause in a.clauses:
                for part in clause.parts:
                    met[part.key] = part.met
            response_rows.append(
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
        r = e.result
        endpoint_rows.append(
            (
                study_id,
                arm_of.get(study_id),
                r.week24.value if r.week24 else None,
                r.cumulative.value if r.cumulative else None,
                _flag(r.cumulative_cr),
                r.cumulative_week,
                " ".join(str(w) for w in r.weeks),
            )
        )
    return (
        _table("patients", patient_rows),
        _table("visits", visit_rows),
        _table("doses", dose_rows),
        _table("labs", lab_rows),
        _table("sledai_2k", sledai_rows),
        _table("cd20", cd20_rows),
        _table("adverse_events", ae_rows),
        _table("responses", response_rows),
        _table("endpoints", endpoint_rows),
    )


# --------------------------------------------------------------------------- SDTM

DM_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "SUBJID",
    "RFSTDTC",
    "RFENDTC",
    "SITEID",
    "AGE",
    "AGEU",
    "SEX",
    "ARMCD",
    "ARM",
    "ACTARMCD",
    "ACTARM",
    "COUNTRY",
)
EX_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "EXSEQ",
    "EXTRT",
    "EXDOSE",
    "EXDOSU",
    "EXROUTE",
    "EXSTDTC",
    "EXENDTC",
    "EXSTDY",
    "VISITNUM",
    "VISIT",
)
LB_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "LBSEQ",
    "LBTESTCD",
    "LBTEST",
    "LBCAT",
    "LBSPEC",
    "LBORRES",
    "LBORRESU",
    "LBORNRLO",
    "LBORNRHI",
    "LBSTRESC",
    "LBSTRESN",
    "LBSTRESU",
    "VISITNUM",
    "VISIT",
    "LBDTC",
    "LBDY",
)
AE_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "AESEQ",
    "AESPID",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "AETOXGR",
    "AESER",
    "AESDTH",
    "AESLIFE",
    "AESHOSP",
    "AESDISAB",
    "AESCONG",
    "AESMIE",
    "AEREL",
    "AEACN",
    "AEOUT",
    "AESTDTC",
    "AESTDY",
)


@dataclass(frozen=True, slots=True)
class LbTest:
    """How one analyte is named in LB: test code (8 characters at most), name, category, specimen."""

    code: str
    name: str
    category: str
    specimen: str


LB_TESTS: Final[Mapping[str, LbTest]] = MappingProxyType(
    {
        "urine_protein_24h": LbTest("PROT", "Protein, 24-Hour Urine", "URINE CHEMISTRY", "URINE"),
        "urine_rbc": LbTest("RBC", "Erythrocytes", "URINALYSIS", "URINE"),
        "urine_wbc": LbTest("WBC", "Leukocytes", "URINALYSIS", "URINE"),
        "urine_casts": LbTest("CASTS", "Cellular Casts", "URINALYSIS", "URINE"),
        "serum_albumin": LbTest("ALB", "Albumin", "CHEMISTRY", "SERUM"),
        "serum_creatinine": LbTest("CREAT", "Creatinine", "CHEMISTRY", "SERUM"),
        "cd20": LbTest("CD20", "CD20 B Lymphocytes", "IMMUNOLOGY", "BLOOD"),
    }
)

# (EXTRT, EXROUTE) per drug code stored with a dose.
EX_TREATMENTS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "belimumab": ("BELIMUMAB", "INTRAVENOUS"),
        "mp": ("METHYLPREDNISOLONE", "INTRAVENOUS"),
        "mmf": ("MYCOPHENOLATE MOFETIL", "ORAL"),
        "tacrolimus": ("TACROLIMUS", "ORAL"),
    }
)


@dataclass(frozen=True, slots=True)
class SdtmOptions:
    """Study-level values SDTM needs that the records don't hold.

    ``arm_names`` maps an arm code to its description (ARM); a missing one is
    the code itself. ``site_id`` and ``country`` (ISO 3166-1 alpha-3) are for
    a single-centre trial in China (docs/clinical-facts.md §1).
    """

    study_id: str
    arm_names: Mapping[str, str] = field(default_factory=dict)
    site_id: str = "01"
    country: str = "CHN"


def sdtm_study_day(reference: date, day: date) -> int:
    """SDTM study day: the reference start date is day 1, the day before it day -1.

    Rule: --DY = (date - RFSTDTC) + 1 on or after RFSTDTC, else date - RFSTDTC
    (SDTMIG v3.4 section 4.4.4: there is no study day 0).
    """
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def _iso(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _plain(value)
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, date | datetime):
        return _iso(value)
    return str(value)


def _sdtm_table(name: str, columns: tuple[str, ...], rows: Iterable[Mapping[str, Cell]]) -> Table:
    return Table(name, columns, tuple(tuple(_text(row.get(c)) for c in columns) for row in rows))


def _visit(week: int | None) -> tuple[Cell, Cell]:
    return (None, None) if week is None else (week, f"WEEK {week}")


def _yn(value: bool) -> str:
    return "Y" if value else "N"


def _upper(value: str | None) -> str | None:
    return None if value is None else value.replace("_", " ").upper()


def _lb_rows(
    data: TrialData, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord], zone: tzinfo
) -> list[dict[str, Cell]]:
    keyed: list[tuple[tuple[str, int, int, str], dict[str, Cell]]] = []
    analyte_order = {name: i for i, name in enumerate(LB_TESTS)}
    for week in renal_weeks(data.labs):
        for analyte, value in _panel_values(week.panel):
            record = week.rows[analyte]
            test = LB_TESTS[analyte]
            row: dict[str, Cell] = {
                "LBTESTCD": test.code,
                "LBTEST": test.name,
                "LBCAT": test.category,
                "LBSPEC": test.specimen,
            }
            if isinstance(value, frozenset):
                text = _casts_text(value).upper()
                row.update(LBORRES=text, LBSTRESC=text)
            else:
                std = canonical(value)
                uln = week.panel.creatinine_uln if analyte == "serum_creatinine" else None
                row.update(
                    LBORRES=_plain(value.value),
                    LBORRESU=value.unit.value,
                    LBORNRLO=record.ref_low,
                    # A limit in another unit than the result is no LBORRESU range.
                    LBORNRHI=(
                        _plain(uln.value)
                        if uln is not None and uln.unit is value.unit
                        else record.ref_high
                        if uln is None and record.ref_unit in (None, record.unit)
                        else None
                    ),
                    LBSTRESC=_plain(std.value),
                    LBSTRESN=std.value,
                    LBSTRESU=std.unit.value,
                )
            row.update(
                _lb_common(
                    record.patient_id, week.week, record.collected_at, usubjid, patients, zone
                )
            )
            keyed.append((_lb_key(row, analyte_order[analyte]), row))
    for c in data.cd20:
        test = LB_TESTS["cd20"]
        row = {
            "LBTESTCD": test.code,
            "LBTEST": test.name,
            "LBCAT": test.category,
            "LBSPEC": test.specimen,
            "LBORRES": c.value,
            "LBORRESU": c.unit,
            "LBSTRESC": c.value,
            "LBSTRESN": Decimal(c.value),
            "LBSTRESU": c.unit,
            **_lb_common(c.patient_id, c.week, c.collected_at, usubjid, patients, zone),
        }
        keyed.append((_lb_key(row, analyte_order["cd20"]), row))
    keyed.sort(key=lambda item: item[0])
    return [row for _, row in keyed]


def _lb_key(row: Mapping[str, Cell], analyte_order: int) -> tuple[str, int, int, str]:
    # Subject, visit, test (in LB_TESTS order), collection time.
    visit = row["VISITNUM"]
    return (
        str(row["USUBJID"]),
        visit if isinstance(visit, int) else -1,
        analyte_order,
        _iso(row["LBDTC"]) if isinstance(row["LBDTC"], datetime) else "",
    )


def _lb_common(
    patient_id: int,
    week: int | None,
    collected_at: datetime,
    usubjid: Mapping[int, str],
    patients: Mapping[int, PatientRecord],
    zone: tzinfo,
) -> dict[str, Cell]:
    local = _local(collected_at, zone)
    visitnum, visit = _visit(week)
    return {
        "USUBJID": usubjid[patient_id],
        "VISITNUM": visitnum,
        "VISIT": visit,
        "LBDTC": local,
        "LBDY": sdtm_study_day(patients[patient_id].day0, local.date()),
    }


def _ae_row(
    ae: AdverseEventRecord, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord]
) -> dict[str, Cell]:
    term = _ctcae(ae)
    return {
        "USUBJID": usubjid[ae.patient_id],
        "AESPID": f"AE{ae.id}",
        "AETERM": ae.verbatim,
        "AEDECOD": term.term_en if term else None,
        "AEBODSYS": term.soc_en if term else None,
        "AETOXGR": ae.grade,
        "AESER": _yn(ae.serious),
        "AESDTH": _yn("death" in ae.criteria),
        "AESLIFE": _yn("life_threatening" in ae.criteria),
        "AESHOSP": _yn("hospitalization" in ae.criteria),
        "AESDISAB": _yn("disability" in ae.criteria),
        "AESCONG": _yn("congenital_anomaly" in ae.criteria),
        "AESMIE": _yn("important_medical_event" in ae.criteria),
        "AEREL": _upper(ae.relatedness),
        "AEACN": _upper(ae.action),
        "AEOUT": _upper(ae.outcome),
        "AESTDTC": ae.onset_date,
        "AESTDY": sdtm_study_day(patients[ae.patient_id].day0, ae.onset_date),
    }


def _numbered(
    name: str, columns: tuple[str, ...], seq: str, rows: list[dict[str, Cell]], study: str
) -> Table:
    counters: dict[Cell, int] = {}
    for row in rows:
        counters[row["USUBJID"]] = counters.get(row["USUBJID"], 0) + 1
        row.update(STUDYID=study, DOMAIN=name, **{seq: counters[row["USUBJID"]]})
    return _sdtm_table(name, columns, rows)


def sdtm_tables(data: TrialData, options: SdtmOptions, zone: tzinfo) -> tuple[Table, ...]:
    """SDTM-style DM, EX, LB and AE datasets (all values as text; empty for null).

    Rule: CDISC SDTMIG v3.4 variable names; ISO 8601 dates; --SEQ numbers
    rows within a subject in the sorted order; Y/N flags for seriousness
    (ICH E2A criteria, docs/clinical-facts.md §6); AETOXGR is the CTCAE v5.0
    grade; LB holds each renal result once (the effective row, see
    :func:`renal_weeks`) and every CD20 count, with the original
    result (LBORRES/LBORRESU, as entered) and the standard one (LBSTRESN in
    µmol/L, g/L or g/24h). Source: the export requirement; CDISC SDTMIG v3.4.
    """
    patients = {p.id: p for p in data.patients}
    usubjid = {p.id: f"{options.study_id}-{p.study_id}" for p in data.patients}
    ordered = sorted(data.patients, key=lambda p: p.study_id)
    dm_rows: list[dict[str, Cell]] = [
        {
            "STUDYID": options.study_id,
            "DOMAIN": "DM",
            "USUBJID": usubjid[p.id],
            "SUBJID": p.study_id,
            "RFSTDTC": p.day0,
            "SITEID": options.site_id,
            "SEX": p.sex,
            "ARMCD": p.arm.upper(),
            "ARM": options.arm_names.get(p.arm, p.arm),
            "ACTARMCD": p.arm.upper(),
            "ACTARM": options.arm_names.get(p.arm, p.arm),
            "COUNTRY": options.country,
        }
        for p in ordered
    ]
    ex_rows: list[dict[str, Cell]] = []
    for d in sorted(data.doses, key=lambda d: (usubjid[d.patient_id], d.day, d.drug, d.id)):
        treatment, route = EX_TREATMENTS.get(d.drug, (d.drug.upper(), None))
        visitnum, visit = _visit(d.week)
        ex_rows.append(
            {
                "USUBJID": usubjid[d.patient_id],
                "EXTRT": treatment,
                "EXDOSE": _number(d.amount),
                "EXDOSU": d.unit,
                "EXROUTE": route,
                "EXSTDTC": d.day,
                "EXENDTC": d.day,
                "EXSTDY": sdtm_study_day(patients[d.patient_id].day0, d.day),
                "VISITNUM": visitnum,
                "VISIT": visit,
            }
        )
    ae_rows = [
        _ae_row(ae, usubjid, patients)
        for ae in sorted(
            data.adverse_events, key=lambda a: (usubjid[a.patient_id], a.onset_date, a.id)
        )
    ]
    study = options.study_id
    return (
        _sdtm_table("DM", DM_COLUMNS, dm_rows),
        _numbered("EX", EX_COLUMNS, "EXSEQ", ex_rows, study),
        _numbered("LB", LB_COLUMNS, "LBSEQ", _lb_rows(data, usubjid, patients, zone), study),
        _numbered("AE", AE_COLUMNS, "AESEQ", ae_rows, study),
    )
