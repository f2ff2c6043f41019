"""/summary, the Monday summary and the workbook count the response endpoints by intention
to treat, with withdrawals and missing week-24 panels, end to end, in both languages.

The trial is :mod:`tests.support.itt_seed` (the outputs trial plus P08, CR at week 12
then withdrawn, and P09, CR at week 12 and no week-24 panel); its docstring has the
numbers worked out by hand. The intervals are exact (Clopper-Pearson) on each
denominator, as R's ``binom.test`` gives them: 3/5 14.7%-94.7%, 1/5 0.5%-71.6%,
2/5 5.3%-85.3%, 1/4 0.6%-80.6%, 0/4 0.0%-60.2%, 3/4 19.4%-99.4%, 4/9 13.7%-78.8%,
1/9 0.3%-48.2%, 2/9 2.8%-60.0%, 3/9 7.5%-70.1%, 6/9 29.9%-92.5%.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import SQLModel

from bot.outputs.export import build_export
from bot.outputs.summary import send_weekly_digest
from core.protocol import Protocol
from core.store.db import make_engine, read_session
from core.store.models import InviteRole
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.tables.workbook import WORKBOOK_SHEETS
from tests.support.bot_harness import World
from tests.support.itt_seed import seed_itt_trial
from tests.support.outputs_seed import NOW, SHANGHAI, TODAY
from tests.support.pages import read_all_pages

# Group title -> the lines that follow it, up to SLEDAI-2K (stripped of their indent).
SUMMARY_EN = {
    "Belimumab plus multi-target therapy (belimumab_mt): 5 enrolled.": [
        "Intention to treat (all 5 enrolled; no week-24 class counts as non-response):",
        "Cumulative CR by week 24: 3/5 (60.0%; 95% CI 14.7%–94.7%)",
        "CR at week 24: 1/5 (20.0%; 95% CI 0.5%–71.6%)",
        "PR at week 24: 1/5 (20.0%; 95% CI 0.5%–71.6%)",
        "ORR (CR + PR) at week 24: 2/5 (40.0%; 95% CI 5.3%–85.3%)",
        "Non-responders at week 24 (NR or no week-24 class): 3/5 (60.0%; 95% CI 14.7%–94.7%)",
        "Counted as non-responders for want of a week-24 class:",
        "Withdrawn before any assessment: P07.",
        "Withdrawn without a week-24 class: P08.",
        "Cumulative CR already reached, counted though without a week-24 class: P08.",
        "Sensitivity analysis (completers only: the 3 patients with a week-24 class):",
        "Cumulative CR by week 24: 2/3 (66.7%; 95% CI 9.4%–99.2%)",
        "CR at week 24: 1/3 (33.3%; 95% CI 0.8%–90.6%)",
        "PR at week 24: 1/3 (33.3%; 95% CI 0.8%–90.6%)",
        "NR at week 24: 1/3 (33.3%; 95% CI 0.8%–90.6%)",
        "ORR (CR + PR) at week 24: 2/3 (66.7%; 95% CI 9.4%–99.2%)",
    ],
    "Multi-target therapy only (mt_only): 4 enrolled.": [
        "Intention to treat, interim (all 4 enrolled; no week-24 class counts as non-response):",
        "Cumulative CR by week 24: 1/4 (25.0%; 95% CI 0.6%–80.6%)",
        "CR at week 24: 0/4 (0.0%; 95% CI 0.0%–60.2%)",
        "PR at week 24: 1/4 (25.0%; 95% CI 0.6%–80.6%)",
        "ORR (CR + PR) at week 24: 1/4 (25.0%; 95% CI 0.6%–80.6%)",
        "Non-responders at week 24 (NR or no week-24 class): 3/4 (75.0%; 95% CI 19.4%–99.4%)",
        "Counted as non-responders for want of a week-24 class:",
        "Week-24 panel incomplete: P05.",
        "No week-24 panel: P09.",
        "Not yet at week 24 (non-responders so far): P06.",
        "Cumulative CR already reached, counted though without a week-24 class: P09.",
        "Interim: 1 patient is not yet at week 24 and counts as a non-responder so far.",
        "Sensitivity analysis (completers only: the 1 patient with a week-24 class):",
        "Cumulative CR by week 24: 0/1 (0.0%; 95% CI 0.0%–97.5%)",
        "CR at week 24: 0/1 (0.0%; 95% CI 0.0%–97.5%)",
        "PR at week 24: 1/1 (100.0%; 95% CI 2.5%–100.0%)",
        "NR at week 24: 0/1 (0.0%; 95% CI 0.0%–97.5%)",
        "ORR (CR + PR) at week 24: 1/1 (100.0%; 95% CI 2.5%–100.0%)",
    ],
    "All patients: 9 enrolled.": [
        "Intention to treat, interim (all 9 enrolled; no week-24 class counts as non-response):",
        "Cumulative CR by week 24: 4/9 (44.4%; 95% CI 13.7%–78.8%)",
        "CR at week 24: 1/9 (11.1%; 95% CI 0.3%–48.2%)",
        "PR at week 24: 2/9 (22.2%; 95% CI 2.8%–60.0%)",
        "ORR (CR + PR) at week 24: 3/9 (33.3%; 95% CI 7.5%–70.1%)",
        "Non-responders at week 24 (NR or no week-24 class): 6/9 (66.7%; 95% CI 29.9%–92.5%)",
        "Counted as non-responders for want of a week-24 class:",
        "Week-24 panel incomplete: P05.",
        "Withdrawn before any assessment: P07.",
        "Withdrawn without a week-24 class: P08.",
        "No week-24 panel: P09.",
        "Not yet at week 24 (non-responders so far): P06.",
        "Cumulative CR already reached, counted though without a week-24 class: P08 and P09.",
        "Interim: 1 patient is not yet at week 24 and counts as a non-responder so far.",
        "Sensitivity analysis (completers only: the 4 patients with a week-24 class):",
        "Cumulative CR by week 24: 2/4 (50.0%; 95% CI 6.8%–93.2%)",
        "CR at week 24: 1/4 (25.0%; 95% CI 0.6%–80.6%)",
        "PR at week 24: 2/4 (50.0%; 95% CI 6.8%–93.2%)",
        "NR at week 24: 1/4 (25.0%; 95% CI 0.6%–80.6%)",
        "ORR (CR + PR) at week 24: 3/4 (75.0%; 95% CI 19.4%–99.4%)",
    ],
}
SUMMARY_ZH = {
    "贝利尤单抗联合多靶点治疗（belimumab_mt）：入组 5 例。": [
        "意向性治疗分析（全部入组 5 例；无第 24 周疗效分级者按未缓解计）：",
        "至第 24 周累计完全缓解（CR）：3/5（60.0%；95% 置信区间 14.7%–94.7%）",
        "第 24 周完全缓解（CR）：1/5（20.0%；95% 置信区间 0.5%–71.6%）",
        "第 24 周部分缓解（PR）：1/5（20.0%；95% 置信区间 0.5%–71.6%）",
        "第 24 周总缓解率（ORR，CR + PR）：2/5（40.0%；95% 置信区间 5.3%–85.3%）",
        "第 24 周未缓解者（NR 或无第 24 周疗效分级）：3/5（60.0%；95% 置信区间 14.7%–94.7%）",
        "因无第 24 周疗效分级而按未缓解计：",
        "在任何评估之前已退出：P07。",
        "已退出且无第 24 周疗效分级：P08。",
        "已达到累计完全缓解，虽无第 24 周疗效分级仍计入：P08。",
        "敏感性分析（仅完成者：有第 24 周疗效分级的 3 例受试者）：",
        "至第 24 周累计完全缓解（CR）：2/3（66.7%；95% 置信区间 9.4%–99.2%）",
        "第 24 周完全缓解（CR）：1/3（33.3%；95% 置信区间 0.8%–90.6%）",
        "第 24 周部分缓解（PR）：1/3（33.3%；95% 置信区间 0.8%–90.6%）",
        "第 24 周未缓解（NR）：1/3（33.3%；95% 置信区间 0.8%–90.6%）",
        "第 24 周总缓解率（ORR，CR + PR）：2/3（66.7%；95% 置信区间 9.4%–99.2%）",
    ],
    "仅多靶点治疗（mt_only）：入组 4 例。": [
        "意向性治疗分析，中期结果（全部入组 4 例；无第 24 周疗效分级者按未缓解计）：",
        "至第 24 周累计完全缓解（CR）：1/4（25.0%；95% 置信区间 0.6%–80.6%）",
        "第 24 周完全缓解（CR）：0/4（0.0%；95% 置信区间 0.0%–60.2%）",
        "第 24 周部分缓解（PR）：1/4（25.0%；95% 置信区间 0.6%–80.6%）",
        "第 24 周总缓解率（ORR，CR + PR）：1/4（25.0%；95% 置信区间 0.6%–80.6%）",
        "第 24 周未缓解者（NR 或无第 24 周疗效分级）：3/4（75.0%；95% 置信区间 19.4%–99.4%）",
        "因无第 24 周疗效分级而按未缓解计：",
        "第 24 周肾脏指标不全：P05。",
        "缺少第 24 周肾脏指标：P09。",
        "尚未到第 24 周（暂按未缓解计）：P06。",
        "已达到累计完全缓解，虽无第 24 周疗效分级仍计入：P09。",
        "中期结果：1 例受试者尚未到第 24 周，暂按未缓解计。",
        "敏感性分析（仅完成者：有第 24 周疗效分级的 1 例受试者）：",
        "至第 24 周累计完全缓解（CR）：0/1（0.0%；95% 置信区间 0.0%–97.5%）",
        "第 24 周完全缓解（CR）：0/1（0.0%；95% 置信区间 0.0%–97.5%）",
        "第 24 周部分缓解（PR）：1/1（100.0%；95% 置信区间 2.5%–100.0%）",
        "第 24 周未缓解（NR）：0/1（0.0%；95% 置信区间 0.0%–97.5%）",
        "第 24 周总缓解率（ORR，CR + PR）：1/1（100.0%；95% 置信区间 2.5%–100.0%）",
    ],
    "全部受试者：入组 9 例。": [
        "意向性治疗分析，中期结果（全部入组 9 例；无第 24 周疗效分级者按未缓解计）：",
        "至第 24 周累计完全缓解（CR）：4/9（44.4%；95% 置信区间 13.7%–78.8%）",
        "第 24 周完全缓解（CR）：1/9（11.1%；95% 置信区间 0.3%–48.2%）",
        "第 24 周部分缓解（PR）：2/9（22.2%；95% 置信区间 2.8%–60.0%）",
        "第 24 周总缓解率（ORR，CR + PR）：3/9（33.3%；95% 置信区间 7.5%–70.1%）",
        "第 24 周未缓解者（NR 或无第 24 周疗效分级）：6/9（66.7%；95% 置信区间 29.9%–92.5%）",
        "因无第 24 周疗效分级而按未缓解计：",
        "第 24 周肾脏指标不全：P05。",
        "在任何评估之前已退出：P07。",
        "已退出且无第 24 周疗效分级：P08。",
        "缺少第 24 周肾脏指标：P09。",
        "尚未到第 24 周（暂按未缓解计）：P06。",
        "已达到累计完全缓解，虽无第 24 周疗效分级仍计入：P08 和 P09。",
        "中期结果：1 例受试者尚未到第 24 周，暂按未缓解计。",
        "敏感性分析（仅完成者：有第 24 周疗效分级的 4 例受试者）：",
        "至第 24 周累计完全缓解（CR）：2/4（50.0%；95% 置信区间 6.8%–93.2%）",
        "第 24 周完全缓解（CR）：1/4（25.0%；95% 置信区间 0.6%–80.6%）",
        "第 24 周部分缓解（PR）：2/4（50.0%；95% 置信区间 6.8%–93.2%）",
        "第 24 周未缓解（NR）：1/4（25.0%；95% 置信区间 0.6%–80.6%）",
        "第 24 周总缓解率（ORR，CR + PR）：3/4（75.0%；95% 置信区间 19.4%–99.4%）",
    ],
}
EXPECTED = {"en": SUMMARY_EN, "zh-hans": SUMMARY_ZH}


def response_lines(text: str, title: str) -> list[str]:
    """The lines after a group's title, up to its SLEDAI-2K line, without their indent."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(title) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("SLEDAI-2K"))
    return lines[start:end]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_summary_counts_every_enrolled_patient(
    world: World, protocol: Protocol, language: str
) -> None:
    seed_itt_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code=language)
    text = await read_all_pages(world, user, await world.say(user, "/summary"))
    for title, expected in EXPECTED[language].items():
        assert response_lines(text, title) == expected, title


async def test_monday_summary_counts_every_enrolled_patient(
    world: World, protocol: Protocol
) -> None:
    seed_itt_trial(world.services.engine, protocol, world.clock.now())
    english = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    chinese = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    before = {u: len(world.api.messages_to(u)) for u in (english, chinese)}
    assert world.services.router is not None
    # A week on, still before P06's week 24 (2027-03-18): the same figures.
    monday = world.clock.now() + timedelta(days=7)
    assert await send_weekly_digest(world.services.router, world.services, monday) == 2
    for user, language in ((english, "en"), (chinese, "zh-hans")):
        text = "\n".join(m.shown for m in world.api.messages_to(user)[before[user] :])
        for title, expected in EXPECTED[language].items():
            assert response_lines(text, title) == expected, (language, title)


def _rows(book: object, name: str) -> list[dict[str, object]]:
    sheet = book[name]  # type: ignore[index]
    return [
        dict(zip(WORKBOOK_SHEETS[name], row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    ]


def test_workbook_has_the_itt_figures_and_the_reasons(protocol: Protocol, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(engine)
    seed_itt_trial(engine, protocol)
    with read_session(engine) as session:
        data = load_trial_data(session, SHANGHAI, events=True)
    engine.dispose()
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    files = build_export(data, endpoints, protocol, SHANGHAI, TODAY, NOW)
    book = load_workbook(io.BytesIO(files.workbook))

    figures = {(r["group"], r["analysis"], r["endpoint"]): r for r in _rows(book, "summary")}
    itt, completers = "intention to treat", "sensitivity analysis (completers only)"
    # group, analysis, endpoint -> count, n, proportion, exact interval (6 places), note
    expected = {
        ("belimumab_mt", itt, "cumulative CR by week 24"): (3, 5, 0.6, 0.146633, 0.947255, None),
        ("belimumab_mt", completers, "cumulative CR by week 24"): (
            2,
            3,
            0.666667,
            0.094299,
            0.991596,
            None,
        ),
        ("mt_only", itt, "cumulative CR by week 24"): (
            1,
            4,
            0.25,
            0.006309,
            0.80588,
            "interim: 1 not yet at week 24",
        ),
        ("mt_only", itt, "CR at week 24"): (0, 4, 0, 0, 0.602365, "interim: 1 not yet at week 24"),
        ("all", itt, "cumulative CR by week 24"): (
            4,
            9,
            0.444444,
            0.136996,
            0.787991,
            "interim: 1 not yet at week 24",
        ),
        ("all", itt, "non-responders at week 24 (NR or no week-24 class)"): (
            6,
            9,
            0.666667,
            0.299295,
            0.925145,
            "interim: 1 not yet at week 24",
        ),
    }
    for key, (count, n, share, low, high, note) in expected.items():
        row = figures[key]
        assert (row["count"], row["n"], row["note"]) == (count, n, note), key
        assert row["proportion"] == pytest.approx(share, abs=1e-9), key
        assert (row["ci_low"], row["ci_high"]) == (
            pytest.approx(low, abs=1e-9),
            pytest.approx(high, abs=1e-9),
        ), key
        assert row["ci_level"] == pytest.approx(0.95)
        as_of = row["as_of"]
        assert isinstance(as_of, datetime) and as_of.date() == date(2026, 11, 30)
    # Five ITT and five completers-only figures for each arm and for all patients.
    assert len(figures) == 3 * 10

    patients = {r["study_id"]: r for r in _rows(book, "endpoints")}
    assert list(patients) == [f"P0{i}" for i in range(1, 10)]
    assert (patients["P08"]["cumulative_cr"], patients["P08"]["missing_reason"]) == (
        "yes",
        "withdrawn",
    )
    assert (patients["P09"]["cumulative_cr"], patients["P09"]["missing_reason"]) == (
        "yes",
        "no week-24 panel",
    )
    assert patients["P07"]["missing_reason"] == "withdrawn before any assessment"
    assert patients["P06"]["missing_reason"] == "not yet at week 24"
    assert patients["P05"]["missing_reason"] == "week-24 panel incomplete"
    assert patients["P01"]["missing_reason"] is None
