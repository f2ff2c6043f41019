"""SDTM events: AE (with SUPPAE for relatedness per drug) and DS (disposition).

Pure. Source: CDISC SDTMIG v3.4 (AE, DS, SUPPQUAL); ICH E2A §II.B and
docs/clinical-facts.md §6 for seriousness; docs/registry-record.txt for the
assignment (Allocation: NA).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from core.tables.cells import coded_term
from core.tables.sdtm.common import Row, sdtm_study_day, yn
from core.trial_records import AdverseEventRecord, PatientRecord, TrialData

__all__ = [
    "AEACN_TERMS",
    "AEOUT_TERMS",
    "AEREL_TERMS",
    "AE_COLUMNS",
    "DS_COLUMNS",
    "SUPPAE_COLUMNS",
    "SUPPAE_DRUGS",
    "WITHDRAWAL_TERMS",
    "ae_relationship",
    "ae_rows",
    "ds_rows",
    "suppae_rows",
    "withdrawal_term",
]

AE_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "AESEQ",
    "AESPID",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "AESOC",
    "AESER",
    "AEACN",
    "AEREL",
    "AEOUT",
    "AESCONG",
    "AESDISAB",
    "AESDTH",
    "AESHOSP",
    "AESLIFE",
    "AESMIE",
    "AETOXGR",
    "AESTDTC",
    "AEENDTC",
    "AESTDY",
    "AEENDY",
)
SUPPAE_COLUMNS: Final = (
    "STUDYID",
    "RDOMAIN",
    "USUBJID",
    "IDVAR",
    "IDVARVAL",
    "QNAM",
    "QLABEL",
    "QVAL",
    "QORIG",
    "QEVAL",
)
DS_COLUMNS: Final = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "DSSEQ",
    "DSTERM",
    "DSDECOD",
    "DSCAT",
    "EPOCH",
    "DSSTDTC",
    "DSSTDY",
)

# The stored relatedness (core.entry_syntax.Relatedness) in AEREL's words, weakest first.
# SDTM has no codelist for AEREL (sponsor-defined); these are the usual five levels.
AEREL_TERMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "unrelated": "NOT RELATED",
        "unlikely": "UNLIKELY RELATED",
        "possible": "POSSIBLY RELATED",
        "probable": "PROBABLY RELATED",
        "definite": "RELATED",
    }
)
_REL_RANK: Final[Mapping[str, int]] = MappingProxyType(
    {key: rank for rank, key in enumerate(AEREL_TERMS)}
)

# Stored action/outcome words -> CDISC CT: ACN (C66767) and OUT (C66768).
AEACN_TERMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "none": "DOSE NOT CHANGED",
        "not_changed": "DOSE NOT CHANGED",
        "dose_not_changed": "DOSE NOT CHANGED",
        "reduced": "DOSE REDUCED",
        "dose_reduced": "DOSE REDUCED",
        "increased": "DOSE INCREASED",
        "dose_increased": "DOSE INCREASED",
        "interrupted": "DRUG INTERRUPTED",
        "drug_interrupted": "DRUG INTERRUPTED",
        "withdrawn": "DRUG WITHDRAWN",
        "drug_withdrawn": "DRUG WITHDRAWN",
        "not_applicable": "NOT APPLICABLE",
        "unknown": "UNKNOWN",
    }
)
AEOUT_TERMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "recovered": "RECOVERED/RESOLVED",
        "resolved": "RECOVERED/RESOLVED",
        "recovering": "RECOVERING/RESOLVING",
        "resolving": "RECOVERING/RESOLVING",
        "not_recovered": "NOT RECOVERED/NOT RESOLVED",
        "not_resolved": "NOT RECOVERED/NOT RESOLVED",
        "ongoing": "NOT RECOVERED/NOT RESOLVED",
        "sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
        "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
        "fatal": "FATAL",
        "death": "FATAL",
        "unknown": "UNKNOWN",
    }
)

# Per-drug relatedness in SUPPAE: drug code -> (QNAM, QLABEL).
SUPPAE_DRUGS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "belimumab": ("AERELBEL", "Relationship to Belimumab"),
        "methylprednisolone": ("AERELMP", "Relationship to Methylprednisolone"),
        "mmf": ("AERELMMF", "Relationship to Mycophenolate Mofetil"),
        "tacrolimus": ("AERELTAC", "Relationship to Tacrolimus"),
    }
)


def _ct(terms: Mapping[str, str], value: str | None) -> str | None:
    """A stored word in CT; a value already in CT, or one the map lacks, as upper case."""
    if value is None or not value.strip():
        return None
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    return terms.get(key, value.strip().replace("_", " ").upper())


def ae_relationship(ae: AdverseEventRecord) -> str | None:
    """AEREL: the investigator's overall assessment, else the strongest over the drugs.

    Rule: SDTMIG v3.4 AE holds one AEREL per event and puts the relationship to each
    of several study treatments in supplemental qualifiers (SUPPAE); so AEREL is the
    overall relatedness recorded, or, when only per-drug answers exist, the strongest
    of them (an event possibly related to any study drug is possibly related to the
    treatment: a choice), and every per-drug answer is in SUPPAE (:func:`suppae_rows`).
    """
    if ae.relatedness:
        return _ct(AEREL_TERMS, ae.relatedness)
    known = [a for _, a in ae.related_to if a in _REL_RANK]
    if not known:
        return None
    return AEREL_TERMS[max(known, key=lambda a: _REL_RANK[a])]


def ae_rows(
    data: TrialData, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord]
) -> list[Row]:
    """AE rows sorted by subject, onset, row id (see :func:`_ae_row`)."""
    events = sorted(data.adverse_events, key=lambda a: (usubjid[a.patient_id], a.onset_date, a.id))
    return [_ae_row(ae, usubjid, patients) for ae in events]


def _ae_row(
    ae: AdverseEventRecord, usubjid: Mapping[int, str], patients: Mapping[int, PatientRecord]
) -> Row:
    """One adverse event.

    Rule: AESER is Y when any ICH E2A criterion is met, with each criterion as its own
    Y/N flag (ICH E2A §II.B; docs/clinical-facts.md §6); AETOXGR the CTCAE v5.0 grade;
    AEACN and AEOUT in CDISC CT (ACN, OUT); AEENDTC the end date when it ended.
    """
    term = coded_term(ae)
    day0 = patients[ae.patient_id].day0
    return {
        "USUBJID": usubjid[ae.patient_id],
        "AESPID": f"AE{ae.id}",
        "AETERM": ae.verbatim,
        "AEDECOD": term.term_en if term else None,
        "AEBODSYS": term.soc_en if term else None,
        # CTCAE v5.0 terms sit under one MedDRA system organ class: the primary one.
        "AESOC": term.soc_en if term else None,
        "AESER": yn(ae.serious),
        "AEACN": _ct(AEACN_TERMS, ae.action),
        "AEREL": ae_relationship(ae),
        "AEOUT": _ct(AEOUT_TERMS, ae.outcome),
        "AESCONG": yn("congenital_anomaly" in ae.criteria),
        "AESDISAB": yn("disability" in ae.criteria),
        "AESDTH": yn("death" in ae.criteria),
        "AESHOSP": yn("hospitalization" in ae.criteria),
        "AESLIFE": yn("life_threatening" in ae.criteria),
        "AESMIE": yn("important_medical_event" in ae.criteria),
        "AETOXGR": ae.grade,
        "AESTDTC": ae.onset_date,
        "AEENDTC": ae.end_date,
        "AESTDY": sdtm_study_day(day0, ae.onset_date),
        "AEENDY": None if ae.end_date is None else sdtm_study_day(day0, ae.end_date),
    }


def suppae_rows(ae_table_rows: list[Row], data: TrialData, study: str) -> list[Row]:
    """SUPPAE: the relatedness to each study drug, keyed to the AE record by AESEQ.

    Rule: one row per (event, drug) assessed, QNAM from :data:`SUPPAE_DRUGS`, QVAL in
    AEREL's words, QORIG CRF, QEVAL INVESTIGATOR (SDTMIG v3.4 section 8.4, SUPPQUAL).
    ``ae_table_rows`` are the numbered AE rows (AESPID ``AE<row id>``).
    """
    by_spid = {f"AE{ae.id}": ae for ae in data.adverse_events}
    out: list[Row] = []
    for row in ae_table_rows:
        ae = by_spid[str(row["AESPID"])]
        for drug, assessment in sorted(ae.related_to):
            qnam, qlabel = SUPPAE_DRUGS.get(drug, (f"AEREL{drug.upper()}"[:8], drug))
            out.append(
                {
                    "STUDYID": study,
                    "RDOMAIN": "AE",
                    "USUBJID": row["USUBJID"],
                    "IDVAR": "AESEQ",
                    "IDVARVAL": row["AESEQ"],
                    "QNAM": qnam,
                    "QLABEL": qlabel,
                    "QVAL": _ct(AEREL_TERMS, assessment),
                    "QORIG": "CRF",
                    "QEVAL": "INVESTIGATOR",
                }
            )
    return out


# Words in a typed withdrawal reason (English or Chinese) -> the CDISC CT term of
# NCOMPLT (C66727) it names; first match in this order wins. A reason naming none
# of them is the patient's own decision (the /withdraw default): a choice.
WITHDRAWAL_TERMS: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("death", "died", "死亡"), "DEATH"),
    (("adverse event", "side effect", "不良事件", "不良反应", "副作用"), "ADVERSE EVENT"),
    (("lost to follow", "lost contact", "失访", "失联"), "LOST TO FOLLOW-UP"),
    (("pregnan", "妊娠", "怀孕"), "PREGNANCY"),
    (("lack of efficacy", "no response", "not effective", "无效", "疗效不佳"), "LACK OF EFFICACY"),
    (("protocol deviation", "protocol violation", "违反方案", "方案偏离"), "PROTOCOL DEVIATION"),
    (("physician", "investigator", "doctor", "医生", "研究者"), "PHYSICIAN DECISION"),
    (("sponsor", "申办"), "STUDY TERMINATED BY SPONSOR"),
)


def withdrawal_term(reason: str | None) -> str:
    """DSDECOD of a withdrawal from its typed reason (:data:`WITHDRAWAL_TERMS`), else
    WITHDRAWAL BY SUBJECT. Source: CDISC CT NCOMPLT (C66727); SDTMIG v3.4 DS."""
    folded = (reason or "").casefold()
    for words, term in WITHDRAWAL_TERMS:
        if any(_names(folded, word) for word in words):
            return term
    return "WITHDRAWAL BY SUBJECT"


def _names(reason: str, word: str) -> bool:
    """Whether ``reason`` holds ``word``: an English word only where a word starts
    ("died" is not in "studied", "pregnan" is in "pregnancy"); Chinese has no spaces,
    so anywhere."""
    if not word.isascii():
        return word in reason
    return re.search(r"(?<![a-z])" + re.escape(word), reason) is not None


def ds_rows(data: TrialData, usubjid: Mapping[int, str]) -> list[Row]:
    """DS: informed consent, then completion or withdrawal, per subject.

    Rule: INFORMED CONSENT OBTAINED (DSCAT PROTOCOL MILESTONE, CT C114118) on the
    consent date; no RANDOMIZED milestone, because the registry's allocation is "NA"
    (docs/registry-record.txt: the control group is concurrent patients, not a
    randomised arm) and the assignment is DM's ARM; a withdrawn patient gets a
    DISPOSITION EVENT on the day withdrawn, the reason recorded as DSTERM and its CT
    term (NCOMPLT, C66727) as DSDECOD (:func:`withdrawal_term`), a patient whose status is completed gets COMPLETED
    on their last recorded dose or visit. A patient still on study has no disposition
    event yet.
    """
    last_seen: dict[int, date] = {}
    days: list[tuple[int, date]] = [(d.patient_id, d.day) for d in data.doses]
    days += [(e.patient_id, e.actual_date) for e in data.events if e.actual_date is not None]
    for patient_id, day in days:
        last_seen[patient_id] = max(day, last_seen.get(patient_id, day))
    rows: list[Row] = []
    for p in sorted(data.patients, key=lambda p: usubjid[p.id]):
        if p.consent_date is not None:
            rows.append(
                {
                    "USUBJID": usubjid[p.id],
                    "DSTERM": "INFORMED CONSENT OBTAINED",
                    "DSDECOD": "INFORMED CONSENT OBTAINED",
                    "DSCAT": "PROTOCOL MILESTONE",
                    "EPOCH": "SCREENING",
                    "DSSTDTC": p.consent_date,
                    "DSSTDY": sdtm_study_day(p.day0, p.consent_date),
                }
            )
        if p.withdrawn:
            reason = (p.withdrawal_reason or "").strip()
            rows.append(
                {
                    "USUBJID": usubjid[p.id],
                    "DSTERM": reason or "WITHDRAWAL BY SUBJECT",
                    "DSDECOD": withdrawal_term(reason),
                    "DSCAT": "DISPOSITION EVENT",
                    "EPOCH": "TREATMENT",
                    "DSSTDTC": p.withdrawn_on,
                    "DSSTDY": None
                    if p.withdrawn_on is None
                    else sdtm_study_day(p.day0, p.withdrawn_on),
                }
            )
        elif p.status == "completed":
            rows.append(
                {
                    "USUBJID": usubjid[p.id],
                    "DSTERM": "COMPLETED",
                    "DSDECOD": "COMPLETED",
                    "DSCAT": "DISPOSITION EVENT",
                    "EPOCH": "TREATMENT",
                    "DSSTDTC": last_seen.get(p.id),
                    "DSSTDY": None
                    if p.id not in last_seen
                    else sdtm_study_day(p.day0, last_seen[p.id]),
                }
            )
    return rows
