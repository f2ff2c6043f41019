"""/status and /status P01 for a small seeded trial, end to end over HTTP, in both languages.

The trial is :mod:`tests.support.status_seed`: the clock stands on Wednesday
2026-12-16 10:00 (Shanghai), this week is 14-20 December. The expected
numbers below are worked out from that table, not read back from the code.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import col, func, select

from core.store.db import read_session
from core.store.models import InviteRole, Patient, Reminder, ReminderStatus, Sex
from core.store.uow import UnitOfWork
from core.units import CastKind
from tests.support.bot_harness import World
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot
from tests.support.status_seed import (
    ACTOR,
    BASELINE,
    NOW,
    WEEK24_CR,
    add_labs,
    seed_trial,
    wait_for_page,
)

TELEGRAM_LIMIT = 4096


async def coordinator(world: World, language: str = "en") -> int:
    return await world.join_staff(InviteRole.COORDINATOR, language_code=language)


async def test_trial_overview_in_english(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world)
    shown = (await world.say(user, "/status")).shown
    lines = [line.strip() for line in shown.splitlines()]

    # Enrolled per arm against the protocol's target of 15, and the total.
    assert "belimumab_mt: 5 / 15" in lines
    assert "mt_only: 1 / 15" in lines
    assert "Total: 6" in lines
    # This week, Monday 14 to Sunday 20 December.
    assert "This week (Mon, Dec 14 to Sun, Dec 20):" in lines
    assert "Belimumab infusions: 1 done, 1 due, 1 overdue" in lines
    assert "Renal assessments: 2 done, 1 due, 0 overdue" in lines
    assert "24-hour urine collections: 1 done, 1 due, 1 overdue" in lines
    # Adverse events: 4 open, 3 serious; the two unacknowledged with their clocks.
    assert "Open adverse events: 4 (3 serious)" in lines
    assert f"AE{seeded.ae_p06} P06: report overdue by 6 h" in lines
    assert any(
        line.startswith(f"AE{seeded.ae_p03} P03: 19 h left to report (by Thu, Dec 17, 2026, 05:00")
        for line in lines
    )
    # Acknowledged (P01): its clock stopped; not serious (P04): no clock.
    assert not any(line.startswith(f"AE{seeded.ae_p01} P01: ") and " h" in line for line in lines)
    assert not any(line.startswith(f"AE{seeded.ae_p04} P04: ") and " h" in line for line in lines)
    # Every open event, earliest onset first, with its patient, term, grade and onset.
    at = lines.index("Open adverse events: 4 (3 serious)")
    assert lines[at + 1 : at + 5] == [
        f"AE{seeded.ae_p01} P01: Shingles, grade 2, onset Fri, Nov 6, 2026",
        f"AE{seeded.ae_p04} P04: Headache, grade 1, onset Sun, Dec 13, 2026",
        f"AE{seeded.ae_p06} P06: fall at home, grade 3, onset Mon, Dec 14, 2026",
        f"AE{seeded.ae_p03} P03: Lung infection, grade 3, onset Tue, Dec 15, 2026",
    ]
    # Who cannot be reached, by study ID.
    assert lines[lines.index("Unreachable: 1") + 1] == "P02"
    assert lines[lines.index("Not yet joined: 1") + 1] == "P03"
    # Week 24: P01 (CR) and P02 (PR), both belimumab_mt. By intention to treat every
    # enrolled patient counts: the four not yet at week 24 as non-responders so far.
    assert "Reached week 24: 2" in lines
    assert (
        "Response by week 24, intention to treat, interim (every enrolled patient; "
        "no week-24 class counts as non-response):"
    ) in lines
    assert (
        "belimumab_mt: cumulative CR 1/5, CR 1/5, PR 1/5, ORR 2/5; 3 without a week-24 class"
        in (lines)
    )
    assert "mt_only: cumulative CR 0/1, CR 0/1, PR 0/1, ORR 0/1; 1 without a week-24 class" in lines
    assert "Interim: 4 patients are not yet at week 24 and count as non-responders so far." in lines
    # Today's completers-only counts remain, labelled as the sensitivity analysis.
    assert (
        "Sensitivity analysis (completers only): cumulative response by week 24 (CR at any "
        "assessment up to week 24), among patients with a week-24 assessment:"
    ) in lines
    assert "belimumab_mt: 2 reached week 24, 2 assessed: CR 1, PR 1, NR 0, not evaluable 0" in lines
    assert "mt_only: 0 reached week 24, 0 assessed: CR 0, PR 0, NR 0, not evaluable 0" in lines


async def test_trial_overview_in_chinese(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world, "zh-hans")
    shown = (await world.say(user, "/status")).shown
    lines = [line.strip() for line in shown.splitlines()]
    assert "belimumab_mt：5 / 15" in lines
    assert "mt_only：1 / 15" in lines
    assert "合计：6" in lines
    assert "贝利尤单抗输注：已完成 1，待完成 1，已逾期 1" in lines
    assert "肾脏评估：已完成 2，待完成 1，已逾期 0" in lines
    assert "24 小时尿液收集：已完成 1，待完成 1，已逾期 1" in lines
    assert "未结束的不良事件：4 例（其中严重 3 例）" in lines
    assert f"AE{seeded.ae_p04} P04：头痛，1 级，发生于 2026年12月13日周日" in lines
    assert f"AE{seeded.ae_p06} P06：报告已逾期 6 小时" in lines
    assert any(line.startswith(f"AE{seeded.ae_p03} P03：距报告截止还剩 19 小时") for line in lines)
    assert lines[lines.index("无法联系：1 例") + 1] == "P02"
    assert lines[lines.index("尚未加入：1 例") + 1] == "P03"
    assert "belimumab_mt：累计 CR 1/5，CR 1/5，PR 1/5，ORR 2/5；无第 24 周疗效分级 3 例" in lines
    assert "中期结果：4 例受试者尚未到第 24 周，暂按未缓解计。" in lines
    assert "belimumab_mt：2 例已到第 24 周，2 例已评估：CR 1，PR 1，NR 0，无法评估 0" in lines


async def test_the_clock_runs_on_and_the_week_moves(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world)
    # 20 hours later P03's event is an hour overdue; still the same week (Thursday).
    world.clock.advance(timedelta(hours=20))
    lines = [s.strip() for s in (await world.say(user, "/status")).shown.splitlines()]
    assert f"AE{seeded.ae_p03} P03: report overdue by 1 h" in lines
    assert f"AE{seeded.ae_p06} P06: report overdue by 26 h" in lines
    # Thursday: P05's infusion (today) is still due, P04's assessment (yesterday) now overdue.
    assert "Belimumab infusions: 1 done, 1 due, 1 overdue" in lines
    assert "Renal assessments: 2 done, 0 due, 1 overdue" in lines
    assert "24-hour urine collections: 1 done, 0 due, 2 overdue" in lines
    # Next Monday: a new week with none of these events.
    world.clock.set(NOW + timedelta(days=5))
    lines = [s.strip() for s in (await world.say(user, "/status")).shown.splitlines()]
    assert "This week (Mon, Dec 21 to Sun, Dec 27):" in lines


async def test_withdrawn_patients_stay_enrolled_but_leave_the_week(world: World) -> None:
    seed_trial(world)
    with UnitOfWork(world.services.engine, "system", NOW) as uow:
        p06 = uow.session.exec(select(Patient).where(Patient.study_id == "P06")).one()
        uow.update(p06, "patient.withdrawn", status="withdrawn", withdrawn_reason="moved away")
    user = await coordinator(world)
    lines = [s.strip() for s in (await world.say(user, "/status")).shown.splitlines()]
    assert "belimumab_mt: 5 / 15 (1 withdrawn)" in lines
    assert "Belimumab infusions: 1 done, 1 due, 0 overdue" in lines
    # Withdrawn before any assessment: still in the denominator, a non-responder, and no
    # longer "not yet at week 24".
    assert (
        "belimumab_mt: cumulative CR 1/5, CR 1/5, PR 1/5, ORR 2/5; 3 without a week-24 class"
        in (lines)
    )
    assert "Interim: 3 patients are not yet at week 24 and count as non-responders so far." in lines


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "mt_only: cumulative CR 1/1, CR 0/1, PR 0/1, ORR 0/1; 1 without a week-24 class",
                "Interim: 3 patients are not yet at week 24 and count as non-responders so far.",
                "mt_only: 0 reached week 24, 0 assessed: CR 0, PR 0, NR 0, not evaluable 0",
            ],
        ),
        (
            "zh-hans",
            [
                "mt_only：累计 CR 1/1，CR 0/1，PR 0/1，ORR 0/1；无第 24 周疗效分级 1 例",
                "中期结果：3 例受试者尚未到第 24 周，暂按未缓解计。",
                "mt_only：0 例已到第 24 周，0 例已评估：CR 0，PR 0，NR 0，无法评估 0",
            ],
        ),
    ],
)
async def test_a_complete_response_before_withdrawal_still_counts(
    world: World, language: str, expected: list[str]
) -> None:
    # P04 (mt_only, week 4 today) reaches CR at week 4, then withdraws: by intention to
    # treat the cumulative CR counts, and P04 stays in the denominator without a week-24
    # class (no longer "not yet at week 24"); completers only, mt_only has nobody.
    seeded = seed_trial(world)
    with UnitOfWork(world.services.engine, ACTOR, NOW) as uow:
        add_labs(uow, seeded.ids["P04"], 0, BASELINE, frozenset({CastKind.RBC}))
        add_labs(uow, seeded.ids["P04"], 4, WEEK24_CR, frozenset())
        p04 = uow.session.exec(select(Patient).where(Patient.study_id == "P04")).one()
        uow.update(p04, "patient.withdrawn", status="withdrawn", withdrawn_reason="moved away")
    user = await coordinator(world, language)
    lines = [s.strip() for s in (await world.say(user, "/status")).shown.splitlines()]
    for line in expected:
        assert line in lines


def _missed(world: World, patient_id: int) -> int:
    with read_session(world.services.engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.patient_id == patient_id)
                .where(col(Reminder.status) == ReminderStatus.MISSED)
            ).one()
        )


async def test_one_patient_in_english(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world)
    shown = (await world.say(user, "/status P01")).shown
    lines = [line.strip() for line in shown.splitlines()]
    assert "P01: belimumab_mt (Belimumab plus multi-target therapy), in the study" in lines
    # Day 0 is 1 July: 16 December is day 168, week 24.
    assert "Day 0: Wed, Jul 1, 2026. Today is study day 168, week 24." in lines
    assert "No more planned events." in lines
    # The week-24 panel against baseline: CR, with every clause.
    at = lines.index("Renal response at week 24 against baseline (week 0):")
    assert lines[at + 1] == "complete response (CR)"
    assert "Urine protein 0.25 g/24h < 0.4 g/24h: met" in lines
    assert "Serum albumin 39 g/L > 35 g/L: met" in lines
    assert any(line.startswith("Urine RBC 40/hpf at baseline, 2/hpf now") for line in lines)
    assert "Cumulative by week 24: complete response (CR)" in lines
    # Trends.
    assert lines[lines.index("SLEDAI-2K:") + 1 :][:3] == [
        "Week 0: total 16, renal 12",
        "Week 12: total 8, renal 4",
        "Week 24: total 2, renal 0",
    ]
    assert lines[lines.index("CD20 B cells:") + 1 :][:3] == [
        "Week 0: 120/µL",
        "Week 4: 3.5/µL",
        "Week 12: 0.8%",
    ]
    # Doses: 4 belimumab infusions; 62 kg -> 620 mg = 400 + 120 + 120 mg, 7.75 mL; MP 3 x 500.
    assert "Belimumab doses given: 4" in lines
    assert (
        "Next belimumab dose from the latest weight (62 kg): 620 mg, "
        "vials 400 mg × 1 + 120 mg × 2, 7.75 mL" in lines
    )
    assert (
        "Methylprednisolone total: 1,500 mg in 3 doses, within the protocol range 1,500-3,000 mg"
        in lines
    )
    assert f"AE{seeded.ae_p01} Shingles, grade 2, serious, acknowledged" in lines
    assert "None open." in lines
    # Reminders: 3 sent, 3 answered (two seeded answers and "Finished"), 1 failed.
    missed = _missed(world, seeded.ids["P01"])
    assert missed > 0
    assert f"Reminders: 3 sent, 3 confirmed, {missed} missed, 1 failed" in lines


async def test_one_patient_in_chinese(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world, "zh-hans")
    shown = (await world.say(user, "/status P01")).shown
    lines = [line.strip() for line in shown.splitlines()]
    assert "今天是研究第 168 天，第 24 周。" in lines[1]
    at = lines.index("第 24 周与基线（第 0 周）相比的肾脏缓解：")
    assert lines[at + 1] == "完全缓解（CR）"
    assert "截至第 24 周累积：完全缓解（CR）" in lines
    assert "第 0 周：总分 16，肾脏部分 12" in lines
    assert "第 4 周：3.5/µL" in lines
    assert "已给予贝利尤单抗：4 次" in lines
    assert any(
        line.startswith("按最近体重（62 kg）计算的下一次贝利尤单抗剂量：620 mg") for line in lines
    )
    assert "甲泼尼龙累计：1,500 mg，共 3 次，在方案范围 1,500-3,000 mg 之内" in lines
    assert f"AE{seeded.ae_p01} 带状疱疹，2 级，严重，已确认" in lines
    missed = _missed(world, seeded.ids["P01"])
    assert f"提醒：已发送 3，已回复 3，错过 {missed}，发送失败 1" in lines


async def test_one_patient_mid_study(world: World) -> None:
    seeded = seed_trial(world)
    user = await coordinator(world)
    lines = [s.strip() for s in (await world.say(user, "/status p05")).shown.splitlines()]
    # Day 0 on 3 December: 16 December is day 13, week 1.
    assert "Today is study day 13, week 1." in lines[1]
    at = lines.index("Next events:")
    # The next three: infusion 1 tomorrow, then week 4's urine collection and assessment.
    assert lines[at + 1] == "Thu, Dec 17, 2026, 09:00: Belimumab infusion 1"
    assert lines[at + 2] == "Wed, Dec 30, 2026, 07:00: 24-hour urine collection 2"
    assert lines[at + 3] == "Thu, Dec 31, 2026, 08:00: Renal assessment 2"
    assert lines[at + 4] == "Renal response: no renal results yet."
    assert "Belimumab doses given: 0" in lines
    assert "Methylprednisolone: none recorded yet." in lines
    assert "None recorded." in lines
    # The mt_only patient has no belimumab lines at all.
    shown = (await world.say(user, "/status P04")).shown
    assert "Belimumab" not in shown
    assert f"AE{seeded.ae_p04} Headache, grade 1, not serious" in shown


async def test_unknown_patient_is_refused_with_the_usage(world: World) -> None:
    seed_trial(world)
    user = await coordinator(world)
    before = snapshot(world.services.engine)
    shown = (await world.say(user, "/status P99")).shown
    assert shown.startswith("There is no patient with study ID P99.")
    assert "Expected: /status for the whole trial, or /status <study ID>" in shown
    shown = (await world.say(user, "/status P01 P02")).shown
    assert shown.startswith("Name one patient at most.")
    assert changed_tables(before, snapshot(world.services.engine)) == {}


async def test_only_coordinators_see_status(world: World) -> None:
    seed_trial(world)
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    stranger = world.new_user("en")
    engine = world.services.engine
    for user, expected in (
        (nurse, "/status is not available to you."),
        (stranger, "open the invitation link"),
    ):
        seq = last_audit_seq(engine)
        shown = (await world.say(user, "/status P01")).shown
        assert expected in shown
        assert "P01" not in shown.replace("/status", "")
        refused = [(r.action, r.entity_key) for r in audit_since(engine, seq)]
        assert refused == [("access.refused", "/status")]


async def test_a_long_overview_is_paged_not_cut(world: World) -> None:
    seed_trial(world)
    # 1,200 more patients who never joined: the list of their study IDs is long.
    ids = [f"X{n:04d}" for n in range(1200)]
    with UnitOfWork(world.services.engine, "system", NOW) as uow:
        uow.bulk_insert(
            Patient,
            [
                {
                    "study_id": study_id,
                    "arm": "mt_only",
                    "day0": date(2026, 12, 1),
                    "sex": Sex.F,
                    "weight_kg": "60",
                    "language": "zh_Hans",
                    "timezone": "Asia/Shanghai",
                    "status": "active",
                    "daily_dose_reminders": False,
                    "created_at": NOW,
                }
                for study_id in ids
            ],
            "patient.enrolled",
            entity_key="bulk",
        )
    user = await coordinator(world)
    first = await world.say(user, "/status")
    assert "Page 1 of" in first.shown
    assert "mt_only: 1201 / 15" in first.shown
    pages = int(first.shown.rsplit(" of ", 1)[1])
    assert pages >= 3
    seen = [first.shown]
    message = first
    for number in range(2, pages + 1):
        await world.press(user, message, "Next ›")
        seen.append(await wait_for_page(world, user, first.message_id, number, pages))
        message = world.api.message(user, first.message_id)
    # Every study ID shows exactly once over the pages, none cut, every page under the limit.
    everything = "\n".join(seen)
    for study_id in ids:
        assert everything.count(study_id) == 1, study_id
    assert all(len(page.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT for page in seen)
    assert "belimumab_mt: 2 reached week 24" in seen[-1]
    # And back.
    await world.press(user, message, "‹ Previous")
    assert await wait_for_page(world, user, first.message_id, pages - 1, pages) == seen[-2]
