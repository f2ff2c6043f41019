"""The Monday message to coordinators: a few lines while no patient has reached week 24
(enrolled per arm, renal assessments done of those due, the next milestone), the full
summary from the first week-24 on; in both languages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.outputs.summary import send_weekly_digest
from core.schedule import EventKind
from core.store.clinical import mark_event_done
from core.store.db import read_session
from core.store.models import InviteRole, PlannedEventRow
from core.store.uow import UnitOfWork
from tests.support.bot_harness import World
from tests.support.outputs_seed import SHANGHAI

SHORT = {
    "en": [
        "Weekly summary on Mon, Dec 7, 2026: no patient has reached week 24 yet, so there are "
        "no response figures.",
        "Enrolled: 3 (Belimumab plus multi-target therapy: 1 and Multi-target therapy only: 2).",
        "Renal assessments so far: 1 done of 4 due.",
        "Next milestone: P01 reaches week 24 on Mon, Apr 19, 2027, the first endpoint assessment.",
    ],
    "zh-hans": [
        "2026年12月7日周一 每周汇总：尚无受试者到达第 24 周，因此暂无缓解数据。",
        "已入组：3 例（贝利尤单抗联合多靶点治疗：1 例和仅多靶点治疗：2 例）。",
        "截至目前的肾脏评估：应做 4 次，已完成 1 次。",
        "下一个节点：P01 将于 2027年4月19日周一 到达第 24 周，即首次终点评估。",
    ],
}
FULL = {"en": "Trial summary on Mon, Apr 19, 2027", "zh-hans": "2027年4月19日"}


def monday(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI).astimezone(UTC)


def enroll_three(world: World) -> None:
    """P01 (day 0 on 2 Nov: renal assessments on 2 and 30 Nov by 7 Dec), P02 and P03."""
    world.enroll("P01", day0=date(2026, 11, 2))
    world.enroll("P02", arm="mt_only", day0=date(2026, 11, 16))
    world.enroll("P03", arm="mt_only", day0=date(2026, 11, 20))
    with read_session(world.services.engine) as session:
        baseline = session.exec(
            select(PlannedEventRow).where(
                PlannedEventRow.patient_id == world.patient("P01").id,
                PlannedEventRow.kind == EventKind.RENAL_ASSESSMENT,
                PlannedEventRow.week == 0,
            )
        ).one()
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        row = uow.session.get(PlannedEventRow, baseline.id)
        assert row is not None
        mark_event_done(uow, row, date(2026, 11, 2))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_before_week_24_the_monday_message_is_a_few_lines(
    world: World, language: str
) -> None:
    enroll_three(world)
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=language)
    before = len(world.api.messages_to(coordinator))
    assert world.services.router is not None
    assert (
        await send_weekly_digest(world.services.router, world.services, monday(date(2026, 12, 7)))
        == 1
    )
    sent = world.api.messages_to(coordinator)[before:]
    assert len(sent) == 1
    lines = sent[0].shown.splitlines()
    assert lines == SHORT[language]
    assert len(lines) <= 6


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_from_the_first_week_24_the_monday_message_is_the_full_summary(
    world: World, language: str
) -> None:
    enroll_three(world)
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=language)
    before = len(world.api.messages_to(coordinator))
    assert world.services.router is not None
    # P01 reaches week 24 on Monday 19 Apr 2027.
    day = date(2027, 4, 19)
    assert await send_weekly_digest(world.services.router, world.services, monday(day)) == 1
    text = "\n".join(m.shown for m in world.api.messages_to(coordinator)[before:])
    assert FULL[language] in text
    assert SHORT[language][0] not in text
    assert len(text.splitlines()) > 6
