"""SDTM-style domains (core.tables.sdtm) against SDTMIG v3.4, from records built here.

The trial records are constructed directly with every field the domains read
(year of birth, consent, withdrawal, missed reasons, AE end and per-drug
relatedness), so each mapping is tested whatever the store fills in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from core.ae_outcomes import Action, Outcome
from core.entry_syntax import Relatedness
from core.protocol import Protocol
from core.renal_panel import casts_row
from core.schedule import EventKind
from core.store.ae_follow_up import AdverseEventFollowUp, follow_up_adverse_event
from core.store.clinical import AdverseEventEntry, record_adverse_event
from core.store.db import read_session
from core.store.trial_data import load_trial_data
from core.store.uow import UnitOfWork
from core.tables.cells import Table
from core.tables.sdtm import SDTM_DOMAINS, SdtmOptions, sdtm_tables
from core.tables.sdtm.events import AEACN_TERMS, AEOUT_TERMS, withdrawal_term
from core.tables.sdtm.findings import normal_range_indicator, standard_precision
from core.trial_records import (
    AdverseEventRecord,
    DoseRecord,
    EventRecord,
    LabRecord,
    PatientRecord,
    SledaiRecord,
    TrialData,
)
from core.units import Quantity, Unit, canonical
from core.vocabulary import Drug
from tests.support.store_fixtures import enroll

DAY0 = date(2026, 6, 1)
T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, written in UTC here
CUTOFF = date(2026, 8, 1)
STUDY = "NCT05863936"

# SDTMIG v3.4: Required and Expected variables of each domain (Req must be filled on
# every record, Exp must be present and may be null). AE's MedDRA code variables
# (AELLT, AELLTCD, AEPTCD, AEHLT.., AEBDSYCD, AESOCCD) are left out: adverse events
# are coded with CTCAE v5.0 terms, which carry no MedDRA codes here.
SDTMIG = {
    "DM": (
        ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY"),
        (
            "RFSTDTC",
            "RFENDTC",
            "RFXSTDTC",
            "RFXENDTC",
            "RFICDTC",
            "RFPENDTC",
            "DTHDTC",
            "DTHFL",
            "AGE",
            "AGEU",
            "RACE",
            "ARMCD",
            "ARM",
            "ACTARMCD",
            "ACTARM",
            "ARMNRS",
            "ACTARMUD",
        ),
    ),
    "DS": (
        ("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD"),
        ("EPOCH", "DSSTDTC"),
    ),
    "SV": (("STUDYID", "DOMAIN", "USUBJID", "VISITNUM"), ("VISIT", "SVSTDTC", "SVENDTC")),
    "EX": (
        ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT"),
        ("EXDOSE", "EXDOSU", "EXDOSFRM", "EXSTDTC", "EXENDTC"),
    ),
    "AE": (
        ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD"),
        ("AEBODSYS", "AESOC", "AESER", "AEACN", "AEREL", "AESTDTC", "AEENDTC"),
    ),
    "SUPPAE": (
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG"),
        ("QEVAL",),
    ),
    "LB": (
        ("STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST"),
        (
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
            "LBLOBXFL",
            "VISITNUM",
            "LBDTC",
        ),
    ),
    "QS": (
        ("STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT"),
        ("QSORRES", "QSSTRESC", "QSLOBXFL", "VISITNUM", "QSDTC"),
    ),
    "RS": (
        ("STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST"),
        ("RSORRES", "RSSTRESC", "RSEVAL", "VISITNUM", "RSDTC"),
    ),
}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")

P1 = PatientRecord(
    1,
    "P01",
    "belimumab_mt",
    DAY0,
    "F",
    "60",
    "en",
    "withdrawn",
    birth_year=1990,
    consent_date=date(2026, 5, 28),
    withdrawn_on=date(2026, 7, 20),
    withdrawal_reason="moved to another city",
)
P2 = PatientRecord(
    2, "P02", "mt_only", DAY0, "M", "70", "zh", "active", consent_date=date(2026, 5, 30)
)


def lab(
    row_id: int, patient: int, week: int, analyte: str, value: str, unit: str, **kw: object
) -> LabRecord:
    at = T0 + timedelta(weeks=week, minutes=row_id)
    return LabRecord(row_id, patient, week, analyte, value, unit, at, at, **kw)  # type: ignore[arg-type]


def renal_panel(start: int, patient: int, week: int, protein: str, creat: str) -> list[LabRecord]:
    casts_value, casts_unit = casts_row(frozenset())
    return [
        lab(start, patient, week, "urine_protein_24h", protein, "g/24h"),
        lab(start + 1, patient, week, "urine_rbc", "2", "/hpf"),
        lab(start + 2, patient, week, "urine_wbc", "1", "/hpf"),
        lab(start + 3, patient, week, "urine_casts", casts_value, casts_unit),
        lab(
            start + 4, patient, week, "serum_albumin", "3.8", "g/dL", ref_low="3.5", ref_high="5.5"
        ),
        lab(start + 5, patient, week, "serum_creatinine", creat, "mg/dL", ref_high="1.0"),
    ]


def event(patient: int, week: int, status: str, **kw: object) -> EventRecord:
    target = DAY0 + timedelta(weeks=week)
    return EventRecord(
        patient,
        EventKind.RENAL_ASSESSMENT,
        week,
        week,
        target,
        target,
        3,
        3,
        status,
        **kw,  # type: ignore[arg-type]
    )


DATA = TrialData(
    patients=(P1, P2),
    events=(
        event(1, 0, "done", actual_date=DAY0),
        event(1, 4, "missed", missed_reason="patient in hospital elsewhere"),
        event(1, 8, "planned"),  # window closed before the cut-off: not done
        event(1, 12, "cancelled"),
        event(2, 0, "done", actual_date=DAY0 + timedelta(days=1)),
        event(2, 12, "planned"),  # window still ahead of the cut-off: no record
    ),
    doses=(
        DoseRecord(1, 1, "mp", "500", "mg", DAY0, week=0),
        DoseRecord(2, 1, "mp", "500", "mg", DAY0 + timedelta(days=1), week=0),
        DoseRecord(3, 1, "belimumab", "600", "mg", DAY0 + timedelta(weeks=2), week=2),
    ),
    labs=(
        *renal_panel(10, 1, 0, "3.2", "1.2"),
        *renal_panel(20, 1, 4, "0.3", "0.8"),
        *renal_panel(30, 2, 0, "2.0", "0.9"),
    ),
    sledai=(
        SledaiRecord(1, 0, DAY0, 12, 8, items=("proteinuria", "hematuria", "leukopenia:drug")),
        SledaiRecord(1, 4, DAY0 + timedelta(weeks=4), 4, 4, items=("proteinuria",)),
    ),
    adverse_events=(
        AdverseEventRecord(
            1,
            1,
            "5.0",
            "lung_infection",
            "lung infection",
            True,
            3,
            DAY0 + timedelta(days=20),
            criteria=("hospitalization",),
            action="drug_interrupted",
            outcome="recovered",
            end_date=DAY0 + timedelta(days=30),
            related_to=(("belimumab", "possible"), ("mmf", "probable"), ("tacrolimus", "unlikely")),
        ),
        AdverseEventRecord(
            2,
            1,
            "5.0",
            "headache",
            "headache",
            True,
            1,
            DAY0 + timedelta(days=3),
            relatedness="unrelated",
        ),
    ),
)


def tables() -> dict[str, Table]:
    produced = sdtm_tables(DATA, SdtmOptions(STUDY), UTC, cutoff=CUTOFF)
    return {t.name: t for t in produced}


def as_dicts(table: Table) -> list[dict[str, str]]:
    return [dict(zip(table.columns, (str(v) for v in row), strict=True)) for row in table.rows]


def rows(name: str) -> list[dict[str, str]]:
    return as_dicts(tables()[name])


def test_every_domain_is_produced_in_order() -> None:
    assert tuple(tables()) == SDTM_DOMAINS


@pytest.mark.parametrize("domain", list(SDTMIG))
def test_each_domain_has_the_required_and_expected_variables(domain: str) -> None:
    required, expected = SDTMIG[domain]
    table = tables()[domain]
    assert set(required) <= set(table.columns), set(required) - set(table.columns)
    assert set(expected) <= set(table.columns), set(expected) - set(table.columns)
    assert len(set(table.columns)) == len(table.columns)
    records = rows(domain)
    assert records, domain
    for record in records:
        for variable in required:
            assert record[variable], (domain, variable, record)
        for variable, value in record.items():
            if variable.endswith("DTC") and value:
                assert ISO_8601.match(value), (variable, value)
    seq = f"{domain}SEQ"
    if seq in table.columns:
        keys = [(r["USUBJID"], r[seq]) for r in records]
        assert len(keys) == len(set(keys))


def test_the_same_data_gives_the_same_tables() -> None:
    assert sdtm_tables(DATA, SdtmOptions(STUDY), UTC, cutoff=CUTOFF) == tuple(tables().values())


def test_dm_age_consent_and_reference_dates() -> None:
    dm = {r["SUBJID"]: r for r in rows("DM")}
    p1 = dm["P01"]
    assert (p1["AGE"], p1["AGEU"], p1["RFICDTC"], p1["COUNTRY"]) == (
        "36",
        "YEARS",
        "2026-05-28",
        "CHN",
    )
    assert (p1["RFSTDTC"], p1["RFXSTDTC"], p1["RFXENDTC"]) == (
        "2026-06-01",
        "2026-06-01",
        "2026-06-15",
    )
    assert (p1["RFENDTC"], p1["RFPENDTC"]) == ("2026-07-20", "2026-07-20")
    # No year of birth recorded: AGE and AGEU empty; still on study: no end date.
    assert (dm["P02"]["AGE"], dm["P02"]["AGEU"], dm["P02"]["RFENDTC"]) == ("", "", "")
    assert dm["P02"]["ARMCD"] == "MT_ONLY"


def test_ds_consent_and_withdrawal_with_reason_and_no_randomization() -> None:
    ds = [(r["USUBJID"], r["DSCAT"], r["DSDECOD"], r["DSTERM"], r["DSSTDTC"]) for r in rows("DS")]
    assert ds == [
        (
            f"{STUDY}-P01",
            "PROTOCOL MILESTONE",
            "INFORMED CONSENT OBTAINED",
            "INFORMED CONSENT OBTAINED",
            "2026-05-28",
        ),
        (
            f"{STUDY}-P01",
            "DISPOSITION EVENT",
            "WITHDRAWAL BY SUBJECT",
            "moved to another city",
            "2026-07-20",
        ),
        (
            f"{STUDY}-P02",
            "PROTOCOL MILESTONE",
            "INFORMED CONSENT OBTAINED",
            "INFORMED CONSENT OBTAINED",
            "2026-05-30",
        ),
    ]
    assert all(r["DSDECOD"] != "RANDOMIZED" for r in rows("DS"))


@pytest.mark.parametrize(
    ("reason", "term"),
    [
        ("moved to another city", "WITHDRAWAL BY SUBJECT"),
        (None, "WITHDRAWAL BY SUBJECT"),
        ("severe adverse event: sepsis", "ADVERSE EVENT"),
        ("失访", "LOST TO FOLLOW-UP"),
        ("怀孕", "PREGNANCY"),
        ("investigator decision", "PHYSICIAN DECISION"),
        # A word is matched where a word starts: "studied" does not say "died".
        ("has studied the leaflet and prefers to stop", "WITHDRAWAL BY SUBJECT"),
        ("Patient died of sepsis", "DEATH"),
        ("pregnancy confirmed", "PREGNANCY"),
    ],
)
def test_withdrawal_reason_in_ct(reason: str | None, term: str) -> None:
    assert withdrawal_term(reason) == term


def test_ds_completed_on_the_last_dose_or_visit() -> None:
    done = replace(P2, status="completed")
    data = replace(DATA, patients=(P1, done))
    ds = next(t for t in sdtm_tables(data, SdtmOptions(STUDY), UTC) if t.name == "DS")
    completed = [
        r for r in as_dicts(ds) if r["DSCAT"] == "DISPOSITION EVENT" and "P02" in r["USUBJID"]
    ]
    assert [(r["DSDECOD"], r["DSSTDTC"]) for r in completed] == [("COMPLETED", "2026-06-02")]


def test_sv_attended_missed_not_done_and_cancelled_visits() -> None:
    sv = {(r["USUBJID"][-3:], r["VISITNUM"]): r for r in rows("SV")}
    assert (sv["P01", "0"]["SVOCCUR"], sv["P01", "0"]["SVSTDTC"]) == ("Y", "2026-06-01")
    assert (sv["P01", "4"]["SVOCCUR"], sv["P01", "4"]["SVREASOC"]) == (
        "N",
        "patient in hospital elsewhere",
    )
    # Week 8's window closed on 2026-07-30 with nothing recorded: not done at the cut-off.
    assert (sv["P01", "8"]["SVOCCUR"], sv["P01", "8"]["SVREASOC"]) == (
        "N",
        "NOT DONE: WINDOW CLOSED WITH NOTHING RECORDED",
    )
    assert sv["P01", "12"]["SVREASOC"] == "CANCELLED"
    assert ("P02", "12") not in sv
    assert all(r["SVPRESP"] == "Y" for r in sv.values())


def test_sv_judges_nothing_not_done_before_the_window_closes() -> None:
    early = sdtm_tables(DATA, SdtmOptions(STUDY), UTC, cutoff=date(2026, 7, 30))
    sv = as_dicts(next(t for t in early if t.name == "SV"))
    # On 2026-07-30 week 8 (booked 2026-07-27, window +3 days) can still happen.
    assert {r["VISITNUM"] for r in sv if r["USUBJID"].endswith("P01")} == {"0", "4", "12"}


def test_ex_one_record_per_administration() -> None:
    ex = [
        (r["EXTRT"], r["EXDOSE"], r["EXDOSU"], r["EXSTDTC"], r["EXENDTC"], r["EXSEQ"])
        for r in rows("EX")
    ]
    assert ex == [
        ("METHYLPREDNISOLONE", "500", "mg", "2026-06-01", "2026-06-01", "1"),
        ("METHYLPREDNISOLONE", "500", "mg", "2026-06-02", "2026-06-02", "2"),
        ("BELIMUMAB", "600", "mg", "2026-06-15", "2026-06-15", "3"),
    ]


def lb(subject: str, test: str, visit: str) -> dict[str, str]:
    return next(
        r
        for r in rows("LB")
        if r["USUBJID"].endswith(subject) and r["LBTESTCD"] == test and r["VISITNUM"] == visit
    )


def test_lb_baseline_flag_on_the_last_record_at_or_before_week_0() -> None:
    assert (lb("P01", "PROT", "0")["LBLOBXFL"], lb("P01", "PROT", "0")["LBBLFL"]) == ("Y", "Y")
    assert (lb("P01", "PROT", "4")["LBLOBXFL"], lb("P01", "PROT", "4")["LBBLFL"]) == ("", "")
    assert sum(r["LBBLFL"] == "Y" for r in rows("LB")) == 12  # six tests, two subjects


def test_lb_range_indicator_and_ct_units() -> None:
    creat = lb("P01", "CREAT", "0")
    assert (creat["LBORRES"], creat["LBORRESU"], creat["LBORNRHI"], creat["LBNRIND"]) == (
        "1.2",
        "mg/dL",
        "1.0",
        "HIGH",
    )
    assert lb("P01", "CREAT", "4")["LBNRIND"] == "NORMAL"
    albumin = lb("P01", "ALB", "0")
    assert (albumin["LBSTRESN"], albumin["LBSTRESU"], albumin["LBSTNRLO"], albumin["LBSTNRHI"]) == (
        "38",
        "g/L",
        "35",
        "55",
    )
    assert lb("P01", "RBC", "0")["LBORRESU"] == "/HPF"
    assert lb("P01", "RBC", "0")["LBNRIND"] == ""  # no range recorded
    assert lb("P01", "PROT", "0")["LBSTRESU"] == "g/day"


def test_lb_standard_result_keeps_the_original_precision() -> None:
    creat = lb("P01", "CREAT", "0")
    # 1.2 mg/dL x 88.4 = 106.08 µmol/L; 0.1 mg/dL is 8.84 µmol/L, so units are kept.
    assert (creat["LBSTRESN"], creat["LBSTRESC"], creat["LBSTRESU"]) == ("106", "106", "umol/L")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("1.2", Unit.MG_PER_DL, "106"),
        ("1.25", Unit.MG_PER_DL, "110.5"),
        ("400", Unit.MG_PER_24H, "0.400"),
        ("3.5", Unit.G_PER_DL, "35"),
        ("69", Unit.UMOL_PER_L, "69"),
    ],
)
def test_standard_precision(value: str, unit: Unit, expected: str) -> None:
    q = Quantity(Decimal(value), unit)
    assert format(standard_precision(q, canonical(q)), "f") == expected


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [
        ("3", "3.5", "5.5", "LOW"),
        ("6", "3.5", "5.5", "HIGH"),
        ("5.5", "3.5", "5.5", "NORMAL"),
        ("1", None, None, None),
    ],
)
def test_normal_range_indicator(
    value: str, low: str | None, high: str | None, expected: str | None
) -> None:
    assert normal_range_indicator(Decimal(value), low, high) == expected


def test_ae_action_outcome_relationship_end_and_seriousness() -> None:
    ae = {r["AETERM"]: r for r in rows("AE")}
    lung = ae["lung infection"]
    assert (lung["AEACN"], lung["AEOUT"], lung["AEENDTC"], lung["AEENDY"]) == (
        "DRUG INTERRUPTED",
        "RECOVERED/RESOLVED",
        "2026-07-01",
        "31",
    )
    # No overall answer: the strongest of the per-drug answers (MMF probable).
    assert lung["AEREL"] == "PROBABLY RELATED"
    assert (lung["AESER"], lung["AESHOSP"], lung["AESDTH"], lung["AESMIE"]) == ("Y", "Y", "N", "N")
    headache = ae["headache"]
    assert (headache["AEREL"], headache["AESER"], headache["AEACN"], headache["AEENDTC"]) == (
        "NOT RELATED",
        "N",
        "",
        "",
    )
    assert headache["AESEQ"] == "1"  # onset day 4, before the infection


def test_suppae_holds_the_relationship_to_each_drug() -> None:
    supp = [(r["IDVAR"], r["IDVARVAL"], r["QNAM"], r["QVAL"], r["QEVAL"]) for r in rows("SUPPAE")]
    assert supp == [
        ("AESEQ", "2", "AERELBEL", "POSSIBLY RELATED", "INVESTIGATOR"),
        ("AESEQ", "2", "AERELMMF", "PROBABLY RELATED", "INVESTIGATOR"),
        ("AESEQ", "2", "AERELTAC", "UNLIKELY RELATED", "INVESTIGATOR"),
    ]


def test_qs_items_and_totals() -> None:
    qs = rows("QS")
    week0 = {r["QSTEST"]: r for r in qs if r["VISITNUM"] == "0"}
    assert len(week0) == 26  # 24 descriptors, renal subtotal, total
    assert week0["SLEDAI-2K Proteinuria"]["QSSTRESN"] == "4"
    assert week0["SLEDAI-2K Seizure"]["QSSTRESN"] == "0"
    leukopenia = week0["SLEDAI-2K Leukopenia"]
    assert (leukopenia["QSORRES"], leukopenia["QSSTRESN"]) == ("0 (DRUG)", "0")
    total = week0["SLEDAI-2K Total Score"]
    assert (total["QSTESTCD"], total["QSSTRESN"], total["QSDRVFL"], total["QSBLFL"]) == (
        "SL2KTOT",
        "12",
        "Y",
        "Y",
    )
    assert week0["SLEDAI-2K Renal Subtotal"]["QSSTRESN"] == "8"
    later = {r["QSTESTCD"]: r for r in qs if r["VISITNUM"] == "4"}
    assert (later["SL2KTOT"]["QSSTRESN"], later["SL2KTOT"]["QSBLFL"]) == ("4", "")


def test_rs_response_and_its_clauses_at_each_assessment() -> None:
    rs = [r for r in rows("RS") if r["USUBJID"].endswith("P01")]
    by_test = {r["RSTESTCD"]: r for r in rs}
    assert {r["VISITNUM"] for r in rs} == {"4"}
    assert by_test["OVRLRESP"]["RSORRES"] == "CR"
    assert [r["RSTESTCD"] for r in rs] == [
        "OVRLRESP",
        "CRPROT",
        "CRSED",
        "CRALB",
        "CRCREAT",
        "PRPROTFL",
        "PRPROTLV",
        "PRRBCFL",
        "PRCREAT",
    ]
    assert by_test["CRPROT"]["RSORRES"] == "MET"  # 0.3 < 0.4 g/24h
    # RBC 2/hpf at baseline and at week 4: no fall of more than 50%.
    assert by_test["PRRBCFL"]["RSORRES"] == "NOT MET"
    assert all(r["RSGRPID"] == "WEEK 4" and r["RSDRVFL"] == "Y" for r in rs)
    assert by_test["OVRLRESP"]["RSDTC"].startswith("2026-06-29")


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_the_follow_up_stores_is_an_out_term(outcome: Outcome) -> None:
    assert AEOUT_TERMS[outcome.value] in {
        "RECOVERED/RESOLVED",
        "RECOVERING/RESOLVING",
        "NOT RECOVERED/NOT RESOLVED",
        "RECOVERED/RESOLVED WITH SEQUELAE",
        "FATAL",
        "UNKNOWN",
    }


@pytest.mark.parametrize("action", list(Action))
def test_every_action_the_follow_up_stores_is_an_acn_term(action: Action) -> None:
    assert AEACN_TERMS[action.value] in {
        "DOSE NOT CHANGED",
        "DOSE REDUCED",
        "DRUG INTERRUPTED",
        "DRUG WITHDRAWN",
        "NOT APPLICABLE",
        "UNKNOWN",
    }


def test_a_followed_up_event_reaches_ae_and_suppae_from_the_store(
    engine: Engine, protocol: Protocol
) -> None:
    """Stored with /ae's services, followed up to its end: AEOUT, AEACN, AEENDTC from the
    follow-up, AEREL the strongest per-drug answer, SUPPAE one row per drug."""
    pid = enroll(engine, protocol)
    now = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
    with UnitOfWork(engine, "staff:1", now) as uow:
        entry = AdverseEventEntry("lung infection", "lung_infection", 3, (), date(2026, 12, 20))
        ae_id = record_adverse_event(uow, pid, "P01", entry).id
    assert ae_id is not None
    with UnitOfWork(engine, "staff:1", now) as uow:
        follow_up = AdverseEventFollowUp(
            Outcome.RECOVERED_WITH_SEQUELAE,
            Action.DRUG_INTERRUPTED,
            date(2026, 12, 30),
            (
                (Drug.MP, Relatedness.PROBABLE),
                (Drug.MMF, Relatedness.POSSIBLE),
            ),
        )
        follow_up_adverse_event(uow, ae_id, follow_up, date(2026, 12, 31))
    with read_session(engine) as session:
        data = load_trial_data(session, UTC)
    produced = {t.name: t for t in sdtm_tables(data, SdtmOptions(STUDY), UTC)}
    [ae] = as_dicts(produced["AE"])
    assert (ae["AEOUT"], ae["AEACN"], ae["AEENDTC"], ae["AEREL"]) == (
        "RECOVERED/RESOLVED WITH SEQUELAE",
        "DRUG INTERRUPTED",
        "2026-12-30",
        "PROBABLY RELATED",
    )
    supp = [(r["QNAM"], r["QVAL"]) for r in as_dicts(produced["SUPPAE"])]
    assert supp == [("AERELMP", "PROBABLY RELATED"), ("AERELMMF", "POSSIBLY RELATED")]
