"""The bot is built from one list of features, checked once when it is built.

A command, button pattern, flow step, action or page source claimed twice,
or a command of the authorization table that no feature serves, stops the
bot before it answers anyone: a wiring mistake is found at start, not by a
patient.
"""

from __future__ import annotations

import pytest

from bot.conversations.feature import Feature
from bot.conversations.tables import Tables
from bot.features import FEATURES
from bot.handlers import basics, joining
from bot.roles import COMMANDS
from bot.staff import doses


def test_the_feature_list_serves_every_command_of_the_authorization_table() -> None:
    tables = Tables.build(FEATURES)
    assert set(tables.commands) == set(COMMANDS)
    assert tables.option_handler("act:12:ok") is not None
    assert tables.option_handler("rem:5:yes") is not None
    assert tables.option_handler("nothing:1") is None


def test_a_feature_left_out_of_the_list_stops_the_bot() -> None:
    without_basics = [f for f in FEATURES if f is not basics.FEATURE]
    with pytest.raises(
        RuntimeError, match=r"commands without a handler: \['contacts', 'help', 'schedule'\]"
    ):
        Tables.build(without_basics)


@pytest.mark.parametrize(
    "twice",
    [
        Feature("again", commands={"start": joining.start}),
        Feature("again", staff_commands=[doses.DOSE_COMMAND]),
        Feature("again", actions=list(doses.FEATURE.actions)),
    ],
    ids=["command", "staff command", "action"],
)
def test_anything_wired_twice_stops_the_bot(twice: Feature) -> None:
    with pytest.raises(RuntimeError, match="is wired twice"):
        Tables.build([*FEATURES, twice])


def test_importing_a_feature_module_registers_nothing() -> None:
    """The list is the only wiring: a module's FEATURE does nothing until listed."""
    partial = Tables.build([*FEATURES])
    assert "dose" in partial.actions
    lonely = Tables.build([f for f in FEATURES if f is not doses.FEATURE] + [doses.FEATURE])
    assert set(lonely.actions) == set(partial.actions)
    with pytest.raises(RuntimeError, match="dose"):
        Tables.build([f for f in FEATURES if f is not doses.FEATURE])
