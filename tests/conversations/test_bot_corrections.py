"""/correct end to end over HTTP: an adverse event's grade and onset and a week's lab result
corrected with a reason, in both languages; the audit trail keeps old value, new value and
reason; outputs (/status) show the corrected value and the response derived from it; every
refusal stores nothing.
"""

from __future__ import annotations

import json

import pytest

from core.store.models import AdverseEvent, AuditRecord, LabResult
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    WEEK12_DAY0,
    WEEK24_DAY0,
    assert_refusals,
    confirm,
    member,
    rows,
    staff_id,
)
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])

AE = "/ae P01 lung infection G3 onset=2026-12-20"
AE_CORRECTION = {
    "en": "/correct AE1 grade=2 onset=2026-12-19 reason=transcription",
    "zh": "/correct AE1 等级=2 发生日期=2026-12-19 原因=转录错误",
}
AE_PREVIEW = {
    "en": [
        "Correction of AE1 (P01):",
        "  Grade: 3 → 2",
        "  Onset: Sun, Dec 20, 2026 → Sat, Dec 19, 2026",
        "Reason: transcription",
    ],
    "zh": [
        "更正 AE1（P01）：",
        "  分级：3 → 2",
        "  发生日期：2026年12月20日周日 → 2026年12月19日周六",
        "原因：转录错误",
    ],
}
AE_DONE = {
    "en": "AE1 of P01 is corrected; the audit trail keeps the old values and the reason.",
    "zh": "P01 的 AE1 已更正；稽查轨迹保留原值和原因。",
}

LAB_CORRECTION = {
    "en": "/correct P01 w12 scr=71umol/L reason=transcription",
    "zh": "/correct P01 w12 肌酐=71umol/L 原因=转录错误",
}
LAB_PREVIEW = {
    "en": [
        "Correction of the lab results of P01, week 12:",
        "  Serum creatinine: 69 µmol/L → 71 µmol/L",
        "Reason: transcription",
    ],
    "zh": [
        "更正 P01 第 12 周的检验结果：",
        "  血清肌酐：69 µmol/L → 71 µmol/L",
        "原因：转录错误",
    ],
}
LAB_DONE = {
    "en": "Corrected 1 result for P01, week 12; the audit trail keeps the old value and the "
    "reason.",
    "zh": "已为 P01 第 12 周更正 1 项结果；稽查轨迹保留原值和原因。",
}


def _corrections(world: World, seq: int) -> list[AuditRecord]:
    return [r for r in audit_since(world.services.engine, seq) if r.action.endswith(".corrected")]


@LANGS
async def test_an_adverse_event_grade_and_onset_are_corrected_with_the_reason_audited(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))

    preview = await world.say(nurse, AE_CORRECTION[lang])
    assert preview.shown.splitlines() == AE_PREVIEW[lang]
    # The preview stores nothing.
    assert (rows(world, AdverseEvent)[0].grade, str(rows(world, AdverseEvent)[0].onset_date)) == (
        3,
        "2026-12-20",
    )
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, nurse, preview)
    assert done.shown == AE_DONE[lang]

    event = rows(world, AdverseEvent)[0]
    assert (event.grade, str(event.onset_date)) == (2, "2026-12-19")
    [record] = _corrections(world, seq)
    assert record.action == "adverse_event.corrected"
    assert record.entity_key == "1"
    assert record.actor == f"staff:{staff_id(world, nurse)}"
    assert record.reason == {"en": "transcription", "zh": "转录错误"}[lang]
    assert json.loads(record.before or "") == {"grade": 3, "onset_date": "2026-12-20"}
    assert json.loads(record.after or "") == {"grade": 2, "onset_date": "2026-12-19"}


@LANGS
async def test_a_week12_lab_result_is_corrected_with_the_reason_audited(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, "/labs P01 w12 scr=69umol/L"))

    preview = await world.say(nurse, LAB_CORRECTION[lang])
    assert preview.shown.splitlines() == LAB_PREVIEW[lang]
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, nurse, preview)
    assert done.shown == LAB_DONE[lang]

    # The stored row itself now holds the corrected value: one row, no second entry.
    [row] = rows(world, LabResult)
    assert (row.week, row.analyte, row.value, row.unit) == (12, "serum_creatinine", "71", "umol/L")
    [record] = _corrections(world, seq)
    assert record.action == "lab_result.corrected"
    assert record.entity_key == str(row.id)
    assert record.reason == {"en": "transcription", "zh": "转录错误"}[lang]
    assert json.loads(record.before or "") == {"value": "69"}
    assert json.loads(record.after or "") == {"value": "71"}


async def test_status_shows_the_response_derived_from_the_corrected_result(world: World) -> None:
    world.enroll("P01", sex="F", day0=WEEK24_DAY0)
    coordinator = await member(world, "coordinator", "en")
    world.clock.set(NOW)
    baseline = (
        "/labs P01 w0 protein=4.2g/24h rbc=40/hpf wbc=12/hpf casts=rbc alb=24g/L scr=0.90mg/dL "
        "date=2026-07-06"
    )
    await confirm(world, coordinator, await world.say(coordinator, baseline))
    week24 = "/labs P01 w24 protein=0.25g/24h rbc=2/hpf wbc=3/hpf casts=none alb=39g/L scr=69umol/L"
    await confirm(world, coordinator, await world.say(coordinator, week24))
    await world.api.user_sends(coordinator, "/status P01")
    before = await world.reply(coordinator, contains="Renal response at week 24")
    assert "complete response (CR)" in before.shown

    # The creatinine was 150, not 69: above the upper limit, so no longer a complete response.
    preview = await world.say(coordinator, "/correct P01 w24 scr=150umol/L reason=typo")
    assert "  Serum creatinine: 69 µmol/L → 150 µmol/L" in preview.shown.splitlines()
    done = await confirm(world, coordinator, preview)
    assert "Renal panel of P01, week 24, is complete. Response:" in done.shown
    assert "complete response (CR)" not in done.shown

    await world.api.user_sends(coordinator, "/status P01")
    after = await world.reply(coordinator, contains="Renal response at week 24")
    assert "Serum creatinine 150 µmol/L" in after.shown
    assert "complete response (CR)" not in after.shown


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01", day0=WEEK12_DAY0)
    world.enroll("P02", day0=WEEK12_DAY0)
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE.replace("P01", "P02")))
    await confirm(world, nurse, await world.say(nurse, "/labs P01 w12 scr=69umol/L"))
    cases = [
        # A reason is required.
        ("/correct AE1 grade=2", "en", "A correction needs its reason"),
        ("/correct AE1 等级=2", "zh", "更正必须说明原因"),
        ("/correct P01 w12 scr=71umol/L", "en", "A correction needs its reason"),
        ("/correct P01 w12 肌酐=71umol/L", "zh", "更正必须说明原因"),
        # Unknown adverse event, patient, week, analyte.
        ("/correct AE9 grade=2 reason=x", "en", "There is no adverse event AE9."),
        ("/correct AE9 等级=2 原因=x", "zh", "没有不良事件 AE9。"),
        ("/correct P77 w12 scr=71umol/L reason=x", "en", "There is no patient with study ID P77"),
        ("/correct P01 w99 scr=71umol/L reason=x", "en", "Week 99 is outside the study"),
        ("/correct P01 w12 potassium=4mmol/L reason=x", "en", '"potassium" is not a known field'),
        # No stored value to correct: enter it with /labs.
        (
            "/correct P01 w12 alb=39g/L reason=x",
            "en",
            "Week 12 of P01 has no stored result for Serum albumin to correct: enter it with "
            "/labs.",
        ),
        ("/correct P01 w4 scr=71umol/L reason=x", "en", "enter it with /labs."),
        ("/correct P01 w12 白蛋白=39g/L 原因=x", "zh", "请用 /labs 录入"),
        # Invalid values, as on entry.
        ("/correct AE1 grade=7 reason=x", "en", "grade"),
        ("/correct AE1 grade=x reason=x", "en", '"x" is not a CTCAE grade'),
        ("/correct AE1 onset=2027-01-05 reason=x", "en", "is in the future"),
        ("/correct P01 w12 scr=71 reason=x", "en", "unit"),
        ("/correct P01 w12 scr=99999umol/L reason=x", "en", "range"),
        # Grade 5 is death: not a correction.
        ("/correct AE1 grade=5 reason=x", "en", "Grade 5 means death"),
        # Nothing changed.
        ("/correct AE1 grade=3 reason=x", "en", "The correction changes nothing"),
        ("/correct P01 w12 scr=69.0umol/L reason=x", "en", "The correction changes nothing"),
        ("/correct P01 w12 肌酐=69umol/L 原因=x", "zh", "此更正没有改变任何内容"),
    ]
    await assert_refusals(world, cases)


async def test_a_refused_confirm_stores_nothing(world: World) -> None:
    """Two previews of the same correction: the second Confirm changes nothing more."""
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))
    first = await world.say(nurse, "/correct AE1 grade=2 reason=transcription")
    second = await world.say(nurse, "/correct AE1 grade=2 reason=transcription")
    await confirm(world, nurse, first)
    state = snapshot(world.services.engine)
    answer = await confirm(world, nurse, second)
    assert "Nothing was stored" in answer.shown
    assert "The correction changes nothing" in answer.shown
    changed = changed_tables(state, snapshot(world.services.engine))
    assert set(changed) <= {"pending_action"}


async def test_a_term_is_coded_again_and_an_uncoded_one_kept_as_typed(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, "/ae P01 headache G2"))
    preview = await world.say(nurse, "/correct AE1 term=pneumonia reason=wrong term")
    assert "  Term: Headache → Lung infection" in preview.shown.splitlines()
    await confirm(world, nurse, preview)
    event = rows(world, AdverseEvent)[0]
    assert (event.term, event.verbatim, event.coded) == ("lung_infection", "pneumonia", True)

    preview = await world.say(nurse, "/correct AE1 term=odd feeling reason=as the patient said")
    assert '  Term: Lung infection → "odd feeling" (uncoded)' in preview.shown.splitlines()
    await confirm(world, nurse, preview)
    event = rows(world, AdverseEvent)[0]
    assert (event.term, event.verbatim, event.coded) == (None, "odd feeling", False)
