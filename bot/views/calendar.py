"""A patient's study calendar as an iCalendar (``.ics``) file.

Requirement: "``/calendar``: an ``.ics`` file (icalendar) with stable UIDs, alarms,
and no medical detail or name in event titles". A phone's calendar is seen by
other people and other apps, so an entry says only "Study appointment" or
"Study task at home", in the patient's language: no drug, no diagnosis, no
test, no name, no study ID. The details stay in the bot.

The builder is pure: it takes the event rows, the instant to stamp, the time
zone and a translator, and returns bytes. No database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event
from icalendar.enums import STATUS

from bot.i18n import Translator
from core.messages import N_
from core.schedule import EventKind
from core.store.models import EventStatus, PlannedEventRow

PRODID = "-//lupus-trial-bot//study calendar//EN"
FILE_NAME = "trial-calendar.ics"

# Assessments on the same day are one visit: one calendar entry.
_VISIT_KINDS = (EventKind.RENAL_ASSESSMENT, EventKind.SLEDAI, EventKind.CD20)
_KIND_ORDER = {kind: i for i, kind in enumerate(EventKind)}


class EntryKind(StrEnum):
    APPOINTMENT = "appointment"  # at the site: an infusion or a visit
    HOME_TASK = "home_task"  # at home: the 24-hour urine collection


ENTRY_TITLES: dict[EntryKind, str] = {
    EntryKind.APPOINTMENT: N_("Study appointment"),
    EntryKind.HOME_TASK: N_("Study task at home"),
}
CALENDAR_NAME = N_("Study calendar")
DETAILS = N_("See the study bot for details.")


@dataclass(frozen=True, slots=True)
class CalendarOptions:
    """How long the calendar blocks for an appointment (the plan stores only its start).

    Choices, not protocol rules: an infusion runs 1 hour (label) plus
    preparation and observation; a fasting visit is a blood draw and a talk.
    """

    infusion_minutes: int = 120
    visit_minutes: int = 60


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One calendar entry: ``anchor_id`` is the event row its UID is made from.

    ``sequence`` is how many times it was moved (RFC 5545 SEQUENCE);
    ``cancelled`` entries stay in the file so a phone that has them removes them.
    """

    anchor_id: int
    kind: EntryKind
    starts_at: datetime
    ends_at: datetime
    sequence: int = 0
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class SiteDetails:
    """What every entry says about the site: the domain of its UIDs, where, whom to call."""

    domain: str
    location: str
    contacts: tuple[str, ...]


def entry_uid(anchor_id: int, domain: str) -> str:
    """A UID that is the same every time the file is made, and names no one.

    RFC 5545 section 3.8.4.7: UIDs are globally unique and persistent; built
    from the event row id (unique across patients) and the site's domain
    (protocol ``site.calendar_domain``), so a calendar app that imports the
    file again updates the entry in place.
    """
    return f"event-{anchor_id}@{domain}"


def calendar_entries(
    events: Iterable[PlannedEventRow], options: CalendarOptions = CalendarOptions()
) -> list[CalendarEntry]:
    """The entries of a patient's calendar, in time order.

    Appointments and tasks only: each belimumab infusion, each visit day (one
    entry even when a renal assessment, a SLEDAI-2K and a CD20 count share
    it: the patient comes once) and each 24-hour urine collection from its
    start to its end. Daily oral doses and the methylprednisolone pulse (given
    on the ward) are not entries. A cancelled event is an entry marked
    cancelled, so a phone that took it removes it. A visit's UID comes from
    its first live event in the order renal, SLEDAI, CD20, so it stays the
    same while that event stays on that day; a visit is cancelled only when
    all of its events are.
    """
    entries: list[CalendarEntry] = []
    visits: dict[date, list[PlannedEventRow]] = {}
    for event in events:
        if event.id is None:
            continue
        cancelled = event.status == EventStatus.CANCELLED
        if event.kind == EventKind.BELIMUMAB_INFUSION:
            end = event.starts_at + timedelta(minutes=options.infusion_minutes)
            entries.append(
                CalendarEntry(
                    event.id,
                    EntryKind.APPOINTMENT,
                    event.starts_at,
                    end,
                    event.sequence,
                    cancelled,
                )
            )
        elif event.kind == EventKind.URINE_COLLECTION:
            end = event.ends_at or event.starts_at + timedelta(hours=24)
            entries.append(
                CalendarEntry(
                    event.id, EntryKind.HOME_TASK, event.starts_at, end, event.sequence, cancelled
                )
            )
        elif event.kind in _VISIT_KINDS:
            visits.setdefault(event.scheduled_date, []).append(event)
    for members in visits.values():
        live = [e for e in members if e.status != EventStatus.CANCELLED] or members
        anchor = min(live, key=lambda e: (_KIND_ORDER[e.kind], e.id or 0))
        assert anchor.id is not None
        start = min(e.starts_at for e in live)
        end = start + timedelta(minutes=options.visit_minutes)
        sequence = max(e.sequence for e in members)
        cancelled = all(e.status == EventStatus.CANCELLED for e in members)
        entries.append(
            CalendarEntry(anchor.id, EntryKind.APPOINTMENT, start, end, sequence, cancelled)
        )
    entries.sort(key=lambda entry: (entry.starts_at, entry.anchor_id))
    return entries


def withdrawn_entries(entries: Iterable[CalendarEntry], since: datetime) -> list[CalendarEntry]:
    """A withdrawn patient's entries: those from ``since`` on are cancelled, one SEQUENCE up.

    The patient left the study, so no appointment of theirs holds any more;
    what happened before stays as it was. The higher SEQUENCE makes a phone
    that holds the entry take the cancellation (RFC 5545 section 3.8.7.4).
    """
    return [
        replace(entry, cancelled=True, sequence=entry.sequence + 1)
        if entry.starts_at >= since and not entry.cancelled
        else entry
        for entry in entries
    ]


def _evening_before(start: datetime, zone: ZoneInfo, evening: time) -> timedelta:
    """The alarm offset that rings at ``evening`` on the day before ``start`` (local)."""
    local = start.astimezone(zone)
    eve = datetime.combine(local.date() - timedelta(days=1), evening, tzinfo=zone)
    return eve - local


def _alarm(text: str, trigger: timedelta, *, related_end: bool = False) -> Alarm:
    alarm = Alarm.new(description=text)
    alarm.add("action", "DISPLAY")
    if related_end:
        alarm.add("trigger", trigger, parameters={"RELATED": "END"})
    else:
        alarm.add("trigger", trigger)
    return alarm


def build_calendar(
    t: Translator,
    entries: Iterable[CalendarEntry],
    *,
    patient_id: int,
    stamp: datetime,
    zone: ZoneInfo,
    evening: time,
    site: SiteDetails,
) -> bytes:
    """The ``.ics`` file of ``entries`` (:func:`calendar_entries`), in the reader's language.

    RFC 5545: VERSION and PRODID on the calendar; UID, DTSTAMP (``stamp``,
    the injected clock, so the same state gives the same file), DTSTART and
    DTEND with TZID ``zone`` (its VTIMEZONE included) on each event. Each
    entry rings the evening before at ``evening`` (the bot's own evening
    reminder time, protocol ``reminders.evening_before``); the home task also
    rings when it starts and when it ends. The titles are generic (see the
    module docstring); the 24-hour task does not block the patient's day.
    Each entry carries its SEQUENCE; an appointment, the site's LOCATION;
    every description, the site's phone numbers (protocol ``[site]``). A
    cancelled entry is ``STATUS:CANCELLED`` without alarms, so it neither
    rings nor stays on the phone.
    """
    cal = Calendar.new(
        prodid=PRODID,
        uid=f"calendar-{patient_id}@{site.domain}",
        name=t._(CALENDAR_NAME),
    )
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    details = "\n".join([t._(DETAILS), *site.contacts])
    for entry in entries:
        title = t._(ENTRY_TITLES[entry.kind])
        vevent = Event.new(
            uid=entry_uid(entry.anchor_id, site.domain),
            stamp=stamp,
            start=entry.starts_at.astimezone(zone),
            end=entry.ends_at.astimezone(zone),
            summary=title,
            description=details,
            sequence=entry.sequence,
            location=site.location if entry.kind == EntryKind.APPOINTMENT else None,
            status=STATUS.CANCELLED if entry.cancelled else None,
        )
        if entry.cancelled:
            cal.add_component(vevent)
            continue
        vevent.add_component(_alarm(title, _evening_before(entry.starts_at, zone, evening)))
        if entry.kind == EntryKind.HOME_TASK:
            vevent.add("transp", "TRANSPARENT")
            vevent.add_component(_alarm(title, timedelta(0)))
            vevent.add_component(_alarm(title, timedelta(0), related_end=True))
        cal.add_component(vevent)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
