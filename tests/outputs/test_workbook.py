"""The workbook as the statistician opens it: numeric cells with the precision entered, sized
and filtered columns, a frozen bold header on every sheet, a codebook of every column and
code, an ``about`` sheet, every enrolled patient on the endpoints sheet with their category,
and what became of every planned visit.

A small trial built as records (the fields other outputs fill from the database are set
here directly), and the seeded outputs trial (tests.support.outputs_seed) for the endpoint
categories.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bot.outputs.export import MAX_WIDTH, ExportFiles, build_export
from core.protocol import Protocol
from core.schedule import EventKind
from core.store.db import read_session
from core.store.trial_data import load_trial_data
from core.tables.codebook import CODEBOOK
from core.tables.lab_file import derive_trial_endpoints
from core.tables.workbook import WORKBOOK_SHEETS, adverse_events_sheet
from core.trial_records import (
    AdverseEventRecord,
    DoseRecord,
    EventRecord,
    LabRecord,
    PatientRecord,
    TrialData,
)
from core.visits import VisitOutcome
from tests.support.outputs_seed import NOW, SHANGHAI, TODAY, seeded_engine

DAY0 = date(2026, 6, 1)
COLLECTED = datetime(2026, 8, 24, 0, 0, tzinfo=UTC)
VERBATIM = "皮疹，双上肢红色斑丘疹伴瘙痒，持续数日后自行消退"

P01 = PatientRecord(
    1,
    "P01",
    "belimumab_mt",
    DAY0,
    "F",
    "58.5",
    "zh_Hans",
    "active",
    birth_year=1990,
    consent_date=date(2026, 5, 28),
)
P02 = PatientRecord(
    2,
    "P02",
    "mt_only",
    DAY0,
    "M",
    "70",
    "en",
    "withdrawn",
    withdrawn_on=date(2026, 7, 10),
    withdrawal_reason="moved to another city",
)


def event(kind: EventKind, week: int, target: date, status: str, **extra: Any) -> EventRecord:
    return EventRecord(1, kind, week, week, target, target, 3, 3, status, **extra)


# As of TODAY (2026-11-30): one visit in each outcome.
EVENTS = (
    event(EventKind.RENAL_ASSESSMENT, 12, date(2026, 8, 24), "done", actual_date=date(2026, 8, 24)),
    event(
        EventKind.URINE_COLLECTION,
        12,
        date(2026, 8, 23),
        "missed",
        missed_reason="in hospital elsewhere",
    ),
    event(EventKind.CD20, 24, date(2026, 11, 16), "planned"),  # window closed 11-19
    event(EventKind.SLEDAI, 26, date(2026, 11, 28), "planned"),  # booked day past, window open
    event(EventKind.RENAL_ASSESSMENT, 28, date(2026, 12, 14), "planned"),
    event(EventKind.BELIMUMAB_INFUSION, 4, date(2026, 6, 29), "cancelled"),
)


def lab(row_id: int, analyte: str, value: str, unit: str, **extra: Any) -> LabRecord:
    return LabRecord(
        row_id, 1, 12, analyte, value, unit, COLLECTED, COLLECTED + timedelta(hours=2), **extra
    )


DATA = TrialData(
    patients=(P01, P02),
    events=EVENTS,
    doses=(DoseRecord(1, 1, "belimumab", "620", "mg", date(2026, 6, 15), "58.5", 2),),
    labs=(
        lab(1, "urine_protein_24h", "0.30", "g/24h", ref_high="0.15", ref_unit="g/24h"),
        lab(2, "serum_creatinine", "75", "umol/L"),
        lab(3, "urine_rbc", "0.5", "/hpf", below_limit=True),
    ),
    adverse_events=(
        AdverseEventRecord(
            1,
            1,
            "5.0",
            None,
            VERBATIM,
            False,
            2,
            date(2026, 7, 1),
            relatedness="possible",
            action="dose_not_changed",
            outcome="recovered",
            end_date=date(2026, 7, 9),
            related_to=(("belimumab", "possible"), ("mmf", "unlikely")),
        ),
        AdverseEventRecord(2, 2, "5.0", None, "headache", False, 1, date(2026, 6, 20)),
    ),
)


def export(data: TrialData, protocol: Protocol, at: datetime = NOW) -> ExportFiles:
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    return build_export(data, endpoints, protocol, SHANGHAI, TODAY, at)


@pytest.fixture(scope="module")
def book(protocol: Protocol) -> Any:
    return load_workbook(io.BytesIO(export(DATA, protocol).workbook))


def rows(book: Any, name: str) -> list[dict[str, Any]]:
    return [
        dict(zip(WORKBOOK_SHEETS[name], row, strict=True))
        for row in book[name].iter_rows(min_row=2, values_only=True)
    ]


def cells(book: Any, name: str, column: str) -> list[Any]:
    index = WORKBOOK_SHEETS[name].index(column)
    return [row[index] for row in book[name].iter_rows(min_row=2)]


def test_numbers_are_numeric_cells_showing_the_digits_entered(book: Any) -> None:
    value, ref_high = cells(book, "labs", "value"), cells(book, "labs", "ref_high")
    # Labs sorted by row id: protein 0.30 (ref 0.15), creatinine 75, RBC below 0.5.
    assert (value[0].value, value[0].data_type, value[0].number_format) == (0.3, "n", "0.00")
    assert (value[1].value, value[1].data_type, value[1].number_format) == (75, "n", "0")
    assert (value[2].value, value[2].data_type) == ("<0.5", "s")
    assert (ref_high[0].value, ref_high[0].number_format) == (0.15, "0.00")
    weight = cells(book, "patients", "weight_kg")[0]
    assert (weight.value, weight.data_type, weight.number_format) == (58.5, "n", "0.0")
    amount = cells(book, "doses", "amount")[0]
    assert (amount.value, amount.data_type, amount.number_format) == (620, "n", "0")
    grade = cells(book, "adverse_events", "grade")[0]
    assert (grade.value, grade.data_type, grade.number_format) == (2, "n", "0")
    for name, column in (("visits", "week"), ("visits", "window_days_after"), ("summary", "n")):
        assert all(c.data_type == "n" and c.number_format == "0" for c in cells(book, name, column))
    proportion = cells(book, "summary", "proportion")[0]
    assert proportion.data_type == "n" and proportion.number_format == "0.000000"
    assert cells(book, "patients", "day0")[0].number_format == "yyyy-mm-dd"
    assert cells(book, "labs", "collected")[0].number_format == "yyyy-mm-dd hh:mm"
    # Text stays text.
    assert cells(book, "patients", "study_id")[0].data_type == "s"


def test_every_sheet_has_a_frozen_bold_header_a_filter_and_sized_columns(book: Any) -> None:
    assert book.sheetnames == list(WORKBOOK_SHEETS)
    for name, columns in WORKBOOK_SHEETS.items():
        sheet = book[name]
        last = get_column_letter(len(columns))
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", name
        assert all(cell.font.bold for cell in sheet[1]), name
        for i, column in enumerate(columns, start=1):
            width = sheet.column_dimensions[get_column_letter(i)].width
            assert len(column) < width <= MAX_WIDTH, (name, column, width)
    # From the content: a date column fits 2026-06-01; a Chinese character takes two columns;
    # the codebook's long descriptions are capped.
    assert book["patients"].column_dimensions["C"].width == len("2026-06-01") + 2
    verbatim = get_column_letter(WORKBOOK_SHEETS["adverse_events"].index("verbatim") + 1)
    assert book["adverse_events"].column_dimensions[verbatim].width == 2 * len(VERBATIM) + 2
    assert book["codebook"].column_dimensions["C"].width == MAX_WIDTH


def test_the_codebook_describes_every_column_of_every_sheet(book: Any) -> None:
    assert {sheet: tuple(docs) for sheet, docs in CODEBOOK.items()} == dict(WORKBOOK_SHEETS)
    codebook = rows(book, "codebook")
    assert [(r["sheet"], r["column"]) for r in codebook] == [
        (sheet, column) for sheet, columns in WORKBOOK_SHEETS.items() for column in columns
    ]
    assert all(r["description"] and r["type"] for r in codebook)
    entry = {(r["sheet"], r["column"]): r for r in codebook}
    arm = entry["patients", "arm"]["codes"]
    assert "belimumab_mt = Belimumab plus multi-target therapy" in arm
    assert "mt_only = Multi-target therapy only" in arm
    assert entry["patients", "sex"]["codes"] == "F = female; M = male"
    assert entry["patients", "weight_kg"]["unit"] == "kg"
    outcomes = entry["visits", "outcome"]["codes"]
    assert all(f"{outcome.value} = " in outcomes for outcome in VisitOutcome)
    assert entry["adverse_events", "grade"]["codes"].startswith("1 = mild; 2 = moderate")
    assert "possible = possibly related" in entry["adverse_events", "related_mmf"]["codes"]
    assert entry["adverse_events", "hospitalization"]["codes"] == "yes = yes; no = no"
    assert (
        "recovered_with_sequelae = RECOVERED/RESOLVED WITH SEQUELAE"
        in (entry["adverse_events", "outcome"]["codes"])
    )
    assert "drug_interrupted = DRUG INTERRUPTED" in entry["adverse_events", "action"]["codes"]
    assert "urine_protein_24h = 24-hour urine protein" in entry["labs", "analyte"]["codes"]
    assert "withdrawn = " in entry["endpoints", "category"]["codes"]
    assert "summary = " in entry["codebook", "sheet"]["codes"]


def test_the_about_sheet_gives_the_export_time_cut_off_and_versions(
    book: Any, protocol: Protocol
) -> None:
    about = {r["item"]: r["value"] for r in rows(book, "about")}
    assert about == {
        "exported_at_utc": datetime(2026, 11, 30, 1, 0),
        "exported_at_local": datetime(2026, 11, 30, 9, 0),
        "time_zone": "Asia/Shanghai",
        "data_cut_off": datetime(2026, 11, 30),
        "protocol_version": protocol.version,
        "bot_version": version("lupus-trial-bot"),
    }
    assert protocol.version == "2026-11-24"


def test_visits_carry_what_became_of_them_and_why_one_was_missed(book: Any) -> None:
    visits = {(r["event"], r["week"]): r for r in rows(book, "visits")}
    assert {key: r["outcome"] for key, r in visits.items()} == {
        ("renal_assessment", 12): "attended",
        ("urine_collection", 12): "missed",
        ("cd20_count", 24): "not_done",
        ("sledai_assessment", 26): "overdue",
        ("renal_assessment", 28): "planned",
        ("belimumab_infusion", 4): "cancelled",
    }
    assert visits["urine_collection", 12]["missed_reason"] == "in hospital elsewhere"
    assert visits["renal_assessment", 12]["missed_reason"] is None


def test_patients_and_adverse_events_show_the_case_record_fields(book: Any) -> None:
    p01, p02 = rows(book, "patients")
    assert (p01["birth_year"], p01["age"], p01["consent_date"]) == (
        1990,
        36,
        datetime(2026, 5, 28),
    )
    assert (p01["withdrawn_on"], p01["withdrawal_reason"]) == (None, None)
    assert (p02["birth_year"], p02["age"], p02["consent_date"]) == (None, None, None)
    assert (p02["status"], p02["withdrawn_on"], p02["withdrawal_reason"]) == (
        "withdrawn",
        datetime(2026, 7, 10),
        "moved to another city",
    )
    rash, headache = rows(book, "adverse_events")
    assert rash["verbatim"] == VERBATIM
    assert (rash["end_date"], rash["outcome"], rash["action"], rash["relatedness"]) == (
        datetime(2026, 7, 9),
        "recovered",
        "dose_not_changed",
        "possible",
    )
    assert (
        rash["related_belimumab"],
        rash["related_mmf"],
        rash["related_tacrolimus"],
        rash["related_methylprednisolone"],
    ) == ("possible", "unlikely", None, None)
    assert all(
        headache[c] is None
        for c in ("end_date", "outcome", "action", "relatedness", "related_belimumab")
    )


def test_the_endpoints_sheet_lists_every_patient_with_their_category(
    book: Any, protocol: Protocol, tmp_path: Path
) -> None:
    # No week-24 panel for P01 (day 0 + 24 weeks is past); P02 withdrew unassessed.
    small = {r["study_id"]: r for r in rows(book, "endpoints")}
    assert {sid: (r["category"], r["missing_reason"]) for sid, r in small.items()} == {
        "P01": ("not_evaluable", "no week-24 panel"),
        "P02": ("withdrawn", "withdrawn before any assessment"),
    }
    engine = seeded_engine(tmp_path / "trial.db", protocol)
    with read_session(engine) as session:
        data = load_trial_data(session, SHANGHAI, events=True)
    engine.dispose()
    seeded = load_workbook(io.BytesIO(export(data, protocol).workbook))
    listed = {r["study_id"]: r["category"] for r in rows(seeded, "endpoints")}
    assert listed == {
        "P01": "responder",  # PR at week 24
        "P02": "responder",  # CR
        "P03": "non_responder",
        "P04": "responder",
        "P05": "not_evaluable",  # week-24 panel incomplete
        "P06": "not_yet_at_endpoint",
        "P07": "withdrawn",
    }
    assert sorted(listed) == sorted(p.study_id for p in data.patients)


def test_same_data_and_time_give_the_same_bytes(protocol: Protocol) -> None:
    first, again = export(DATA, protocol), export(DATA, protocol)
    assert first.workbook == again.workbook
    later = export(DATA, protocol, NOW + timedelta(hours=1))
    # Only the about sheet's export time differs; the CSV files do not carry it.
    assert later.workbook != first.workbook
    assert later.archive == first.archive
    changed = replace(DATA, patients=(replace(P01, weight_kg="58.50"), P02))
    assert export(changed, protocol).workbook != first.workbook


def test_an_adverse_event_still_open_at_week_24_is_reported_as_open(book: Any) -> None:
    """Day 0 + 24 weeks is 2026-11-16, before the cut-off: the rash had ended (07-09), the
    headache has no end date, so it was still open."""
    rash, headache = rows(book, "adverse_events")
    assert (rash["open_at_week_24"], headache["open_at_week_24"]) == ("no", "yes")
    # Before week 24 has come, whether it will be open then is not known yet.
    patients = {p.id: p for p in DATA.patients}
    early = adverse_events_sheet(DATA, patients, date(2026, 11, 15))
    at = early.columns.index("open_at_week_24")
    assert [row[at] for row in early.rows] == [None, None]
