"""What patients write and staff triage: reports (:mod:`core.store.reports`), answers to
reminders (:mod:`core.store.reminder_answers`) and the language chosen
(:mod:`core.store.preferences`). Each writes its rows with its audit action and refuses
what it must."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.protocol import Protocol
from core.schedule import EventKind
from core.store.clinical import AdverseEventEntry
from core.store.db import read_session
from core.store.models import (
    AdverseEvent,
    DoseAdministration,
    Drug,
    Language,
    Patient,
    PatientReport,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    TriageStatus,
)
from core.store.preferences import set_language
from core.store.reminder_answers import Outcome, record_reminder_answer
from core.store.reminder_state import move
from core.store.reports import (
    close_report,
    convert_report_to_adverse_event,
    file_patient_report,
    file_red_flag_report,
    record_staff_alerted,
)
from core.store.uow import UnitOfWork
from tests.store.test_clinical_services import ACTOR, NOW, refused, write
from tests.support.store_fixtures import count, enroll

HEADACHE = AdverseEventEntry("headache", "headache", 2, (), date(2026, 12, 20))


def report(engine: Engine, patient_id: int) -> int:
    """A patient's report, filed an hour before ``NOW``."""
    with UnitOfWork(engine, "patient:1", NOW - timedelta(hours=1)) as uow:
        row = file_patient_report(
            uow,
            patient_id,
            category="infusion_allergy",
            severity="moderate",
            onset="yesterday",
            details="itchy eyes",
        )
    assert row.id is not None
    return row.id


def stored_report(engine: Engine, report_id: int) -> PatientReport:
    with read_session(engine) as session:
        found = session.get(PatientReport, report_id)
    assert found is not None
    return found


# --- reports --------------------------------------------------------------------------


def test_a_report_and_a_red_flag_are_filed_open(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    row, actions = write(
        engine,
        lambda uow: file_patient_report(
            uow, pid, category="fever_infection", severity="mild", onset="today", details=None
        ),
    )
    assert actions == ["patient_report.created"]
    assert (row.triage_status, row.red_flag, row.created_at) == (TriageStatus.OPEN, False, NOW)
    flag, actions = write(engine, lambda uow: file_red_flag_report(uow, pid, "chest_pain"))
    assert actions == ["patient_report.red_flag"]
    stored = stored_report(engine, flag.id or 0)
    assert (stored.category, stored.severity, stored.onset, stored.red_flag) == (
        "chest_pain",
        "not_asked",
        "now",
        True,
    )
    _, actions = write(engine, lambda uow: record_staff_alerted(uow, flag.id or 0, 3, urgent=True))
    assert actions == ["patient_report.staff_alerted"]


def test_a_report_becomes_an_adverse_event_the_site_knew_of_when_it_was_filed(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    number = report(engine, pid)
    (event, patient), actions = write(
        engine, lambda uow: convert_report_to_adverse_event(uow, number, HEADACHE)
    )
    assert actions == ["adverse_event.reported", "patient_report.converted"]
    assert patient.study_id == "P01"
    assert event.awareness_at == NOW - timedelta(hours=1)
    assert (event.reported_at, event.reported_by) == (NOW, ACTOR)
    converted = stored_report(engine, number)
    assert (converted.triage_status, converted.linked_ae_id) == (TriageStatus.CONVERTED, event.id)
    assert (converted.triaged_by, converted.triaged_at) == (ACTOR, NOW)
    refused(
        engine,
        lambda uow: convert_report_to_adverse_event(uow, number, HEADACHE),
        "was already triaged: it became adverse event",
    )
    refused(engine, lambda uow: close_report(uow, number, "again"), "already triaged")
    assert count(engine, AdverseEvent) == 1


def test_a_report_is_closed_once_with_its_note(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    number = report(engine, pid)
    _, actions = write(engine, lambda uow: close_report(uow, number, "seen at the visit"))
    assert actions == ["patient_report.closed"]
    closed = stored_report(engine, number)
    assert (closed.triage_status, closed.triage_note) == (TriageStatus.CLOSED, "seen at the visit")
    refused(
        engine,
        lambda uow: convert_report_to_adverse_event(uow, number, HEADACHE),
        "was already triaged: it is closed.",
    )
    refused(engine, lambda uow: close_report(uow, 999, "x"), "There is no patient report")


def test_a_grade_the_term_lacks_leaves_the_report_open(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    number = report(engine, pid)
    shingles = AdverseEventEntry("shingles", "shingles", 5, (), date(2026, 12, 20))
    refused(
        engine,
        lambda uow: convert_report_to_adverse_event(uow, number, shingles),
        "has no grade",
    )
    assert stored_report(engine, number).triage_status == TriageStatus.OPEN


# --- answers to reminders -------------------------------------------------------------


def sent_reminder(engine: Engine, patient_id: int, kind: EventKind) -> Reminder:
    """The patient's first reminder of an event of ``kind``, moved to ``sent``."""
    with UnitOfWork(engine, "system", NOW) as uow:
        reminder = uow.session.exec(
            select(Reminder)
            .join(PlannedEventRow, col(PlannedEventRow.id) == Reminder.event_id)
            .where(Reminder.patient_id == patient_id, PlannedEventRow.kind == kind)
            .order_by(col(Reminder.due_at), col(Reminder.id))
        ).first()
        assert reminder is not None
        move(uow, reminder, ReminderStatus.SENDING, "reminder.claimed")
        move(uow, reminder, ReminderStatus.SENT, "reminder.sent", sent_at=NOW)
    return reminder


def test_an_answer_is_recorded_once_and_taken_records_the_oral_doses(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol, daily=True)
    reminder = sent_reminder(engine, pid, EventKind.ORAL_DOSE)
    assert reminder.id is not None
    choices = {reminder.slot: ("taken", "later")}
    answer, actions = write(
        engine,
        lambda uow: record_reminder_answer(
            uow, pid, reminder.id or 0, "taken", choices=choices, doses_taken=True
        ),
    )
    assert (answer.outcome, answer.response, answer.kind) == (
        Outcome.RECORDED,
        "taken",
        EventKind.ORAL_DOSE,
    )
    assert actions == ["reminder.answered"] + ["dose.confirmed_by_patient"] * 2
    with read_session(engine) as session:
        doses = session.exec(select(DoseAdministration)).all()
        answered = session.get(Reminder, reminder.id)
    assert sorted(d.drug for d in doses) == [Drug.MMF, Drug.TACROLIMUS]
    assert all(d.reminder_id == reminder.id and d.amount is None for d in doses)
    assert answered is not None
    assert (answered.response, answered.responded_at) == ("taken", NOW)

    again, actions = write(
        engine,
        lambda uow: record_reminder_answer(uow, pid, reminder.id or 0, "later", choices=choices),
    )
    assert (again.outcome, again.response, actions) == (Outcome.ALREADY, "taken", [])


@pytest.mark.parametrize(
    ("whose", "answer", "sent", "outcome"),
    [
        ("other", "taken", True, Outcome.NOT_YOURS),
        ("own", "finished", True, Outcome.STALE),  # not one of the slot's choices
        ("own", "taken", False, Outcome.STALE),  # never went out
    ],
)
def test_an_answer_that_does_not_count_changes_nothing(
    engine: Engine, protocol: Protocol, whose: str, answer: str, sent: bool, outcome: Outcome
) -> None:
    pid = enroll(engine, protocol, daily=True)
    other = enroll(engine, protocol, "P02", daily=True)
    if sent:
        reminder = sent_reminder(engine, pid, EventKind.ORAL_DOSE)
    else:
        with read_session(engine) as session:
            found = session.exec(select(Reminder).where(Reminder.patient_id == pid)).first()
        assert found is not None
        reminder = found
    choices = {reminder.slot: ("taken",)}
    by = other if whose == "other" else pid
    result, actions = write(
        engine,
        lambda uow: record_reminder_answer(
            uow, by, reminder.id or 0, answer, choices=choices, doses_taken=True
        ),
    )
    assert (result.outcome, actions) == (outcome, [])
    assert count(engine, DoseAdministration) == 0


# --- language -------------------------------------------------------------------------


def test_the_language_chosen_is_audited_and_an_unchanged_one_writes_nothing(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    row, actions = write(engine, lambda uow: set_language(uow, Patient, pid, Language.EN))
    assert (row.language, actions) == (Language.EN, ["language.chosen"])
    _, actions = write(engine, lambda uow: set_language(uow, Patient, pid, Language.EN))
    assert actions == []
