"""The bot's table of contents: every feature, in one list, that builds the application.

Each entry names what one part of the bot answers (its commands, buttons,
flow steps, Confirm/Cancel actions and pages); every channel's adapter
serves the same list through the conversation layer
(:class:`bot.conversations.dispatch.Conversations`). A command of the
authorization table (:mod:`bot.roles`) without an entry here, or an entry
outside it, stops the bot at start.
"""

from __future__ import annotations

from bot import pagination
from bot.conversations.feature import Feature
from bot.handlers import basics, calendar, free_text, joining, reminder_buttons, report
from bot.outputs import commands as outputs
from bot.staff import (
    actions,
    adverse_events,
    assessments,
    commands,
    corrections,
    doses,
    labs,
    link,
    reports,
    status,
    visits,
)
from bot.staff.coordinator import (
    ack,
    channel,
    enroll,
    invite,
    reschedule,
    team,
    withdraw,
)

FEATURES: list[Feature] = [
    # Everyone: joining by invitation, languages, help.
    joining.FEATURE,
    basics.FEATURE,
    # Patients: the calendar, reports of symptoms (guided, or their own message offered
    # as one), answers to reminders.
    calendar.FEATURE,
    report.FEATURE,
    free_text.FEATURE,
    reminder_buttons.FEATURE,
    # Staff: every command by one message or as a guided flow, stored on Confirm.
    commands.FEATURE,
    actions.FEATURE,
    enroll.FEATURE,
    channel.FEATURE,
    invite.FEATURE,
    link.FEATURE,
    team.FEATURE,
    withdraw.FEATURE,
    reschedule.FEATURE,
    visits.FEATURE,
    ack.FEATURE,
    adverse_events.FEATURE,
    labs.FEATURE,
    doses.FEATURE,
    assessments.FEATURE,
    corrections.FEATURE,
    reports.FEATURE,
    status.FEATURE,
    # Coordinators and investigators: summaries, plots, exports.
    outputs.FEATURE,
    # Long lists in pages.
    pagination.FEATURE,
]
