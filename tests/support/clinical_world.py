"""Helpers for the clinical data-entry tests: a study team, Confirm/Cancel, stored rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlmodel import SQLModel, col, select

from core.store.db import read_session
from core.store.models import InviteRole, Patient, PatientStatus, Staff
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import World, is_telegram_staff

# Monday 21 December 2026, 10:00 in Shanghai: study day 20 of patients with day 0
# on 1 December, the day after the command examples' onset date 2026-12-20.
NOW = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
# Day 0 of a patient for whom NOW is the target day of week 12 (84 days) or week 24 (168
# days): their week-12 or week-24 entries typed at NOW are inside the window.
WEEK12_DAY0 = date(2026, 9, 28)
WEEK24_DAY0 = date(2026, 7, 6)
# 10:00 in Shanghai on the day of belimumab infusion 1 (week 2) of a day 0 on 1 December.
INFUSION1 = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)

LANGUAGE_CODES = {"en": "en", "zh": "zh-hans"}

M = TypeVar("M", bound=SQLModel)


@dataclass
class Team:
    """Two coordinators (one English, one Chinese) and the senders a test asks for."""

    coordinator_en: int
    coordinator_zh: int


async def team(world: World) -> Team:
    coordinator_en = await world.join_staff(InviteRole.COORDINATOR, "en")
    coordinator_zh = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    return Team(coordinator_en, coordinator_zh)


async def member(world: World, role: str, lang: str) -> int:
    """A member of staff of ``role`` writing in ``lang`` ("en" or "zh")."""
    return await world.join_staff(InviteRole(role), LANGUAGE_CODES[lang])


def staff_id(world: World, user: int) -> int:
    with read_session(world.services.engine) as session:
        found = session.exec(select(Staff).where(is_telegram_staff(user))).one()
    assert found.id is not None
    return found.id


def rows(world: World, model: type[M]) -> list[M]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(model).order_by(col(model.id))).all())  # type: ignore[attr-defined]


def _data(message: SentMessage, suffix: str) -> str:
    for button in message.buttons():
        if button.callback_data is not None and button.callback_data.endswith(suffix):
            return button.callback_data
    raise AssertionError(f"no button ending {suffix!r} on: {message.shown!r}")


async def press_data(world: World, user: int, message: SentMessage, suffix: str) -> None:
    await world.api.user_presses(user, message.message_id, _data(message, suffix))


async def confirm(world: World, user: int, summary: SentMessage) -> SentMessage:
    """Press Confirm under ``summary``; the bot's next message."""
    await press_data(world, user, summary, ":ok")
    return await world.reply(user)


async def cancel(world: World, user: int, summary: SentMessage) -> SentMessage:
    await press_data(world, user, summary, ":no")
    return await world.reply(user)


def withdraw(world: World, study_id: str) -> None:
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        patient = uow.session.exec(select(Patient).where(Patient.study_id == study_id)).one()
        uow.update(patient, "patient.withdrawn", status=PatientStatus.WITHDRAWN)


def button_labels(message: SentMessage) -> list[str]:
    return [b.text for b in message.buttons()]


def lines(message: SentMessage) -> Sequence[str]:
    return message.shown.splitlines()


async def assert_refusals(
    world: World,
    cases: Sequence[tuple[str, str, str]],
    *,
    role: str = "nurse",
    usage: dict[str, str] | None = None,
) -> None:
    """Each ``(text, lang, reason)``: the reply says ``reason`` (and the usage), with no
    buttons, and the database is unchanged. One chat per language, one world for all."""
    from tests.support.db_state import changed_tables, snapshot

    senders = {lang: await member(world, role, lang) for lang in ("en", "zh")}
    for text, lang, reason in cases:
        before = snapshot(world.services.engine)
        answer = await world.say(senders[lang], text)
        assert reason in answer.shown, (text, answer.shown)
        if usage is not None:
            assert usage[lang] in answer.shown, (text, answer.shown)
        assert answer.buttons() == [], text
        assert changed_tables(before, snapshot(world.services.engine)) == {}, text
