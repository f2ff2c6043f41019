"""/export and ``python -m bot export DIR``: the workbook, the SDTM-style CSVs, the lab file
that ``python -m bot endpoints`` reads back, for the seeded trial (tests.support.outputs_seed)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.outputs.export import CSV_NAMES, ExportFiles, build_export
from core.endpoints import COLUMNS, PatientEndpoints
from core.patient_response import LabRow, patient_response
from core.protocol import Protocol
from core.renal_panel import StoredResult
from core.response import Sex
from core.store.db import read_session
from core.store.identities import bind_account
from core.store.models import AuditRecord, Channel, InviteRole, LabResult, Patient
from core.store.trial_data import load_trial_data
from core.store.uow import UnitOfWork
from core.tables.lab_file import derive_trial_endpoints
from core.tables.workbook import WORKBOOK_SHEETS
from core.trial_records import TrialData
from core.trial_summary import TrialSummary, summarize
from core.units import Analyte, parse_quantity
from tests.support.bot_harness import World
from tests.support.cli_runs import run_bot
from tests.support.outputs_seed import NOW, SHANGHAI, TODAY, seed_trial, seeded_engine

TELEGRAM_USER = 987_654_321_0


@dataclass
class Exported:
    engine: Engine
    db: Path
    data: TrialData
    endpoints: dict[str, PatientEndpoints]
    files: ExportFiles


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> Exported:
    db = tmp_path_factory.mktemp("export") / "trial.db"
    engine = seeded_engine(db, protocol)
    # A patient who joined: their Telegram id must never reach an export.
    with UnitOfWork(engine, "system", NOW) as uow:
        patient = uow.session.exec(select(Patient).where(Patient.study_id == "P01")).one()
        bind_account(uow, patient, Channel.TELEGRAM, str(TELEGRAM_USER), str(TELEGRAM_USER))
    with read_session(engine) as session:
        data = load_trial_data(session, SHANGHAI, events=True)
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    files = build_export(data, endpoints, protocol, SHANGHAI, TODAY, NOW)
    return Exported(engine, db, data, endpoints, files)


def csv_rows(files: ExportFiles, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files.csvs[name].decode("utf-8-sig"))))


def test_every_csv_opens_in_excel_on_chinese_windows(exported: Exported) -> None:
    """A byte-order mark first: without it Excel reads the file as GBK and garbles Chinese."""
    for name in CSV_NAMES:
        data = exported.files.csvs[name]
        assert data.startswith(codecs.BOM_UTF8), name
        assert data.count(codecs.BOM_UTF8) == 1, name


def test_workbook_has_every_sheet_and_column(exported: Exported) -> None:
    book = load_workbook(io.BytesIO(exported.files.workbook))
    assert book.sheetnames == [
        "patients",
        "visits",
        "doses",
        "labs",
        "sledai_2k",
        "cd20",
        "adverse_events",
        "responses",
        "endpoints",
        "summary",
        "codebook",
        "about",
    ]
    for name, columns in WORKBOOK_SHEETS.items():
        header = [cell.value for cell in book[name][1]]
        assert header == list(columns), name
    counts = {name: book[name].max_row - 1 for name in book.sheetnames}
    # 7 patients; 6 SLEDAI-2K entries (4 pairs + 2 baselines); 8 CD20 counts; 4 events;
    # one response row per assessed week after baseline: P01 x2, P02, P03, P04, P05 x2.
    assert counts["patients"] == 7
    assert counts["sledai_2k"] == 10
    assert counts["cd20"] == 8
    assert counts["adverse_events"] == 4
    assert counts["responses"] == 7
    assert counts["endpoints"] == 7
    # Per arm and overall: five intention-to-treat figures and five completers-only ones.
    assert counts["summary"] == 3 * 10
    assert counts["doses"] == 8
    with read_session(exported.engine) as session:
        assert counts["labs"] == len(session.exec(select(LabResult)).all())
    # The visits of every patient's plan are there (oral doses are not visits).
    assert counts["visits"] > 7 * 7


def test_workbook_keeps_values_as_entered(exported: Exported) -> None:
    """A number is a numeric cell showing the digits entered (0.30, not 0.3); text stays."""
    book = load_workbook(io.BytesIO(exported.files.workbook))
    labs = [
        dict(zip(WORKBOOK_SHEETS["labs"], row, strict=True))
        for row in book["labs"].iter_rows(min_row=2, values_only=True)
    ]
    protein = next(
        r
        for r in labs
        if r["study_id"] == "P01" and r["week"] == 12 and r["analyte"] == "urine_protein_24h"
    )
    assert protein["value"] == 0.3
    cell = next(
        row[3]
        for row in book["labs"].iter_rows(min_row=2)
        if (row[0].value, row[1].value, row[2].value) == ("P01", 12, "urine_protein_24h")
    )
    assert (cell.data_type, cell.number_format) == ("n", "0.00")
    assert protein["unit"] == "g/24h"
    assert protein["collected"] == datetime(2026, 8, 24, 8, 0)
    patients = list(book["patients"].iter_rows(min_row=2, values_only=True))
    assert [p[0] for p in patients] == ["P01", "P02", "P03", "P04", "P05", "P06", "P07"]
    assert patients[0][2] == datetime(2026, 6, 1, 0, 0)
    # Year of birth, age at day 0 and consent date as enrolled; none for P06 (never asked).
    assert patients[0][7:10] == (1984, 42, datetime(2026, 5, 28, 0, 0))
    assert patients[5][0] == "P06" and patients[5][7:10] == (None, None, None)
    responses = list(book["responses"].iter_rows(min_row=2, values_only=True))
    assert responses[0][:4] == ("P01", "belimumab_mt", 12, "CR")
    endpoints = {row[0]: row for row in book["endpoints"].iter_rows(min_row=2, values_only=True)}
    assert endpoints["P01"][2:7] == ("responder", "PR", "CR", "yes", 12)
    assert endpoints["P01"][8] is None
    assert endpoints["P05"][8] == "week-24 panel incomplete"
    assert endpoints["P06"][8] == "not yet at week 24"
    assert endpoints["P07"][8] == "withdrawn before any assessment"


REQUIRED = {
    "dm.csv": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SUBJID",
        "RFSTDTC",
        "SITEID",
        "SEX",
        "ARMCD",
        "ARM",
        "ACTARMCD",
        "ACTARM",
        "COUNTRY",
    ),
    "ex.csv": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC"),
    "lb.csv": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "LBSEQ",
        "LBTESTCD",
        "LBTEST",
        "LBORRES",
        "LBORRESU",
        "LBSTRESN",
        "LBSTRESU",
        "VISITNUM",
        "VISIT",
        "LBDTC",
    ),
    "ae.csv": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "AESEQ",
        "AETERM",
        "AEDECOD",
        "AETOXGR",
        "AESER",
        "AESTDTC",
    ),
}
# Variables SDTM requires to be filled on every row.
FILLED = {
    "dm.csv": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "ARMCD", "ARM", "COUNTRY"),
    "ex.csv": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT"),
    "lb.csv": ("STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST"),
    "ae.csv": ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD"),
}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")


@pytest.mark.parametrize("name", ["dm.csv", "ex.csv", "lb.csv", "ae.csv"])
def test_sdtm_datasets_have_their_required_variables(exported: Exported, name: str) -> None:
    rows = csv_rows(exported.files, name)
    assert rows
    header = list(rows[0])
    assert set(REQUIRED[name]) <= set(header)
    domain = name.removesuffix(".csv").upper()
    for row in rows:
        assert row["DOMAIN"] == domain
        assert row["STUDYID"] == "NCT05863936"
        for variable in FILLED[name]:
            assert row[variable], (name, variable, row)
        for variable, value in row.items():
            if variable.endswith("DTC") and value:
                assert ISO_DATE.match(value), (variable, value)
    if domain != "DM":
        seq = f"{domain}SEQ"
        per_subject: dict[str, list[int]] = {}
        for row in rows:
            per_subject.setdefault(row["USUBJID"], []).append(int(row[seq]))
        assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in per_subject.values())
    subjects = {row["USUBJID"] for row in csv_rows(exported.files, "dm.csv")}
    assert {row["USUBJID"] for row in rows} <= subjects


def test_sdtm_values(exported: Exported) -> None:
    dm = {row["SUBJID"]: row for row in csv_rows(exported.files, "dm.csv")}
    assert dm["P01"]["USUBJID"] == "NCT05863936-P01"
    assert dm["P01"]["RFSTDTC"] == "2026-06-01"
    assert dm["P04"]["ARMCD"] == "MT_ONLY"
    assert dm["P04"]["ARM"] == "Multi-target therapy only"
    assert dm["P03"]["SEX"] == "M"
    # The year of birth and consent date /enroll stored: AGE at day 0 and RFICDTC.
    assert (dm["P01"]["AGE"], dm["P01"]["AGEU"], dm["P01"]["RFICDTC"]) == (
        "42",
        "YEARS",
        "2026-05-28",
    )
    assert (dm["P03"]["AGE"], dm["P03"]["RFICDTC"]) == ("51", "2026-05-25")
    assert (dm["P06"]["AGE"], dm["P06"]["AGEU"], dm["P06"]["RFICDTC"]) == ("", "", "")
    ds = csv_rows(exported.files, "ds.csv")
    consents = {
        r["USUBJID"]: (r["DSSTDTC"], r["DSSTDY"])
        for r in ds
        if r["DSDECOD"] == "INFORMED CONSENT OBTAINED"
    }
    # Consent 4 days before day 0 (study day 1): study day -4, SDTM having no day 0.
    assert consents["NCT05863936-P01"] == ("2026-05-28", "-4")
    assert "NCT05863936-P06" not in consents
    assert len(consents) == 6
    ae = csv_rows(exported.files, "ae.csv")
    lung = next(r for r in ae if r["AETERM"] == "lung infection")
    assert (lung["AEDECOD"], lung["AEBODSYS"], lung["AETOXGR"], lung["AESER"], lung["AESHOSP"]) == (
        "Lung infection",
        "Infections and infestations",
        "3",
        "Y",
        "Y",
    )
    # Onset 5 weeks after day 0 (2026-06-01 is study day 1): 2026-07-06, day 36.
    assert (lung["AESTDTC"], lung["AESTDY"]) == ("2026-07-06", "36")
    zoster = next(r for r in ae if r["AETERM"] == "herpes zoster")
    assert (zoster["AEDECOD"], zoster["AESER"]) == ("Shingles", "N")
    ex = csv_rows(exported.files, "ex.csv")
    belimumab = [r for r in ex if r["USUBJID"] == "NCT05863936-P01" and r["EXTRT"] == "BELIMUMAB"]
    assert [(r["EXDOSE"], r["EXDOSU"], r["EXSTDTC"], r["EXROUTE"]) for r in belimumab] == [
        ("620", "mg", "2026-06-15", "INTRAVENOUS"),
        ("620", "mg", "2026-06-29", "INTRAVENOUS"),
        ("620", "mg", "2026-07-13", "INTRAVENOUS"),
    ]
    lb = csv_rows(exported.files, "lb.csv")
    creatinine = next(
        r
        for r in lb
        if r["USUBJID"] == "NCT05863936-P04" and r["LBTESTCD"] == "CREAT" and r["VISITNUM"] == "24"
    )
    assert (creatinine["LBORRES"], creatinine["LBORRESU"], creatinine["VISIT"]) == (
        "75",
        "umol/L",
        "WEEK 24",
    )
    assert creatinine["LBDTC"] == "2026-11-16T08:00"
    casts = next(
        r
        for r in lb
        if r["USUBJID"] == "NCT05863936-P01" and r["LBTESTCD"] == "CASTS" and r["VISITNUM"] == "0"
    )
    assert casts["LBORRES"] == "RBC"
    cd20 = [r for r in lb if r["LBTESTCD"] == "CD20"]
    assert len(cd20) == 8
    # 7 baselines, P01 w12 + w24, P02, P03, P04 w24, P05 w12 + w24.
    assert Counter(r["LBTESTCD"] for r in lb)["PROT"] == 14


def test_no_telegram_ids_names_or_actors_in_any_file(exported: Exported) -> None:
    blobs = list(exported.files.csvs.values())
    for archive in (exported.files.workbook, exported.files.archive):
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            blobs += [z.read(name) for name in z.namelist()]
    for blob in blobs:
        assert str(TELEGRAM_USER).encode() not in blob
        assert b"staff:1" not in blob
        assert b"User10" not in blob


def test_exports_are_identical_for_the_same_data(exported: Exported, protocol: Protocol) -> None:
    again = build_export(exported.data, exported.endpoints, protocol, SHANGHAI, TODAY, NOW)
    assert again.workbook == exported.files.workbook
    assert again.archive == exported.files.archive
    with zipfile.ZipFile(io.BytesIO(exported.files.archive)) as z:
        assert z.namelist() == list(CSV_NAMES)
        assert all(z.read(name) == exported.files.csvs[name] for name in CSV_NAMES)


def test_the_archive_holds_the_lab_file_and_every_sdtm_domain(exported: Exported) -> None:
    with zipfile.ZipFile(io.BytesIO(exported.files.archive)) as z:
        assert z.namelist() == [
            "labs.csv",
            "dm.csv",
            "ds.csv",
            "sv.csv",
            "ex.csv",
            "ae.csv",
            "suppae.csv",
            "lb.csv",
            "qs.csv",
            "rs.csv",
        ]
    rs = csv_rows(exported.files, "rs.csv")
    assert {r["RSTESTCD"] for r in rs} >= {"OVRLRESP", "CRPROT", "PRCREAT"}
    qs = csv_rows(exported.files, "qs.csv")
    assert any(r["QSTESTCD"] == "SL2KTOT" for r in qs)


def test_lab_file_has_the_endpoint_columns_and_readable_units(exported: Exported) -> None:
    rows = csv_rows(exported.files, "labs.csv")
    assert list(rows[0]) == list(COLUMNS)
    for row in rows:
        if row["analyte"] != "urine_casts":
            parse_quantity(Analyte(row["analyte"]), f"{row['value']} {row['unit']}")
    p05 = [r for r in rows if r["patient_id"] == "P05" and r["week"] == "24"]
    assert [r["analyte"] for r in p05] == ["urine_protein_24h"]


def test_lab_file_reads_as_the_bot_reads_the_store(exported: Exported, protocol: Protocol) -> None:
    """The exported file and /status's reading of the store give every patient the same classes."""
    options = protocol.response_options()
    for patient in exported.data.patients:
        rows = [
            LabRow(
                lab.patient_id,
                lab.week or 0,
                StoredResult(lab.analyte, lab.value, lab.unit, lab.ref_high, lab.ref_unit, lab.uti),
            )
            for lab in exported.data.labs
            if lab.patient_id == patient.id
        ]
        store = patient_response(rows, Sex(patient.sex), options)
        from_file = exported.endpoints[patient.study_id]
        assert store.result.week24 == from_file.result.week24
        assert store.result.cumulative == from_file.result.cumulative
        assert {w: a.cls for w, a in store.assessments.items()} == {
            w: a.cls for w, a in from_file.assessments.items()
        }


def sheet_values(workbook: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(io.BytesIO(workbook))
    return {
        name: list(book[name].iter_rows(min_row=2, values_only=True)) for name in book.sheetnames
    }


# Two `python -m bot` subprocesses, over 2 s.
@pytest.mark.e2e
@pytest.mark.slow
def test_round_trip_export_then_endpoints_equals_the_summary(
    exported: Exported, protocol: Protocol, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    written = run_bot("export", str(out), "--today", TODAY.isoformat(), database=exported.db)
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["trial.xlsx", "csv.zip", *CSV_NAMES])
    assert (out / "csv.zip").read_bytes() == exported.files.archive
    # The same workbook but for the export time in `about` (the command's clock is now).
    by_command = sheet_values((out / "trial.xlsx").read_bytes())
    by_test = sheet_values(exported.files.workbook)
    assert by_command.keys() == by_test.keys()
    for name in by_test:
        if name != "about":
            assert by_command[name] == by_test[name], name
    about = {row[0]: row[1] for row in by_command["about"]}
    assert about["data_cut_off"] == datetime(2026, 11, 30)
    assert isinstance(about["exported_at_utc"], datetime)

    derived = run_bot("endpoints", "--labs", str(out / "labs.csv"), "--json", database=exported.db)
    assert derived.returncode == 0, derived.stderr
    patients = {row["patient_id"]: row for row in json.loads(derived.stdout)}
    with (out / "dm.csv").open(encoding="utf-8") as handle:
        arm_of = {row["SUBJID"]: row["ARMCD"].lower() for row in csv.DictReader(handle)}

    summary: TrialSummary = summarize(exported.data, exported.endpoints, list(protocol.arms), TODAY)
    for group in summary.groups:
        members = [
            p for sid, p in patients.items() if group.arm is None or arm_of[sid] == group.arm
        ]
        classed = [p for p in members if p["week24"] in ("CR", "PR", "NR")]
        decided = [p for p in classed if p["cumulative_cr"] is not None]
        r = group.completers
        assert r.n == len(classed)
        assert (r.cr.count, r.cr.n) == (sum(p["week24"] == "CR" for p in classed), len(classed))
        assert r.pr.count == sum(p["week24"] == "PR" for p in classed)
        assert r.nr.count == sum(p["week24"] == "NR" for p in classed)
        assert r.orr.count == sum(p["week24"] in ("CR", "PR") for p in classed)
        assert (r.cumulative_cr.count, r.cumulative_cr.n) == (
            sum(p["cumulative_cr"] is True for p in decided),
            len(decided),
        )
        # Intention to treat: every enrolled patient (dm.csv) in the denominator.
        enrolled = [sid for sid, arm in arm_of.items() if group.arm is None or arm == group.arm]
        itt = group.itt
        assert (itt.cumulative_cr.count, itt.cumulative_cr.n) == (
            sum(p["cumulative_cr"] is True for p in members),
            len(enrolled),
        )
        assert (itt.cr.count, itt.cr.n) == (r.cr.count, len(enrolled))
    # And the numbers are the seeded ones (not two equal wrong answers).
    overall = summary.groups[-1].completers
    assert (overall.n, overall.cr.count, overall.pr.count, overall.cumulative_cr.count) == (
        4,
        1,
        2,
        2,
    )


# `python -m bot export` as a subprocess.
@pytest.mark.e2e
def test_export_command_line_reports_an_unreadable_database(tmp_path: Path) -> None:
    bad = tmp_path / "missing-dir" / "x" / "trial.db"
    bad.parent.mkdir(parents=True)
    bad.write_text("not a database")
    result = run_bot("export", str(tmp_path / "out"), database=bad)
    assert result.returncode == 1
    assert "cannot read the database" in result.stderr


# --- /export end to end ------------------------------------------------------------------


async def test_export_sends_the_workbook_and_the_archive(world: World, protocol: Protocol) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    await world.api.user_sends(user, "/export")
    workbook = await world.api.wait_for_message(user, lambda m: m.document is not None)
    archive = await world.api.wait_for_message(user, lambda m: m.document is not None)
    assert workbook.document is not None and archive.document is not None
    assert workbook.document.file_name == "trial-2026-11-30.xlsx"
    assert archive.document.file_name == "trial-csv-2026-11-30.zip"
    assert "7 patients" in (workbook.visible_caption or "")
    assert "labs.csv" in (archive.visible_caption or "")
    with read_session(world.services.engine) as session:
        data = load_trial_data(session, world.services.zone, events=True)
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    files = build_export(data, endpoints, protocol, world.services.zone, TODAY, world.clock.now())
    assert workbook.document.data == files.workbook
    assert archive.document.data == files.archive
    with read_session(world.services.engine) as session:
        audit = session.exec(select(AuditRecord).where(AuditRecord.action == "export.sent")).one()
    assert json.loads(audit.after or "{}")["patients"] == 7
    assert audit.actor.startswith("staff:")


async def test_export_in_chinese_and_refused_to_investigators(
    world: World, protocol: Protocol
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    investigator = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    refused = await world.say(investigator, "/export")
    assert "/export" in refused.shown and refused.document is None
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    await world.api.user_sends(coordinator, "/export")
    first = await world.api.wait_for_message(coordinator, lambda m: m.document is not None)
    assert "试验工作簿，7 名受试者" in (first.visible_caption or "")
    assert first.document is not None
    assert first.document.file_name == f"trial-{TODAY.isoformat()}.xlsx"


async def test_export_caption_counts_one_patient_in_the_singular(world: World) -> None:
    world.enroll("P01")
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    await world.api.user_sends(user, "/export")
    workbook = await world.api.wait_for_message(user, lambda m: m.document is not None)
    assert (workbook.visible_caption or "").startswith("Trial workbook, 1 patient, study IDs")
