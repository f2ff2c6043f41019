"""Feature modules and the buttons they answer.

``CALLBACKS`` pairs a ``callback_data`` pattern with its handler; importing a
feature module registers its commands with :func:`bot.app.register_feature`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot import pagination
from bot.handlers import (
    calendar,  # noqa: F401 - importing it registers /calendar
    joining,
    reminder_buttons,
    report,
)
from bot.outputs import commands as outputs  # noqa: F401 - registers /summary, /plot, /export
from bot.staff import (
    actions,
    adverse_events,  # noqa: F401 - importing these registers the clinical data commands
    assessments,  # noqa: F401
    commands,
    doses,  # noqa: F401
    labs,  # noqa: F401
    reports,  # noqa: F401 - importing these registers /reports, /triage and /status
    status,  # noqa: F401
)
from bot.staff.coordinator import (  # noqa: F401 - importing these registers /enroll ... /ack
    ack,
    enroll,
    invite,
    reschedule,
    withdraw,
)

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]

CALLBACKS: list[tuple[str, Callback]] = [
    (r"^lang:", joining.language_pressed),
    (report.CALLBACK_PATTERN, report.button_pressed),
    (r"^act:", actions.decide),
    (r"^g:", commands.guide_pressed),
    (r"^rem:", reminder_buttons.reminder_pressed),
    (pagination.CALLBACK_PATTERN, pagination.page_pressed),
]
