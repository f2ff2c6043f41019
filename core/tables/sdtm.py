"""SDTM-style datasets: DM, EX, LB and AE.

They follow the CDISC SDTM Implementation Guide v3.4 variable names; dates
are ISO 8601 (``YYYY-MM-DD``, date-times ``YYYY-MM-DDThh:mm`` in the trial's
local time). Study day (``--DY``) follows SDTM: the reference start date (day
0 of the protocol, ``RFSTDTC``) is day 1, the day before it day -1 (there is
no day 0). Choices where the facts are silent: ``USUBJID`` is
``<registry id>-<study ID>``; test codes are listed in :data:`LB_TESTS`;
doses use the drug names in :data:`EX_TREATMENTS`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from core.tables.cells import (
    Cell,
    Table,
    casts_text,
    coded_term,
    decimal_or_none,
    local_minute,
    plain,
)
from core.tables.lab_file import panel_values, renal_weeks
from core.trial_records import AdverseEventRecord, PatientRecord, TrialData
from core.units import canonical

__all__ = [
    "AE_COLUMNS",
    "DM_COLUMNS",
    "EX_COLUMNS",
    "EX_TREATMENTS",
    "LB_COLUMNS",
    "LB_TESTS",
    "LbTest",
    "SdtmOptions",
    "sdtm_study_day",
    "sdtm_tables",
]


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
        return plain(value)
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
        for analyte, value in panel_values(week.panel):
            record = week.rows[analyte]
            test = LB_TESTS[analyte]
            row: dict[str, Cell] = {
                "LBTESTCD": test.code,
                "LBTEST": test.name,
                "LBCAT": test.category,
                "LBSPEC": test.specimen,
            }
            if isinstance(value, frozenset):
                text = casts_text(value).upper()
                row.update(LBORRES=text, LBSTRESC=text)
            else:
                std = canonical(value)
                uln = week.panel.creatinine_uln if analyte == "serum_creatinine" else None
                # Below the detection limit: the result is the text "<0.1", with no
                # standard numeric result (SDTM's LBSTRESN stays empty).
                below = analyte == "urine_protein_24h" and week.panel.protein_below_limit
                prefix = "<" if below else ""
                row.update(
                    LBORRES=prefix + plain(value.value),
                    LBORRESU=value.unit.value,
                    LBORNRLO=record.ref_low,
                    # A limit in another unit than the result is no LBORRESU range.
                    LBORNRHI=(
                        plain(uln.value)
                        if uln is not None and uln.unit is value.unit
                        else record.ref_high
                        if uln is None and record.ref_unit in (None, record.unit)
                        else None
                    ),
                    LBSTRESC=prefix + plain(std.value),
                    LBSTRESN=None if below else std.value,
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
    local = local_minute(collected_at, zone)
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
    term = coded_term(ae)
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
                "EXDOSE": decimal_or_none(d.amount),
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
