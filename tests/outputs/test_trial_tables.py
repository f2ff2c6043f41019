"""The long-format lab file and the SDTM helpers (core.tables), pure.

The lab file must read back, through ``core.endpoints.derive_endpoints`` (what
``python -m bot endpoints`` runs), to exactly the classes the bot derives from
the store (``core.patient_response``): corrections, infections, units and all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.endpoints import derive_endpoints
from core.patient_response import LabRow, patient_response
from core.renal_panel import StoredResult, casts_row
from core.response import ResponseOptions, Sex
from core.tables.lab_file import long_lab_rows, renal_weeks
from core.tables.sdtm import SdtmOptions, sdtm_study_day, sdtm_tables
from core.tables.workbook import labs_sheet
from core.trial_records import LabRecord, PatientRecord, TrialData
from core.units import CastKind

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
PATIENT = PatientRecord(1, "P01", "belimumab_mt", date(2026, 12, 1), "F", "60", "en", "active")


def lab(
    row_id: int,
    week: int,
    analyte: str,
    value: str,
    unit: str,
    *,
    uti: bool = False,
    ref_high: str | None = None,
    ref_unit: str | None = None,
) -> LabRecord:
    return LabRecord(
        id=row_id,
        patient_id=1,
        week=week,
        analyte=analyte,
        value=value,
        unit=unit,
        collected_at=T0 + timedelta(weeks=week),
        entered_at=T0 + timedelta(weeks=week, minutes=row_id),
        ref_high=ref_high,
        ref_unit=ref_unit,
        uti=uti,
    )


def from_file(records: list[LabRecord], sex: str = "F") -> dict[str, object]:
    patient = PatientRecord(1, "P01", "belimumab_mt", date(2026, 12, 1), sex, "60", "en", "active")
    rows = long_lab_rows(TrialData(patients=(patient,), labs=tuple(records)))
    (result,) = derive_endpoints(enumerate(rows, start=2))
    return {
        "weeks": {w: a.cls for w, a in result.assessments.items()},
        "week24": result.result.week24,
        "cumulative": result.result.cumulative,
    }


def from_store(records: list[LabRecord], sex: str = "F") -> dict[str, object]:
    rows = [
        LabRow(
            r.patient_id,
            r.week or 0,
            StoredResult(r.analyte, r.value, r.unit, r.ref_high, r.ref_unit, r.uti, r.below_limit),
        )
        for r in sorted(records, key=lambda r: (r.entered_at, r.id))
    ]
    response = patient_response(rows, Sex(sex), ResponseOptions())
    return {
        "weeks": {w: a.cls for w, a in response.assessments.items()},
        "week24": response.result.week24,
        "cumulative": response.result.cumulative,
    }


def panel(week: int, start: int, protein: str = "4.2") -> list[LabRecord]:
    casts_value, casts_unit = casts_row(frozenset({CastKind.RBC}) if week == 0 else frozenset())
    return [
        lab(start, week, "urine_protein_24h", protein, "g/24h"),
        lab(start + 1, week, "urine_rbc", "40" if week == 0 else "2", "/hpf"),
        lab(start + 2, week, "urine_wbc", "12" if week == 0 else "3", "/hpf"),
        lab(start + 3, week, "urine_casts", casts_value, casts_unit),
        lab(start + 4, week, "serum_albumin", "24" if week == 0 else "39", "g/L"),
        lab(start + 5, week, "serum_creatinine", "80" if week == 0 else "69", "umol/L"),
    ]


def test_a_later_row_corrects_an_earlier_one() -> None:
    records = (
        panel(0, 1)
        + panel(24, 10, protein="0.45")
        + [lab(30, 24, "urine_protein_24h", "0.25", "g/24h")]
    )
    rows = long_lab_rows(TrialData(patients=(PATIENT,), labs=tuple(records)))
    protein = [r for r in rows if r["week"] == "24" and r["analyte"] == "urine_protein_24h"]
    assert [r["value"] for r in protein] == ["0.25"]
    assert from_file(records)["week24"] == from_store(records)["week24"]
    assert str(from_file(records)["week24"]) == "CR"


def test_a_protein_below_the_detection_limit_is_written_as_below_it_and_read_back_alike() -> None:
    records = panel(0, 1) + panel(24, 10, protein="0.25")
    records[6] = replace(records[6], value="0.1", below_limit=True)
    rows = long_lab_rows(TrialData(patients=(PATIENT,), labs=tuple(records)))
    protein = [r for r in rows if r["week"] == "24" and r["analyte"] == "urine_protein_24h"]
    assert [(r["value"], r["unit"]) for r in protein] == [("<0.1", "g/24h")]
    assert from_file(records) == from_store(records)
    assert str(from_store(records)["week24"]) == "CR"


def test_the_workbook_and_sdtm_show_a_below_limit_protein_as_text_with_no_number() -> None:
    records = panel(0, 1) + panel(24, 10, protein="0.25")
    records[6] = replace(records[6], value="0.1", below_limit=True)
    data = TrialData(patients=(PATIENT,), labs=tuple(records))
    sheet = labs_sheet(data, {1: PATIENT}, UTC)
    cells = [dict(zip(sheet.columns, row, strict=True)) for row in sheet.rows]
    (protein,) = [c for c in cells if c["week"] == 24 and c["analyte"] == "urine_protein_24h"]
    assert (protein["value"], protein["value_std"]) == ("<0.1", None)
    lb = next(t for t in sdtm_tables(data, SdtmOptions("S"), UTC) if t.name == "LB")
    lb_rows = [dict(zip(lb.columns, row, strict=True)) for row in lb.rows]
    (prot24,) = [r for r in lb_rows if r["LBTESTCD"] == "PROT" and r["VISITNUM"] == "24"]
    assert (prot24["LBORRES"], prot24["LBSTRESC"], prot24["LBSTRESN"]) == ("<0.1", "<0.1", "")


def test_trailing_zeros_units_and_casts_are_written_as_read_back() -> None:
    records = panel(0, 1, protein="4.20")
    rows = long_lab_rows(TrialData(patients=(PATIENT,), labs=tuple(records)))
    by_analyte = {r["analyte"]: r for r in rows}
    assert by_analyte["urine_protein_24h"]["value"] == "4.20"
    assert by_analyte["urine_casts"]["value"] == "rbc"
    assert by_analyte["urine_casts"]["unit"] == ""
    assert by_analyte["serum_creatinine"]["unit"] == "umol/L"
    assert [r["analyte"] for r in rows] == [
        "urine_protein_24h",
        "urine_rbc",
        "urine_wbc",
        "urine_casts",
        "serum_albumin",
        "serum_creatinine",
    ]


def test_an_upper_limit_in_another_unit_is_written_in_umol_per_litre() -> None:
    records = panel(0, 1) + panel(24, 10, protein="0.25")
    records[-1] = lab(15, 24, "serum_creatinine", "0.9", "mg/dL", ref_high="70", ref_unit="umol/L")
    rows = long_lab_rows(TrialData(patients=(PATIENT,), labs=tuple(records)))
    creatinine = next(r for r in rows if r["week"] == "24" and r["analyte"] == "serum_creatinine")
    # 0.9 mg/dL x 88.4 = 79.56 µmol/L, above its own limit of 70: not normal, so not CR.
    assert (creatinine["value"], creatinine["unit"], creatinine["uln"]) == ("79.56", "umol/L", "70")
    assert from_file(records) == from_store(records)
    assert str(from_file(records)["week24"]) == "PR"


def test_an_infection_on_one_urine_row_applies_to_the_week() -> None:
    records = panel(0, 1) + panel(24, 10, protein="0.25")
    records[8] = lab(12, 24, "urine_wbc", "12", "/hpf", uti=True)
    rows = long_lab_rows(TrialData(patients=(PATIENT,), labs=tuple(records)))
    week24 = [r for r in rows if r["week"] == "24"]
    assert {r["uti"] for r in week24} == {"yes"}
    # White cells ignored under an infection: CR stands.
    assert from_file(records) == from_store(records)
    assert str(from_file(records)["week24"]) == "CR"


def test_an_unreadable_week_is_left_out_like_the_store_does() -> None:
    records = panel(0, 1) + panel(24, 10)
    records[9] = lab(13, 24, "urine_casts", "5", "rbc")  # count contradicts the kinds
    assert 24 not in {w.week for w in renal_weeks(records)}
    assert from_file(records) == from_store(records)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 1), 1),
        (date(2026, 12, 7), 7),
        (date(2026, 11, 30), -1),
        (date(2026, 11, 1), -30),
    ],
)
def test_sdtm_study_day_has_no_day_zero(day: date, expected: int) -> None:
    assert sdtm_study_day(date(2026, 12, 1), day) == expected


# --- property: the file and the store agree -------------------------------------------

UNITS = {
    "urine_protein_24h": (("g/24h", "0", "15"), ("mg/24h", "0", "15000")),
    "urine_rbc": (("/hpf", "0", "200"), ("/uL", "0", "2000")),
    "urine_wbc": (("/hpf", "0", "50"),),
    "serum_albumin": (("g/L", "10", "50"), ("g/dL", "1", "5")),
    "serum_creatinine": (("umol/L", "30", "300"), ("mg/dL", "0.4", "3.4")),
}


@st.composite
def results(draw: st.DrawFn) -> list[LabRecord]:
    records: list[LabRecord] = []
    row_id = 0
    for week in draw(
        st.lists(st.sampled_from([0, 4, 12, 24]), min_size=1, max_size=4, unique=True)
    ):
        for analyte in draw(
            st.lists(st.sampled_from([*UNITS, "urine_casts"]), min_size=1, max_size=8)
        ):
            row_id += 1
            uti = draw(st.booleans()) and analyte.startswith("urine")
            if analyte == "urine_casts":
                kinds = draw(st.sets(st.sampled_from(list(CastKind))))
                value, unit = casts_row(frozenset(kinds))
                records.append(lab(row_id, week, analyte, value, unit, uti=uti))
                continue
            unit, low, high = draw(st.sampled_from(UNITS[analyte]))
            number = draw(st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=2))
            ref_high = ref_unit = None
            if analyte == "serum_creatinine" and draw(st.booleans()):
                ref_unit, ref_low, ref_top = draw(st.sampled_from(UNITS[analyte]))
                ref_high = str(
                    draw(
                        st.decimals(
                            min_value=Decimal(ref_low), max_value=Decimal(ref_top), places=2
                        )
                    )
                )
            records.append(
                lab(
                    row_id,
                    week,
                    analyte,
                    str(number),
                    unit,
                    uti=uti,
                    ref_high=ref_high,
                    ref_unit=ref_unit,
                )
            )
    return records


@settings(max_examples=150, deadline=None)
@given(results(), st.sampled_from(["F", "M"]))
def test_the_lab_file_reads_back_to_the_stores_classes(records: list[LabRecord], sex: str) -> None:
    assert from_file(records, sex) == from_store(records, sex)
