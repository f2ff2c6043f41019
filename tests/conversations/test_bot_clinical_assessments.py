"""/sledai and /cd20 end to end over HTTP: totals, renal subset, change from baseline,
attribution flags, the guided flow and refusals.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.store.models import Cd20Count, SledaiAssessment
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    WEEK12_DAY0,
    assert_refusals,
    button_labels,
    confirm,
    member,
    rows,
    staff_id,
)
from tests.support.db_state import changed_tables, snapshot

SLEDAI_W12 = "/sledai P01 w12 haematuria proteinuria low_complement dsdna"
# Baseline in Chinese: haematuria 4, proteinuria 4, casts 4, low complement 2, DNA 2 = 16,
# renal 12; leukopenia attributed to MMF is recorded but does not score. Assessed on day 0
# of a patient for whom NOW is week 12 (WEEK12_DAY0).
SLEDAI_W0 = (
    "/sledai P01 w0 血尿 蛋白尿 管型尿 低补体 抗dsDNA抗体升高 白细胞减少:药物 日期=2026-09-28"
)


@pytest.mark.parametrize(("lang", "role"), [("en", "investigator"), ("zh", "nurse")])
async def test_sledai_total_renal_subset_and_change_from_baseline(
    world: World, lang: str, role: str
) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    sender = await member(world, role, lang)
    world.clock.set(NOW)

    baseline = await world.say(sender, SLEDAI_W0)
    first = {
        "en": "SLEDAI-2K for P01, week 0, assessed on Mon, Sep 28, 2026: total 16, renal subset 12.",
        "zh": "P01 第 0 周的 SLEDAI-2K，评估日期 2026年9月28日周一：总分 16，肾脏分项 12。",
    }[lang]
    assert baseline.shown.splitlines()[0] == first
    not_scored = {
        "en": "  Leukopenia: Not scored: attributed to a drug.",
        "zh": "  白细胞减少：",
    }[lang]
    assert any(line.startswith(not_scored) for line in baseline.shown.splitlines())
    await confirm(world, sender, baseline)

    summary = await world.say(sender, SLEDAI_W12)
    expected = {
        "en": [
            "SLEDAI-2K for P01, week 12, assessed on Mon, Dec 21, 2026: total 12, renal subset 8.",
            "  Haematuria: 4",
            "  Low complement: 2",
            "Change from baseline (week 0, total 16): total -4, renal subset -4 (improved).",
        ],
        "zh": [
            "P01 第 12 周的 SLEDAI-2K，评估日期 2026年12月21日周一：总分 12，肾脏分项 8。",
            "  血尿：4",
            "较基线变化（第 0 周，总分 16）：总分 -4，肾脏分项 -4（改善）。",
        ],
    }[lang]
    for line in expected:
        assert line in summary.shown.splitlines(), summary.shown
    done = await confirm(world, sender, summary)
    assert expected[-1] in done.shown.splitlines()

    w0, w12 = rows(world, SledaiAssessment)
    assert (w0.week, w0.total, w0.renal_total) == (0, 16, 12)
    assert (w12.week, w12.total, w12.renal_total, w12.assessed_on) == (
        12,
        12,
        8,
        date(2026, 12, 21),
    )
    assert {(i["item"], i["cause"], i["scored"]) for i in json.loads(w0.items)} == {
        ("haematuria", None, True),
        ("proteinuria", None, True),
        ("urinary_casts", None, True),
        ("low_complement", None, True),
        ("dsdna", None, True),
        ("leukopenia", "drug", False),
    }
    assert {i["item"] for i in json.loads(w12.items)} == {
        "haematuria",
        "proteinuria",
        "low_complement",
        "dsdna",
    }
    assert w12.entered_by == f"staff:{staff_id(world, sender)}"


async def test_sledai_without_baseline_says_so(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    nurse = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    summary = await world.say(nurse, SLEDAI_W12)
    assert "There is no baseline (week 0) SLEDAI-2K yet, so no change is shown." in summary.shown


@pytest.mark.parametrize(("lang", "role"), [("en", "nurse"), ("zh", "investigator")])
async def test_cd20_count_and_change_from_baseline(world: World, lang: str, role: str) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    sender = await member(world, role, lang)
    world.clock.set(NOW)
    await confirm(world, sender, await world.say(sender, "/cd20 P01 w0 150/uL date=2026-09-28"))
    summary = await world.say(sender, "/cd20 P01 w4 120/uL date=2026-10-26")
    expected = {
        "en": [
            "CD20 B cells for P01, week 4, collected on Mon, Oct 26, 2026: 120/µL.",
            "Change from baseline (week 0, 150/µL): -30/µL (-20%).",
        ],
        "zh": [
            "P01 第 4 周的 CD20 B 细胞，采样日期 2026年10月26日周一：120/µL。",
            "较基线变化（第 0 周，150/µL）：-30/µL（-20%）。",
        ],
    }[lang]
    assert summary.shown.splitlines() == expected
    done = await confirm(world, sender, summary)
    assert expected[1] in done.shown.splitlines()
    base, week4 = rows(world, Cd20Count)
    assert (base.week, base.value, base.unit) == (0, "150", "/uL")
    assert (week4.week, week4.value, week4.unit) == (4, "120", "/uL")
    assert base.collected_at.isoformat() == "2026-09-28T00:00:00+00:00"  # 08:00 in Shanghai

    percent = await world.say(sender, "/cd20 P01 w12 8%")
    different = {
        "en": "The baseline (week 0) count was 150/µL, a different measure: no change is computed.",
        "zh": "基线（第 0 周）计数为 150/µL，是不同的计量方式：不计算变化。",
    }[lang]
    assert different in percent.shown.splitlines()
    await confirm(world, sender, percent)
    assert (rows(world, Cd20Count)[-1].value, rows(world, Cd20Count)[-1].unit) == ("8", "%")


async def test_guided_sledai_flow_offers_the_protocol_weeks(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    nurse = await member(world, "nurse", "zh")
    world.clock.set(NOW)
    ask = await world.say(nurse, "/sledai")
    await world.press(nurse, ask, "P01")
    week = await world.reply(nurse)
    assert button_labels(week) == ["第 0 周", "第 12 周", "第 24 周"]
    await world.press(nurse, week, "第 12 周")
    await world.reply(nurse)
    await world.api.user_sends(nurse, "血尿，蛋白尿 低补体")
    summary = await world.reply(nurse)
    assert "总分 10，肾脏分项 8" in summary.shown
    await confirm(world, nurse, summary)
    (row,) = rows(world, SledaiAssessment)
    assert (row.week, row.total, row.renal_total) == (12, 10, 8)


REFUSALS = [
    ("/sledai P01 w12 headache", "en", "'headache' is not a SLEDAI-2K item."),
    (
        "/sledai P01 w12 haematuria:drug",
        "en",
        "haematuria cannot be attributed to drug: its SLEDAI-2K definition excludes only",
    ),
    ("/sledai P01 w12", "en", "List the SLEDAI-2K items present"),
    ("/sledai P09 w12 血尿", "zh", "没有研究编号为 P09 的受试者。"),
    ("/cd20 P01 w4 120", "en", "CD20 B cells needs a unit."),
    ("/cd20 P01 w4 120/hpf", "en", 'CD20 B cells cannot be entered in "/hpf".'),
    ("/cd20 P01 w4 9000/uL", "en", "CD20 B cells must be between 0 and 5000 /µL"),
    ("/cd20 P01 w4 120%", "zh", "120 % 超出该范围"),
    ("/cd20 P01 w4 120/uL date=2027-01-01", "en", "2027-01-01 is in the future"),
]


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(world, REFUSALS, role="investigator", usage=None)


async def test_strangers_and_patients_are_refused(world: World) -> None:
    world.enroll("P01")
    patient = await world.join_patient("P01", language_code="en", choose="English")
    stranger = world.new_user("en")
    before = snapshot(world.services.engine)
    for text in (SLEDAI_W12, "/cd20 P01 w4 120/uL"):
        assert "is not available to you" in (await world.say(patient, text)).shown
        assert "open the invitation link" in (await world.say(stranger, text)).shown
    assert changed_tables(before, snapshot(world.services.engine)) == {}
