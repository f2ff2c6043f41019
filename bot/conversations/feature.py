"""A feature: what one part of the bot answers.

A :class:`Feature` names its commands, staff commands (one message or a
guided flow), options by token pattern, typed answers of a flow step, what
text outside any flow means for a role, Confirm/Cancel actions and pages. The application is built from one list of
them (:mod:`bot.features`); nothing registers itself when imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.context import Handler, TextStep

if TYPE_CHECKING:
    from bot.pagination import Source
    from bot.roles import Role
    from bot.staff.actions import ActionSpec
    from bot.staff.commands import StaffCommand


@dataclass(frozen=True, slots=True)
class Feature:
    """What one part of the bot answers (every field optional)."""

    name: str
    commands: Mapping[str, Handler] = field(default_factory=dict)
    staff_commands: Sequence[StaffCommand] = ()
    options: Sequence[tuple[str, Handler]] = ()  # (regular expression on the token, handler)
    text_steps: Mapping[tuple[str, str], TextStep] = field(default_factory=dict)
    # Text (or a file with a caption) someone with the role sends outside any flow.
    free_text: Mapping[Role, TextStep] = field(default_factory=dict)
    actions: Sequence[ActionSpec] = ()
    pages: Mapping[str, Source] = field(default_factory=dict)
