"""/calendar: the patient's study events as a calendar file for their phone."""

from __future__ import annotations

import logging

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.views.calendar import FILE_NAME, build_calendar
from core.store.db import read_session
from core.store.services import events_of_patient

log = logging.getLogger(__name__)


async def send_calendar(ctx: Ctx) -> None:
    """/calendar: the patient's own events (only theirs) as ``trial-calendar.ics``.

    Requirement: "an ``.ics`` file (icalendar) with stable UIDs, alarms, and no
    medical detail or name in event titles"; see :mod:`bot.views.calendar`.
    """
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    with read_session(ctx.services.engine) as session:
        events = events_of_patient(session, patient.id)
    data = build_calendar(
        ctx.t,
        events,
        patient_id=patient.id,
        stamp=ctx.now(),
        zone=ctx.services.zone,
        evening=ctx.services.protocol.reminders.evening_before,
    )
    caption = ctx.t._(
        "Your study calendar. Open the file to add your study appointments to your phone's "
        "calendar. The entries name no treatment or test: the details stay here in the bot."
    )
    await ctx.send_file(data, FILE_NAME, caption)
    log.info("calendar sent to %s", ctx.person.label)


FEATURE = Feature("calendar", commands={"calendar": send_calendar})
