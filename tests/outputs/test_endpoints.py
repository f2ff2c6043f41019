"""`python -m bot endpoints`: the endpoints re-derived from a long-format lab file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.endpoints import LabFileError, derive_endpoints
from core.response import ResponseClass

ROOT = Path(__file__).resolve().parents[2]
HEADER = "patient_id,sex,week,analyte,value,unit,uln,uti"


def panel(
    patient: str,
    sex: str,
    week: int,
    protein: str,
    rbc: str,
    wbc: str,
    casts: str,
    albumin: str,
    creatinine: str,
    uln: str = "",
    uti: str = "",
) -> list[str]:
    p, pu = protein.split()
    a, au = albumin.split()
    c, cu = creatinine.split()
    return [
        f"{patient},{sex},{week},urine_protein_24h,{p},{pu},,",
        f"{patient},{sex},{week},urine_rbc,{rbc},/hpf,,",
        f"{patient},{sex},{week},urine_wbc,{wbc},/hpf,,{uti}",
        f"{patient},{sex},{week},urine_casts,{casts},,,",
        f"{patient},{sex},{week},serum_albumin,{a},{au},,",
        f"{patient},{sex},{week},serum_creatinine,{c},{cu},{uln},",
    ]


# docs/clinical-facts.md §3's worked examples, plus a cumulative case.
BASELINE = dict(
    protein="4.2 g/24h",
    rbc="40",
    wbc="12",
    casts="rbc",
    albumin="2.4 g/dL",
    creatinine="0.90 mg/dL",
)
ROWS = [
    HEADER,
    *panel("P01", "F", 0, **BASELINE),
    *panel("P01", "F", 24, "0.25 g/24h", "2", "3", "none", "3.9 g/dL", "0.78 mg/dL"),
    *panel("P02", "F", 0, **BASELINE),
    *panel("P02", "F", 24, "0.30 g/24h", "4", "3", "none", "3.5 g/dL", "0.78 mg/dL"),
    *panel("P03", "M", 0, "3.0 g/24h", "40", "3", "none", "30 g/L", "80 umol/L"),
    *panel("P03", "M", 24, "1.5 g/24h", "4", "3", "none", "36 g/L", "80 umol/L"),
    *panel("P04", "F", 0, **BASELINE),
    *panel("P04", "F", 12, "390 mg/24h", "2", "3", "none", "36 g/L", "60 umol/L"),
    *panel("P04", "F", 24, "1.0 g/24h", "4", "3", "none", "3.2 g/dL", "0.80 mg/dL"),
]


def rows(lines: list[str]) -> list[tuple[int, dict[str, str | None]]]:
    header = lines[0].split(",")
    return [
        (n, dict(zip(header, line.split(","), strict=True)))
        for n, line in enumerate(lines[1:], start=2)
    ]


def test_worked_examples_and_cumulative() -> None:
    results = {r.patient_id: r.result for r in derive_endpoints(rows(ROWS))}
    assert results["P01"].week24 == ResponseClass.CR
    assert results["P02"].week24 == ResponseClass.PR  # albumin exactly 3.5 g/dL is not > 3.5
    assert results["P03"].week24 == ResponseClass.NR  # 3.0 -> 1.5 is exactly a 50% fall
    assert (results["P04"].week24, results["P04"].cumulative) == (
        ResponseClass.PR,
        ResponseClass.CR,
    )
    assert results["P04"].cumulative_week == 12  # 390 mg/24h < 0.4 g/24h, 36 g/L > 35 g/L


# `python -m bot endpoints` as a subprocess.
@pytest.mark.e2e
def test_cli_json_matches_the_rules(tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = {p["patient_id"]: p for p in json.loads(done.stdout)}
    assert {k: (v["week24"], v["cumulative"]) for k, v in out.items()} == {
        "P01": ("CR", "CR"),
        "P02": ("PR", "PR"),
        "P03": ("NR", "NR"),
        "P04": ("PR", "CR"),
    }
    albumin = next(c for c in out["P02"]["clauses"] if c["key"] == "cr_albumin")
    assert albumin["met"] is False
    assert "3.5 g/dL > 3.5 g/dL" in albumin["text"]


@pytest.mark.e2e
def test_cli_text_in_both_languages(tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(ROWS) + "\n", encoding="utf-8")

    def run(lang: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs), "--lang", lang],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    en, zh = run("en"), run("zh")
    assert "P02: week 24 partial response (PR); cumulative partial response (PR)." in en
    assert "P02" in zh
    assert "部分缓解" in zh
    assert "partial response" not in zh


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("P09,X,0,urine_rbc,2,/hpf,,", "line 2: sex must be F or M, got 'X'"),
        ("P09,F,w,urine_rbc,2,/hpf,,", "line 2: week must be a whole number"),
        ("P09,F,0,urine_glucose,2,mmol/L,,", "line 2: analyte must be one of"),
        (
            "P09,F,0,serum_creatinine,3001,umol/L,,",
            "line 2: Serum creatinine must be between 10 and 3000",
        ),
        ("P09,F,0,urine_wbc,150,/uL,,", "line 2:"),
        ("P09,F,0,urine_rbc,2,/hpf,,maybe", "line 2: uti must be yes, no or empty"),
    ],
)
def test_bad_rows_name_their_line(bad_line: str, message: str) -> None:
    with pytest.raises(LabFileError) as caught:
        derive_endpoints(rows([HEADER, bad_line]))
    assert message in str(caught.value)


@pytest.mark.e2e
def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    lines = [*ROWS[:3], "P01,F,0,urine_rbc,41,/hpf,,", "P01,M,24,urine_rbc,2,/hpf,,"]
    with pytest.raises(LabFileError) as caught:
        derive_endpoints(rows(lines))
    assert [e.line for e in caught.value.errors] == [4, 5]
    assert "a second urine_rbc for P01 at week 0 (first on line 3)" in str(caught.value)
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{labs}: line 4:" in done.stderr
    assert f"{labs}: line 5:" in done.stderr


@pytest.mark.e2e
def test_missing_columns_and_files_are_explained(tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text("patient_id,week\nP01,0\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "missing columns: sex, analyte, value, unit, uln, uti" in done.stderr
