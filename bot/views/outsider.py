"""What someone without a role is told, whatever they write.

A stranger learns what the bot is and how to join, nothing more. A patient
who has left the study is no stranger: they are told so, with the site's
contacts from the protocol file, in the language they chose: they stay in the
records, but the bot no longer acts for them, so it points them to people who can.
"""

from __future__ import annotations

from bot.context import STRANGER_SCAN_TEXT, STRANGER_TEXT, Ctx
from bot.views.reminder import contact_entries
from core.messages import N_

WITHDRAWN_TEXT = N_("You have left the study. If you need anything, contact the study team:")
WITHDRAWN_CALENDAR = N_(
    "If you added your study appointments to your phone's calendar, send /calendar: "
    "the file it sends removes them."
)


def outsider_text(ctx: Ctx) -> str:
    """The answer to anything a person without a role writes (not to a button press)."""
    if ctx.person.withdrawn:
        lines = [ctx.t._(WITHDRAWN_TEXT), *contact_entries(ctx.t, ctx.services.protocol)]
        return "\n".join([*lines, ctx.t._(WITHDRAWN_CALENDAR)])
    return ctx.t._(STRANGER_SCAN_TEXT if ctx.joins_by_code else STRANGER_TEXT)
