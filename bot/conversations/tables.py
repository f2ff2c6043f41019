"""The lookup tables the whole list of features builds, checked once at start."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.context import Handler, TextStep
from bot.conversations.feature import Feature
from bot.pagination import Source
from bot.roles import COMMANDS, Role
from bot.staff.actions import ActionSpec
from bot.staff.commands import GUIDE_FLOW, StaffCommand, staff_command_handler, typed_answer

K = TypeVar("K")
V = TypeVar("V")


def _put(table: dict[K, V], key: K, value: V, what: str) -> None:
    if key in table:
        raise RuntimeError(f"{what} {key!r} is wired twice")
    table[key] = value


@dataclass(frozen=True, slots=True)
class Tables:
    """Every feature's entries, by what finds them; built once, checked once."""

    commands: Mapping[str, Handler]
    staff_commands: Mapping[str, StaffCommand]
    options: Sequence[tuple[re.Pattern[str], Handler]]
    text_steps: Mapping[tuple[str, str], TextStep]
    free_text: Mapping[Role, TextStep]
    actions: Mapping[str, ActionSpec]
    pages: Mapping[str, Source]

    @classmethod
    def build(cls, features: Sequence[Feature]) -> Tables:
        """The tables of ``features``; a name claimed twice, or a command of the
        authorization table without a handler (or the reverse), is a wiring error."""
        commands: dict[str, Handler] = {}
        staff: dict[str, StaffCommand] = {}
        options: list[tuple[re.Pattern[str], Handler]] = []
        steps: dict[tuple[str, str], TextStep] = {}
        free_text: dict[Role, TextStep] = {}
        actions: dict[str, ActionSpec] = {}
        pages: dict[str, Source] = {}

        for feature in features:
            for name, handler in feature.commands.items():
                _put(commands, name, handler, "command")
            for command in feature.staff_commands:
                _put(staff, command.name, command, "staff command")
                _put(commands, command.name, staff_command_handler(command), "command")
                _put(steps, (GUIDE_FLOW, command.name), typed_answer, "text step")
            options += [(re.compile(pattern), handler) for pattern, handler in feature.options]
            for key, step in feature.text_steps.items():
                _put(steps, key, step, "text step")
            for role, step in feature.free_text.items():
                _put(free_text, role, step, "free text of the role")
            for spec in feature.actions:
                _put(actions, spec.kind, spec, "action")
            for name, source in feature.pages.items():
                _put(pages, name, source, "page source")
        missing = set(COMMANDS) - set(commands)
        extra = set(commands) - set(COMMANDS)
        if missing or extra:
            raise RuntimeError(
                f"commands without a handler: {sorted(missing)}; "
                f"handlers outside the authorization table: {sorted(extra)}"
            )
        return cls(commands, staff, options, steps, free_text, actions, pages)

    def option_handler(self, token: str) -> Handler | None:
        """The handler of an option's token, by the first pattern that matches it."""
        for pattern, handler in self.options:
            if pattern.match(token):
                return handler
        return None
