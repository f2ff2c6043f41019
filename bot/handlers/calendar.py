"""/calendar: the patient's study events as a calendar file for their phone."""

from __future__ import annotations

import logging

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.views.calendar import (
    FILE_NAME,
    SiteDetails,
    build_calendar,
    calendar_entries,
    withdrawn_entries,
)
from bot.views.reminder import contact_entries
from core.store.db import read_session
from core.store.services import events_of_patient

log = logging.getLogger(__name__)


async def send_calendar(ctx: Ctx) -> None:
    """/calendar: the patient's own events (only theirs) as ``trial-calendar.ics``.

    Requirement: "an ``.ics`` file (icalendar) with stable UIDs, alarms, and no
    medical detail or name in event titles"; "cancelled and moved events are
    emitted with ``STATUS:CANCELLED`` or a higher ``SEQUENCE`` so phones
    update; ``LOCATION`` and the site's phone from the protocol file; UIDs
    under a domain set by the site"; see :mod:`bot.views.calendar`. A
    withdrawn patient's file cancels every appointment from now on.
    """
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    services = ctx.services
    with read_session(services.engine) as session:
        entries = calendar_entries(events_of_patient(session, patient.id))
    now = ctx.now()
    if ctx.person.withdrawn:
        entries = withdrawn_entries(entries, now)
    site = SiteDetails(
        domain=services.calendar_domain,
        location=services.protocol.site.location,
        contacts=tuple(contact_entries(ctx.t, services.protocol)),
    )
    data = build_calendar(
        ctx.t,
        entries,
        patient_id=patient.id,
        stamp=now,
        zone=services.zone,
        evening=services.protocol.reminders.evening_before,
        site=site,
    )
    if ctx.person.withdrawn:
        caption = ctx.t._(
            "Open this file to take your study appointments off your phone's calendar: "
            "you have left the study, so they no longer hold."
        )
    else:
        caption = ctx.t._(
            "Your study calendar. Open the file to add your study appointments to your "
            "phone's calendar. The entries name no treatment or test: the details stay "
            "here in the bot."
        )
    await ctx.send_file(data, FILE_NAME, caption)
    log.info("calendar sent to %s", ctx.person.label)


FEATURE = Feature("calendar", commands={"calendar": send_calendar})
