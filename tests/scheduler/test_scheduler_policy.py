"""The send-time re-check and the lateness rules, as a table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.protocol import QuietHours
from core.schedule import EventKind, Slot
from core.store.models import (
    Channel,
    EventStatus,
    Language,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    Sex,
)
from scheduler.policy import (
    MISSED_TOO_LATE,
    REPEAT_TOO_LATE,
    SKIP_ANSWERED,
    SKIP_NOT_JOINED,
    SKIP_UNREACHABLE,
    Backoff,
    Defer,
    Miss,
    PolicyOptions,
    Send,
    Skip,
    Verdict,
    decide,
)

SH = ZoneInfo("Asia/Shanghai")
INFUSION = datetime(2026, 12, 15, 9, 0, tzinfo=SH)
EVENING = datetime(2026, 12, 14, 20, 0, tzinfo=SH)
DOSE = datetime(2026, 12, 14, 8, 0, tzinfo=SH)
QUIET = QuietHours(start=time(22, 0), end=time(7, 0))


def _patient(**changes: object) -> Patient:
    values: dict[str, Any] = {
        "id": 1,
        "study_id": "P01",
        "arm": "belimumab_mt",
        "day0": date(2026, 12, 1),
        "sex": Sex.F,
        "weight_kg": "60",
        "language": Language.EN,
        "timezone": "Asia/Shanghai",
        "preferred_channel": Channel.TELEGRAM,
        "status": PatientStatus.ACTIVE,
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    values.update(changes)
    return Patient(**values)


def _event(**changes: object) -> PlannedEventRow:
    values: dict[str, Any] = {
        "id": 1,
        "patient_id": 1,
        "kind": EventKind.BELIMUMAB_INFUSION,
        "number": 2,
        "week": 2,
        "target_date": INFUSION.date(),
        "scheduled_date": INFUSION.date(),
        "window_before": 3,
        "window_after": 3,
        "starts_at": INFUSION,
        "status": EventStatus.PLANNED,
    }
    values.update(changes)
    return PlannedEventRow(**values)


def _reminder(
    due: datetime = EVENING, announces: datetime = INFUSION, **changes: object
) -> Reminder:
    values: dict[str, Any] = {
        "id": 1,
        "patient_id": 1,
        "event_id": 1,
        "slot": Slot.INFUSION_EVENING_BEFORE,
        "due_at": due,
        "announces_at": announces,
    }
    values.update(changes)
    return Reminder(**values)


CASES: list[tuple[str, Reminder, Patient, PlannedEventRow, datetime, Verdict]] = [
    ("on time", _reminder(), _patient(), _event(), EVENING, Send()),
    (
        "withdrawn",
        _reminder(),
        _patient(status=PatientStatus.WITHDRAWN),
        _event(),
        EVENING,
        Skip("patient withdrawn"),
    ),
    (
        "completed",
        _reminder(),
        _patient(status=PatientStatus.COMPLETED),
        _event(),
        EVENING,
        Skip("patient completed"),
    ),
    (
        "blocked the bot",
        _reminder(),
        _patient(unreachable_since=EVENING),
        _event(),
        EVENING,
        Skip(SKIP_UNREACHABLE),
    ),
    (
        "not joined",
        _reminder(),
        _patient(preferred_channel=None),
        _event(),
        EVENING,
        Skip(SKIP_NOT_JOINED),
    ),
    (
        "event done",
        _reminder(),
        _patient(),
        _event(status=EventStatus.DONE),
        EVENING,
        Skip("event done"),
    ),
    (
        "event cancelled",
        _reminder(),
        _patient(),
        _event(status=EventStatus.CANCELLED),
        EVENING,
        Skip("event cancelled"),
    ),
    (
        "event moved a day",
        _reminder(),
        _patient(),
        _event(scheduled_date=date(2026, 12, 16), starts_at=INFUSION + timedelta(days=1)),
        EVENING,
        Skip("event moved from 2026-12-15 to 2026-12-16"),
    ),
    (
        "event moved within the day: still that date",
        _reminder(),
        _patient(),
        _event(starts_at=INFUSION + timedelta(hours=4)),
        EVENING,
        Send(),
    ),
    (
        "already answered (a repeat after a press)",
        _reminder(response="yes", is_repeat=True),
        _patient(),
        _event(),
        EVENING,
        Skip(SKIP_ANSWERED),
    ),
    (
        "late but before the infusion",
        _reminder(),
        _patient(),
        _event(),
        INFUSION - timedelta(minutes=1),
        Send(),
    ),
    (
        "late, in the night, with no quiet hours configured",
        _reminder(),
        _patient(),
        _event(),
        datetime(2026, 12, 15, 6, 59, tzinfo=SH),
        Send(),
    ),
    (
        "after the infusion",
        _reminder(),
        _patient(),
        _event(),
        INFUSION + timedelta(minutes=31),
        Miss(MISSED_TOO_LATE),
    ),
    (
        "a repeat after the infusion stays uncertain",
        _reminder(is_repeat=True),
        _patient(),
        _event(),
        INFUSION + timedelta(minutes=31),
        Miss(REPEAT_TOO_LATE),
    ),
    (
        "dose 30 minutes late: the grace",
        _reminder(DOSE, DOSE, slot=Slot.DOSE_1),
        _patient(),
        _event(kind=EventKind.ORAL_DOSE, scheduled_date=DOSE.date(), starts_at=DOSE),
        DOSE + timedelta(minutes=30),
        Send(),
    ),
    (
        "dose 31 minutes late",
        _reminder(DOSE, DOSE, slot=Slot.DOSE_1),
        _patient(),
        _event(kind=EventKind.ORAL_DOSE, scheduled_date=DOSE.date(), starts_at=DOSE),
        DOSE + timedelta(minutes=31),
        Miss(MISSED_TOO_LATE),
    ),
    (
        "urine collection end: the next morning is the collection's date too",
        _reminder(
            datetime(2026, 12, 15, 7, 0, tzinfo=SH),
            datetime(2026, 12, 15, 7, 0, tzinfo=SH),
            slot=Slot.URINE_END,
        ),
        _patient(),
        _event(
            kind=EventKind.URINE_COLLECTION,
            scheduled_date=date(2026, 12, 14),
            starts_at=datetime(2026, 12, 14, 7, 0, tzinfo=SH),
            ends_at=datetime(2026, 12, 15, 7, 0, tzinfo=SH),
        ),
        datetime(2026, 12, 15, 7, 0, tzinfo=SH),
        Send(),
    ),
]


@pytest.mark.parametrize(
    ("reminder", "patient", "event", "now", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decide(
    reminder: Reminder, patient: Patient, event: PlannedEventRow, now: datetime, expected: Verdict
) -> None:
    assert decide(reminder, patient, event, now, PolicyOptions()) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            datetime(2026, 12, 14, 21, 59, tzinfo=SH), Send(), id="before the quiet hours"
        ),
        pytest.param(
            datetime(2026, 12, 14, 22, 0, tzinfo=SH),
            Defer(datetime(2026, 12, 15, 7, 0, tzinfo=SH)),
            id="at their start: wait for 07:00",
        ),
        pytest.param(
            datetime(2026, 12, 15, 3, 0, tzinfo=SH),
            Defer(datetime(2026, 12, 15, 7, 0, tzinfo=SH)),
            id="after midnight: wait for 07:00",
        ),
        pytest.param(datetime(2026, 12, 15, 7, 0, tzinfo=SH), Send(), id="at their end"),
    ],
)
def test_the_quiet_hours_hold_late_reminders(now: datetime, expected: Verdict) -> None:
    options = PolicyOptions(quiet_hours=QUIET)
    assert decide(_reminder(), _patient(), _event(), now, options) == expected


def test_a_quiet_wait_past_the_event_is_a_miss() -> None:
    early = datetime(2026, 12, 15, 6, 0, tzinfo=SH)
    event = _event(starts_at=early)
    reminder = _reminder(announces=early)
    now = datetime(2026, 12, 15, 3, 0, tzinfo=SH)
    options = PolicyOptions(quiet_hours=QUIET, late_grace=timedelta(minutes=10))
    assert decide(reminder, _patient(), event, now, options) == Miss(MISSED_TOO_LATE)


@pytest.mark.parametrize(
    ("blocked_at", "last_tried", "now", "expected"),
    [
        # The day they blocked the bot: nothing more that day (their calendar, not UTC's).
        (DOSE, None, EVENING, Skip(SKIP_UNREACHABLE)),
        (DOSE, DOSE, datetime(2026, 12, 14, 23, 59, tzinfo=SH), Skip(SKIP_UNREACHABLE)),
        # The next day's first reminder is their trial...
        (DOSE, DOSE, datetime(2026, 12, 15, 8, 0, tzinfo=SH), Send()),
        # ...and once it was tried, the rest of that day is skipped.
        (
            DOSE,
            datetime(2026, 12, 15, 8, 0, tzinfo=SH),
            datetime(2026, 12, 15, 8, 30, tzinfo=SH),
            Skip(SKIP_UNREACHABLE),
        ),
        (
            DOSE,
            datetime(2026, 12, 15, 8, 0, tzinfo=SH),
            datetime(2026, 12, 16, 8, 0, tzinfo=SH),
            Send(),
        ),
    ],
)
def test_a_blocked_patient_is_tried_once_a_day(
    blocked_at: datetime, last_tried: datetime | None, now: datetime, expected: Verdict
) -> None:
    reminder = _reminder(due=now, announces=now + timedelta(hours=1))
    at = now + timedelta(hours=1)
    day = at.astimezone(SH).date()
    event = _event(starts_at=at, scheduled_date=day, target_date=day)
    patient = _patient(unreachable_since=blocked_at)
    verdict = decide(reminder, patient, event, now, PolicyOptions(), last_tried=last_tried)
    assert verdict == expected


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [
        (1, None, 2.0),
        (2, None, 4.0),
        (3, None, 8.0),
        (9, None, 300.0),
        (500, None, 300.0),
        (1, 30.0, 30.0),
        (3, 5.0, 8.0),
    ],
)
def test_backoff(attempts: int, retry_after: float | None, expected: float) -> None:
    assert Backoff().delay(attempts, retry_after) == expected
