"""A patient presses a button under a reminder: record it once, against that reminder.

Requirement: "the bot records each press against the right reminder, and a second
press changes nothing". A press counts only when it comes from the patient
the reminder belongs to, names one of that slot's choices, and the reminder
went out (``sent``, or ``uncertain``: it may have arrived). The first answer
is kept; any later press on that reminder (a resent copy, another button)
only says what was recorded. "I need another day" and "Something went
wrong" tell the study team.
"""

from __future__ import annotations

import logging

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.texts import EVENT_TITLES
from bot.views.reminder import (
    ALERTS_STAFF,
    SLOT_CHOICES,
    URINE_SPOILED,
    Choice,
    choice_label,
    contact_lines,
    parse_callback,
)
from core.messages import N_
from core.store.reminder_answers import Answer as Press
from core.store.reminder_answers import Outcome, record_reminder_answer

__all__ = ["FEATURE", "Outcome", "Press", "record_press", "reminder_pressed"]

log = logging.getLogger(__name__)

NOT_VALID = N_("This button is no longer valid.")


def record_press(ctx: Ctx, reminder_id: int, choice: Choice) -> Press:
    """Record ``choice`` on the reminder, once, in one audited transaction
    (:func:`core.store.reminder_answers.record_reminder_answer`)."""
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    with ctx.uow() as uow:
        return record_reminder_answer(
            uow,
            patient.id,
            reminder_id,
            choice.value,
            choices=SLOT_CHOICES,
            doses_taken=choice == Choice.TAKEN,
        )


async def reminder_pressed(ctx: Ctx) -> None:
    """A ``rem:<reminder id>:<choice>`` button."""
    parsed = parse_callback(ctx.inbound.token or "")
    if parsed is None or ctx.person.patient is None:
        await ctx.toast(ctx.t._(NOT_VALID))
        return
    reminder_id, choice = parsed
    press = record_press(ctx, reminder_id, choice)
    if press.outcome == Outcome.NOT_YOURS:
        ctx.refuse_and_log(f"reminder {reminder_id}")
        await ctx.toast(ctx.t._(NOT_VALID))
        return
    if press.outcome == Outcome.STALE:
        log.info("stale button on reminder %d from %s", reminder_id, ctx.person.label)
        await ctx.toast(ctx.t._(NOT_VALID))
        return
    if press.outcome == Outcome.ALREADY:
        assert press.response is not None
        label = choice_label(ctx.t, press.response)
        await ctx.toast(ctx.t._("Already recorded: {answer}.", answer=label))
        await ctx.remove_options()
        return
    log.info("reminder %d answered %s by %s", reminder_id, choice, ctx.person.label)
    await ctx.toast(ctx.t._("Thank you, recorded."))
    await ctx.remove_options()
    if choice in ALERTS_STAFF:
        await _tell_patient(ctx, choice)
        await _alert_team(ctx, press)


async def _tell_patient(ctx: Ctx, choice: Choice) -> None:
    """What happens next; for a spoiled collection, docs/clinical-facts.md §7: tell the
    study team, who may restart it. Both with the site's contacts (protocol file)."""
    t = ctx.t
    if choice == Choice.LATER:
        lines = [
            t._(
                "Thank you. The study team has been told and will contact you to agree on "
                "another day."
            )
        ]
    else:
        lines = [t._("Please tell the study team what went wrong."), t._(URINE_SPOILED)]
        lines.append(t._("The study team has been told as well."))
    lines += contact_lines(t, ctx.services.protocol)
    await ctx.reply("\n".join(lines))


async def _alert_team(ctx: Ctx, press: Press) -> None:
    patient = ctx.person.patient
    assert patient is not None
    assert press.kind is not None
    assert press.starts_at is not None
    study_id = patient.study_id
    kind, number, starts_at = press.kind, press.number, press.starts_at

    def later(t: Translator) -> str:
        return t._(
            "Patient {study_id} needs another day for {event} on {when}. Please contact them "
            "to book a new date within the window.",
            study_id=study_id,
            event=t._(EVENT_TITLES[kind], number=number),
            when=t.datetime(starts_at),
        )

    def problem(t: Translator) -> str:
        return t._(
            "Patient {study_id} reports that something went wrong with {event}, which started "
            "{when}. Please contact them: the collection may need to be restarted.",
            study_id=study_id,
            event=t._(EVENT_TITLES[kind], number=number),
            when=t.datetime(starts_at),
        )

    make_text = later if press.response == Choice.LATER else problem
    sent = await ctx.router.alert_staff(make_text)
    log.info("reminder answer %s of %s: %d staff alerted", press.response, study_id, sent)


FEATURE = Feature("reminder answers", options=[(r"^rem:", reminder_pressed)])
