"""A patient's own message outside any question: offered to the study team as a report.

A patient who writes to the bot (or sends a photo, with or without a
caption) when no question of a flow is waiting is asked "Send this to the
study team?" with Yes and No:

- Yes files it as a patient report through the report service (category
  "other", severity and onset not asked; a photo kept with the report as its
  channel's file id), the patient gets the report's number, and staff get the
  usual alert (``/reports R<number>`` shows the photo again);
- No stores nothing.

The words are not read for symptoms: the bot makes no diagnosis, whatever
they say. Every answer names ``/report`` (the guided report, whose red flags
get the emergency instructions at once) and the protocol file's emergency
number, in the patient's language.

The message waits in the ``conversation`` table (flow ``offer``) until Yes
or No, so a restart loses nothing. Only the latest offer's buttons count: a
new message while one waits is offered in its place.

Source: the requirement ("A patient's free text (or a photo with a caption)
that is not an answer to a question is offered as a report ... every reply
points to /report and the emergency number in the patient's language") and
docs/clinical-facts.md §6 (the emergency instructions come from the
protocol file).
"""

from __future__ import annotations

import logging
from typing import Final

from bot.context import Ctx
from bot.conversations import flows
from bot.conversations.events import FileRef
from bot.conversations.feature import Feature
from bot.handlers.report import (
    MAX_DETAILS_CHARS,
    NOT_EMERGENCY,
    WITH_PHOTO,
    record_alert,
    report_files,
    tell_patient,
)
from bot.i18n import Translator
from bot.roles import Role
from core.messages import N_
from core.store.models import AttachmentKind
from core.store.reports import file_written_report

log = logging.getLogger(__name__)

FLOW: Final = "offer"
STEP: Final = "confirm"
YES_TOKEN: Final = "offer:yes"
NO_TOKEN: Final = "offer:no"
CALLBACK_PATTERN: Final = r"^offer:"

ASK = N_("Send this to the study team?")
YES = N_("Yes")
NO = N_("No")
POINTER = N_("To report a symptom or side effect step by step, use /report.")
NOT_SENT = N_("Not sent. Nothing was stored.")
TOO_LONG = N_(
    "Your message is {length} characters long; a report to the study team can hold "
    "{limit}. Please send it in shorter parts."
)
SENT = N_("Thank you. Your report number {number} has been sent to the study team.")
WRITTEN = N_(
    "The patient wrote this to the bot directly, not through /report: no category, "
    "severity or onset was asked."
)


def with_pointer(ctx: Ctx, text: str) -> str:
    """``text``, then where to report step by step and the emergency number."""
    t = ctx.t
    emergency = ctx.services.protocol.site.emergency_number
    return "\n".join([text, t._(POINTER), t._(NOT_EMERGENCY, emergency=emergency)])


async def offer(ctx: Ctx, text: str) -> None:
    """The patient's message outside any question: ask whether to send it.

    Too long a message is refused before anything is kept (the limit of the
    report's own words, :data:`bot.handlers.report.MAX_DETAILS_CHARS`).
    """
    words = text.strip()
    file = ctx.inbound.file
    t = ctx.t
    if len(words) > MAX_DETAILS_CHARS:
        await ctx.reply(
            with_pointer(ctx, t._(TOO_LONG, length=len(words), limit=MAX_DETAILS_CHARS))
        )
        return
    buttons = [[(t._(YES), YES_TOKEN), (t._(NO), NO_TOKEN)]]
    message = await ctx.reply(with_pointer(ctx, t._(ASK)), buttons)
    with ctx.uow() as uow:
        # Every key is written, so an earlier offer's photo is not carried over.
        flows.move_to(
            uow,
            ctx.person.key,
            FLOW,
            STEP,
            message_id=message.message,
            text=words or None,
            file_kind=None if file is None else file.kind.value,
            file_id=None if file is None else file.id,
        )


async def pressed(ctx: Ctx) -> None:
    """Yes or No under the latest offer; any other press is stale and changes nothing."""
    step = flows.current(ctx.services.engine, ctx.person.key)
    message = ctx.inbound.message
    token = ctx.inbound.token
    if (
        ctx.person.role != Role.PATIENT
        or step is None
        or step.flow != FLOW
        or message is None
        or message.message != str(step.data.get("message_id"))
        or token not in (YES_TOKEN, NO_TOKEN)
    ):
        await ctx.toast(ctx.t._("This button is no longer valid."))
        return
    await ctx.toast()
    await ctx.remove_options()
    if token == NO_TOKEN:
        with ctx.uow("the patient chose not to send it") as uow:
            flows.finish(uow, ctx.person.key)
        await ctx.reply(with_pointer(ctx, ctx.t._(NOT_SENT)))
        return
    await _send(ctx, step.data)


async def _send(ctx: Ctx, data: dict[str, object]) -> None:
    """Yes: file the report, tell the patient its number, alert staff."""
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    text = data.get("text")
    words = text if isinstance(text, str) else None
    kind, file_id = data.get("file_kind"), data.get("file_id")
    file = (
        FileRef(AttachmentKind(kind), file_id)
        if isinstance(kind, str) and isinstance(file_id, str)
        else None
    )
    files = report_files(ctx, file)
    with ctx.uow("the patient sent their message to the study team") as uow:
        report = file_written_report(uow, patient.id, words, files)
        flows.finish(uow, ctx.person.key)
    number = report.id
    assert number is not None
    now = report.created_at
    log.info("report %d from %s: written to the bot", number, patient.study_id)
    await tell_patient(ctx, with_pointer(ctx, ctx.t._(SENT, number=number)))

    def alert(t: Translator) -> str:
        lines = [
            t._(
                "New patient report {number} from {study_id} ({when}).",
                number=number,
                study_id=patient.study_id,
                when=t.datetime(now),
            ),
            t._(WRITTEN),
            t._("In the patient's words: {text}", text=words)
            if words
            else t._("The patient gave no description."),
        ]
        if files:
            lines.append(t._(WITH_PHOTO, number=number))
        return "\n".join(lines)

    sent = await ctx.router.alert_staff(alert)
    record_alert(ctx, number, sent, urgent=False)


FEATURE = Feature(
    "messages offered as reports",
    options=[(CALLBACK_PATTERN, pressed)],
    text_steps={(FLOW, STEP): offer},
    free_text={Role.PATIENT: offer},
)
