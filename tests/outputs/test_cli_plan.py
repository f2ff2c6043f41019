"""`python -m bot plan` and `demo`, run as a coordinator would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Every test runs `python -m bot plan` as a subprocess.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_plan_json_lists_events_with_dates_windows_and_reminders() -> None:
    done = run("plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--json")
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    infusions = [e for e in events if e["kind"] == "belimumab_infusion"]
    assert [e["date"] for e in infusions] == [
        "2026-12-15",
        "2026-12-29",
        "2027-01-12",
        "2027-02-09",
        "2027-03-09",
        "2027-04-06",
        "2027-05-04",
    ]
    assert infusions[0]["window"] == {"start": "2026-12-12", "end": "2026-12-18"}
    assert [r["slot"] for r in infusions[0]["reminders"]] == [
        "infusion_evening_before",
        "infusion_morning",
    ]
    assert infusions[0]["reminders"][0]["due"] == "2026-12-14T12:00:00+00:00"  # 20:00 in Shanghai
    renal = [e["date"] for e in events if e["kind"] == "renal_assessment"]
    assert renal[-1] == "2027-05-18"


def test_control_arm_plan_has_no_infusions() -> None:
    done = run("plan", "--arm", "mt_only", "--day0", "2026-12-01", "--json")
    kinds = {e["kind"] for e in json.loads(done.stdout)}
    assert "belimumab_infusion" not in kinds and "renal_assessment" in kinds


def test_plan_reads_in_each_language() -> None:
    en = run("plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--lang", "en")
    zh = run("plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--lang", "zh")
    assert "Belimumab infusion 1" in en.stdout and "Tue, Dec 15, 2026, 09:00" in en.stdout
    assert "贝利尤单抗输注 1" in zh.stdout and "2026年12月15日周二 09:00" in zh.stdout
    assert "Belimumab infusion" not in zh.stdout


def test_bad_arguments_are_refused_with_what_was_expected() -> None:
    bad_arm = run("plan", "--arm", "placebo", "--day0", "2026-12-01", "--lang", "en")
    assert bad_arm.returncode == 2
    assert "Unknown arm placebo; expected one of: belimumab_mt, mt_only." in bad_arm.stderr
    in_chinese = run("plan", "--arm", "placebo", "--day0", "2026-12-01")
    assert in_chinese.returncode == 2
    assert "未知的组别 placebo" in in_chinese.stderr
    bad_day = run("plan", "--arm", "mt_only", "--day0", "1/12/2026")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr


def test_demo_prints_both_arms_in_both_languages() -> None:
    done = run("demo", "--plans")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Study plan:") == 2
    assert done.stdout.count("研究计划") == 2


def test_weight_adds_the_belimumab_dose_plan_to_each_infusion() -> None:
    done = run(
        "plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--weight", "62kg", "--json"
    )
    infusions = [e for e in json.loads(done.stdout) if e["kind"] == "belimumab_infusion"]
    assert {json.dumps(e["dose"]) for e in infusions} == {
        json.dumps(
            {"weight_kg": "62", "dose_mg": "620", "vials_mg": [400, 120, 120], "volume_ml": "7.75"}
        )
    }
    text = run(
        "plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--weight", "62", "--lang", "en"
    )
    assert (
        text.stdout.count(
            "Dose from 62 kg: 620 mg; vials 400 mg + 120 mg + 120 mg; withdraw 7.75 mL."
        )
        == 7
    )


def test_impossible_weight_is_refused() -> None:
    done = run("plan", "--arm", "belimumab_mt", "--day0", "2026-12-01", "--weight", "300kg")
    assert done.returncode == 2
    assert "25" in done.stderr and "250" in done.stderr
