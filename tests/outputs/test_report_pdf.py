"""The safety-review PDF (/export pdf, python -m bot report --pdf): its pages rendered with
poppler's pdftoppm, its text read with pdftotext, in both languages; A4; end to end through
the bot and the command line (tests.support.outputs_seed trial).

Poppler (Debian's poppler-utils) is needed to read the PDF: without it those tests are
skipped with the reason, unless ``REQUIRE_BROWSER=1`` (CI installs it and sets that): then
they fail.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.i18n import Lang, Translator
from bot.outputs.report import SafetyReport, build_report
from core.protocol import Protocol
from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import AuditRecord, InviteRole
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.trial_records import TrialData
from tests.support.bot_harness import World
from tests.support.cli_runs import run_bot
from tests.support.outputs_seed import NOW, SHANGHAI, TODAY, seed_trial, seeded_engine

PDF_MAGIC = b"%PDF-"
# ISO 216 A4 in PostScript points, as pdfinfo prints it.
A4_PORTRAIT = "595.276 x 841.89 pts (A4)"
A4_LANDSCAPE = "841.89 x 595.276 pts (A4)"


@pytest.fixture
def poppler() -> None:
    """pdftoppm, pdftotext and pdfinfo (poppler-utils), or a skip saying why."""
    missing = [tool for tool in ("pdftoppm", "pdftotext", "pdfinfo") if not shutil.which(tool)]
    if missing:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing} missing (apt-get install poppler-utils)")
        pytest.skip(f"{missing} missing (apt-get install poppler-utils); REQUIRE_BROWSER=1 fails")


def pdf_text(path: Path, page: int | None = None, *, layout: bool = False) -> str:
    """The text of the PDF (or one page): in reading order, a table cell's lines together;
    with ``layout``, a table's rows as lines."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    mode = ["-layout"] if layout else []
    done = subprocess.run(
        ["pdftotext", *mode, *pages, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def page_sizes(path: Path) -> list[str]:
    done = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return re.findall(r"Page\s+\d+ size:\s+(.+)", done.stdout)


def flat(text: str) -> str:
    """The text with its lines joined (a table cell or a sentence may wrap)."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> TrialData:
    engine = seeded_engine(tmp_path_factory.mktemp("report") / "trial.db", protocol)
    with read_session(engine) as session:
        loaded = load_trial_data(session, SHANGHAI, events=True)
    engine.dispose()
    return loaded


def report(data: TrialData, protocol: Protocol, lang: Lang) -> SafetyReport:
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    return build_report(Translator(lang, SHANGHAI), data, endpoints, protocol, TODAY, NOW)


@pytest.fixture(scope="module")
def reports(
    data: TrialData, protocol: Protocol, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    paths = {}
    for lang in ("en", "zh_Hans"):
        path = out / f"report-{lang}.pdf"
        path.write_bytes(report(data, protocol, Lang(lang)).pdf)
        paths[lang] = path
    return paths


# --- the file ---------------------------------------------------------------------------


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_every_page_renders_and_is_a4(reports: dict[str, Path], lang: str, tmp_path: Path) -> None:
    path = reports[lang]
    assert path.read_bytes().startswith(PDF_MAGIC)
    sizes = page_sizes(path)
    # Text pages portrait, then the proteinuria chart and the swimmer plot landscape.
    assert sizes[0] == A4_PORTRAIT
    assert sizes[-2:] == [A4_LANDSCAPE, A4_LANDSCAPE]
    assert set(sizes) <= {A4_PORTRAIT, A4_LANDSCAPE}
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(sizes)
    assert all(png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)
    # A page with something drawn on it compresses to more than a blank one.
    assert min(png.stat().st_size for png in pngs) > 3_000


@pytest.mark.usefixtures("poppler")
def test_page_one_in_english(reports: dict[str, Path]) -> None:
    first = flat(pdf_text(reports["en"], 1))
    assert first.startswith("Safety review report")
    assert "Data cut-off: Mon, Nov 30, 2026" in first
    assert "Trial NCT05863936" in first
    assert "Response summary" in first
    # The summary's exact intervals, as /summary words them.
    assert "exact (Clopper-Pearson) confidence intervals at 95%" in first
    assert "2/4 (50.0%; 95% CI 6.8%–93.2%)" in first
    assert "page 1 of" in first


@pytest.mark.usefixtures("poppler")
def test_page_one_in_chinese(reports: dict[str, Path]) -> None:
    first = flat(pdf_text(reports["zh_Hans"], 1))
    # The Chinese title is text in the file (the font embedded), not a picture of it.
    assert first.startswith("安全性审查报告")
    assert "数据截止日期：2026年11月30日周一" in first
    assert "疗效汇总" in first
    assert "2/4（50.0%；95% 置信区间 6.8%–93.2%）" in first
    assert "Safety review report" not in first


@pytest.mark.usefixtures("poppler")
def test_adverse_events_serious_events_and_deviations_in_both_languages(
    reports: dict[str, Path],
) -> None:
    en, zh = flat(pdf_text(reports["en"])), flat(pdf_text(reports["zh_Hans"]))
    rows = flat(pdf_text(reports["en"], layout=True))
    for text, words in (
        (
            en,
            (
                "Adverse events: patients by highest grade",
                "Belimumab plus multi-target therapy (n = 4)",
                "All patients (n = 7)",
                "Lung infection",
                "Anaphylaxis",
                "Serious adverse events",
                "Is life-threatening",
                "not recorded",
                "Protocol deviations",
                "No protocol deviations recorded.",
                "24-hour urine protein by week",
                "Time on study: infusions, renal assessments and adverse events",
            ),
        ),
        (
            zh,
            (
                "不良事件：按最高分级统计的受试者",
                "全部受试者（n = 7）",
                "肺部感染",
                "严重过敏反应",
                "危及生命",
                "未记录",
                "方案偏离",
            ),
        ),
    ):
        for word in words:
            assert word in text, word
    # Patients by highest grade: belimumab arm 2 of 4 with an event, both serious.
    # (The row's label may wrap onto a second line, after the numbers.)
    assert re.search(r"Any serious adverse (event )?2 \(50\.0%\) 0 \(0\.0%\) 2 \(28\.6%\)", rows)


@pytest.mark.usefixtures("poppler")
@pytest.mark.usefixtures("poppler")
def test_the_events_still_open_at_week_24_are_listed(
    data: TrialData, protocol: Protocol, tmp_path: Path
) -> None:
    """The seeded events have no end date; the patients started on 2026-06-01, so their
    week 24 (2026-11-16) is before the cut-off: every event is open then, in a table.
    Ended before week 24, none is, and the report says so."""
    for lang, heading, empty in (
        (
            "en",
            "Adverse events still open at week 24 (end of induction)",
            "No adverse event was open at week 24.",
        ),
        (
            "zh_Hans",
            "第 24 周（诱导期结束）时仍未结束的不良事件",
            "第 24 周时没有未结束的不良事件。",
        ),
    ):
        path = tmp_path / f"{lang}.pdf"
        path.write_bytes(report(data, protocol, Lang(lang)).pdf)
        text = flat(pdf_text(path))
        assert heading in text
        assert empty not in text
        ended = dataclasses.replace(
            data,
            adverse_events=tuple(
                dataclasses.replace(ae, outcome="recovered", end_date=ae.onset_date)
                for ae in data.adverse_events
            ),
        )
        path.write_bytes(report(ended, protocol, Lang(lang)).pdf)
        text = flat(pdf_text(path))
        assert heading in text and empty in text


@pytest.mark.usefixtures("poppler")
def test_a_recorded_outcome_and_recorded_deviations_are_reported(
    data: TrialData, protocol: Protocol, tmp_path: Path
) -> None:
    events = list(data.events)
    renal = [i for i, e in enumerate(events) if e.kind == EventKind.RENAL_ASSESSMENT]
    moved, missed = renal[1], renal[2]
    events[moved] = dataclasses.replace(
        events[moved],
        scheduled_date=events[moved].target_date + timedelta(days=9),
        deviation_reason="patient abroad",
    )
    events[missed] = dataclasses.replace(
        events[missed], status="missed", missed_reason="hospitalised elsewhere"
    )
    aes = [
        dataclasses.replace(ae, outcome="recovered") if ae.term == "anaphylaxis" else ae
        for ae in data.adverse_events
    ]
    changed = dataclasses.replace(data, events=tuple(events), adverse_events=tuple(aes))
    for lang, words in (
        ("en", ("recovered/ resolved", "patient abroad", "moved outside its window")),
        ("zh_Hans", ("痊愈", "hospitalised elsewhere", "标记为缺失")),
    ):
        path = tmp_path / f"{lang}.pdf"
        path.write_bytes(report(changed, protocol, Lang(lang)).pdf)
        text = flat(pdf_text(path))
        for word in words:
            assert word in text, (lang, word)
        assert "No protocol deviations recorded." not in text


@pytest.mark.usefixtures("poppler")
def test_every_page_gives_the_cut_off_and_its_number(reports: dict[str, Path]) -> None:
    pages = len(page_sizes(reports["en"]))
    for page in range(1, pages + 1):
        text = flat(pdf_text(reports["en"], page))
        assert f"data cut-off Mon, Nov 30, 2026 · page {page} of {pages}" in text, page


# --- /export pdf end to end -------------------------------------------------------------


async def test_export_pdf_sends_the_report_as_a_document(world: World, protocol: Protocol) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    await world.api.user_sends(user, "/export pdf")
    sent = await world.api.wait_for_message(user, lambda m: m.document is not None, timeout=60)
    assert sent.document is not None and sent.document.data is not None
    assert sent.document.file_name == "safety-report-2026-11-30.pdf"
    assert sent.document.data.startswith(PDF_MAGIC)
    assert (sent.visible_caption or "").startswith("Safety review report as of Mon, Nov 30, 2026")
    with read_session(world.services.engine) as session:
        audit = session.exec(select(AuditRecord).where(AuditRecord.action == "export.sent")).one()
    after = json.loads(audit.after or "{}")
    assert after["files"] == ["safety-report-2026-11-30.pdf"]
    assert after["patients"] == 7
    assert audit.actor.startswith("staff:")


async def test_export_pdf_in_chinese_and_its_refusals(
    world: World, protocol: Protocol, tmp_path: Path
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    investigator = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    refused = await world.say(investigator, "/export pdf")
    assert "/export" in refused.shown and refused.document is None
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    unknown = await world.say(coordinator, "/export word")
    assert "/export 不带参数，或带“pdf”以获取安全性审查报告。" in unknown.shown
    await world.api.user_sends(coordinator, "/export 报告")
    sent = await world.api.wait_for_message(
        coordinator, lambda m: m.document is not None, timeout=60
    )
    assert "截至 2026年11月30日周一 的安全性审查报告" in (sent.visible_caption or "")
    assert sent.document is not None and sent.document.data is not None
    if shutil.which("pdftotext"):
        path = tmp_path / "sent.pdf"
        path.write_bytes(sent.document.data)
        assert flat(pdf_text(path, 1)).startswith("安全性审查报告")
    english = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    wrong = await world.say(english, "/export word")
    assert '/export takes no arguments, or "pdf" for the safety-review report.' in wrong.shown
    assert "Expected: /export for the workbook and CSV files, /export pdf" in wrong.shown


# --- /report pdf: the same report under the name, for coordinators only ----------


async def test_report_pdf_sends_the_report_to_a_coordinator(
    world: World, protocol: Protocol
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    await world.api.user_sends(user, "/report pdf")
    sent = await world.api.wait_for_message(user, lambda m: m.document is not None, timeout=60)
    assert sent.document is not None and sent.document.data is not None
    assert sent.document.file_name == "safety-report-2026-11-30.pdf"
    assert sent.document.data.startswith(PDF_MAGIC)
    assert (sent.visible_caption or "").startswith("Safety review report as of Mon, Nov 30, 2026")
    wrong = await world.say(user, "/report word")
    assert '/report takes only "pdf": it sends the safety-review report.' in wrong.shown
    assert "Expected: /report pdf for the safety-review report" in wrong.shown
    assert wrong.document is None
    help_text = (await world.say(user, "/help")).shown
    assert "/report: the safety-review report as a PDF: /report pdf" in help_text
    assert "symptom" not in help_text


async def test_report_pdf_in_chinese_and_who_may_not(world: World, protocol: Protocol) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    await world.api.user_sends(coordinator, "/report 报告")
    sent = await world.api.wait_for_message(
        coordinator, lambda m: m.document is not None, timeout=60
    )
    assert "截至 2026年11月30日周一 的安全性审查报告" in (sent.visible_caption or "")
    wrong = await world.say(coordinator, "/report 全部")
    assert "/report 只带“pdf”：发送安全性审查报告。" in wrong.shown
    assert "/report pdf 获取安全性审查报告" in wrong.shown
    for role in (InviteRole.INVESTIGATOR, InviteRole.NURSE):
        member = await world.join_staff(role, language_code="zh-hans")
        refused = await world.say(member, "/report pdf")
        assert refused.document is None
        assert "安全性审查报告" not in (refused.visible_caption or "")
    with read_session(world.services.engine) as session:
        sent_files = session.exec(
            select(AuditRecord).where(AuditRecord.action == "export.sent")
        ).all()
    assert len(sent_files) == 1  # the coordinator's, nobody else's


# --- python -m bot report --pdf ---------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("poppler")
def test_cli_writes_the_report(protocol: Protocol, tmp_path: Path) -> None:
    db = tmp_path / "trial.db"
    seeded_engine(db, protocol).dispose()
    out = tmp_path / "safety.pdf"
    written = run_bot(
        "report", "--pdf", str(out), "--lang", "en", "--today", TODAY.isoformat(), database=db
    )
    assert written.returncode == 0, written.stderr
    assert str(out) in written.stdout
    assert page_sizes(out)[0] == A4_PORTRAIT
    assert "Data cut-off: Mon, Nov 30, 2026" in flat(pdf_text(out, 1))
    chinese = tmp_path / "zh.pdf"
    assert run_bot("report", "--pdf", str(chinese), database=db).returncode == 0
    assert flat(pdf_text(chinese, 1)).startswith("安全性审查报告")


@pytest.mark.e2e
def test_cli_refuses_an_unreadable_database_and_an_unwritable_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_text("not a database")
    result = run_bot("report", "--pdf", str(tmp_path / "x.pdf"), database=bad)
    assert result.returncode == 1
    assert "cannot read the database" in result.stderr
    missing = run_bot("report", database=bad)
    assert missing.returncode == 2
    assert "--pdf" in missing.stderr


@pytest.mark.usefixtures("poppler")
def test_a_large_trial_gets_its_swimmer_plot_over_several_pages(
    data: TrialData, protocol: Protocol, tmp_path: Path
) -> None:
    template = data.patients[0]
    many = tuple(
        dataclasses.replace(template, id=1000 + i, study_id=f"X{i:02d}") for i in range(30)
    )
    big = dataclasses.replace(data, patients=data.patients + many)
    built = report(big, protocol, Lang.EN)
    path = tmp_path / "big.pdf"
    path.write_bytes(built.pdf)
    sizes = page_sizes(path)
    assert len(sizes) == built.pages
    # 37 lanes, at most 22 a page: two swimmer pages after the proteinuria chart.
    assert sizes[-3:] == [A4_LANDSCAPE] * 3
    last = flat(pdf_text(path, built.pages))
    assert "X29" in last and "X00" not in last
