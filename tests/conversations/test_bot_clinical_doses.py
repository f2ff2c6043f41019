"""/dose and /weight end to end over HTTP: the belimumab plan from the latest weight, the MP
cumulative total, oral doses, weight changes audited, the guided flow, and refusals.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import (
    AuditRecord,
    DoseAdministration,
    EventStatus,
    Patient,
    PlannedEventRow,
)
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    INFUSION1,
    NOW,
    assert_refusals,
    button_labels,
    confirm,
    member,
    press_data,
    rows,
    staff_id,
)
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

# 62 kg x 10 mg/kg = 620 mg -> 400 + 120 + 120 mg, 7.75 mL (docs/clinical-facts.md §2).
PLAN_62 = {
    "en": [
        "Belimumab for P01: Belimumab infusion 1, week 2, booked for Tue, Dec 15, 2026.",
        "Dose: 620 mg = 10 mg/kg × 62 kg (latest weight).",
        "Vials: 400 mg ×1 + 120 mg ×2, 640 mg in all (20 mg left over).",
        "Withdraw 7.75 mL (80 mg/mL after reconstitution).",
        "- Never dilute belimumab in dextrose 5% (glucose): it is incompatible.",
        "- Infuse over 1 hour.",
    ],
    "zh": [
        "剂量：620 mg = 10 mg/kg × 62 kg（最近体重）。",
        "药瓶：400 mg ×1 + 120 mg ×2，共 640 mg（剩余 20 mg）。",
        "抽取 7.75 mL（复溶后浓度 80 mg/mL）。",
    ],
}


def _infusions(world: World) -> list[PlannedEventRow]:
    patient = world.patient("P01")
    with read_session(world.services.engine) as session:
        return list(
            session.exec(
                select(PlannedEventRow)
                .where(PlannedEventRow.patient_id == patient.id)
                .where(PlannedEventRow.kind == EventKind.BELIMUMAB_INFUSION)
                .order_by(PlannedEventRow.number)  # type: ignore[arg-type]
            ).all()
        )


@pytest.mark.parametrize(("lang", "role"), [("en", "nurse"), ("zh", "coordinator")])
async def test_belimumab_plan_from_latest_weight_and_confirm_records_the_infusion(
    world: World, lang: str, role: str
) -> None:
    world.enroll("P01", weight="62")
    sender = await member(world, role, lang)
    world.clock.set(INFUSION1)
    summary = await world.say(sender, "/dose P01 belimumab")
    for line in PLAN_62[lang]:
        assert line in summary.shown.splitlines(), summary.shown
    assert rows(world, DoseAdministration) == []

    done = await confirm(world, sender, summary)
    expected = {
        "en": [
            "Recorded: belimumab 620 mg for P01.",
            "Belimumab infusion 1 is marked done.",
            "Belimumab doses given so far: 1.",
        ],
        "zh": ["已记录：P01 的贝利尤单抗 620 mg。", "目前已给予贝利尤单抗：1 次。"],
    }[lang]
    for line in expected:
        assert line in done.shown.splitlines(), done.shown
    (dose,) = rows(world, DoseAdministration)
    assert (dose.drug, dose.amount, dose.unit, dose.weight_kg) == ("belimumab", "620", "mg", "62")
    plan = json.loads(dose.vial_plan or "")
    assert plan["vials_mg"] == [400, 120, 120]
    assert plan["volume_ml"] == "7.75"
    assert dose.given_at == INFUSION1
    assert str(dose.given_on) == "2026-12-15"
    assert dose.recorded_by == f"staff:{staff_id(world, sender)}"
    first, second, *_ = _infusions(world)
    assert dose.event_id == first.id
    assert (first.status, str(first.actual_date)) == (EventStatus.DONE, "2026-12-15")
    assert second.status == EventStatus.PLANNED

    # Two weeks later, /dose plans the next infusion.
    world.clock.advance(timedelta(days=14))
    again = await world.say(sender, "/dose P01 belimumab")
    assert (
        again.shown.splitlines()[0]
        == {
            "en": "Belimumab for P01: Belimumab infusion 2, week 4, booked for Tue, Dec 29, 2026.",
            "zh": "P01 的贝利尤单抗：贝利尤单抗输注 2，第 4 周，预约于 2026年12月29日周二。",
        }[lang]
    )


async def test_belimumab_is_refused_for_the_control_arm(world: World) -> None:
    world.enroll("P02", arm="mt_only")
    nurse = await member(world, "nurse", "zh")
    before = snapshot(world.services.engine)
    answer = await world.say(nurse, "/dose P02 belimumab")
    assert "P02 在对照组（仅多靶点治疗），不使用贝利尤单抗。" in answer.shown
    assert changed_tables(before, snapshot(world.services.engine)) == {}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_mp_doses_show_the_cumulative_total_against_1500_to_3000(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "investigator", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/dose P01 mp 500mg")
    so_far = {
        "en": "Cumulative methylprednisolone so far: 500 mg (protocol total 1,500-3,000 mg).",
        "zh": "目前甲泼尼龙累计：500 mg（方案总量 1,500-3,000 mg）。",
    }[lang]
    assert so_far in summary.shown.splitlines()
    done = await confirm(world, nurse, summary)
    assert so_far in done.shown.splitlines()
    (dose,) = rows(world, DoseAdministration)
    assert (dose.drug, dose.amount, dose.unit, dose.weight_kg) == ("mp", "500", "mg", None)
    coordinator = await member(world, "coordinator", lang)
    status = await world.say(coordinator, "/status P01")
    assert {
        "en": "Methylprednisolone total: 500 mg in 1 dose, below the protocol range 1,500-3,000 mg",
        "zh": "甲泼尼龙累计：500 mg，共 1 次，低于方案范围 1,500-3,000 mg",
    }[lang] in [line.strip() for line in status.shown.splitlines()]
    # One pulse entry a day: the per-day limit applies to each day's total.
    for _ in range(2):
        world.clock.advance(timedelta(days=1))
        await confirm(world, nurse, await world.say(nurse, "/dose P01 mp 1g"))
    world.clock.advance(timedelta(days=1))
    within = await world.say(nurse, "/dose P01 mp 500mg")
    assert {
        "en": "Cumulative methylprednisolone: 3,000 mg, within the protocol's 1,500-3,000 mg.",
        "zh": "甲泼尼龙累计：3,000 mg，在方案规定的 1,500-3,000 mg 范围内。",
    }[lang] in within.shown.splitlines()
    await confirm(world, nurse, within)
    above = await world.say(nurse, "/dose P01 mp 250mg")
    assert {"en": "above the protocol range", "zh": "高于方案范围"}[lang] in above.shown
    assert [(d.amount, d.unit) for d in rows(world, DoseAdministration)] == [
        ("500", "mg"),
        ("1", "g"),
        ("1", "g"),
        ("500", "mg"),
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_mp_day_limit_applies_to_the_days_total_not_one_entry(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, "/dose P01 mp 600mg"))
    before = snapshot(world.services.engine)
    second = await world.say(nurse, "/dose P01 mp 500mg")
    assert {
        "en": "A methylprednisolone dose of 1100 mg in one day is more than the 1000 mg accepted.",
        "zh": "单日甲泼尼龙剂量 1100 mg 超过可接受的 1000 mg。",
    }[lang] in second.shown
    assert second.buttons() == []
    assert changed_tables(before, snapshot(world.services.engine)) == {}
    # The next day is a day of its own.
    world.clock.advance(timedelta(days=1))
    third = await world.say(nurse, "/dose P01 mp 500mg")
    await confirm(world, nurse, third)
    assert [d.amount for d in rows(world, DoseAdministration)] == ["600", "500"]


async def test_an_oral_day_total_beyond_plausible_is_refused_at_the_entry_that_crosses_it(
    world: World,
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, "/dose P01 mmf 2g"))
    crossing = await world.say(nurse, "/dose P01 mmf 1.5g")
    assert "Mycophenolate mofetil 3.5 g in one day is more than the 3 g accepted." in crossing.shown
    assert crossing.buttons() == []
    assert [d.amount for d in rows(world, DoseAdministration)] == ["2"]


async def test_oral_doses_show_the_days_total(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    summary = await world.say(nurse, "/dose P01 mmf 750mg")
    assert "Today's total so far: 0.75 g (protocol: 1-1.5 g per day)." in summary.shown
    await confirm(world, nurse, summary)
    await confirm(world, nurse, await world.say(nurse, "/dose P01 mmf 750mg"))
    third = await world.say(nurse, "/dose P01 mmf 500mg")
    assert "outside the protocol range" in third.shown
    tacrolimus = await world.say(nurse, "/dose P01 tacrolimus 1mg")
    assert "Today's total so far: 1 mg (protocol: 2-4 mg per day)." in tacrolimus.shown
    await confirm(world, nurse, tacrolimus)
    assert [(d.drug, d.amount, d.unit) for d in rows(world, DoseAdministration)] == [
        ("mmf", "750", "mg"),
        ("mmf", "750", "mg"),
        ("tacrolimus", "1", "mg"),
    ]


@pytest.mark.parametrize(("lang", "role"), [("en", "investigator"), ("zh", "nurse")])
async def test_weight_is_updated_with_audit_and_the_new_plan(
    world: World, lang: str, role: str
) -> None:
    world.enroll("P01", weight="62")
    sender = await member(world, role, lang)
    world.clock.set(INFUSION1)
    summary = await world.say(sender, "/weight P01 61.5kg")
    head = {
        "en": "New weight for P01: 61.5 kg (was 62 kg).",
        "zh": "P01 的新体重：61.5 kg（原为 62 kg）。",
    }[lang]
    plan = {
        "en": "Dose: 615 mg = 10 mg/kg × 61.5 kg (latest weight).",
        "zh": "剂量：615 mg = 10 mg/kg × 61.5 kg（最近体重）。",
    }[lang]
    assert summary.shown.splitlines()[0] == head
    assert plan in summary.shown.splitlines()
    assert world.patient("P01").weight_kg == "62"
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, sender, summary)
    assert plan in done.shown.splitlines()
    assert world.patient("P01").weight_kg == "61.5"
    changes = [
        r for r in audit_since(world.services.engine, seq) if r.action == "patient.weight_changed"
    ]
    assert [(json.loads(r.before or ""), json.loads(r.after or "")) for r in changes] == [
        ({"weight_kg": "62"}, {"weight_kg": "61.5"})
    ]
    assert changes[0].actor == f"staff:{staff_id(world, sender)}"
    # The next belimumab dose is planned from the new weight.
    dose = await world.say(sender, "/dose P01 belimumab")
    assert plan in dose.shown.splitlines()


async def test_weight_for_the_control_arm_shows_no_belimumab_plan(world: World) -> None:
    world.enroll("P02", arm="mt_only", weight="70")
    nurse = await member(world, "nurse", "en")
    summary = await world.say(nurse, "/weight P02 71kg")
    assert summary.shown == "New weight for P02: 71 kg (was 70 kg)."
    await confirm(world, nurse, summary)
    with read_session(world.services.engine) as session:
        patient = session.exec(select(Patient).where(Patient.study_id == "P02")).one()
    assert patient.weight_kg == "71"


async def test_guided_dose_flow(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(INFUSION1)
    ask = await world.say(nurse, "/dose")
    await world.press(nurse, ask, "P01")
    drug = await world.reply(nurse)
    assert button_labels(drug) == [
        "belimumab",
        "methylprednisolone",
        "mycophenolate mofetil",
        "tacrolimus",
    ]
    await world.press(nurse, drug, "belimumab")
    amount = await world.reply(nurse)
    await press_data(world, nurse, amount, "g:-")
    summary = await world.reply(nurse)
    assert "Dose: 620 mg = 10 mg/kg × 62 kg (latest weight)." in summary.shown
    await confirm(world, nurse, summary)
    assert len(rows(world, DoseAdministration)) == 1


REFUSALS = [
    ("/weight P01 61.5", "en", "Weight needs a unit. Accepted units: kg."),
    ("/weight P01 61.5lb", "en", 'Weight cannot be entered in "lb". Accepted units: kg.'),
    ("/weight P01 600kg", "zh", "体重必须在 25 至 250 kg 之间"),
    ("/weight P99 61kg", "en", "There is no patient with study ID P99."),
    ("/dose P01 aspirin 100mg", "en", '"aspirin" is not a study drug.'),
    ("/dose P01 mp", "en", "Give the dose with its unit, for example 500mg."),
    ("/dose P01 mp 1500mg", "en", "more than the 1000 mg accepted"),
    ("/dose P01 mp 500ml", "en", "'ml' is not an accepted unit here."),
    ("/dose P01 belimumab 700mg", "en", "The belimumab dose comes from the latest weight"),
    # Far beyond any dose of the protocol: refused as a likely typo, whatever out_of_range says.
    (
        "/dose P01 tacrolimus 11mg",
        "en",
        "Tacrolimus 11 mg in one day is more than the 10 mg accepted.",
    ),
    ("/dose P01 tacrolimus 11mg", "zh", "单日他克莫司 11 mg 超过可接受的 10 mg。"),
    (
        "/dose P01 mmf 3.5g",
        "en",
        "Mycophenolate mofetil 3.5 g in one day is more than the 3 g accepted.",
    ),
    ("/dose P01 mmf 3500mg", "zh", "单日吗替麦考酚酯 3.5 g 超过可接受的 3 g。"),
]


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(world, REFUSALS, role="nurse", usage=None)


async def test_stale_confirm_of_a_weight_changes_nothing(world: World) -> None:
    world.enroll("P01", weight="62")
    nurse = await member(world, "nurse", "en")
    summary = await world.say(nurse, "/weight P01 61.5kg")
    await press_data(world, nurse, summary, ":ok")
    await press_data(world, nurse, summary, ":ok")
    await world.reply(nurse)
    with read_session(world.services.engine) as session:
        changes = session.exec(
            select(AuditRecord).where(AuditRecord.action == "patient.weight_changed")
        ).all()
    assert len(changes) == 1
    assert world.patient("P01").weight_kg == "61.5"


async def test_patients_may_not_record_doses(world: World) -> None:
    world.enroll("P01")
    patient = await world.join_patient("P01", language_code="en", choose="English")
    before = snapshot(world.services.engine)
    for text in ("/dose P01 belimumab", "/weight P01 50kg"):
        answer = await world.say(patient, text)
        assert "is not available to you" in answer.shown
    assert changed_tables(before, snapshot(world.services.engine)) == {}
