"""/ae end to end over HTTP: both examples in both languages, the serious-event alert with its
24-hour clock, synonyms and uncoded terms, the guided flow, and every refusal storing nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from bot.staff.adverse_events import Stored, alert_text
from core.adverse_events import Seriousness
from core.store.models import AdverseEvent, PendingAction
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    assert_refusals,
    button_labels,
    cancel,
    confirm,
    member,
    press_data,
    rows,
    staff_id,
    team,
    withdraw,
)
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

EXAMPLE_EN = "/ae P01 lung infection G3 serious=hospitalization onset=2026-12-20"
EXAMPLE_ZH = "/ae P01 肺部感染 G3 serious=住院 onset=2026-12-20"

# What the sender reads back, per chat language (written from the requirements, not the code).
SUMMARY = {
    "en": [
        "Adverse event for P01:",
        "Term: Lung infection (CTCAE v5.0).",
        "Grade 3: IV antibiotic, antifungal, or antiviral intervention indicated;",
        "Serious: requires or prolongs hospitalisation.",
        "Onset: Sun, Dec 20, 2026.",
        "On Confirm every coordinator is alerted and the 24-hour reporting clock starts.",
    ],
    "zh": [
        "P01 的不良事件：",
        "名称：肺部感染（CTCAE v5.0）。",
        "3 级：需要静脉抗菌、抗真菌或抗病毒治疗",
        "严重：需要住院或延长住院。",
        "发生日期：2026年12月20日周日。",
        "确认后将通知所有协调员，24 小时报告时限开始计时。",
    ],
}

# Confirmed three minutes after NOW: 10:03 in Shanghai; the deadline is 24 hours later.
ALERT_EN = [
    "SERIOUS ADVERSE EVENT AE1, patient P01: Lung infection, grade 3.",
    "Serious: requires or prolongs hospitalisation.",
    "Onset Sun, Dec 20, 2026; the site became aware at Mon, Dec 21, 2026, 10:03.",
    "Report it within 24 hours of awareness: by Tue, Dec 22, 2026, 10:03 (24 h left).",
    "Acknowledge with /ack AE1.",
]
ALERT_ZH = [
    "严重不良事件 AE1，受试者 P01：肺部感染，3 级。",
    "严重：需要住院或延长住院。",
    "发生日期 2026年12月20日周日；研究中心获知时间 2026年12月21日周一 10:03。",
    "须在获知后 24 小时内报告：截止 2026年12月22日周二 10:03（剩余 24 小时）。",
    "用 /ack AE1 确认已知悉。",
]
DONE = {
    "en": [
        "Adverse event AE1 is recorded for P01.",
        "AE1 is serious. Coordinators alerted: 2. Report it by Tue, Dec 22, 2026, 10:03 "
        "(24 h left).",
    ],
    "zh": [
        "已为 P01 记录不良事件 AE1。",
        "AE1 为严重不良事件。已通知协调员：2 位。请在 2026年12月22日周二 10:03 前报告（剩余 24 小时）。",
    ],
}


def _contains_all(text: str, expected: list[str]) -> None:
    for line in expected:
        assert line in text, f"{line!r} not in:\n{text}"


@pytest.mark.parametrize(
    ("example", "lang", "role"),
    [
        (EXAMPLE_EN, "en", "nurse"),
        (EXAMPLE_EN, "zh", "investigator"),
        (EXAMPLE_ZH, "zh", "nurse"),
        (EXAMPLE_ZH, "en", "investigator"),
    ],
    ids=[
        "en-example-en-nurse",
        "en-example-zh-investigator",
        "zh-example-zh-nurse",
        "zh-example-en-investigator",
    ],
)
async def test_serious_ae_is_stored_on_confirm_and_alerts_every_coordinator(
    world: World, example: str, lang: str, role: str
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    sender = await member(world, role, lang)
    world.clock.set(NOW)

    summary = await world.say(sender, example)
    _contains_all(summary.shown, SUMMARY[lang])
    assert rows(world, AdverseEvent) == []  # nothing before Confirm

    world.clock.advance(timedelta(minutes=3))
    aware = world.clock.now()
    recorded = await confirm(world, sender, summary)
    assert recorded.shown == DONE[lang][0]
    assert (await world.reply(sender)).shown == DONE[lang][1]

    (event,) = rows(world, AdverseEvent)
    verbatim = "lung infection" if example == EXAMPLE_EN else "肺部感染"
    assert (event.ctcae_version, event.term, event.verbatim, event.coded, event.grade) == (
        "5.0",
        "lung_infection",
        verbatim,
        True,
        3,
    )
    flags = {c.value: getattr(event, c.value) for c in Seriousness}
    assert flags == {c.value: c is Seriousness.HOSPITALIZATION for c in Seriousness}
    assert event.serious
    assert event.onset_date == date(2026, 12, 20)
    assert event.awareness_at == aware
    assert event.reported_by == f"staff:{staff_id(world, sender)}"
    assert event.acknowledged_at is None

    alert_en = await world.reply(coordinators.coordinator_en)
    alert_zh = await world.reply(coordinators.coordinator_zh)
    assert alert_en.shown.splitlines() == ALERT_EN
    assert alert_zh.shown.splitlines() == ALERT_ZH


async def test_the_clock_counts_from_awareness_and_old_alerts_are_not_rewritten(
    world: World,
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW + timedelta(minutes=3))
    await confirm(world, nurse, await world.say(nurse, EXAMPLE_EN))
    assert "(24 h left)" in (await world.reply(nurse)).shown
    first = await world.reply(coordinators.coordinator_en)
    assert "(24 h left)" in first.shown

    world.clock.advance(timedelta(hours=5))
    text = "/ae P01 pneumonia G4 serious=life-threatening"
    await confirm(world, nurse, await world.say(nurse, text))
    second = await world.reply(coordinators.coordinator_en)
    assert second.shown.splitlines()[0] == (
        "SERIOUS ADVERSE EVENT AE2, patient P01: Lung infection, grade 4."
    )
    assert "by Tue, Dec 22, 2026, 15:03 (24 h left)." in second.shown
    # The first alert is a record of what was sent: never edited afterwards.
    again = world.api.message(coordinators.coordinator_en, first.message_id)
    assert again.shown == first.shown
    assert again.edits == []

    # A message composed later shows the hours that are left then.
    (first_event, _) = rows(world, AdverseEvent)
    assert first_event.id is not None
    stored = Stored(
        first_event.id,
        "P01",
        "lung_infection",
        "lung infection",
        3,
        [Seriousness.HOSPITALIZATION],
        date(2026, 12, 20),
        first_event.awareness_at,
    )
    zone = ZoneInfo("Asia/Shanghai")
    later = alert_text(Translator("en", zone), stored, 24, world.clock.now())
    assert "by Tue, Dec 22, 2026, 10:03 (19 h left)." in later
    overdue = alert_text(Translator("zh_Hans", zone), stored, 24, NOW + timedelta(hours=30))
    assert "截止 2026年12月22日周二 10:03（已超时 6 小时）。" in overdue


async def test_a_coordinator_may_log_one_and_is_alerted_too(world: World) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    world.clock.set(NOW)
    sender = coordinators.coordinator_zh
    summary = await world.say(sender, EXAMPLE_ZH)
    _contains_all(summary.shown, SUMMARY["zh"])
    world.clock.advance(timedelta(minutes=3))
    assert (await confirm(world, sender, summary)).shown == DONE["zh"][0]
    # The coordinator who logged it is one of the coordinators alerted.
    replies = [(await world.reply(sender)).shown for _ in range(2)]
    assert ALERT_ZH[0] in "\n".join(replies)
    assert any(r.startswith("AE1 为严重不良事件。已通知协调员：2 位。") for r in replies)
    assert (await world.reply(coordinators.coordinator_en)).shown.splitlines() == ALERT_EN
    assert rows(world, AdverseEvent)[0].reported_by == f"staff:{staff_id(world, sender)}"


SYNONYMS = [
    (
        "/ae P01 pneumonia G2",
        "en",
        "lung_infection",
        "pneumonia",
        'Term: Lung infection (CTCAE v5.0), matched from "pneumonia".',
    ),
    (
        "/ae P01 肺炎 G2",
        "zh",
        "lung_infection",
        "肺炎",
        "名称：肺部感染（CTCAE v5.0），由“肺炎”匹配。",
    ),
    (
        "/ae P01 herpes zoster G2 related=possible",
        "en",
        "shingles",
        "herpes zoster",
        'Term: Shingles (CTCAE v5.0), matched from "herpes zoster".',
    ),
    ("/ae P01 带状疱疹 G1", "zh", "shingles", "带状疱疹", "名称：带状疱疹（CTCAE v5.0）。"),
]


async def test_synonyms_code_to_the_ctcae_term_and_a_non_serious_event_alerts_no_one(
    world: World,
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurses = {lang: await member(world, "nurse", lang) for lang in ("en", "zh")}
    world.clock.set(NOW)
    for text, lang, term, verbatim, shown in SYNONYMS:
        summary = await world.say(nurses[lang], text)
        assert shown in summary.shown
        assert {"en": "Not serious", "zh": "非严重"}[lang] in summary.shown
        await confirm(world, nurses[lang], summary)
        event = rows(world, AdverseEvent)[-1]
        assert (event.term, event.verbatim, event.coded, event.serious) == (
            term,
            verbatim,
            True,
            False,
        )
        assert event.onset_date == date(2026, 12, 21)  # onset left out: today in Shanghai
        assert event.relatedness == ("possible" if "related=" in text else None)
    assert len(rows(world, AdverseEvent)) == len(SYNONYMS)
    await asyncio.sleep(0.2)
    assert len(world.api.messages_to(coordinators.coordinator_en)) == 1  # the welcome only


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        (
            "en",
            'Term: "funny feeling in toes" is not on the CTCAE term list: it is kept as typed '
            "and marked uncoded.",
        ),
        ("zh", "名称：“funny feeling in toes”不在 CTCAE 术语表中：按原文保存，并标记为未编码。"),
    ],
)
async def test_an_unmatched_term_is_kept_verbatim_and_uncoded(
    world: World, lang: str, shown: str
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "investigator", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/ae P01 funny feeling in toes G5 serious=death")
    assert shown in summary.shown
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.verbatim, event.coded, event.grade, event.death) == (
        None,
        "funny feeling in toes",
        False,
        5,
        True,
    )
    alert = await world.reply(coordinators.coordinator_en)
    assert alert.shown.startswith(
        'SERIOUS ADVERSE EVENT AE1, patient P01: "funny feeling in toes" (uncoded), grade 5.'
    )


async def test_guided_flow_asks_one_thing_at_a_time(world: World) -> None:
    world.enroll("P01")
    world.enroll("P02", arm="mt_only")
    nurse = await member(world, "nurse", "zh")
    world.clock.set(NOW)
    ask = await world.say(nurse, "/ae")
    assert ask.shown == "哪位受试者？"
    assert button_labels(ask) == ["P01", "P02"]
    await world.press(nurse, ask, "P01")
    term = await world.reply(nurse)
    assert "是什么不良事件" in term.shown
    await world.api.user_sends(nurse, "带状疱疹")
    grade = await world.reply(nurse)
    assert button_labels(grade) == ["G1", "G2", "G3", "G4", "G5"]
    await world.press(nurse, grade, "G2")
    serious = await world.reply(nurse)
    assert "需要住院或延长住院" in button_labels(serious)
    await press_data(world, nurse, serious, "g:-")  # Skip: not serious
    onset = await world.reply(nurse)
    await world.api.user_sends(nurse, "2026-12-19")
    summary = await world.reply(nurse)
    assert onset.message_id < summary.message_id
    assert "名称：带状疱疹（CTCAE v5.0）。" in summary.shown
    assert "发生日期：2026年12月19日周六。" in summary.shown
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.grade, event.serious, event.onset_date) == (
        "shingles",
        2,
        False,
        date(2026, 12, 19),
    )


# --- refusals: each says why and what was expected, and stores nothing --------------------------

USAGE_EN = "Expected: /ae <study ID> <term> G<grade>"
USAGE_ZH = "正确格式：/ae <研究编号> <不良事件名称> G<分级>"


REFUSALS = [
    ("/ae P01 shingles G4", "en", "Shingles has no grade 4; CTCAE v5.0 grades it 1-3 only."),
    ("/ae P01 带状疱疹 G4", "zh", "CTCAE v5.0 中 Shingles 没有 4 级；该术语仅分 1-3 级。"),
    ("/ae P01 lung infection G1", "en", "Lung infection has no grade 1"),
    ("/ae P99 lung infection G3", "en", "There is no patient with study ID P99."),
    ("/ae P99 肺部感染 G3", "zh", "没有研究编号为 P99 的受试者。"),
    ("/ae P01 lung infection", "en", "Give the CTCAE grade as G1 to G5 after the term"),
    ("/ae P01 G3", "en", "Describe the adverse event in a few words."),
    ("/ae P01 rash G2 serious=severe", "en", "describes how intense the event is"),
    (
        "/ae P01 rash G2 onset=2026-12-22",
        "en",
        "2026-12-22 is in the future; enter a date up to today (2026-12-21).",
    ),
    ("/ae P01 皮疹 G2 onset=2026-12-22", "zh", "2026-12-22 是将来的日期"),
    ("/ae P01 rash G9", "en", "CTCAE grades run from 1 to 5; 9 is not a grade."),
    # Words after the grade are options, never more of the term.
    ("/ae P01 rash G2 severe", "en", '"severe" is not understood here. Write key=value'),
]


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(world, REFUSALS, role="nurse", usage={"en": USAGE_EN, "zh": USAGE_ZH})


async def test_a_withdrawn_patient_is_refused(world: World) -> None:
    world.enroll("P01")
    withdraw(world, "P01")
    await assert_refusals(
        world,
        [
            (
                EXAMPLE_EN,
                "en",
                "P01 has withdrawn from the study: nothing more is recorded for them.",
            ),
            (EXAMPLE_ZH, "zh", "P01 已退出研究：不再为其记录任何数据。"),
        ],
        role="investigator",
    )


async def test_patients_and_strangers_are_refused_and_the_attempt_audited(world: World) -> None:
    world.enroll("P01")
    patient = await world.join_patient("P01", language_code="en", choose="English")
    stranger = world.new_user("zh-hans")
    engine = world.services.engine
    before = snapshot(engine)
    seq = last_audit_seq(engine)
    refused = await world.say(patient, EXAMPLE_EN)
    assert refused.shown == "/ae is not available to you. /help lists what you can do."
    told = await world.say(stranger, EXAMPLE_ZH)
    assert "邀请" in told.shown
    assert changed_tables(before, snapshot(engine)) == {}
    assert [(r.action, r.entity_key) for r in audit_since(engine, seq)] == [
        ("access.refused", "/ae"),
        ("access.refused", "/ae"),
    ]


async def _answers(world: World, message_id: int, count: int) -> list[str | None]:
    for _ in range(100):
        found = [a.text for a in world.api.callback_answers if a.message_id == message_id]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} answers to message {message_id}")


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_confirm_pressed_twice_stores_once_and_alerts_once(world: World, lang: str) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, EXAMPLE_EN)
    # Two presses reach the bot before it has handled the first.
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":ok")
    answers = await _answers(world, summary.message_id, 2)
    (event,) = rows(world, AdverseEvent)
    assert answers[1] == {"en": "Already stored as AE{id}.", "zh": "已保存为 AE{id}。"}[
        lang
    ].format(id=event.id)
    await world.reply(nurse)
    await world.reply(nurse)
    assert len(rows(world, AdverseEvent)) == 1
    await world.reply(coordinators.coordinator_en)
    await asyncio.sleep(0.3)
    assert len(world.api.messages_to(coordinators.coordinator_en)) == 2  # welcome + one alert


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_an_old_confirm_after_cancel_stores_nothing(world: World, lang: str) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, EXAMPLE_ZH)
    await press_data(world, nurse, summary, ":no")
    await press_data(world, nurse, summary, ":ok")
    answers = await _answers(world, summary.message_id, 2)
    assert answers[1] == {"en": "Cancelled earlier.", "zh": "此前已取消。"}[lang]
    cancelled = await world.reply(nurse)
    assert (
        cancelled.shown
        == {"en": "Cancelled. Nothing was stored.", "zh": "已取消，未保存任何内容。"}[lang]
    )
    assert rows(world, AdverseEvent) == []
    (action,) = rows(world, PendingAction)
    assert action.status == "cancelled"
    await asyncio.sleep(0.3)
    assert len(world.api.messages_to(coordinators.coordinator_en)) == 1


async def test_an_expired_confirm_stores_nothing(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    summary = await world.say(nurse, EXAMPLE_EN)
    world.clock.advance(timedelta(hours=2, seconds=1))
    await press_data(world, nurse, summary, ":ok")
    assert await _answers(world, summary.message_id, 1) == ["This button has expired."]
    assert rows(world, AdverseEvent) == []


async def test_cancel_says_nothing_was_stored(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    summary = await world.say(nurse, EXAMPLE_EN)
    assert (await cancel(world, nurse, summary)).shown == "Cancelled. Nothing was stored."
    assert rows(world, AdverseEvent) == []


async def test_a_patient_withdrawn_before_confirm_gets_nothing_stored(world: World) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", "zh")
    world.clock.set(NOW)
    summary = await world.say(nurse, EXAMPLE_ZH)
    withdraw(world, "P01")
    answer = await confirm(world, nurse, summary)
    assert answer.shown == "未保存任何内容：P01 已退出研究：不再为其记录任何数据。"
    assert rows(world, AdverseEvent) == []
    await asyncio.sleep(0.2)
    assert len(world.api.messages_to(coordinators.coordinator_zh)) == 1  # the welcome only
