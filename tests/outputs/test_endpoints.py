"""`python -m bot endpoints`: the endpoints re-derived from a long-format lab file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.endpoints import LabFileError, derive_endpoints, read_lab_file
from core.protocol import BUNDLED_PROTOCOL
from core.response import ClauseKey, MissingWeek0, ResponseClass, ResponseOptions

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
        ("P09,F,0,serum_albumin,<20,g/L,,", 'line 2: Serum albumin: "<20 g/L" is not a single'),
        ("P09,F,0,urine_rbc,2,/hpf,,maybe", "line 2: uti must be yes, no or empty"),
    ],
)
def test_bad_rows_name_their_line(bad_line: str, message: str) -> None:
    with pytest.raises(LabFileError) as caught:
        derive_endpoints(rows([HEADER, bad_line]))
    assert message in str(caught.value)


def test_a_bad_row_leaves_out_its_patient_and_no_one_else() -> None:
    lines = [*ROWS, "P02,F,24,urine_rbc,two,/hpf,,", "P03,M,12,urine_rbc,2,/hpf,,maybe"]
    read = read_lab_file(rows(lines))
    assert [p.patient_id for p in read.patients] == ["P01", "P04"]
    assert read.not_derived == {"P02": (len(ROWS) + 1,), "P03": (len(ROWS) + 2,)}
    assert [e.line for e in read.errors] == [len(ROWS) + 1, len(ROWS) + 2]


# Screening rows, protein below the detection limit, WBC per µL: read, never refused.
P05 = [
    *panel("P05", "F", -2, **{**BASELINE, "protein": "9.9 g/24h"}),
    *panel("P05", "F", -1, **BASELINE),
    *panel("P05", "F", 24, "0.30 g/24h", "4", "3", "none", "3.6 g/dL", "0.78 mg/dL"),
]


def test_screening_is_the_baseline_when_week0_is_missing_unless_the_protocol_says_none() -> None:
    (p05,) = derive_endpoints(rows([HEADER, *P05]))
    assert p05.baseline_week == -1  # the screening week nearest to day 0
    assert (p05.result.week24, p05.result.cumulative) == (ResponseClass.CR, ResponseClass.CR)
    assert sorted(p05.assessments) == [24]
    fall = p05.assessments[24].clause(ClauseKey.PR_PROTEIN_FALL)
    assert "4.2 g/24h at baseline" in fall.english()

    none = ResponseOptions(baseline_when_week0_missing=MissingWeek0.NONE)
    (without,) = derive_endpoints(rows([HEADER, *P05]), none)
    assert without.baseline_week is None
    assert without.assessments[24].clause(ClauseKey.PR_PROTEIN_FALL).met is None
    assert without.result.week24 == ResponseClass.CR  # CR needs no baseline


def test_protein_below_the_detection_limit_reads_as_below_it() -> None:
    lines = [HEADER, *panel("P06", "F", 0, **BASELINE)]
    lines += panel("P06", "F", 24, "<0.1 g/24h", "2", "3", "none", "3.9 g/dL", "0.78 mg/dL")
    (p06,) = derive_endpoints(rows(lines))
    assert p06.result.week24 == ResponseClass.CR
    protein = p06.assessments[24].clause(ClauseKey.CR_PROTEIN)
    assert protein.english() == (
        "Urine protein <0.1 g/24h (below the detection limit) < 0.4 g/24h: met"
    )


def test_wbc_per_microlitre_makes_the_sediment_not_evaluable() -> None:
    lines = [HEADER, *panel("P07", "F", 0, **BASELINE)]
    week24 = panel("P07", "F", 24, "0.25 g/24h", "2", "3", "none", "3.9 g/dL", "0.78 mg/dL")
    lines += [line.replace(",3,/hpf,", ",30,/uL,") for line in week24]
    (p07,) = derive_endpoints(rows(lines))
    sediment = p07.assessments[24].clause(ClauseKey.CR_SEDIMENT)
    assert sediment.met is None
    assert sediment.sediment is not None
    assert sediment.sediment.wbc.english() == (
        "Urine WBC 30/µL: the protocol has no active-sediment threshold in /µL: not evaluable"
    )
    assert p07.result.week24 == ResponseClass.NE


def _endpoints(labs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


# What the command prints for the lab file's choices and a bad row, in both languages.
FILE_CHOICES = {
    "en": [
        "P02: not derived, line {bad} cannot be read.",
        "P05: week 24 complete response (CR); cumulative complete response (CR).",
        "  Baseline: screening week -1, since week 0 has no results.",
        "P06: week 24 complete response (CR); cumulative complete response (CR).",
        "    Urine protein <0.1 g/24h (below the detection limit) < 0.4 g/24h: met",
        "P07: week 24 not evaluable (data missing); cumulative not evaluable (data missing).",
        "    No active urinary sediment: not evaluable",
        "      Urine WBC 30/µL: the protocol has no active-sediment threshold in /µL: not evaluable",
        "P08: week 24 partial response (PR); cumulative partial response (PR).",
        "      White-cell casts, which count even with the urinary tract infection recorded: active",
    ],
    "zh": [
        "P02：未能推导，第 {bad} 行无法读取。",
        "P05：第 24 周 完全缓解（CR）；累计 完全缓解（CR）。",
        "  基线：筛选期第 -1 周，因为第 0 周没有结果。",
        "    尿蛋白 <0.1 g/24h（低于检测下限）< 0.4 g/24h：满足",
        "      尿白细胞 30/µL：方案没有以 /µL 为单位的活动性尿沉渣阈值：无法评估",
        "P08：第 24 周 部分缓解（PR）；累计 部分缓解（PR）。",
        "      白细胞管型，虽记录了尿路感染仍计入：活动",
    ],
}
BAD_ROW = {
    "en": '{labs}: line {bad}: 24-hour urine protein cannot be entered in "kg".',
    "zh": "{labs}：第 {bad} 行：",
}


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_reads_screening_detection_limits_and_wbc_per_microlitre_and_skips_a_bad_row(
    tmp_path: Path, lang: str
) -> None:
    p06 = [*panel("P06", "F", 0, **BASELINE)]
    p06 += panel("P06", "F", 24, "<0.1 g/24h", "2", "3", "none", "3.9 g/dL", "0.78 mg/dL")
    p07 = [*panel("P07", "F", 0, **BASELINE)]
    week24 = panel("P07", "F", 24, "0.25 g/24h", "2", "3", "none", "3.9 g/dL", "0.78 mg/dL")
    p07 += [line.replace(",3,/hpf,", ",30,/uL,") for line in week24]
    # White-cell casts with a urinary tract infection recorded still make the sediment active.
    p08 = [*panel("P08", "F", 0, **BASELINE)]
    p08 += panel("P08", "F", 24, "0.25 g/24h", "2", "3", "wbc", "3.9 g/dL", "0.78 mg/dL", uti="yes")
    lines = [*ROWS, *P05, *p06, *p07, *p08, "P02,F,12,urine_protein_24h,1.0,kg,,"]
    bad = len(lines)
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = _endpoints(labs, "--lang", lang)
    assert done.returncode == 1
    out = done.stdout.splitlines()
    for line in FILE_CHOICES[lang]:
        assert line.format(bad=bad) in out, done.stdout
    assert BAD_ROW[lang].format(labs=labs, bad=bad) in done.stderr
    assert "P01:" in done.stdout or "P01：" in done.stdout  # the others are all reported
    assert "P02: week" not in done.stdout and "P02：第" not in done.stdout

    as_json = _endpoints(labs, "--json")
    assert as_json.returncode == 1
    found = {p["patient_id"]: p for p in json.loads(as_json.stdout)}
    assert sorted(found) == ["P01", "P03", "P04", "P05", "P06", "P07", "P08"]
    assert found["P05"]["baseline_week"] == -1
    assert found["P01"]["baseline_week"] == 0


@pytest.mark.e2e
def test_the_protocol_file_turns_the_screening_baseline_and_wbc_casts_off(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        BUNDLED_PROTOCOL.read_text(encoding="utf-8")
        .replace(
            'baseline_when_week0_missing = "screening"', 'baseline_when_week0_missing = "none"'
        )
        .replace('wbc_casts_with_uti = "count"', 'wbc_casts_with_uti = "ignore"'),
        encoding="utf-8",
    )
    p08 = [*panel("P08", "F", 0, **BASELINE)]
    p08 += panel("P08", "F", 24, "0.25 g/24h", "2", "3", "wbc", "3.9 g/dL", "0.78 mg/dL", uti="yes")
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join([HEADER, *P05, *p08]) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PROTOCOL_FILE": str(site)},
    )
    assert done.returncode == 0, done.stderr
    found = {p["patient_id"]: p for p in json.loads(done.stdout)}
    assert found["P05"]["baseline_week"] is None
    fall = next(c for c in found["P05"]["clauses"] if c["key"] == "pr_protein_fall")
    assert fall["text"] == "24-hour urine protein: no baseline result: not evaluable"
    assert found["P08"]["week24"] == "CR"  # white-cell casts ignored with the UTI


@pytest.mark.e2e
def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    lines = [*ROWS[:3], "P01,F,0,urine_rbc,41,/hpf,,", "P01,M,24,urine_rbc,2,/hpf,,"]
    with pytest.raises(LabFileError) as caught:
        derive_endpoints(rows(lines))
    assert [e.line for e in caught.value.errors] == [4, 5]
    assert "a second urine_rbc for P01 at week 0 (first on line 3)" in str(caught.value)
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _endpoints(labs, "--lang", "en")
    assert done.returncode == 1
    assert f"{labs}: line 4:" in done.stderr
    assert f"{labs}: line 5:" in done.stderr
    assert done.stdout == "P01: not derived, lines 4, 5 cannot be read.\n"


@pytest.mark.e2e
def test_missing_columns_and_files_are_explained(tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text("patient_id,week\nP01,0\n", encoding="utf-8")
    done = _endpoints(labs)
    assert done.returncode == 2
    assert "missing columns: sex, analyte, value, unit, uln, uti" in done.stderr
