"""/ae AE<n> end to end over HTTP: an adverse event followed to its end in both languages --
outcome, end date, action taken and relatedness per drug -- with the old and new values in the
audit trail; /status lists it while it is open and no longer once it ended; every refusal stores
nothing.
"""

from __future__ import annotations

import json

import pytest

from core.store.models import AdverseEvent, AuditRecord, InviteRole
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    assert_refusals,
    confirm,
    member,
    rows,
    staff_id,
)
from tests.support.db_state import audit_since, last_audit_seq

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])

AE = "/ae P01 lung infection G3 onset=2026-12-20"
FOLLOW_UP = {
    "en": "/ae AE1 outcome=recovered end=2026-12-21 action=drug_interrupted rel_mmf=possible",
    "zh": "/ae AE1 转归=痊愈 结束日期=2026-12-21 措施=暂停用药 吗替麦考酚酯相关性=可能",
}
PREVIEW = {
    "en": [
        "Follow-up of AE1 (P01): Lung infection, grade 3, onset Sun, Dec 20, 2026.",
        "  Outcome: not recorded → recovered/resolved",
        "  End date: not recorded → Mon, Dec 21, 2026",
        "  Action taken with the study drugs: not recorded → drug interrupted",
        "  Relatedness to mycophenolate mofetil: not recorded → possibly related",
    ],
    "zh": [
        "随访 AE1（P01）：肺部感染，3 级，发生于 2026年12月20日周日。",
        "  转归：未记录 → 痊愈",
        "  结束日期：未记录 → 2026年12月21日周一",
        "  对研究药物采取的措施：未记录 → 暂停用药",
        "  与吗替麦考酚酯的相关性：未记录 → 可能相关",
    ],
}
DONE = {
    "en": "AE1 of P01 is updated and closed; the audit trail keeps the old values.",
    "zh": "P01 的 AE1 已更新并结束随访；稽查轨迹保留原值。",
}


def _follow_ups(world: World, seq: int) -> list[AuditRecord]:
    return [
        r
        for r in audit_since(world.services.engine, seq)
        if r.action == "adverse_event.followed_up"
    ]


@LANGS
async def test_an_adverse_event_is_followed_to_its_end_with_old_and_new_values_audited(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))

    preview = await world.say(nurse, FOLLOW_UP[lang])
    assert preview.shown.splitlines() == PREVIEW[lang]
    assert rows(world, AdverseEvent)[0].outcome is None  # the preview stores nothing
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, nurse, preview)
    assert done.shown == DONE[lang]

    [event] = rows(world, AdverseEvent)
    assert (event.outcome, str(event.end_date), event.action, event.related_mmf) == (
        "recovered",
        "2026-12-21",
        "drug_interrupted",
        "possible",
    )
    [record] = _follow_ups(world, seq)
    assert (record.entity_key, record.actor) == ("1", f"staff:{staff_id(world, nurse)}")
    assert json.loads(record.before or "") == {
        "outcome": None,
        "end_date": None,
        "action": None,
        "related_mmf": None,
    }
    assert json.loads(record.after or "") == {
        "outcome": "recovered",
        "end_date": "2026-12-21",
        "action": "drug_interrupted",
        "related_mmf": "possible",
    }


HELP = {
    "en": "/ae: log an adverse event, or follow one to its end: /ae AE12 outcome=recovered end=…",
    "zh": "/ae：记录不良事件，或随访至结束：/ae AE12 转归=痊愈 结束日期=…",
}


@LANGS
async def test_help_shows_how_to_follow_an_event_up(world: World, lang: str) -> None:
    nurse = await member(world, "nurse", lang)
    assert HELP[lang] in (await world.say(nurse, "/help")).shown.splitlines()


@LANGS
async def test_an_event_recovering_stays_open_then_ends(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))

    recovering = {"en": "/ae AE1 outcome=recovering", "zh": "/ae AE1 结局=恢复中"}[lang]
    preview = await world.say(nurse, recovering)
    assert (
        preview.shown.splitlines()[-1]
        == {
            "en": "The event stays open: /status lists it until it has ended.",
            "zh": "该事件仍未结束：在结束之前，/status 会一直列出它。",
        }[lang]
    )
    done = await confirm(world, nurse, preview)
    assert (
        done.shown
        == {
            "en": "AE1 of P01 is updated and still open; the audit trail keeps the old values.",
            "zh": "P01 的 AE1 已更新，仍未结束；稽查轨迹保留原值。",
        }[lang]
    )
    lines = [s.strip() for s in (await world.say(coordinator, "/status")).shown.splitlines()]
    assert "Open adverse events: 1 (0 serious)" in lines
    assert "AE1 P01: Lung infection, grade 3, onset Sun, Dec 20, 2026" in lines

    ended = {"en": "/ae AE1 outcome=recovered end=12-21", "zh": "/ae AE1 转归=痊愈 结束=12-21"}[
        lang
    ]
    preview = await world.say(nurse, ended)
    assert (
        preview.shown.splitlines()[1]
        == {
            "en": "  Outcome: recovering/resolving → recovered/resolved",
            "zh": "  转归：恢复中 → 痊愈",
        }[lang]
    )
    await confirm(world, nurse, preview)
    shown = (await world.say(coordinator, "/status")).shown
    assert "Open adverse events: 0 (0 serious)" in shown
    assert "AE1 P01" not in shown
    # One patient's view keeps the event, with how and when it ended.
    lines = [s.strip() for s in (await world.say(coordinator, "/status P01")).shown.splitlines()]
    at = lines.index("AE1 Lung infection, grade 3, not serious")
    assert lines[at + 1] == "Outcome: recovered/resolved, ended Mon, Dec 21, 2026"


async def test_refusals_store_nothing(world: World) -> None:
    world.enroll("P01")
    world.enroll("P02", arm="mt_only")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))
    await confirm(world, nurse, await world.say(nurse, "/ae P02 headache G1 onset=2026-12-20"))
    cases = [
        # Unknown adverse event.
        ("/ae AE9 outcome=recovered end=2026-12-21", "en", "There is no adverse event AE9."),
        ("/ae AE9 转归=痊愈 结束=2026-12-21", "zh", "没有不良事件 AE9。"),
        # Words that are no outcome, action or relatedness; unknown fields.
        ("/ae AE1 outcome=better", "en", '"better" is not an adverse event outcome'),
        ("/ae AE1 转归=好多了", "zh", '"好多了" 不是不良事件的转归'),
        ("/ae AE1 action=paused", "en", '"paused" is not an action taken with the study drugs'),
        ("/ae AE1 rel_mmf=yes", "en", '"yes" is not a relatedness'),
        ("/ae AE1 severity=2", "en", '"severity" is not a known field'),
        ("/ae AE1", "en", "Give what became of the event"),
        # End date before onset, in the future, missing, or given for an event going on.
        ("/ae AE1 outcome=recovered end=2026-12-19", "en", "is before the onset"),
        ("/ae AE1 转归=痊愈 结束日期=2026-12-19", "zh", "早于发生日期"),
        ("/ae AE1 outcome=recovered end=2026-12-25", "en", "is in the future"),
        ("/ae AE1 outcome=recovered", "en", "An event that ended needs its end date"),
        ("/ae AE1 转归=痊愈", "zh", "已结束的事件需要结束日期"),
        ("/ae AE1 outcome=recovering end=2026-12-21", "en", "has no end date"),
        ("/ae AE1 end=2026-12-21", "en", "Give the outcome with the end date"),
        # Fatal on a grade 3 event: death is grade 5, recorded with /ae.
        ("/ae AE1 outcome=fatal end=2026-12-21", "en", "which is CTCAE grade 5"),
        ("/ae AE1 转归=死亡 结束=2026-12-21", "zh", "即 CTCAE 5 级"),
        # No belimumab in P02's arm.
        ("/ae AE2 rel_belimumab=possible", "en", "P02 is in an arm without belimumab"),
    ]
    await assert_refusals(
        world,
        cases,
        usage={
            "en": "Expected: /ae AE<number> outcome=... end=YYYY-MM-DD",
            "zh": "/ae AE<编号> 转归=...",
        },
    )


async def test_the_same_follow_up_twice_changes_nothing(world: World) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    await confirm(world, nurse, await world.say(nurse, AE))
    await confirm(world, nurse, await world.say(nurse, "/ae AE1 outcome=not_recovered"))
    answer = await world.say(nurse, "/ae AE1 outcome=未恢复")
    assert "The follow-up changes nothing" in answer.shown
    assert answer.buttons() == []


async def test_a_study_id_that_reads_like_an_ae_number_still_gets_new_events(world: World) -> None:
    world.enroll("AE7")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    preview = await world.say(nurse, "/ae AE7 headache G1")
    assert preview.shown.splitlines()[0] == "Adverse event for AE7:"
    await confirm(world, nurse, preview)
    answer = await world.say(nurse, "/ae AE7 outcome=recovering")
    assert "There is no adverse event AE7." in answer.shown
