"""The authorization table, cell by cell: every command x every role, and strangers.

Requirement: "Roles: patient, nurse, investigator, coordinator. Write the
authorization table once (command x role) and test every cell."

The end-to-end matrix is parametrized over ``bot.roles.COMMANDS`` itself, so a
row another feature adds is walked here without editing this file. A served
cell must answer with the command's own reply (not a refusal); a refused cell
must answer with the polite refusal in the person's language, change nothing
and leave exactly one ``access.refused`` audit record naming the command.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

import bot.conversations.tables
from bot.channels.telegram.app import build_application
from bot.context import Services
from bot.conversations.tables import Tables
from bot.features import FEATURES
from bot.roles import COMMANDS, Role, commands_for, may
from core.protocol import load_protocol
from core.store.db import make_engine
from core.store.models import InviteRole
from scheduler.clock import FakeClock
from tests.support.bot_harness import START, TOKEN, World
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

# Everyone the table speaks of: the four roles and someone with no role (None).
AUDIENCES: tuple[Role | None, ...] = (*Role, None)

# What people read, written here from the requirements and the design, not copied
# from the code: a refusal names the command; a stranger learns how to join.
STRANGER_MARK = "open the invitation link"
ERROR_MARK = "Something went wrong"


def refusal_text(command: str) -> str:
    return f"/{command} is not available to you. /help lists what you can do."


def audience_id(role: Role | None) -> str:
    return role.value if role is not None else "stranger"


CELLS = [
    pytest.param(command, role, id=f"{command}-{audience_id(role)}")
    for command in COMMANDS
    for role in AUDIENCES
]


async def person_with(world: World, role: Role | None) -> int:
    """A Telegram user (English) with ``role``: joined, waiting at the end of the welcome."""
    if role is None:
        return world.new_user("en")
    if role == Role.PATIENT:
        world.enroll("P01")
        return await world.join_patient("P01", language_code="en", choose="English")
    return await world.join_staff(InviteRole(role.value), language_code="en")


# --- the table itself ---------------------------------------------------------------

# The current rows, written out independently of bot/roles.py.
EVERYONE = frozenset({*Role, None})
EXPECTED_AUDIENCE: dict[str, frozenset[Role | None]] = {
    "start": EVERYONE,
    "help": EVERYONE,
    "lang": frozenset(Role),
    "schedule": frozenset({Role.PATIENT}),
    "contacts": frozenset({Role.PATIENT}),
    "report": frozenset({Role.PATIENT, Role.COORDINATOR}),
    "channel": frozenset({Role.COORDINATOR}),
}
# Commands that show or change one patient's own data: that patient only. /report is a
# patient's symptom report and, for a coordinator, the safety-review PDF (written out in
# EXPECTED_AUDIENCE; tests/outputs/test_report_pdf.py shows each gets their own).
PATIENT_DATA_COMMANDS = frozenset({"schedule", "calendar"})
# A patient's own report to the team (a coordinator's /report is the trial's PDF).
PATIENT_REPORTS = frozenset({"report"})
# The site's contacts: written in the protocol file, shown to patients (not to strangers).
PATIENT_BASICS = frozenset({"lang", "contacts"})
# The only commands someone without a role may use: they explain how to join.
OPEN_TO_STRANGERS = frozenset({"start", "help"})


@pytest.mark.parametrize(("command", "audience"), EXPECTED_AUDIENCE.items())
@pytest.mark.parametrize("role", AUDIENCES, ids=audience_id)
def test_may_matches_the_written_expectation(
    command: str, audience: frozenset[Role | None], role: Role | None
) -> None:
    assert command in COMMANDS, f"/{command} disappeared from the authorization table"
    assert may(role, command) == (role in audience)


@pytest.mark.parametrize("command", sorted(PATIENT_DATA_COMMANDS & set(COMMANDS)))
@pytest.mark.parametrize("role", AUDIENCES, ids=audience_id)
def test_patient_data_commands_are_patient_only(command: str, role: Role | None) -> None:
    assert may(role, command) == (role == Role.PATIENT)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_strangers_may_only_learn_how_to_join(command: str) -> None:
    assert may(None, command) == (command in OPEN_TO_STRANGERS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_patients_may_use_only_the_basics_and_their_own_data(command: str) -> None:
    """Every other command shows or changes someone else's data, or the trial's.

    A new patient command must be added to PATIENT_DATA_COMMANDS on purpose.
    """
    if may(Role.PATIENT, command):
        assert command in (
            OPEN_TO_STRANGERS | PATIENT_BASICS | PATIENT_DATA_COMMANDS | PATIENT_REPORTS
        )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_row_names_known_audiences_and_someone(command: str) -> None:
    audience = COMMANDS[command]
    assert audience, f"/{command} is open to nobody"
    assert audience <= EVERYONE
    assert re.fullmatch(r"[a-z0-9_]{1,32}", command), "Telegram command names are [a-z0-9_]{1,32}"


@pytest.mark.parametrize("role", AUDIENCES, ids=audience_id)
def test_unknown_commands_are_nobodys(role: Role | None) -> None:
    for command in ("frobnicate", "", "START", "/start", "start "):
        assert not may(role, command)
    assert all(may(role, c) for c in commands_for(role))
    assert set(commands_for(role)) == {c for c, who in COMMANDS.items() if role in who}


# --- every row has a handler, every handler has a row ----------------------------------


def _services() -> Services:
    engine = make_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    return Services(engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"))


def test_a_row_without_a_handler_stops_the_bot_from_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_orphan = MappingProxyType({**COMMANDS, "orphan_row": frozenset({Role.PATIENT})})
    monkeypatch.setattr(bot.conversations.tables, "COMMANDS", with_orphan)
    with pytest.raises(RuntimeError, match="orphan_row"):
        build_application(_services(), TOKEN)


def test_every_row_has_a_handler_and_every_handler_a_row() -> None:
    HANDLERS = Tables.build(FEATURES).commands
    assert set(COMMANDS) <= set(HANDLERS)
    # A handler without a row would be refused to everyone: a dead command.
    assert set(HANDLERS) <= set(COMMANDS), sorted(set(HANDLERS) - set(COMMANDS))


# --- every cell, end to end -----------------------------------------------------------------


@pytest.mark.parametrize(("command", "role"), CELLS)
async def test_cell(world: World, command: str, role: Role | None) -> None:
    user = await person_with(world, role)
    engine = world.services.engine
    before = snapshot(engine)
    seq = last_audit_seq(engine)

    answer = await world.say(user, f"/{command}")

    refused = [r for r in audit_since(engine, seq) if r.action == "access.refused"]
    assert ERROR_MARK not in answer.shown
    if may(role, command):
        assert refused == [], f"/{command} was refused to {audience_id(role)}"
        assert answer.shown != refusal_text(command)
        if role is not None:
            assert STRANGER_MARK not in answer.shown, answer.shown
        return
    if role is None:
        assert STRANGER_MARK in answer.shown, answer.shown
    else:
        assert answer.shown == refusal_text(command)
    assert changed_tables(before, snapshot(engine)) == {}
    added = audit_since(engine, seq)
    assert [(r.action, r.entity_key) for r in added] == [("access.refused", f"/{command}")]


@pytest.mark.parametrize("role", AUDIENCES, ids=audience_id)
async def test_help_lists_exactly_the_commands_one_may_use(world: World, role: Role | None) -> None:
    user = await person_with(world, role)
    shown = (await world.say(user, "/help")).shown
    listed = set(re.findall(r"^/([a-z0-9_]+)", shown, flags=re.MULTILINE))
    assert listed == {c for c in COMMANDS if may(role, c)}
