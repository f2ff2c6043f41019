"""``make demo`` plays the scripted trial with the real bot, in each person's language.

The scenario runs shortened (through week 4 instead of 24): the real
``python -m bot run`` process on its rehearsal clock, the local Bot API server
in this process and the local WeChat and WeCom servers as processes of their
own, which play P05 (a patient on WeChat) and the nurse (on WeCom). The transcript must show every step of the scenario, each in
the language of the person it concerns.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from bot.demo.scenario import run_demo
from bot.demo.transcript import Transcript

# `python -m bot demo` as a process; its module fixture takes about a minute.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
STAMP = r"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}\]"


def _lines(text: str, head: str) -> list[str]:
    """Transcript entries (with their continuation lines) whose heading matches ``head``."""
    entries = re.split(r"\n(?=\[|==)", text)
    pattern = re.compile(STAMP + " " + head)
    return [e for e in entries if pattern.match(e)]


def _any(entries: list[str], *needles: str) -> bool:
    return any(all(n in e for n in needles) for e in entries)


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> tuple[Transcript, Path]:
    """The demo, played once for the whole module."""
    import asyncio

    output = tmp_path_factory.mktemp("demo-output")
    shown = io.StringIO()
    return asyncio.run(run_demo(output, short=True, out=shown)), output


@pytest.fixture(scope="module")
def played(transcript: tuple[Transcript, Path]) -> tuple[str, Path]:
    _, output = transcript
    return (output / "transcript.txt").read_text(encoding="utf-8"), output


def test_staff_join_by_invitation_in_their_languages(played: tuple[str, Path]) -> None:
    text, _ = played
    to_coordinator = _lines(text, re.escape("bot -> coordinator (中文)"))
    to_nurse = _lines(text, re.escape("bot -> nurse (English)"))
    assert _any(to_coordinator, "欢迎以协调员身份加入研究团队")
    assert _any(_lines(text, re.escape("coordinator (中文)")), "/invite 护士")
    # The nurse is on the hospital's WeCom: a one-time code, then English from a card.
    assert _any(to_coordinator, "护士通过企业微信加入的一次性加入码")
    assert _any(to_nurse, "欢迎以护士身份加入研究团队")
    assert _any(_lines(text, re.escape("nurse (English)")), "[English]")
    assert _any(to_nurse, "Language set: English.")


@pytest.mark.parametrize(
    ("study_id", "language", "arm_word", "chosen", "privacy"),
    [
        ("P01", "中文", "belimumab_mt", "语言已设为：中文", "关于您的数据"),
        ("P02", "English", "belimumab_mt", "Language set: English", "About your data"),
        ("P03", "中文", "mt_only", "语言已设为：中文", "关于您的数据"),
        ("P04", "English", "mt_only", "Language set: English", "About your data"),
    ],
)
def test_four_patients_enrolled_and_joined_in_their_language(
    played: tuple[str, Path],
    study_id: str,
    language: str,
    arm_word: str,
    chosen: str,
    privacy: str,
) -> None:
    text, _ = played
    typed = _lines(text, re.escape("coordinator (中文)"))
    assert _any(typed, f"/enroll {study_id} {arm_word} 2026-12-01")
    assert _any(_lines(text, re.escape("bot -> coordinator (中文)")), f"{study_id} 已入组")
    to_patient = _lines(text, re.escape(f"bot -> {study_id} ({language})"))
    assert _any(to_patient, chosen)
    assert _any(to_patient, privacy, "120")


def test_reminders_reach_patients_in_their_language_and_they_press_buttons(
    played: tuple[str, Path],
) -> None:
    text, _ = played
    assert _any(_lines(text, re.escape("bot -> P01 (中文)")), "24 小时尿液收集")
    assert _any(_lines(text, re.escape("bot -> P03 (中文)")), "24 小时尿液收集")
    assert _any(_lines(text, re.escape("bot -> P02 (English)")), "24-hour urine collection")
    assert _any(_lines(text, re.escape("bot -> P02 (English)")), "belimumab infusion 1")
    assert _any(_lines(text, re.escape("bot -> P01 (中文)")), "贝利尤单抗输注")
    presses = _lines(text, r"P0\d \((中文|English)\): \[")
    assert len(presses) >= 4
    assert _any(_lines(text, re.escape("P02 (English)")), "[I need another day]")
    assert _any(_lines(text, re.escape("bot -> P02 (English)")), "another day")


def test_a_wechat_patient_joins_by_qr_code_gets_templates_and_answers_on_the_page(
    played: tuple[str, Path],
) -> None:
    text, _ = played
    typed = _lines(text, re.escape("coordinator (中文)"))
    assert _any(
        typed, "/enroll P05 belimumab_mt 2026-12-01 F 55kg zh 出生=1988 知情同意=2026-11-28 wechat"
    )
    to_coordinator = _lines(text, re.escape("bot -> coordinator (中文)"))
    assert _any(to_coordinator, "[picture] P05 通过微信加入的一次性二维码")
    to_p05 = _lines(text, re.escape("bot -> P05 (中文)"))
    assert _any(to_p05, "请选择语言", "[中文] [English]")
    assert _any(_lines(text, re.escape("P05 (中文)")), "[中文]")
    assert _any(to_p05, "语言已设为：中文")
    assert _any(to_p05, "关于您的数据", "120")
    # Reminders as template messages: study ID, event and time, a link to the page;
    # never the drug's name.
    templates = [e for e in to_p05 if "[template message]" in e]
    assert _any(templates, "P05 | 第 1 次 24 小时尿液收集 |", "/r/")
    assert _any(templates, "P05 | 第 1 次输注 | 2026年12月15日 09:00")
    assert not _any(templates, "贝利尤单抗")
    # P05 answers on the page and the page says it is recorded.
    answers = _lines(text, re.escape("P05 (中文)") + r": \[on the page: ")
    assert _any(answers, "[on the page: 我会到]")
    assert _any(answers, "[on the page: 已开始]")
    assert _any(to_p05, "[page] 谢谢，已记录。")


def test_red_flag_gets_emergency_instructions_and_an_urgent_alert(
    played: tuple[str, Path],
) -> None:
    text, _ = played
    assert _any(_lines(text, re.escape("P04 (English)")), "[Trouble breathing]")
    assert _any(_lines(text, re.escape("bot -> P04 (English)")), "call 120")
    assert _any(_lines(text, re.escape("bot -> coordinator (中文)")), "紧急", "P04")
    assert _any(_lines(text, re.escape("bot -> nurse (English)")), "URGENT", "P04")


def test_serious_adverse_event_alert_and_acknowledgement(played: tuple[str, Path]) -> None:
    text, _ = played
    typed = _lines(text, re.escape("nurse (English)"))
    assert _any(typed, "/ae P01 lung infection G3 serious=hospitalization onset=2026-12-20")
    assert _any(_lines(text, re.escape("bot -> nurse (English)")), "AE1 is serious")
    assert _any(_lines(text, re.escape("bot -> coordinator (中文)")), "严重不良事件 AE1", "P01")
    assert _any(_lines(text, re.escape("coordinator (中文)")), "/ack AE1")
    acks = _lines(text, re.escape("bot -> coordinator (中文)"))
    assert _any(acks, "AE1", "24")


def test_labs_give_a_response_class(played: tuple[str, Path]) -> None:
    text, _ = played
    typed = _lines(text, re.escape("nurse (English)"))
    assert _any(typed, "/labs P01 w0 protein=4.2g/24h")
    assert _any(typed, "/labs P01 w4 protein=0.25g/24h")
    to_nurse = _lines(text, re.escape("bot -> nurse (English)"))
    assert _any(to_nurse, "P01, week 4, is complete", "complete response (CR)")
    assert _any(to_nurse, "P03, week 4, is complete", "partial response (PR)")
    assert _any(_lines(text, re.escape("bot -> coordinator (中文)")), "P01 第 4 周")


def test_status_summary_plots_and_export(played: tuple[str, Path]) -> None:
    text, output = played
    typed = _lines(text, re.escape("coordinator (中文)"))
    for command in ("/status", "/summary", "/plot proteinuria", "/export", "/report pdf"):
        assert _any(typed, command)
    to_coordinator = _lines(text, re.escape("bot -> coordinator (中文)"))
    assert _any(to_coordinator, "试验概况")
    assert _any(to_coordinator, "试验汇总")
    assert _any(to_coordinator, "[picture]")
    assert _any(to_coordinator, "[file trial-", ".xlsx]")
    for name in ("trial.xlsx", "csv.zip", "plots/proteinuria.png", "plots/swimmer.png"):
        assert (output / name).stat().st_size > 0, name
    assert (output / "plots/proteinuria.png").read_bytes().startswith(b"\x89PNG")
    assert _any(to_coordinator, "[file safety-report-", ".pdf]")
    assert (output / "safety-report.pdf").read_bytes().startswith(b"%PDF-")
    with zipfile.ZipFile(output / "csv.zip") as archive:
        assert "labs.csv" in [Path(n).name for n in archive.namelist()]
    assert list((output / "csv").rglob("labs.csv"))


def test_belimumab_infusions_are_recorded_and_exported(played: tuple[str, Path]) -> None:
    """The nurse records each belimumab infusion given (weeks 2 and 4 here) with /dose and
    Confirm: the export's EX domain has them, and so does the swimmer plot's data."""
    text, output = played
    typed = _lines(text, re.escape("nurse (English)"))
    for study_id in ("P01", "P02", "P05"):
        assert _any(typed, f"/dose {study_id} belimumab date=2026-12-15")
        assert _any(typed, f"/dose {study_id} belimumab date=2026-12-29")
    (ex,) = list((output / "csv").rglob("ex.csv"))
    with ex.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    belimumab = [r for r in rows if r["EXTRT"] == "BELIMUMAB"]
    assert len(belimumab) == 6
    assert {r["USUBJID"][-3:] for r in belimumab} == {"P01", "P02", "P05"}
    assert {r["EXSTDTC"][:10] for r in belimumab} == {"2026-12-15", "2026-12-29"}


def test_reminders_arrive_within_a_trial_hour_of_their_time_at_any_clock_speed(
    transcript: tuple[Transcript, Path],
) -> None:
    played, _ = transcript
    # The weeks pass at 240,000 times real time, where a real second is 66 trial hours.
    assert len(played.reminders) >= 20
    assert {who for who, _, _ in played.reminders} >= {"P01", "P02", "P03", "P04"}
    late = [
        (who, due.isoformat(), at.isoformat())
        for who, due, at in played.reminders
        if at - due > timedelta(hours=1)
    ]
    assert late == []
    assert "(due " not in played.text()
    # And none was missed for want of being sent in time.
    assert "现已标记为错过的提醒" not in played.text()


def test_the_summary_counts_every_enrolled_patient(played: tuple[str, Path]) -> None:
    text, _ = played
    summary = _lines(text, re.escape("bot -> coordinator (中文): 试验汇总"))[-1]
    enrolled = re.findall(r"意向性治疗分析.*全部入组 (\d+) 例", summary)
    assert enrolled == ["3", "2", "5"]  # each arm, then everyone
    # Intention to treat: every enrolled patient is in each denominator, never 0/0.
    denominators: list[str] = []
    counting = False
    for line in summary.splitlines():
        if "意向性治疗分析" in line:
            counting = True
        elif "敏感性分析" in line:
            counting = False
        elif counting:
            denominators += re.findall(r"\d+/(\d+)（", line)
    assert len(denominators) == 15
    assert set(denominators) == {"3", "2", "5"}


def test_demo_refuses_a_telegram_token_and_points_to_make_run(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--output", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "make run" in done.stderr
    assert not (tmp_path / "out").exists()
