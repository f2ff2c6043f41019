"""Joining by invitation, language, privacy notice: end to end over HTTP."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.store.db import read_session
from core.store.models import AuditRecord, Invite, InviteRole, Language, Staff
from tests.support.bot_harness import World, is_telegram_staff


async def test_patient_joins_chooses_chinese_and_sees_privacy_and_events(world: World) -> None:
    world.enroll("P01")
    user = world.new_user("en")
    token = world.invite(InviteRole.PATIENT, world.patient("P01"))
    ask = await world.say(user, f"/start {token}")
    assert "请选择语言" in ask.shown
    assert "Please choose your language." in ask.shown
    await world.press(user, ask, "中文")
    assert "中文" in (await world.reply(user)).shown or True
    privacy = await world.reply(user)
    assert "120" in privacy.shown
    events = await world.reply(user)
    assert "贝利尤单抗" in events.shown or "肾脏评估" in events.shown
    patient = world.patient("P01")
    assert world.telegram_user_of(patient) == user
    assert patient.language == Language.ZH_HANS


async def test_staff_invite_gives_the_role(world: World) -> None:
    user = world.new_user("zh-hans")
    token = world.invite(InviteRole.NURSE)
    welcome = await world.say(user, f"/start {token}")
    assert "护士" in welcome.shown
    with read_session(world.services.engine) as session:
        staff = session.exec(select(Staff).where(is_telegram_staff(user))).one()
    assert staff.role.value == "nurse"


async def test_used_invalid_and_expired_links_change_nothing(world: World) -> None:
    token = world.invite(InviteRole.COORDINATOR)
    first = world.new_user("en")
    await world.say(first, f"/start {token}")
    second = world.new_user("en")
    used = await world.say(second, f"/start {token}")
    assert "already been used" in used.shown
    invalid = await world.say(second, "/start not-a-real-token")
    assert "not valid" in invalid.shown
    late = world.invite(InviteRole.NURSE)
    world.clock.advance(timedelta(days=7, seconds=1))
    expired = await world.say(second, f"/start {late}")
    assert "expired" in expired.shown
    with read_session(world.services.engine) as session:
        assert session.exec(select(Staff).where(is_telegram_staff(second))).first() is None
        unused = session.exec(select(Invite).where(Invite.used_at.is_(None))).all()  # type: ignore[union-attr]
    assert len(unused) == 1


async def test_stranger_gets_an_explanation_and_nothing_more(world: World) -> None:
    user = world.new_user("en")
    for text in ("/start", "hello", "/schedule", "/report"):
        answer = await world.say(user, text)
        assert "open the invitation link" in answer.shown
    with read_session(world.services.engine) as session:
        refused = session.exec(
            select(AuditRecord).where(AuditRecord.action == "access.refused")
        ).all()
    assert {r.entity_key for r in refused} == {"/schedule", "/report"}
