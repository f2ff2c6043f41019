"""/staff: the study team, ending a member's access, revoking an invitation, end to end."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.context import STRANGER_TEXT
from bot.i18n import Translator
from core.store.db import read_session
from core.store.models import AuditRecord, Invite, InviteRole, Staff
from tests.support.bot_harness import World, is_telegram_staff
from tests.support.clinical_world import confirm
from tests.support.db_state import changed_tables, snapshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
LINK = re.compile(r"start=(\S+)")


def staff_of(world: World, user: int) -> Staff:
    with read_session(world.services.engine) as session:
        return session.exec(select(Staff).where(is_telegram_staff(user))).one()


def audit(world: World, action: str) -> list[AuditRecord]:
    with read_session(world.services.engine) as session:
        query = select(AuditRecord).where(AuditRecord.action == action)
        return list(session.exec(query.order_by(col(AuditRecord.seq))).all())


@LANGS
async def test_staff_lists_the_team_by_role_and_channel_id_never_by_name(
    world: World, lang: str
) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    world.clock.advance(timedelta(hours=2))
    world.enroll("P01")
    await world.say(nurse, "/weight P01 61kg")  # a preview: nothing recorded yet
    refused = await world.say(nurse, "/export")  # a refusal is an action the trail keeps
    assert refused.document is None
    world.invite(InviteRole.INVESTIGATOR)

    answer = await world.say(coordinator, "/staff")
    shown = answer.shown
    nurse_row = staff_of(world, nurse)
    lines = shown.splitlines()
    nurse_line = next(line for line in lines if line.startswith(f"S{nurse_row.id} "))
    assert str(nurse) in nurse_line and "Telegram" in nurse_line
    assert f"User{nurse}" not in shown and f"User{coordinator}" not in shown
    if lang == "en":
        assert lines[0] == "Study team: 2 with access."
        assert "nurse: joined Mon, Nov 30, 2026, last active Mon, Nov 30, 2026, 11:00" in nurse_line
        assert "Invitations not yet used:" in shown and "new investigator" in shown
        coordinator_line = next(line for line in lines if line.startswith("S1 "))
        assert "last active never" in coordinator_line
    else:
        assert lines[0] == "研究团队：2 人有访问权限。"
        assert "护士：2026年11月30日周一 加入，最近活动 2026年11月30日" in nurse_line
        assert "尚未使用的邀请：" in shown
    assert not answer.buttons()


@LANGS
async def test_a_removed_member_is_a_stranger_from_their_next_message(
    world: World, lang: str
) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    world.enroll("P01")
    member = staff_of(world, nurse)
    preview = await world.say(coordinator, f"/staff remove S{member.id} reason=left the unit")
    assert ("End the access of" if lang == "en" else "停用") in preview.shown
    assert staff_of(world, nurse).active  # nothing before Confirm
    done = await confirm(world, coordinator, preview)
    assert f"S{member.id}" in done.shown
    assert not staff_of(world, nurse).active

    (record,) = audit(world, "staff.access_ended")
    assert record.entity_key == str(member.id)
    assert record.reason == "left the unit"
    assert record.actor == f"staff:{staff_of(world, coordinator).id}"
    assert record.at == world.clock.now()

    before = snapshot(world.services.engine)
    answer = await world.say(nurse, "/weight P01 61kg")
    assert answer.shown == Translator("en", SHANGHAI)._(STRANGER_TEXT)
    assert not answer.buttons()
    assert set(changed_tables(before, snapshot(world.services.engine))) <= {"audit_record"}

    listed = await world.say(coordinator, "/staff")
    ended = listed.shown.split("Access ended:" if lang == "en" else "已停用：")[1]
    assert f"S{member.id} " in ended


@LANGS
async def test_a_revoked_invitation_lets_no_one_join(world: World, lang: str) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    link = await world.say(coordinator, "/invite nurse")
    match = LINK.search(link.shown)
    assert match is not None
    with read_session(world.services.engine) as session:
        invite = session.exec(select(Invite).where(Invite.role == InviteRole.NURSE)).one()
    listed = await world.say(coordinator, "/staff")
    assert f"I{invite.id} " in listed.shown

    preview = await world.say(
        coordinator, f"/staff revoke I{invite.id} reason=sent to the wrong person"
    )
    done = await confirm(world, coordinator, preview)
    assert f"I{invite.id}" in done.shown
    (record,) = audit(world, "invite.revoked")
    assert record.reason == "sent to the wrong person"

    newcomer = world.new_user(lang)
    await world.say(newcomer, f"/start {match.group(1)}")
    with read_session(world.services.engine) as session:
        assert session.exec(select(Staff).where(is_telegram_staff(newcomer))).first() is None
    relisted = await world.say(coordinator, "/staff")
    assert f"I{invite.id} " not in relisted.shown


@pytest.mark.parametrize(
    ("lang", "text", "reason"),
    [
        ("en", "/staff remove S99 reason=gone", "There is no member of staff S99."),
        ("zh", "/staff remove S99 reason=gone", "没有工作人员 S99。"),
        ("en", "/staff remove S1 reason=gone", "You cannot end your own access"),
        ("zh", "/staff remove S1 reason=gone", "您不能停用自己的访问权限"),
        ("en", "/staff remove S2", "A reason is required"),
        ("zh", "/staff remove S2", "必须填写原因"),
        ("en", "/staff revoke I99 reason=x", "There is no staff invitation I99."),
        ("zh", "/staff revoke I99 reason=x", "没有工作人员邀请 I99。"),
        ("en", "/staff revoke I1 reason=x", "has been used already"),
        ("en", "/staff fire S2", "/staff remove S<number>"),
        ("zh", "/staff remove nurse reason=x", "/staff remove S<编号>"),
    ],
)
async def test_staff_refusals_change_nothing(
    world: World, lang: str, text: str, reason: str
) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    await world.join_staff(InviteRole.NURSE)  # S2, joined with invitation I2
    assert staff_of(world, coordinator).id == 1
    before = snapshot(world.services.engine)
    answer = await world.say(coordinator, text)
    assert reason in answer.shown
    assert not answer.buttons()
    assert set(changed_tables(before, snapshot(world.services.engine))) <= {"audit_record"}


async def test_an_ended_access_cannot_be_ended_twice_and_staff_is_for_coordinators(
    world: World,
) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR)
    nurse = await world.join_staff(InviteRole.NURSE)
    other = await world.join_staff(InviteRole.COORDINATOR)
    refused = await world.say(nurse, "/staff")
    assert "not available" in refused.shown
    member = staff_of(world, nurse)
    await confirm(
        world, coordinator, await world.say(coordinator, f"/staff remove S{member.id} reason=x")
    )
    again = await world.say(other, f"/staff remove {member.id} reason=x")
    assert "already ended" in again.shown
