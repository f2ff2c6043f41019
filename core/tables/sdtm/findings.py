"""SDTM findings: LB (renal panel and CD20), QS (SLEDAI-2K) and RS (renal response).

Pure. Source: CDISC SDTMIG v3.4 (LB, QS, RS specifications); docs/registry-record.txt
for the response definitions; docs/clinical-facts.md §3-§5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from core.endpoints import PatientEndpoints
from core.response import Assessment, Clause, ClauseKey, RenalPanel
from core.sledai import ITEMS
from core.tables.cells import Cell, casts_text, local_minute, plain
from core.tables.lab_file import panel_values, renal_weeks
from core.tables.sdtm.common import Row, ct_unit, iso, sdtm_study_day, visit
from core.trial_records import LabRecord, PatientRecord, TrialData
from core.units import Quantity, Unit, canonical

__all__ = [
    "LB_COLUMNS",
    "LB_TESTS",
    "QS_COLUMNS",
    "RS_CLAUSES",
    "RS_COLUMNS",
    "LbTest",
    "lb_rows",
    "normal_range_indicator",
    "qs_rows",
    "rs_rows",
    "standard_precision",
]

LB_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "LBSEQ",
    "LBTESTCD",
    "LBTEST",
    "LBCAT",
    "LBORRES",
    "LBORRESU",
    "LBORNRLO",
    "LBORNRHI",
    "LBSTRESC",
    "LBSTRESN",
    "LBSTRESU",
    "LBSTNRLO",
    "LBSTNRHI",
    "LBNRIND",
    "LBSPEC",
    "LBLOBXFL",
    "LBBLFL",
    "VISITNUM",
    "VISIT",
    "LBDTC",
    "LBDY",
)
QS_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "QSSEQ",
    "QSTESTCD",
    "QSTEST",
    "QSCAT",
    "QSSCAT",
    "QSORRES",
    "QSSTRESC",
    "QSSTRESN",
    "QSLOBXFL",
    "QSBLFL",
    "QSDRVFL",
    "VISITNUM",
    "VISIT",
    "QSDTC",
    "QSDY",
)
RS_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "RSSEQ",
    "RSGRPID",
    "RSTESTCD",
    "RSTEST",
    "RSCAT",
    "RSORRES",
    "RSSTRESC",
    "RSSTAT",
    "RSREASND",
    "RSDRVFL",
    "RSEVAL",
    "VISITNUM",
    "VISIT",
    "RSDTC",
    "RSDY",
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


def standard_precision(original: Quantity, standard: Quantity) -> Decimal:
    """The standard result rounded to the precision of the original result.

    Rule: the original's resolution (one unit of its last digit, e.g. 0.1 mg/dL)
    converted to the standard unit (8.84 µmol/L) gives the decimal place to keep
    (its leading digit: units), half up; 1.2 mg/dL is 106.08 µmol/L, kept as 106;
    400 mg/24h is 0.4 g/24h, kept as 0.400. A result already in the standard unit
    is unchanged. Source: CDISC SDTMIG v3.4, LB assumptions (LBSTRESN carries the
    standard result; the conversion must not add precision the result never had).
    """
    if standard.unit is original.unit:
        return standard.value
    resolution = Quantity(Decimal(1).scaleb(original.value.as_tuple().exponent), original.unit)  # type: ignore[arg-type]
    step = canonical(resolution).value
    place = Decimal(1).scaleb(step.adjusted())
    return standard.value.quantize(place, rounding=ROUND_HALF_UP)


def normal_range_indicator(value: Decimal | None, low: str | None, high: str | None) -> str | None:
    """LBNRIND: LOW below the low limit, HIGH above the high one, NORMAL within.

    Empty without a range or without a numeric result (a range is compared only in
    the result's own unit, which is the unit LBORNRLO/LBORNRHI are in).
    Source: CDISC SDTMIG v3.4, LB (LBNRIND: reference range indicator, CT NRIND).
    """
    lo, hi = _number(low), _number(high)
    if value is None or (lo is None and hi is None):
        return None
    if lo is not None and value < lo:
        return "LOW"
    if hi is not None and value > hi:
        return "HIGH"
    return "NORMAL"


def _number(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _standard_limit(text: str | None, unit: Unit) -> Decimal | None:
    number = _number(text)
    if number is None:
        return None
    q = Quantity(number, unit)
    return standard_precision(q, canonical(q))


def lb_rows(
    data: TrialData, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord], zone: tzinfo
) -> list[Row]:
    """LB rows sorted by subject, visit, test and time, baseline flagged (see :func:`_flag_baseline`).

    Rule: each renal result once (the effective row of :func:`renal_weeks`) and every CD20
    count; LBORRES/LBORRESU as entered, LBSTRESN in µmol/L, g/L or g/24h rounded by
    :func:`standard_precision`; units in CDISC CT spelling (``/HPF``, ``g/L``, ``umol/L``).
    """
    keyed: list[tuple[tuple[str, int, int, str], Row]] = []
    analyte_order = {name: i for i, name in enumerate(LB_TESTS)}
    for week in renal_weeks(data.labs):
        for analyte, value in panel_values(week.panel):
            record = week.rows[analyte]
            test = LB_TESTS[analyte]
            row: Row = _lb_test(test)
            if isinstance(value, frozenset):
                text = casts_text(value).upper()
                row.update(LBORRES=text, LBSTRESC=text)
            else:
                row.update(_lb_numeric(analyte, value, week.panel, record))
            row.update(
                _lb_common(
                    record.patient_id, week.week, record.collected_at, usubjid, patients, zone
                )
            )
            keyed.append((_lb_key(row, analyte_order[analyte]), row))
    for c in data.cd20:
        row = _lb_test(LB_TESTS["cd20"])
        number = _number(c.value)
        row.update(
            LBORRES=c.value,
            LBORRESU=ct_unit(c.unit),
            LBSTRESC=c.value,
            LBSTRESN=number,
            LBSTRESU=ct_unit(c.unit),
            **_lb_common(c.patient_id, c.week, c.collected_at, usubjid, patients, zone),
        )
        keyed.append((_lb_key(row, analyte_order["cd20"]), row))
    keyed.sort(key=lambda item: item[0])
    rows = [row for _, row in keyed]
    _flag_baseline(rows, "LBTESTCD", "LBORRES", "LBDTC", ("LBLOBXFL", "LBBLFL"))
    return rows


def _lb_test(test: LbTest) -> Row:
    return {
        "LBTESTCD": test.code,
        "LBTEST": test.name,
        "LBCAT": test.category,
        "LBSPEC": test.specimen,
    }


def _lb_numeric(analyte: str, value: Quantity, panel: RenalPanel, record: LabRecord) -> Row:
    std = canonical(value)
    uln = panel.creatinine_uln if analyte == "serum_creatinine" else None
    # Below the detection limit: the result is the text "<0.1", with no standard
    # numeric result (SDTM's LBSTRESN stays empty) and no range indicator.
    below = analyte == "urine_protein_24h" and panel.protein_below_limit
    prefix = "<" if below else ""
    same_unit_range = record.ref_unit in (None, record.unit)
    # A limit in another unit than the result is no LBORRESU range.
    high = (
        plain(uln.value)
        if uln is not None and uln.unit is value.unit
        else record.ref_high
        if uln is None and same_unit_range
        else None
    )
    low = record.ref_low if same_unit_range else None
    rounded = standard_precision(value, std)
    return {
        "LBORRES": prefix + plain(value.value),
        "LBORRESU": ct_unit(value.unit.value),
        "LBORNRLO": low,
        "LBORNRHI": high,
        "LBSTRESC": prefix + plain(rounded),
        "LBSTRESN": None if below else rounded,
        "LBSTRESU": ct_unit(std.unit.value),
        "LBSTNRLO": _standard_limit(low, value.unit),
        "LBSTNRHI": _standard_limit(high, value.unit),
        "LBNRIND": None if below else normal_range_indicator(value.value, low, high),
    }


def _lb_key(row: Mapping[str, Cell], analyte_order: int) -> tuple[str, int, int, str]:
    # Subject, visit, test (in LB_TESTS order), collection time.
    number = row["VISITNUM"]
    when = row["LBDTC"]
    return (
        str(row["USUBJID"]),
        number if isinstance(number, int) else -1,
        analyte_order,
        iso(when) if isinstance(when, datetime) else "",
    )


def _lb_common(
    patient_id: int,
    week: int | None,
    collected_at: datetime,
    usubjid: Mapping[int, str],
    patients: Mapping[int, PatientRecord],
    zone: tzinfo,
) -> Row:
    local = local_minute(collected_at, zone)
    visitnum, visit_name = visit(week)
    return {
        "USUBJID": usubjid[patient_id],
        "VISITNUM": visitnum,
        "VISIT": visit_name,
        "LBDTC": local,
        "LBDY": sdtm_study_day(patients[patient_id].day0, local.date()),
    }


def _flag_baseline(
    rows: list[Row], test: str, result: str, when: str, flags: tuple[str, ...]
) -> None:
    """Flag each subject's baseline record per test with "Y" in every one of ``flags``.

    Rule: the last record with a non-missing result at a protocol visit on or before
    week 0 (VISITNUM <= 0), latest by date-time; the week-0 panel is the baseline the
    response rules compare with (docs/clinical-facts.md §3), and SDTMIG v3.4 defines
    --LOBXFL as the last non-missing value prior to the first dose and keeps --BLFL
    (permissible) for the sponsor's baseline; both are flagged on the same record
    (a choice: day 0 is the first dose day, so the two coincide).
    """
    best: dict[tuple[Cell, Cell], tuple[str, int, int]] = {}
    for index, row in enumerate(rows):
        number = row.get("VISITNUM")
        if not isinstance(number, int) or number > 0 or row.get(result) in (None, ""):
            continue
        moment = row.get(when)
        key = (iso(moment) if isinstance(moment, date) else "", number, index)
        slot = (row["USUBJID"], row[test])
        if slot not in best or key > best[slot]:
            best[slot] = key
    for _, _, index in best.values():
        rows[index].update(dict.fromkeys(flags, "Y"))


SLEDAI_CATEGORY: Final = "SLEDAI-2K"
# Sponsor test codes (8 characters at most): SL2K01..SL2K24 in the form's order.
_QS_ITEM_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {item.key: f"SL2K{i:02d}" for i, item in enumerate(ITEMS, start=1)}
)


def qs_rows(
    data: TrialData, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord]
) -> list[Row]:
    """QS: each SLEDAI-2K assessment as its 24 descriptors, the renal subtotal and the total.

    Rule: a descriptor scores its weight when recorded without an excluded cause, else 0;
    one attributed to an excluded cause keeps the attribution in its original result
    (QSORRES ``0 (DRUG)``, standard result 0), as the sheet was filled in. Every
    descriptor gets a row, so an absent one is a recorded 0, not a missing value. The
    totals are the stored ones, flagged as derived (QSDRVFL). Baseline: as
    :func:`_flag_baseline`.
    Source: docs/clinical-facts.md §5 (SLEDAI-2K, Gladman 2002); CDISC SDTMIG v3.4 QS.
    """
    rows: list[Row] = []
    for s in sorted(data.sledai, key=lambda s: (usubjid[s.patient_id], s.week, s.assessed_on)):
        recorded: dict[str, str | None] = {}
        for entry in s.items:
            key, _, cause = entry.partition(":")
            recorded[key] = cause or None
        visitnum, visit_name = visit(s.week)
        common: Row = {
            "USUBJID": usubjid[s.patient_id],
            "QSCAT": SLEDAI_CATEGORY,
            "VISITNUM": visitnum,
            "VISIT": visit_name,
            "QSDTC": s.assessed_on,
            "QSDY": sdtm_study_day(patients[s.patient_id].day0, s.assessed_on),
        }
        for item in ITEMS:
            present = item.key in recorded
            attributed = recorded.get(item.key)
            points = item.weight if present and attributed is None else 0
            rows.append(
                {
                    **common,
                    "QSTESTCD": _QS_ITEM_CODES[item.key],
                    "QSTEST": f"SLEDAI-2K {item.name_en}"[:40],
                    "QSSCAT": "RENAL" if item.renal else None,
                    "QSORRES": f"0 ({attributed.upper()})" if attributed else str(points),
                    "QSSTRESC": str(points),
                    "QSSTRESN": points,
                }
            )
        for code, name, value in (
            ("SL2KREN", "SLEDAI-2K Renal Subtotal", s.renal_total),
            ("SL2KTOT", "SLEDAI-2K Total Score", s.total),
        ):
            rows.append(
                {
                    **common,
                    "QSTESTCD": code,
                    "QSTEST": name,
                    "QSORRES": str(value),
                    "QSSTRESC": str(value),
                    "QSSTRESN": value,
                    "QSDRVFL": "Y",
                }
            )
    _flag_baseline(rows, "QSTESTCD", "QSORRES", "QSDTC", ("QSLOBXFL", "QSBLFL"))
    return rows


# RSTESTCD, RSTEST per clause of the registry's definitions (docs/registry-record.txt).
RS_CLAUSES: Final[Mapping[ClauseKey, tuple[str, str]]] = MappingProxyType(
    {
        ClauseKey.CR_PROTEIN: ("CRPROT", "CR: Urine Protein < 0.4 g/24h"),
        ClauseKey.CR_SEDIMENT: ("CRSED", "CR: No Active Urinary Sediment"),
        ClauseKey.CR_ALBUMIN: ("CRALB", "CR: Serum Albumin > 3.5 g/dL"),
        ClauseKey.CR_CREATININE: ("CRCREAT", "CR: Normal Serum Creatinine"),
        ClauseKey.PR_PROTEIN_FALL: ("PRPROTFL", "PR: Urine Protein Fall > 50%"),
        ClauseKey.PR_PROTEIN_LEVEL: ("PRPROTLV", "PR: Urine Protein < 3.5 g/24h"),
        ClauseKey.PR_RBC_FALL: ("PRRBCFL", "PR: Urine RBC Fall > 50%"),
        ClauseKey.PR_CREATININE: ("PRCREAT", "PR: Creatinine Normal or Rise < 30%"),
    }
)
RS_CATEGORY: Final = "LUPUS NEPHRITIS RENAL RESPONSE"
_MET: Final[Mapping[bool, str]] = MappingProxyType({True: "MET", False: "NOT MET"})


def _clause_row(clause: Clause) -> Row:
    code, name = RS_CLAUSES[clause.key]
    row: Row = {"RSTESTCD": code, "RSTEST": name}
    if clause.met is None:
        row.update(RSSTAT="NOT DONE", RSREASND="DATA MISSING FOR THIS CLAUSE")
    else:
        row.update(RSORRES=_MET[clause.met], RSSTRESC=_MET[clause.met])
    return row


def rs_rows(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    usubjid: Mapping[int, str],
    patients: Mapping[int, PatientRecord],
    zone: tzinfo,
) -> list[Row]:
    """RS: at each renal assessment the response (CR/PR/NR/NE) and each of its eight clauses.

    Rule: the classes and clauses are :func:`core.response.classify`'s (via the endpoints
    derived from the lab file, as the workbook shows them); a clause that cannot be
    evaluated has RSSTAT "NOT DONE"; every row is derived by the bot from the entered
    results (RSDRVFL Y, RSEVAL empty: no evaluator judged it); RSGRPID ties a week's
    rows; RSDTC is the latest
    collection time of that week's renal results. Source: docs/registry-record.txt
    (outcome measures); CDISC SDTMIG v3.4 RS.
    """
    by_study = {p.study_id: p for p in patients.values()}
    collected: dict[tuple[int, int], datetime] = {}
    for renal in renal_weeks(data.labs):
        moments = [local_minute(r.collected_at, zone) for r in renal.rows.values()]
        collected[(renal.patient_id, renal.week)] = max(moments)
    rows: list[Row] = []
    for patient in sorted(by_study.values(), key=lambda p: usubjid[p.id]):
        result = endpoints.get(patient.study_id)
        if result is None:
            continue
        for week, assessment in sorted(result.assessments.items()):
            rows.extend(_assessment_rows(patient, week, assessment, usubjid, collected))
    return rows


def _assessment_rows(
    patient: PatientRecord,
    week: int,
    assessment: Assessment,
    usubjid: Mapping[int, str],
    collected: Mapping[tuple[int, int], datetime],
) -> list[Row]:
    visitnum, visit_name = visit(week)
    moment = collected.get((patient.id, week))
    common: Row = {
        "USUBJID": usubjid[patient.id],
        "RSGRPID": f"WEEK {week}",
        "RSCAT": RS_CATEGORY,
        "VISITNUM": visitnum,
        "VISIT": visit_name,
        "RSDTC": moment,
        "RSDY": None if moment is None else sdtm_study_day(patient.day0, moment.date()),
        "RSDRVFL": "Y",
    }
    overall: Row = {
        **common,
        "RSTESTCD": "OVRLRESP",
        "RSTEST": "Overall Response",
        "RSORRES": assessment.cls.value,
        "RSSTRESC": assessment.cls.value,
    }
    return [overall, *({**common, **_clause_row(c)} for c in assessment.clauses)]
