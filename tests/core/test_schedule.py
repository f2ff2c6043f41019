"""The study calendar: anchored to day 0, reminders before their events and out of quiet hours."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.messages import RuleError
from core.protocol import BUNDLED_PROTOCOL, Protocol, parse_protocol
from core.schedule import (
    Enrollment,
    EventKind,
    Plan,
    Slot,
    move_event,
    plan,
    reminders_for_event,
)

SHANGHAI = "Asia/Shanghai"
ZONES = [
    "Asia/Shanghai",
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
]
BUNDLED = BUNDLED_PROTOCOL.read_text(encoding="utf-8")

days0 = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
arms = st.sampled_from(["belimumab_mt", "mt_only"])
zones = st.sampled_from(ZONES)


def weeks_of(p: Plan, kind: EventKind, day0: date) -> list[int]:
    out = []
    for e in p.events:
        if e.kind == kind:
            assert (e.target_date - day0).days % 7 == 0, "anchored to whole weeks from day 0"
            out.append((e.target_date - day0).days // 7)
    return out


@given(day0=days0, arm=arms, zone=zones)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_belimumab_only_in_its_arm_at_weeks_2_4_6_10_14_18_22(
    protocol: Protocol, day0: date, arm: str, zone: str
) -> None:
    p = plan(protocol, Enrollment(arm, day0, zone))
    expected = [2, 4, 6, 10, 14, 18, 22] if arm == "belimumab_mt" else []
    assert weeks_of(p, EventKind.BELIMUMAB_INFUSION, day0) == expected
    assert weeks_of(p, EventKind.RENAL_ASSESSMENT, day0) == [0, 4, 8, 12, 16, 20, 24]
    assert weeks_of(p, EventKind.SLEDAI, day0) == [0, 12, 24]
    assert weeks_of(p, EventKind.CD20, day0) == [0, 4, 12, 24]
    for event in p.events:
        if event.kind == EventKind.BELIMUMAB_INFUSION:
            assert (event.window_start, event.window_end) == (
                event.target_date - timedelta(days=3),
                event.target_date + timedelta(days=3),
            )
            assert event.starts_at.astimezone(ZoneInfo(zone)).time() == time(9, 0)


@given(day0=days0, arm=arms, zone=zones)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_renal_assessment_is_preceded_by_a_24_hour_collection(
    protocol: Protocol, day0: date, arm: str, zone: str
) -> None:
    p = plan(protocol, Enrollment(arm, day0, zone))
    for visit in (e for e in p.events if e.kind == EventKind.RENAL_ASSESSMENT):
        collection = p.event(EventKind.URINE_COLLECTION, visit.number)
        assert collection.ends_at is not None
        assert collection.ends_at - collection.starts_at == timedelta(hours=24)
        assert collection.ends_at <= visit.starts_at
        assert collection.ends_at.astimezone(ZoneInfo(zone)).date() == visit.target_date


def _check_reminder_invariants(p: Plan, protocol: Protocol, zone: str) -> None:
    quiet = protocol.quiet_hours
    events = {e.key: e for e in p.events}
    assert len({(r.event_key, r.slot) for r in p.reminders}) == len(p.reminders), "one per slot"
    for r in p.reminders:
        event = events[r.event_key]
        local = r.due.astimezone(ZoneInfo(zone))
        assert not quiet.contains(local.time()), f"{r} falls in quiet hours at {local}"
        assert r.due <= r.announces, f"{r} after what it announces"
        assert r.announces in (event.starts_at, event.ends_at) or event.kind == EventKind.ORAL_DOSE
        assert r.due.utcoffset() == timedelta(0), "stored in UTC"
    assert [r.due for r in p.reminders] == sorted(r.due for r in p.reminders)


@given(day0=days0, arm=arms, zone=zones, doses=st.booleans())
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_reminder_in_quiet_hours_or_after_its_event(
    protocol: Protocol, day0: date, arm: str, zone: str, doses: bool
) -> None:
    _check_reminder_invariants(plan(protocol, Enrollment(arm, day0, zone, doses)), protocol, zone)


minutes = st.integers(min_value=0, max_value=24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@given(
    day0=days0,
    zone=zones,
    quiet_start=minutes,
    quiet_end=minutes,
    evening=minutes,
    morning=minutes,
    dose=minutes,
)
@settings(max_examples=150, deadline=None)
def test_invariants_hold_for_any_valid_protocol(
    day0: date,
    zone: str,
    quiet_start: time,
    quiet_end: time,
    evening: time,
    morning: time,
    dose: time,
) -> None:
    """Any site's valid choices keep the invariants, in zones with daylight saving too."""
    text = (
        BUNDLED.replace('start = "22:00"', f'start = "{quiet_start:%H:%M}"')
        .replace('end = "07:00"', f'end = "{quiet_end:%H:%M}"')
        .replace('evening_before = "20:00"', f'evening_before = "{evening:%H:%M}"')
        .replace('infusion_morning = "07:00"', f'infusion_morning = "{morning:%H:%M}"')
        .replace('dose_times = ["08:00", "20:00"]', f'dose_times = ["{dose:%H:%M}"]')
    )
    try:
        protocol = parse_protocol(text)
    except Exception:
        return  # an invalid choice is refused on load (tested in test_protocol)
    p = plan(protocol, Enrollment("belimumab_mt", day0, zone, True))
    _check_reminder_invariants(p, protocol, zone)


@given(day0=days0, arm=arms, zone=zones, doses=st.booleans())
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_same_input_same_plan(
    protocol: Protocol, day0: date, arm: str, zone: str, doses: bool
) -> None:
    enrollment = Enrollment(arm, day0, zone, doses)
    assert plan(protocol, enrollment) == plan(protocol, enrollment)


def test_reminders_of_a_belimumab_patient(protocol: Protocol) -> None:
    p = plan(protocol, Enrollment("belimumab_mt", date(2026, 12, 1), SHANGHAI))
    slots = Counter(r.slot for r in p.reminders)
    assert slots[Slot.INFUSION_EVENING_BEFORE] == slots[Slot.INFUSION_MORNING] == 7
    assert slots[Slot.URINE_INSTRUCTIONS] == slots[Slot.URINE_START] == slots[Slot.URINE_END] == 7
    assert slots[Slot.VISIT_EVENING_BEFORE] == 7  # one per visit, not one per assessment
    zone = ZoneInfo(SHANGHAI)

    def local(slot: Slot, key: str) -> datetime:
        (r,) = [r for r in p.reminders if r.slot == slot and r.event_key == key]
        return r.due.astimezone(zone).replace(tzinfo=None)

    # Infusion 1 on 2026-12-15 (week 2) at 09:00.
    assert local(Slot.INFUSION_EVENING_BEFORE, "belimumab_infusion:1") == datetime(
        2026, 12, 14, 20, 0
    )
    assert local(Slot.INFUSION_MORNING, "belimumab_infusion:1") == datetime(2026, 12, 15, 7, 0)
    # Week-24 visit on 2027-05-18: collection from 05-17 07:00 to 05-18 07:00.
    assert local(Slot.URINE_INSTRUCTIONS, "urine_collection:7") == datetime(2027, 5, 16, 20, 0)
    assert local(Slot.URINE_START, "urine_collection:7") == datetime(2027, 5, 17, 7, 0)
    assert local(Slot.URINE_END, "urine_collection:7") == datetime(2027, 5, 18, 7, 0)
    assert local(Slot.VISIT_EVENING_BEFORE, "renal_assessment:7") == datetime(2027, 5, 17, 20, 0)


def test_control_arm_has_no_infusion_reminders(protocol: Protocol) -> None:
    p = plan(protocol, Enrollment("mt_only", date(2026, 12, 1), SHANGHAI))
    assert not [r for r in p.reminders if r.event_kind == EventKind.BELIMUMAB_INFUSION]
    assert not [e for e in p.events if e.kind == EventKind.BELIMUMAB_INFUSION]


def test_daily_doses_only_when_opted_in_and_after_the_draw_on_lab_days(protocol: Protocol) -> None:
    day0 = date(2026, 12, 1)
    without = plan(protocol, Enrollment("mt_only", day0, SHANGHAI, False))
    assert not [r for r in without.reminders if r.event_kind == EventKind.ORAL_DOSE]
    p = plan(protocol, Enrollment("mt_only", day0, SHANGHAI, True))
    doses = [r for r in p.reminders if r.event_kind == EventKind.ORAL_DOSE]
    assert len({r.event_number for r in doses}) == 24 * 7
    zone = ZoneInfo(SHANGHAI)
    lab_days = {day0 + timedelta(weeks=w) for w in (0, 4, 8, 12, 16, 20)}  # week 24 is day 168
    for r in doses:
        local = r.due.astimezone(zone)
        if local.date() in lab_days and local.hour < 12:
            assert r.slot == Slot.DOSE_AFTER_DRAW and local.time() == time(9, 0)
        elif local.hour < 12:
            assert r.slot == Slot.DOSE_1 and local.time() == time(8, 0)
        else:
            assert r.slot == Slot.DOSE_2 and local.time() == time(20, 0)
    assert sum(r.slot == Slot.DOSE_AFTER_DRAW for r in doses) == len(lab_days)


def test_past_day0_still_plans_from_day0(protocol: Protocol) -> None:
    # A patient already on study: the plan is the protocol's, whatever today is.
    p = plan(protocol, Enrollment("belimumab_mt", date(2026, 7, 1), SHANGHAI))
    assert p.event(EventKind.BELIMUMAB_INFUSION, 4).target_date == date(2026, 9, 9)


@pytest.mark.parametrize(
    ("enrollment", "message"),
    [
        (
            Enrollment("placebo", date(2026, 12, 1), SHANGHAI),
            "Unknown arm placebo; expected one of: belimumab_mt, mt_only.",
        ),
        (
            Enrollment("mt_only", date(2026, 12, 1), "Mars/Olympus"),
            "Unknown time zone Mars/Olympus",
        ),
    ],
)
def test_bad_enrollment_is_refused(
    protocol: Protocol, enrollment: Enrollment, message: str
) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(")) as caught:
        plan(protocol, enrollment)
    assert caught.value.msgid.startswith("Unknown")


def test_moving_an_event_keeps_the_anchor_and_recomputes_its_reminders(protocol: Protocol) -> None:
    p = plan(protocol, Enrollment("belimumab_mt", date(2026, 12, 1), SHANGHAI))
    infusion = p.event(EventKind.BELIMUMAB_INFUSION, 3)  # week 6: 2027-01-12
    moved = move_event(infusion, date(2027, 1, 14), SHANGHAI)
    assert moved.target_date == infusion.target_date and moved.in_window(date(2027, 1, 14))
    assert not moved.in_window(date(2027, 1, 16))
    assert moved.starts_at - infusion.starts_at == timedelta(days=2)
    reminders = reminders_for_event(protocol, moved, SHANGHAI)
    zone = ZoneInfo(SHANGHAI)
    assert [r.due.astimezone(zone).replace(tzinfo=None) for r in reminders] == [
        datetime(2027, 1, 13, 20, 0),
        datetime(2027, 1, 14, 7, 0),
    ]
    # Later infusions stay where day 0 puts them.
    assert p.event(EventKind.BELIMUMAB_INFUSION, 4).target_date == date(2027, 2, 9)


def test_week_0_assessments_have_the_baseline_window(protocol: Protocol) -> None:
    """Baseline (week 0) renal panel, SLEDAI-2K and CD20: days -3 to 0, before the first
    MP pulse; later assessments +/- 3 days (docs/clinical-facts.md §2)."""
    day0 = date(2026, 12, 1)
    p = plan(protocol, Enrollment("belimumab_mt", day0, SHANGHAI))
    for kind in (EventKind.RENAL_ASSESSMENT, EventKind.SLEDAI, EventKind.CD20):
        baseline = p.event(kind, 1)
        assert (baseline.week, baseline.window_start, baseline.window_end) == (
            0,
            date(2026, 11, 28),
            day0,
        )
        later = p.event(kind, 2)
        assert (later.window_before, later.window_after) == (3, 3)
