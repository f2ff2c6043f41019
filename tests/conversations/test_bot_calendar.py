"""/calendar: the .ics file, parsed back with icalendar, end to end over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component
from sqlmodel import select

from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import EventStatus, InviteRole, PlannedEventRow
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import World
from tests.support.clinical_world import confirm

SHANGHAI = ZoneInfo("Asia/Shanghai")
STUDY_ID = "LN-0042"
# Words that would tell anyone who sees the phone's calendar what the patient has.
FORBIDDEN = ("belimumab", "贝利尤单抗", "urine", "尿", "lupus", "狼疮", "nephritis", "肾")
TITLES = {
    "en": {"appointment": "Study appointment", "home": "Study task at home"},
    "zh": {"appointment": "研究访视", "home": "研究居家任务"},
}


async def join(world: World, lang: str, arm: str = "belimumab_mt", study_id: str = STUDY_ID) -> int:
    world.enroll(study_id, arm=arm, day0=date(2026, 12, 1))
    if lang == "en":
        return await world.join_patient(study_id)
    return await world.join_patient(study_id, language_code="zh-hans", choose="中文")


async def ask_calendar(world: World, user: int) -> tuple[SentMessage, Calendar]:
    message = await world.say(user, "/calendar")
    assert message.method == "sendDocument"
    assert message.document is not None and message.document.data is not None
    assert message.document.file_name == "trial-calendar.ics"
    assert message.document.mime_type == "text/calendar"
    return message, Calendar.from_ical(message.document.data)


def vevents(cal: Calendar) -> list[Component]:
    return list(cal.walk("VEVENT"))


def seq(event: Component) -> int:
    sequence = event.decoded("SEQUENCE")
    assert isinstance(sequence, int)
    return sequence


def start_of(event: Component) -> datetime:
    start = event.decoded("DTSTART")
    assert isinstance(start, datetime) and start.tzinfo is not None
    return start


def end_of(event: Component) -> datetime:
    end = event.decoded("DTEND")
    assert isinstance(end, datetime)
    return end


def db_events(world: World, study_id: str = STUDY_ID) -> list[PlannedEventRow]:
    patient = world.patient(study_id)
    with read_session(world.services.engine) as session:
        query = select(PlannedEventRow).where(PlannedEventRow.patient_id == patient.id)
        return list(session.exec(query).all())


def starts(world: World, *kinds: EventKind) -> set[datetime]:
    return {e.starts_at for e in db_events(world) if e.kind in kinds}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_belimumab_arm_calendar_parses_back_with_generic_titles(
    world: World, lang: str
) -> None:
    user = await join(world, lang)
    message, cal = await ask_calendar(world, user)
    assert ("calendar" in message.shown) if lang == "en" else ("日程" in message.shown)
    assert str(cal["VERSION"]) == "2.0"
    assert "PRODID" in cal
    events = vevents(cal)
    # 7 infusions + 7 visit days (week 0 and 12 and 24 hold 2-3 assessments) + 7 collections.
    assert len(events) == 21
    titles = TITLES[lang]
    summaries = [str(e["SUMMARY"]) for e in events]
    assert summaries.count(titles["appointment"]) == 14
    assert summaries.count(titles["home"]) == 7

    appointments = {start_of(e) for e in events if str(e["SUMMARY"]) == titles["appointment"]}
    expected = starts(world, EventKind.BELIMUMAB_INFUSION) | starts(
        world, EventKind.RENAL_ASSESSMENT, EventKind.SLEDAI, EventKind.CD20
    )
    assert appointments == expected
    assert datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI) in appointments  # infusion 1, week 2
    home = sorted((start_of(e), end_of(e)) for e in events if str(e["SUMMARY"]) == titles["home"])
    collections = sorted(
        (e.starts_at, e.ends_at) for e in db_events(world) if e.kind == EventKind.URINE_COLLECTION
    )
    assert home == collections
    # The first collection runs 07:00 to 07:00 and ends on the morning of the week-0 visit.
    assert home[0] == (
        datetime(2026, 11, 30, 7, 0, tzinfo=SHANGHAI),
        datetime(2026, 12, 1, 7, 0, tzinfo=SHANGHAI),
    )

    for event in events:
        text = (str(event["SUMMARY"]) + " " + str(event.get("DESCRIPTION", ""))).lower()
        for word in (*FORBIDDEN, STUDY_ID.lower(), f"user{user}"):
            assert word not in text, (word, text)
        assert event.decoded("DTSTAMP") == world.clock.now()
        assert list(event.walk("VALARM")), f"no alarm on {event['UID']}"
    raw = message.document.data if message.document and message.document.data else b""
    assert STUDY_ID.encode() not in raw
    assert f"User{user}".encode() not in raw


async def test_uids_are_unique_and_the_same_on_a_second_calendar(world: World) -> None:
    user = await join(world, "en")
    _, first = await ask_calendar(world, user)
    world.clock.advance(timedelta(days=3))
    _, second = await ask_calendar(world, user)
    uids = [str(e["UID"]) for e in vevents(first)]
    assert len(set(uids)) == len(uids) == 21
    assert [str(e["UID"]) for e in vevents(second)] == uids
    assert all(STUDY_ID not in uid for uid in uids)
    # DTSTAMP is the bot's clock, not the wall clock.
    assert {e.decoded("DTSTAMP") for e in vevents(second)} == {world.clock.now()}


async def test_alarms_ring_the_evening_before_and_the_home_task_at_its_start(
    world: World,
) -> None:
    user = await join(world, "en")
    _, cal = await ask_calendar(world, user)
    for event in vevents(cal):
        start = start_of(event)
        triggers = [alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")]
        eve = (start + triggers[0]).astimezone(SHANGHAI)
        assert eve.date() == start.astimezone(SHANGHAI).date() - timedelta(days=1)
        assert (eve.hour, eve.minute) == (20, 0)
        if str(event["SUMMARY"]) == "Study task at home":
            assert timedelta(0) in triggers[1:]
            assert len(triggers) == 3  # evening before, start, end
        else:
            assert len(triggers) == 1


async def test_control_arm_has_no_infusions(world: World) -> None:
    user = await join(world, "en", arm="mt_only")
    _, cal = await ask_calendar(world, user)
    events = vevents(cal)
    assert len(events) == 14  # 7 visit days + 7 collections
    infusion_day = datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI)
    assert infusion_day not in {start_of(e) for e in events}
    appointments = [e for e in events if str(e["SUMMARY"]) == "Study appointment"]
    assert len(appointments) == 7
    assert {start_of(e).astimezone(SHANGHAI).hour for e in appointments} == {8}


async def test_a_cancelled_event_is_sent_cancelled_and_the_other_uids_stay(world: World) -> None:
    """A phone that took the entry removes it: STATUS:CANCELLED, one SEQUENCE up, no alarm."""
    user = await join(world, "en")
    _, before = await ask_calendar(world, user)
    infusion = next(
        e for e in db_events(world) if e.kind == EventKind.BELIMUMAB_INFUSION and e.number == 3
    )
    with UnitOfWork(world.services.engine, "staff:1", world.clock.now()) as uow:
        row = uow.session.get(PlannedEventRow, infusion.id)
        assert row is not None
        uow.update(row, "event.cancelled", status=EventStatus.CANCELLED, sequence=1)
    _, after = await ask_calendar(world, user)
    before_uids = {str(e["UID"]): start_of(e) for e in vevents(before)}
    after_events = {str(e["UID"]): e for e in vevents(after)}
    assert set(after_events) == set(before_uids)
    cancelled = [uid for uid, e in after_events.items() if str(e.get("STATUS")) == "CANCELLED"]
    assert len(cancelled) == 1
    gone = after_events[cancelled[0]]
    assert start_of(gone) == infusion.starts_at
    assert seq(gone) == 1
    assert not list(gone.walk("VALARM"))
    assert all(
        start_of(e) == before_uids[uid] and seq(e) == 0
        for uid, e in after_events.items()
        if uid not in cancelled
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_moved_infusion_keeps_its_uid_with_a_higher_sequence(
    world: World, lang: str
) -> None:
    """RFC 5545: a phone replaces an entry only when its SEQUENCE is higher."""
    user = await join(world, lang)
    _, before = await ask_calendar(world, user)
    third = next(
        e for e in db_events(world) if e.kind == EventKind.BELIMUMAB_INFUSION and e.number == 3
    )
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    new_day = third.scheduled_date + timedelta(days=2)
    preview = await world.say(coordinator, f"/reschedule {STUDY_ID} infusion 3 {new_day}")
    await confirm(world, coordinator, preview)
    _, after = await ask_calendar(world, user)
    moved = next(e for e in db_events(world) if e.id == third.id)
    assert moved.scheduled_date == new_day and moved.sequence == 1
    old = {str(e["UID"]): e for e in vevents(before)}
    new = {str(e["UID"]): e for e in vevents(after)}
    assert set(old) == set(new)
    changed = [uid for uid in new if start_of(new[uid]) != start_of(old[uid])]
    assert len(changed) == 1
    entry = new[changed[0]]
    assert start_of(entry) == moved.starts_at
    assert seq(entry) == seq(old[changed[0]]) + 1 == 1
    assert "STATUS" not in entry


async def test_entries_name_the_site_its_phone_and_its_domain(world: World) -> None:
    site = world.services.protocol.site
    user = await join(world, "en")
    _, cal = await ask_calendar(world, user)
    for event in vevents(cal):
        uid = str(event["UID"])
        assert uid.startswith("event-") and uid.endswith("@" + site.calendar_domain)
        description = str(event["DESCRIPTION"])
        assert all(contact.phone in description for contact in site.contacts)
        if str(event["SUMMARY"]) == "Study appointment":
            assert str(event["LOCATION"]) == site.location
        else:
            assert "LOCATION" not in event  # the urine collection is done at home
    assert str(cal["UID"]).endswith("@" + site.calendar_domain)

    # A rehearsal's rows are numbered like production's: its UIDs must never meet them.
    world.services.rehearsal = True
    _, rehearsal = await ask_calendar(world, user)
    assert {str(e["UID"]).split("@")[1] for e in vevents(rehearsal)} == {
        "rehearsal." + site.calendar_domain
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_withdrawal_cancels_every_appointment_still_to_come(
    world: World, lang: str
) -> None:
    user = await join(world, lang)
    _, before = await ask_calendar(world, user)
    world.clock.advance(timedelta(days=30))
    now = world.clock.now()
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=lang)
    preview = await world.say(coordinator, f"/withdraw {STUDY_ID} moved to another city")
    await confirm(world, coordinator, preview)

    told = await world.say(user, "/help")
    assert "/calendar" in told.shown
    message, after = await ask_calendar(world, user)
    assert ("left the study" in message.shown) if lang == "en" else ("退出研究" in message.shown)
    old = {str(e["UID"]): e for e in vevents(before)}
    new = {str(e["UID"]): e for e in vevents(after)}
    assert set(new) == set(old)
    future = {uid for uid, e in old.items() if start_of(e) >= now}
    assert future and len(future) < len(old)
    for uid, entry in new.items():
        if uid in future:
            assert str(entry["STATUS"]) == "CANCELLED"
            assert seq(entry) == seq(old[uid]) + 1
            assert not list(entry.walk("VALARM"))
        else:
            assert "STATUS" not in entry and seq(entry) == seq(old[uid])
    # Nothing else opens to them: the next command is still refused.
    refused = await world.say(user, "/schedule")
    assert refused.method == "sendMessage" and refused.document is None


async def test_a_nurse_is_refused(world: World) -> None:
    nurse = await world.join_staff(InviteRole.NURSE, "en")
    answer = await world.say(nurse, "/calendar")
    assert answer.method == "sendMessage"
    assert "not available" in answer.shown
    assert all(m.document is None for m in world.api.messages_to(nurse))
