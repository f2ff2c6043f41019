"""/labs end to end over HTTP: values stored as entered, the baseline, the week-24 response with
every clause to the sender and to each coordinator, partial panels, the guided flow, refusals.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import EventStatus, LabResult, PlannedEventRow
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    WEEK24_DAY0,
    assert_refusals,
    button_labels,
    confirm,
    member,
    rows,
    staff_id,
    team,
)
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

# The /labs command example, exactly as written.
WEEK24 = "/labs P01 w24 protein=0.25g/24h rbc=2/hpf wbc=3/hpf casts=none alb=39g/L scr=69umol/L"
# docs/clinical-facts.md §3's baseline: 4.2 g, RBC 40/hpf, WBC 12/hpf, RBC casts, albumin 2.4 g/dL
# (24 g/L), SCr 0.90 mg/dL; typed once with the English keys and once with the Chinese ones,
# collected on day 0 of a patient for whom NOW is week 24 (WEEK24_DAY0).
BASELINE = {
    "en": "/labs P01 w0 protein=4.2g/24h rbc=40/hpf wbc=12/hpf casts=rbc alb=24g/L scr=0.90mg/dL "
    "date=2026-07-06",
    "zh": "/labs P01 w0 蛋白=4.2g/24h 红细胞=40/hpf 白细胞=12/hpf 管型=红细胞管型 白蛋白=24g/L "
    "肌酐=0.90mg/dL 日期=2026-07-06",
}

RESPONSE = {
    "en": [
        "Renal panel of P01, week 24, is complete. Response:",
        "complete response (CR)",
        "  Urine protein 0.25 g/24h < 0.4 g/24h: met",
        "  No active urinary sediment: met",
        "  Serum albumin 39 g/L > 35 g/L: met",
        "  Serum creatinine 69 µmol/L ≤ 73 µmol/L, the protocol's upper limit for women: met",
        "  Urine RBC 40/hpf at baseline, 2/hpf now (-95%); a fall of more than 50% means "
        "below 20/hpf: met",
    ],
    "zh": [
        "P01 第 24 周的肾脏指标已齐全。疗效：",
        "完全缓解（CR）",
        "  尿蛋白 0.25 g/24h < 0.4 g/24h：满足",
        "  无活动性尿沉渣：满足",
        "  血清白蛋白 39 g/L > 35 g/L：满足",
        "  血清肌酐 69 µmol/L ≤ 73 µmol/L（方案规定的女性正常上限）：满足",
    ],
}

STORED_WEEK24 = {
    ("urine_protein_24h", "0.25", "g/24h"),
    ("urine_rbc", "2", "/hpf"),
    ("urine_wbc", "3", "/hpf"),
    ("urine_casts", "0", "none"),
    ("serum_albumin", "39", "g/L"),
    ("serum_creatinine", "69", "umol/L"),
}
STORED_BASELINE = {
    ("urine_protein_24h", "4.2", "g/24h"),
    ("urine_rbc", "40", "/hpf"),
    ("urine_wbc", "12", "/hpf"),
    ("urine_casts", "1", "rbc"),
    ("serum_albumin", "24", "g/L"),
    ("serum_creatinine", "0.90", "mg/dL"),
}


def _event(world: World, week: int) -> PlannedEventRow:
    patient = world.patient("P01")
    with read_session(world.services.engine) as session:
        return session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .where(PlannedEventRow.kind == EventKind.RENAL_ASSESSMENT)
            .where(PlannedEventRow.week == week)
        ).one()


def _stored(world: World, week: int) -> set[tuple[str, str, str]]:
    return {(r.analyte, r.value, r.unit) for r in rows(world, LabResult) if r.week == week}


@pytest.mark.parametrize(
    ("lang", "role", "baseline_lang", "baseline_role"),
    [("en", "investigator", "zh", "nurse"), ("zh", "nurse", "en", "coordinator")],
)
async def test_complete_week24_panel_after_baseline_is_cr_for_sender_and_coordinators(
    world: World, lang: str, role: str, baseline_lang: str, baseline_role: str
) -> None:
    world.enroll("P01", sex="F", day0=WEEK24_DAY0)
    coordinators = await team(world)
    sender = await member(world, role, lang)
    entering_baseline = await member(world, baseline_role, baseline_lang)
    world.clock.set(NOW)

    # Week 0 first: the baseline. The sender is told it is complete.
    summary0 = await world.say(entering_baseline, BASELINE[baseline_lang])
    stored0 = await confirm(world, entering_baseline, summary0)
    expected0 = {
        "en": "The baseline (week 0) renal panel of P01 is complete.",
        "zh": "P01 的基线（第 0 周）肾脏指标已齐全。",
    }[baseline_lang]
    assert expected0 in stored0.shown
    assert _stored(world, 0) == STORED_BASELINE
    assert _event(world, 0).status == EventStatus.DONE

    # Then the week-24 /labs example.
    summary = await world.say(sender, WEEK24)
    header = {
        "en": "Lab results for P01, week 24, collected on Mon, Dec 21, 2026:",
        "zh": "P01 第 24 周的检验结果，采样日期 2026年12月21日周一：",
    }[lang]
    assert summary.shown.splitlines()[0] == header
    shown_values = {
        "en": [
            "24-hour urine protein: 0.25 g/24h",
            "Serum creatinine: 69 µmol/L",
            "Cellular casts: none",
            "Serum albumin: 39 g/L",
        ],
        "zh": ["尿红细胞：2/hpf", "血清肌酐：69 µmol/L", "细胞管型：无"],
    }[lang]
    for value in shown_values:
        assert value in summary.shown
    assert _stored(world, 24) == set()

    done = await confirm(world, sender, summary)
    assert (
        done.shown
        == {
            "en": "Stored 6 results for P01, week 24.",
            "zh": "已为 P01 第 24 周保存 6 项结果。",
        }[lang]
    )
    response = await world.reply(sender)
    for line in RESPONSE[lang]:
        assert line in response.shown.splitlines(), response.shown

    # Values and units exactly as entered, linked to the week-24 assessment, which is now done.
    assert _stored(world, 24) == STORED_WEEK24
    event = _event(world, 24)
    week24_rows = [r for r in rows(world, LabResult) if r.week == 24]
    assert {r.event_id for r in week24_rows} == {event.id}
    assert {r.entered_by for r in week24_rows} == {f"staff:{staff_id(world, sender)}"}
    assert {r.uti for r in week24_rows} == {False}
    assert event.status == EventStatus.DONE
    assert str(event.actual_date) == "2026-12-21"

    # Each coordinator gets the class with every clause, in their own language.
    for user, language in (
        (coordinators.coordinator_en, "en"),
        (coordinators.coordinator_zh, "zh"),
    ):
        sent = await world.api.wait_for_message(user, contains="CR")
        for line in RESPONSE[language]:
            assert line in sent.shown.splitlines(), sent.shown
        # The response summary: the message says week 24 is complete, and what is still missing.
        if language == "en":
            assert (
                "P01 has completed week 24; the week-24 class is complete response (CR)."
                in sent.shown
            )
            assert "Week-24 values still missing: SLEDAI-2K" in sent.shown
        else:
            assert "P01" in sent.shown
            assert "第 24 周" in sent.shown


async def test_a_partial_panel_says_what_is_missing_and_sends_no_response(world: World) -> None:
    world.enroll("P01", day0=WEEK24_DAY0)
    coordinators = await team(world)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    summary = await world.say(
        nurse,
        "/labs P01 w24 protein=0.25 g/24h scr=69umol/L scr_uln=80umol/L uti=yes date=2026-12-20",
    )
    assert "Lab results for P01, week 24, collected on Sun, Dec 20, 2026:" in summary.shown
    assert "Serum creatinine: 69 µmol/L (upper limit 80 µmol/L)" in summary.shown
    assert "A urinary tract infection is recorded" in summary.shown
    done = await confirm(world, nurse, summary)
    assert done.shown.splitlines() == [
        "Stored 2 results for P01, week 24.",
        "Still missing for week 24: Urine RBC, Urine WBC, Cellular casts, and Serum albumin.",
    ]
    by_analyte = {r.analyte: r for r in rows(world, LabResult)}
    creatinine = by_analyte["serum_creatinine"]
    assert (creatinine.value, creatinine.unit, creatinine.ref_high, creatinine.ref_unit) == (
        "69",
        "umol/L",
        "80",
        "umol/L",
    )
    assert by_analyte["urine_protein_24h"].uti is True
    assert creatinine.uti is False  # a UTI belongs to the urine sample
    # Collected on the 20th, at the protocol's 08:00 visit time in Shanghai.
    assert creatinine.collected_at.isoformat() == "2026-12-20T00:00:00+00:00"
    assert _event(world, 24).status == EventStatus.PLANNED
    await asyncio.sleep(0.3)
    assert len(world.api.messages_to(coordinators.coordinator_en)) == 1  # the welcome only


async def test_a_correction_replaces_the_earlier_value_and_reclassifies(world: World) -> None:
    world.enroll("P01", day0=WEEK24_DAY0)
    nurse = await member(world, "investigator", "zh")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, BASELINE["zh"]))
    await confirm(world, nurse, await world.say(nurse, WEEK24))
    await world.reply(nurse)  # CR
    summary = await world.say(nurse, "/labs P01 w24 白蛋白=3.5g/dL")
    assert "第 24 周已有血清白蛋白结果：本次结果将取代它。" in summary.shown
    await confirm(world, nurse, summary)
    response = await world.reply(nurse)
    assert "部分缓解（PR）" in response.shown.splitlines()
    assert "  血清白蛋白 3.5 g/dL > 3.5 g/dL：不满足" in response.shown.splitlines()
    assert len(rows(world, LabResult)) == 13  # nothing overwritten


async def test_a_week_without_a_planned_assessment_is_stored_without_one(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    # Week 3 (no renal assessment planned) still has its window: 19 to 25 December.
    summary = await world.say(nurse, "/labs P01 w3 scr=70umol/L")
    assert "There is no planned renal assessment in week 3" in summary.shown
    assert "protocol deviation" not in summary.shown
    await confirm(world, nurse, summary)
    (result,) = rows(world, LabResult)
    assert (result.week, result.event_id) == (3, None)


async def test_guided_flow_with_week_buttons(world: World) -> None:
    world.enroll("P01", day0=WEEK24_DAY0)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    ask = await world.say(nurse, "/labs")
    await world.press(nurse, ask, "P01")
    week = await world.reply(nurse)
    assert button_labels(week) == [f"Week {w}" for w in (0, 4, 8, 12, 16, 20, 24)]
    await world.press(nurse, week, "Week 24")
    values = await world.reply(nurse)
    assert "key=value" in values.shown
    await world.api.user_sends(
        nurse, "protein=0.25g/24h rbc=2/hpf wbc=3/hpf casts=none alb=39g/L scr=69umol/L"
    )
    summary = await world.reply(nurse)
    assert summary.shown.startswith("Lab results for P01, week 24")
    await confirm(world, nurse, summary)
    assert _stored(world, 24) == STORED_WEEK24


# --- refusals ----------------------------------------------------------------------------------


REFUSALS = [
    (
        "/labs P01 w24 scr=69mmol/L",
        "en",
        'Serum creatinine cannot be entered in "mmol/L". Accepted units: µmol/L, mg/dL.',
    ),
    (
        "/labs P01 w24 肌酐=69mmol/L",
        "zh",
        "血清肌酐不能以“mmol/L”输入。可接受的单位：µmol/L, mg/dL。",
    ),
    (
        "/labs P01 w24 alb=70g/L",
        "en",
        "Serum albumin must be between 5 and 60 g/L; 70 g/L is outside that range.",
    ),
    ("/labs P01 w24 alb=70g/L", "zh", "血清白蛋白必须在 5 至 60 g/L 之间；70 g/L 超出该范围。"),
    ("/labs P01 w24 protein=-1g/24h", "en", "24-hour urine protein must be between 0 and 30"),
    ("/labs P01 w24 casts=some", "en", 'Urinary casts: "some" is not understood.'),
    ("/labs P99 w24 alb=39g/L", "en", "There is no patient with study ID P99."),
    ("/labs P01 24 alb=39g/L", "en", '"24" is not a study week.'),
    ("/labs P01 w30 alb=39g/L", "zh", "第 30 周不在研究期内：研究周为 0 至 24。"),
    ("/labs P01 w24", "en", "Give at least one result"),
    ("/labs P01 w24 scr_uln=80umol/L", "en", "give scr= too"),
    ("/labs P01 w24 alb=39g/L uti=yes", "en", "uti=yes belongs to a urine result"),
    ("/labs P01 w24 potassium=4", "en", '"potassium" is not a known field.'),
    ("/labs P01 w24 alb=39g/L date=2026-12-25", "en", "2026-12-25 is in the future"),
]


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(
        world,
        REFUSALS,
        role="investigator",
        usage={"en": "Expected: /labs", "zh": "正确格式：/labs"},
    )


async def test_wrong_roles_are_refused(world: World) -> None:
    world.enroll("P01")
    patient = await world.join_patient("P01", language_code="zh-hans", choose="中文")
    stranger = world.new_user("en")
    engine = world.services.engine
    before = snapshot(engine)
    seq = last_audit_seq(engine)
    assert (await world.say(patient, WEEK24)).shown == "您不能使用 /labs。/help 列出您可以做的事。"
    told = await world.say(stranger, WEEK24)
    assert "open the invitation link" in told.shown
    assert changed_tables(before, snapshot(engine)) == {}
    assert [(r.action, r.entity_key) for r in audit_since(engine, seq)] == [
        ("access.refused", "/labs"),
        ("access.refused", "/labs"),
    ]


DEFAULT_ULN = {
    ("en", "F"): "No upper limit came with the creatinine result: the protocol's limit for women, "
    "73 µmol/L (WS/T 404.5-2015), will be used. If the lab printed its own, add scr_uln=.",
    ("en", "M"): "No upper limit came with the creatinine result: the protocol's limit for men, "
    "97 µmol/L (WS/T 404.5-2015), will be used. If the lab printed its own, add scr_uln=.",
    ("zh", "F"): "肌酐结果未附正常上限：将采用方案规定的女性上限 73 µmol/L（WS/T 404.5-2015）。"
    "如检验报告印有本实验室的上限，请补充 scr_uln=。",
    ("zh", "M"): "肌酐结果未附正常上限：将采用方案规定的男性上限 97 µmol/L（WS/T 404.5-2015）。"
    "如检验报告印有本实验室的上限，请补充 scr_uln=。",
}


@pytest.mark.parametrize(("lang", "sex"), [("en", "F"), ("zh", "M"), ("en", "M"), ("zh", "F")])
async def test_the_preview_names_the_creatinine_limit_used_when_the_result_has_none(
    world: World, lang: str, sex: str
) -> None:
    world.enroll("P01", sex=sex, day0=WEEK24_DAY0)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/labs P01 w24 scr=69umol/L")
    assert DEFAULT_ULN[lang, sex] in summary.shown.splitlines()
    # With the lab's own limit there is nothing to say.
    own = await world.say(nurse, "/labs P01 w24 scr=69umol/L scr_uln=80umol/L")
    assert DEFAULT_ULN[lang, sex] not in own.shown.splitlines()
    assert "scr_uln=" not in own.shown


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_one_result_is_counted_in_the_singular_and_the_missing_ones_listed_as_a_sentence(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=WEEK24_DAY0)
    await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/labs P01 w24 protein=0.25 g/24h date=2026-12-20")
    done = await confirm(world, nurse, summary)
    assert (
        done.shown.splitlines()
        == {
            "en": [
                "Stored 1 result for P01, week 24.",
                "Still missing for week 24: Urine RBC, Urine WBC, Cellular casts, Serum albumin, "
                "and Serum creatinine.",
            ],
            "zh": [
                "已为 P01 第 24 周保存 1 项结果。",
                "第 24 周仍缺少：尿红细胞、尿白细胞、细胞管型、血清白蛋白和血清肌酐。",
            ],
        }[lang]
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_protein_below_the_detection_limit_is_stored_as_below_it_and_meets_cr(
    world: World, lang: str
) -> None:
    world.enroll("P01", sex="F", day0=WEEK24_DAY0)
    await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, BASELINE["en"]))
    summary = await world.say(nurse, WEEK24.replace("protein=0.25g/24h", "protein=＜0.1 g/24h"))
    assert {
        "en": "  24-hour urine protein: below 0.1 g/24h",
        "zh": "  24 小时尿蛋白：低于 0.1 g/24h",
    }[lang] in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    response = (await world.reply(nurse)).shown.splitlines()
    assert {"en": "complete response (CR)", "zh": "完全缓解（CR）"}[lang] in response
    (protein,) = [
        r for r in rows(world, LabResult) if r.week == 24 and r.analyte == "urine_protein_24h"
    ]
    assert (protein.value, protein.unit, protein.below_limit) == ("0.1", "g/24h", True)


async def test_only_the_protein_may_be_given_as_below_a_limit(world: World) -> None:
    world.enroll("P01", day0=WEEK24_DAY0)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    before = snapshot(world.services.engine)
    answer = await world.say(nurse, "/labs P01 w24 alb=<20g/L")
    assert 'Serum albumin: "<20g/L" is not a single measured value.' in answer.shown
    assert changed_tables(before, snapshot(world.services.engine)) == {}
