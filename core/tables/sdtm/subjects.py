"""SDTM special-purpose and interventions datasets: DM (demographics), SV (subject
visits) and EX (exposure).

Pure. Source: CDISC SDTMIG v3.4 (DM, SV, EX); docs/registry-record.txt (dosing);
core.visits for what became of each planned visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from core.tables.cells import decimal_or_none
from core.tables.sdtm.common import Row, SdtmOptions, ct_unit, sdtm_study_day, visit
from core.trial_records import EventRecord, PatientRecord, TrialData
from core.visits import VisitOutcome, visit_outcome

__all__ = [
    "DM_COLUMNS",
    "EX_COLUMNS",
    "EX_TREATMENTS",
    "SV_COLUMNS",
    "dm_rows",
    "ex_rows",
    "sv_rows",
]

DM_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "SUBJID",
    "RFSTDTC",
    "RFENDTC",
    "RFXSTDTC",
    "RFXENDTC",
    "RFICDTC",
    "RFPENDTC",
    "DTHDTC",
    "DTHFL",
    "SITEID",
    "AGE",
    "AGEU",
    "SEX",
    "RACE",
    "ARMCD",
    "ARM",
    "ACTARMCD",
    "ACTARM",
    "ARMNRS",
    "ACTARMUD",
    "COUNTRY",
)
SV_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "VISITNUM",
    "VISIT",
    "SVPRESP",
    "SVOCCUR",
    "SVREASOC",
    "VISITDY",
    "SVSTDTC",
    "SVENDTC",
    "SVSTDY",
    "SVENDY",
)
EX_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "EXSEQ",
    "EXTRT",
    "EXDOSE",
    "EXDOSU",
    "EXDOSFRM",
    "EXROUTE",
    "VISITNUM",
    "VISIT",
    "EXSTDTC",
    "EXENDTC",
    "EXSTDY",
    "EXENDY",
)

# (EXTRT, EXDOSFRM, EXROUTE) per drug code stored with a dose; dose forms and routes
# in CDISC CT (FRM C66726, ROUTE C66729). The registry gives the routes
# (docs/registry-record.txt: belimumab intravenous, MMF and tacrolimus oral); the
# forms are the products' usual ones (a choice).
EX_TREATMENTS: Final[Mapping[str, tuple[str, str, str]]] = MappingProxyType(
    {
        "belimumab": ("BELIMUMAB", "INJECTION, POWDER, LYOPHILIZED, FOR SOLUTION", "INTRAVENOUS"),
        "mp": ("METHYLPREDNISOLONE", "INJECTION, POWDER, FOR SOLUTION", "INTRAVENOUS"),
        "mmf": ("MYCOPHENOLATE MOFETIL", "TABLET", "ORAL"),
        "tacrolimus": ("TACROLIMUS", "CAPSULE", "ORAL"),
    }
)


def dm_rows(data: TrialData, options: SdtmOptions, usubjid: Mapping[int, str]) -> list[Row]:
    """DM: one row per subject, sorted by USUBJID.

    Rule: RFSTDTC is day 0 (the first day of the methylprednisolone pulse, the first
    study treatment); RFXSTDTC/RFXENDTC the first and last recorded dose; RFICDTC the
    informed-consent date; RFENDTC and RFPENDTC the day withdrawn, or for a completed
    patient the last dose or visit, empty while on study; AGE in YEARS at day 0 from
    the year of birth (:attr:`PatientRecord.age`); DTHFL Y when an adverse event
    resulted in death (ICH E2A criterion), DTHDTC that event's end date; COUNTRY
    ISO 3166-1 alpha-3. RACE is not collected (empty). Source: CDISC SDTMIG v3.4 DM.
    """
    doses: dict[int, list[date]] = {}
    for d in data.doses:
        doses.setdefault(d.patient_id, []).append(d.day)
    visits: dict[int, list[date]] = {}
    for e in data.events:
        if e.actual_date is not None:
            visits.setdefault(e.patient_id, []).append(e.actual_date)
    deaths: dict[int, date | None] = {}
    for ae in sorted(data.adverse_events, key=lambda a: (a.onset_date, a.id)):
        if "death" in ae.criteria:
            deaths[ae.patient_id] = ae.end_date or deaths.get(ae.patient_id)
    rows: list[Row] = []
    for p in sorted(data.patients, key=lambda p: usubjid[p.id]):
        given = doses.get(p.id, [])
        ended: date | None = None
        if p.withdrawn:
            ended = p.withdrawn_on
        elif p.status == "completed":
            ended = max([*given, *visits.get(p.id, [])], default=None)
        arm = options.arm_names.get(p.arm, p.arm)
        rows.append(
            {
                "STUDYID": options.study_id,
                "DOMAIN": "DM",
                "USUBJID": usubjid[p.id],
                "SUBJID": p.study_id,
                "RFSTDTC": p.day0,
                "RFENDTC": ended,
                "RFXSTDTC": min(given, default=None),
                "RFXENDTC": max(given, default=None),
                "RFICDTC": p.consent_date,
                "RFPENDTC": ended,
                "DTHDTC": deaths.get(p.id),
                "DTHFL": "Y" if p.id in deaths else None,
                "SITEID": options.site_id,
                "AGE": p.age,
                "AGEU": None if p.age is None else "YEARS",
                "SEX": p.sex,
                "ARMCD": p.arm.upper(),
                "ARM": arm,
                "ACTARMCD": p.arm.upper(),
                "ACTARM": arm,
                "COUNTRY": options.country,
            }
        )
    return rows


def ex_rows(
    data: TrialData, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord]
) -> list[Row]:
    """EX: one row per administration (its own date and dose), sorted by subject, day, drug.

    Rule: a dose given on one day is one record with EXSTDTC = EXENDTC = that day;
    EXDOSE/EXDOSU as recorded, units in CDISC CT spelling. Source: CDISC SDTMIG v3.4 EX.
    """
    rows: list[Row] = []
    for d in sorted(data.doses, key=lambda d: (usubjid[d.patient_id], d.day, d.drug, d.id)):
        treatment, form, route = EX_TREATMENTS.get(d.drug, (d.drug.upper(), "", ""))
        visitnum, visit_name = visit(d.week)
        day = sdtm_study_day(patients[d.patient_id].day0, d.day)
        rows.append(
            {
                "USUBJID": usubjid[d.patient_id],
                "EXTRT": treatment,
                "EXDOSE": decimal_or_none(d.amount),
                "EXDOSU": ct_unit(d.unit),
                "EXDOSFRM": form or None,
                "EXROUTE": route or None,
                "VISITNUM": visitnum,
                "VISIT": visit_name,
                "EXSTDTC": d.day,
                "EXENDTC": d.day,
                "EXSTDY": day,
                "EXENDY": day,
            }
        )
    return rows


_NOT_OCCURRED: Final[Mapping[VisitOutcome, str]] = MappingProxyType(
    {
        VisitOutcome.NOT_DONE: "NOT DONE: WINDOW CLOSED WITH NOTHING RECORDED",
        VisitOutcome.CANCELLED: "CANCELLED",
    }
)


def sv_rows(
    data: TrialData,
    usubjid: Mapping[int, str],
    patients: Mapping[int, PatientRecord],
    cutoff: date | None,
) -> list[Row]:
    """SV: one record per subject per planned visit (protocol week) that is decided.

    Rule: a visit's events (infusion, assessment, urine collection of one week) are one
    visit. It occurred (SVOCCUR Y, SVSTDTC/SVENDTC the first and last day attended) when
    any of its events was attended; otherwise, once every event is missed, not done or
    cancelled as of the data cut-off (:func:`core.visits.visit_outcome`), it did not
    occur (SVOCCUR N) with SVREASOC the coordinator's reason, "NOT DONE: WINDOW CLOSED
    WITH NOTHING RECORDED" when its window passed with nothing, or "CANCELLED". Visits
    still planned or overdue have no record yet. SVPRESP is Y (every visit is planned).
    Without a cut-off, only stored states count (nothing is judged not done).
    Source: CDISC SDTMIG v3.4 SV (SVPRESP, SVOCCUR, SVREASOC for planned visits that
    did not occur); docs/DESIGN.md §4.
    """
    weeks: dict[tuple[int, int], list[EventRecord]] = {}
    for e in data.events:
        weeks.setdefault((e.patient_id, e.week), []).append(e)
    rows: list[Row] = []
    for (patient_id, week), events in sorted(
        weeks.items(), key=lambda item: (usubjid[item[0][0]], item[0][1])
    ):
        day0 = patients[patient_id].day0
        outcomes = [
            (e, visit_outcome(e, cutoff) if cutoff is not None else _stored_outcome(e))
            for e in sorted(events, key=lambda e: (e.kind.value, e.number))
        ]
        attended = sorted(
            e.actual_date or e.scheduled_date for e, o in outcomes if o is VisitOutcome.ATTENDED
        )
        visitnum, visit_name = visit(week)
        planned_day = min(e.target_date for e in events)
        row: Row = {
            "USUBJID": usubjid[patient_id],
            "VISITNUM": visitnum,
            "VISIT": visit_name,
            "SVPRESP": "Y",
            "VISITDY": sdtm_study_day(day0, planned_day),
        }
        if attended:
            row.update(
                SVOCCUR="Y",
                SVSTDTC=attended[0],
                SVENDTC=attended[-1],
                SVSTDY=sdtm_study_day(day0, attended[0]),
                SVENDY=sdtm_study_day(day0, attended[-1]),
            )
        elif all(o in (VisitOutcome.MISSED, *_NOT_OCCURRED) for _, o in outcomes):
            reasons = sorted(
                {
                    (e.missed_reason or "MISSED").strip()
                    if o is VisitOutcome.MISSED
                    else _NOT_OCCURRED[o]
                    for e, o in outcomes
                }
            )
            row.update(SVOCCUR="N", SVREASOC="; ".join(reasons))
        else:
            continue
        rows.append(row)
    return rows


def _stored_outcome(event: EventRecord) -> VisitOutcome:
    # No cut-off: the stored state alone (a planned visit is not judged).
    return {
        "done": VisitOutcome.ATTENDED,
        "missed": VisitOutcome.MISSED,
        "cancelled": VisitOutcome.CANCELLED,
    }.get(event.status, VisitOutcome.PLANNED)
