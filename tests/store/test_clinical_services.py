"""The clinical writers of :mod:`core.store.clinical`: each stores its rows with its audit
action, in one unit of work, and refuses what it must (storing nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.adverse_events import Seriousness
from core.entry_calendar import Timing
from core.entry_syntax import Relatedness
from core.messages import RuleError
from core.protocol import Protocol
from core.renal_panel import CASTS
from core.schedule import EventKind
from core.store.clinical import (
    AdverseEventEntry,
    LabValue,
    SledaiItem,
    event_of_week,
    record_adverse_event,
    record_cd20,
    record_dose,
    record_lab_panel,
    record_sledai,
    record_weight,
)
from core.store.db import read_session
from core.store.models import (
    AdverseEvent,
    AuditHead,
    AuditRecord,
    Cd20Count,
    Cd20Unit,
    DeviationEntry,
    DoseAdministration,
    Drug,
    EventStatus,
    LabResult,
    Patient,
    PatientStatus,
    PlannedEventRow,
    ProtocolDeviation,
    Reminder,
    ReminderStatus,
    SledaiAssessment,
)
from core.store.uow import UnitOfWork
from core.units import Analyte
from tests.support.store_fixtures import count, enroll

NOW = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
WEEK24 = date(2027, 5, 18)  # day 0 (1 Dec 2026) + 24 weeks
ACTOR = "staff:7"

T = TypeVar("T")


def write(engine: Engine, action: Callable[[UnitOfWork], T]) -> tuple[T, list[str]]:
    """Run ``action`` in one unit of work; its result and the audit actions it appended."""
    with read_session(engine) as session:
        head = session.get(AuditHead, 1)
        seq = head.last_seq if head is not None else 0
    with UnitOfWork(engine, ACTOR, NOW) as uow:
        result = action(uow)
    with read_session(engine) as session:
        records = session.exec(
            select(AuditRecord).where(col(AuditRecord.seq) > seq).order_by(col(AuditRecord.seq))
        ).all()
        return result, [r.action for r in records]


def refused(engine: Engine, action: Callable[[UnitOfWork], object], reason: str) -> None:
    """``action`` raises the rule ``reason`` and the audit trail does not grow."""
    before = count(engine, AuditRecord)
    with pytest.raises(RuleError) as raised, UnitOfWork(engine, ACTOR, NOW) as uow:
        action(uow)
    assert reason in raised.value.msgid
    assert count(engine, AuditRecord) == before


def withdraw(engine: Engine, patient_id: int) -> None:
    with UnitOfWork(engine, "system", NOW) as uow:
        patient = uow.session.get(Patient, patient_id)
        assert patient is not None
        uow.update(patient, "patient.withdrawn", status=PatientStatus.WITHDRAWN)


def event(engine: Engine, patient_id: int, kind: EventKind, week: int) -> PlannedEventRow:
    with read_session(engine) as session:
        found = event_of_week(session, patient_id, kind, week)
    assert found is not None
    return found


def pending_reminders(engine: Engine, event_id: int | None) -> int:
    with read_session(engine) as session:
        return len(
            session.exec(
                select(Reminder)
                .where(Reminder.event_id == event_id)
                .where(Reminder.status == ReminderStatus.PENDING)
            ).all()
        )


LUNG = AdverseEventEntry(
    verbatim="lung infection",
    term="lung_infection",
    grade=3,
    serious=(Seriousness.HOSPITALIZATION,),
    onset=date(2026, 12, 20),
    related=Relatedness.POSSIBLE,
)


# --- adverse events -------------------------------------------------------------------


def test_an_adverse_event_is_stored_with_its_criteria_and_awareness_now(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    stored, actions = write(engine, lambda uow: record_adverse_event(uow, pid, "P01", LUNG))
    assert actions == ["adverse_event.reported"]
    (row,) = _all(engine, AdverseEvent)
    assert row.id == stored.id
    assert (row.term, row.verbatim, row.coded, row.grade) == (
        "lung_infection",
        "lung infection",
        True,
        3,
    )
    assert row.hospitalization and not row.death and row.serious
    assert (row.onset_date, row.awareness_at, row.reported_at) == (date(2026, 12, 20), NOW, NOW)
    assert (row.relatedness, row.reported_by) == ("possible", ACTOR)


def test_an_uncoded_event_keeps_the_words_typed(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    entry = AdverseEventEntry("funny feeling in toes", None, 2, (), date(2026, 12, 20))
    write(engine, lambda uow: record_adverse_event(uow, pid, "P01", entry))
    (row,) = _all(engine, AdverseEvent)
    assert (row.term, row.coded, row.serious, row.relatedness) == (None, False, False, None)


def test_an_adverse_event_is_refused_for_a_grade_the_term_lacks_or_a_withdrawn_patient(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    shingles = AdverseEventEntry("shingles", "shingles", 4, (), date(2026, 12, 20))
    refused(
        engine,
        lambda uow: record_adverse_event(uow, pid, "P01", shingles),
        "{term} has no grade {grade}",
    )
    withdraw(engine, pid)
    refused(
        engine,
        lambda uow: record_adverse_event(uow, pid, "P01", LUNG),
        "has withdrawn from the study",
    )
    refused(
        engine,
        lambda uow: record_adverse_event(uow, pid + 99, "P99", LUNG),
        "There is no patient with study ID",
    )
    assert count(engine, AdverseEvent) == 0


# --- labs -----------------------------------------------------------------------------

PANEL = (
    LabValue(Analyte.URINE_PROTEIN_24H.value, Decimal("0.25"), "g/24h"),
    LabValue(Analyte.URINE_RBC.value, Decimal("2"), "/hpf"),
    LabValue(Analyte.URINE_WBC.value, Decimal("3"), "/hpf"),
    LabValue(CASTS, Decimal("0"), "none"),
    LabValue(Analyte.SERUM_ALBUMIN.value, Decimal("39.0"), "g/L"),
    LabValue(Analyte.SERUM_CREATININE.value, Decimal("69"), "umol/L", Decimal("1.0E+2"), "umol/L"),
)


def test_lab_results_keep_their_text_and_a_complete_panel_marks_the_assessment_done(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    week = protocol.renal_assessment.weeks[1]
    assessment = event(engine, pid, EventKind.RENAL_ASSESSMENT, week)
    waiting = pending_reminders(engine, assessment.id)
    assert waiting > 0

    def panel(results: tuple[LabValue, ...], uti: bool = False) -> Callable[[UnitOfWork], object]:
        return lambda uow: record_lab_panel(
            uow,
            protocol,
            pid,
            "P01",
            week=week,
            collected_on=date(2026, 12, 28),  # week 4's window: 26 Dec to 1 Jan
            collected_at=NOW,
            uti=uti,
            results=results,
        )

    first, actions = write(engine, panel(PANEL[:2], uti=True))
    assert actions == ["lab_result.entered"] * 2
    assert "serum_creatinine" in first.missing  # type: ignore[attr-defined]
    assert event(engine, pid, EventKind.RENAL_ASSESSMENT, week).status == EventStatus.PLANNED

    done, actions = write(engine, panel(PANEL[2:]))
    assert done.missing == ()  # type: ignore[attr-defined]
    assert actions == ["lab_result.entered"] * 4 + ["event.done"] + ["reminder.skipped"] * waiting
    rows = _all(engine, LabResult)
    assert [(r.value, r.unit, r.uti) for r in rows] == [
        ("0.25", "g/24h", True),
        ("2", "/hpf", True),
        ("3", "/hpf", False),
        ("0", "none", False),
        ("39.0", "g/L", False),
        ("69", "umol/L", False),
    ]
    assert (rows[-1].ref_high, rows[-1].ref_unit) == ("100", "umol/L")
    assert all(r.week == week and r.event_id == assessment.id for r in rows)
    finished = event(engine, pid, EventKind.RENAL_ASSESSMENT, week)
    assert (finished.status, finished.actual_date) == (EventStatus.DONE, date(2026, 12, 28))
    assert pending_reminders(engine, assessment.id) == 0


def test_lab_results_are_refused_for_a_withdrawn_patient(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    withdraw(engine, pid)
    refused(
        engine,
        lambda uow: record_lab_panel(
            uow,
            protocol,
            pid,
            "P01",
            week=0,
            collected_on=date(2026, 12, 1),
            collected_at=NOW,
            uti=False,
            results=PANEL,
        ),
        "has withdrawn from the study",
    )
    assert count(engine, LabResult) == 0


# --- SLEDAI-2K and CD20 ---------------------------------------------------------------


def test_a_sledai_is_stored_with_its_items_and_marks_the_week_done(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    week = protocol.sledai.weeks[-1]
    items = (SledaiItem("haematuria", None, True), SledaiItem("leukopenia", "drug", False))
    row, actions = write(
        engine,
        lambda uow: record_sledai(
            uow,
            protocol,
            pid,
            "P01",
            week=week,
            assessed_on=WEEK24,
            items=items,
            total=4,
            renal=4,
        ),
    )
    assert actions[:2] == ["sledai.entered", "event.done"]
    (stored,) = _all(engine, SledaiAssessment)
    assert (stored.id, stored.week, stored.total, stored.renal_total) == (row.row.id, week, 4, 4)
    assert json.loads(stored.items) == [
        {"item": "haematuria", "cause": None, "scored": True},
        {"item": "leukopenia", "cause": "drug", "scored": False},
    ]
    assert event(engine, pid, EventKind.SLEDAI, week).status == EventStatus.DONE


def test_a_cd20_count_keeps_its_text_and_marks_the_week_done(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    week = protocol.cd20.weeks[-1]
    _, actions = write(
        engine,
        lambda uow: record_cd20(
            uow,
            protocol,
            pid,
            "P01",
            week=week,
            value=Decimal("8.50"),
            unit=Cd20Unit.PERCENT,
            collected_on=WEEK24,
            collected_at=NOW,
        ),
    )
    assert actions[:2] == ["cd20.entered", "event.done"]
    (stored,) = _all(engine, Cd20Count)
    assert (stored.value, stored.unit, stored.collected_at) == ("8.50", Cd20Unit.PERCENT, NOW)
    assert event(engine, pid, EventKind.CD20, week).status == EventStatus.DONE


# --- doses and weight -----------------------------------------------------------------


def test_a_belimumab_dose_is_stored_against_its_infusion_which_is_then_done(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    week = protocol.belimumab.weeks()[0]
    infusion = event(engine, pid, EventKind.BELIMUMAB_INFUSION, week)

    def dose(uow: UnitOfWork) -> DoseAdministration:
        return record_dose(
            uow,
            protocol,
            pid,
            "P01",
            drug=Drug.BELIMUMAB,
            amount=Decimal("625"),
            unit="mg",
            given_on=date(2026, 12, 16),  # infusion 1's window: 12 to 18 Dec
            weight_kg=Decimal("62.5"),
            vial_plan={"vials_mg": [400, 120, 120], "volume_ml": "7.75"},
        ).row

    _, actions = write(engine, dose)
    assert actions[:2] == ["dose.recorded", "event.done"]
    (row,) = _all(engine, DoseAdministration)
    assert (row.drug, row.amount, row.unit, row.weight_kg) == ("belimumab", "625", "mg", "62.5")
    # Dated back: the day is known, the instant not.
    assert (row.given_on, row.given_at, row.recorded_by) == (date(2026, 12, 16), None, ACTOR)
    assert json.loads(row.vial_plan or "") == {"vials_mg": [400, 120, 120], "volume_ml": "7.75"}
    assert row.event_id == infusion.id
    assert event(engine, pid, EventKind.BELIMUMAB_INFUSION, week).status == EventStatus.DONE
    # The same dose again (someone recorded it meanwhile): within 7 days of the first.
    refused(engine, dose, "doses must be at least {n} day apart")
    assert count(engine, DoseAdministration) == 1


def test_an_oral_dose_has_no_event_and_a_withdrawn_patient_gets_none(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)

    def dose(uow: UnitOfWork) -> DoseAdministration:
        return record_dose(
            uow,
            protocol,
            pid,
            "P01",
            drug=Drug.MMF,
            amount=Decimal("0.75"),
            unit="g",
            given_on=date(2026, 12, 21),
        ).row

    _, actions = write(engine, dose)
    assert actions == ["dose.recorded"]
    (row,) = _all(engine, DoseAdministration)
    assert (row.amount, row.unit, row.event_id, row.vial_plan) == ("0.75", "g", None, None)
    withdraw(engine, pid)
    refused(engine, dose, "has withdrawn from the study")


def test_a_new_weight_is_audited_with_the_old_and_new_value(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    patient, actions = write(engine, lambda uow: record_weight(uow, pid, "P01", Decimal("61.50")))
    assert actions == ["patient.weight_changed"]
    assert patient.weight_kg == "61.50"
    with read_session(engine) as session:
        record = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()
    assert record is not None
    assert json.loads(record.before or "") == {"weight_kg": "62.5"}
    assert json.loads(record.after or "") == {"weight_kg": "61.50"}
    withdraw(engine, pid)
    refused(
        engine,
        lambda uow: record_weight(uow, pid, "P01", Decimal("60")),
        "has withdrawn from the study",
    )


M = TypeVar("M", AdverseEvent, LabResult, SledaiAssessment, Cd20Count, DoseAdministration)


def _all(engine: Engine, model: type[M]) -> list[M]:
    with read_session(engine) as session:
        return list(session.exec(select(model).order_by(col(model.id))).all())


# --- entries against the calendar -----------------------------------------------------


def _deviations(engine: Engine) -> list[ProtocolDeviation]:
    with read_session(engine) as session:
        return list(session.exec(select(ProtocolDeviation).order_by(col(ProtocolDeviation.id))))


def _labs(
    protocol: Protocol, pid: int, week: int, day: date, reason: str | None = None
) -> Callable[[UnitOfWork], object]:
    return lambda uow: record_lab_panel(
        uow,
        protocol,
        pid,
        "P01",
        week=week,
        collected_on=day,
        collected_at=NOW,
        uti=False,
        results=PANEL,
        reason=reason,
    )


def test_a_panel_collected_before_its_window_is_a_deviation_and_leaves_the_week_planned(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    assessment = event(engine, pid, EventKind.RENAL_ASSESSMENT, 4)
    waiting = pending_reminders(engine, assessment.id)
    # Week 4's window is 26 Dec to 1 Jan: 21 Dec is 5 days before it.
    refused(engine, _labs(protocol, pid, 4, date(2026, 12, 21)), "a reason is required")
    assert count(engine, LabResult) == 0

    stored, actions = write(
        engine, _labs(protocol, pid, 4, date(2026, 12, 21), "  admitted   elsewhere ")
    )
    assert actions == ["lab_result.entered"] * 6 + ["deviation.recorded"]
    assert stored.closed is False  # type: ignore[attr-defined]
    (deviation,) = _deviations(engine)
    assert (deviation.entry, deviation.week, deviation.event_id) == (
        DeviationEntry.LABS,
        4,
        assessment.id,
    )
    assert (deviation.occurred_on, deviation.timing, deviation.days_outside) == (
        date(2026, 12, 21),
        Timing.EARLY,
        5,
    )
    assert (deviation.window_start, deviation.window_end) == (date(2026, 12, 26), date(2027, 1, 1))
    assert (deviation.reason, deviation.recorded_by, deviation.recorded_at) == (
        "admitted elsewhere",
        ACTOR,
        NOW,
    )
    # The complete panel does not close an assessment whose window has not opened.
    assert event(engine, pid, EventKind.RENAL_ASSESSMENT, 4).status == EventStatus.PLANNED
    assert pending_reminders(engine, assessment.id) == waiting
    with read_session(engine) as session:
        record = session.exec(
            select(AuditRecord).where(AuditRecord.action == "deviation.recorded")
        ).one()
    assert (record.actor, record.reason) == (ACTOR, "admitted elsewhere")


def test_a_late_entry_is_a_deviation_and_closes_its_week(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    # Week 0's window is the baseline window, days -3 to 0: day 2 is 2 days late.
    refused(engine, _labs(protocol, pid, 0, date(2026, 12, 3)), "day after the window")
    write(engine, _labs(protocol, pid, 0, date(2026, 12, 3), "lab closed"))
    (deviation,) = _deviations(engine)
    assert (deviation.timing, deviation.days_outside) == (Timing.LATE, 2)
    assert (deviation.window_start, deviation.window_end) == (date(2026, 11, 28), date(2026, 12, 1))
    done = event(engine, pid, EventKind.RENAL_ASSESSMENT, 0)
    assert (done.status, done.actual_date) == (EventStatus.DONE, date(2026, 12, 3))


def test_an_entry_far_before_its_window_is_refused(engine: Engine, protocol: Protocol) -> None:
    pid = enroll(engine, protocol)
    # Week 24 on study day 3: the window opens 162 days later.
    refused(
        engine,
        _labs(protocol, pid, 24, date(2026, 12, 4), "typo?"),
        "more than the window itself",
    )
    refused(
        engine,
        lambda uow: record_sledai(
            uow,
            protocol,
            pid,
            "P01",
            week=24,
            assessed_on=date(2026, 12, 4),
            items=(),
            total=0,
            renal=0,
            reason="typo?",
        ),
        "more than the window itself",
    )
    assert count(engine, LabResult) == count(engine, SledaiAssessment) == 0
    assert _deviations(engine) == []


def test_an_entry_in_the_window_closes_only_its_own_week(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    # Week 12's window holds 23 Feb 2027; the SLEDAI of week 24 stays planned.
    entered, actions = write(
        engine,
        lambda uow: record_sledai(
            uow,
            protocol,
            pid,
            "P01",
            week=12,
            assessed_on=date(2027, 2, 22),
            items=(),
            total=0,
            renal=0,
            reason="not a deviation",
        ),
    )
    assert "deviation.recorded" not in actions
    assert entered.entry is not None and entered.entry.reason is None
    assert event(engine, pid, EventKind.SLEDAI, 12).status == EventStatus.DONE
    assert event(engine, pid, EventKind.SLEDAI, 24).status == EventStatus.PLANNED
    assert event(engine, pid, EventKind.SLEDAI, 0).status == EventStatus.PLANNED


def _belimumab(
    protocol: Protocol, pid: int, day: date, reason: str | None = None
) -> Callable[[UnitOfWork], object]:
    return lambda uow: record_dose(
        uow,
        protocol,
        pid,
        "P01",
        drug=Drug.BELIMUMAB,
        amount=Decimal("625"),
        unit="mg",
        given_on=day,
        weight_kg=Decimal("62.5"),
        reason=reason,
    )


def test_a_belimumab_dose_is_for_the_infusion_whose_window_holds_its_date(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    # Infusion 1 was never recorded; 27 Dec is in infusion 2's window (26 Dec to 1 Jan).
    write(engine, _belimumab(protocol, pid, date(2026, 12, 27)))
    first = event(engine, pid, EventKind.BELIMUMAB_INFUSION, 2)
    second = event(engine, pid, EventKind.BELIMUMAB_INFUSION, 4)
    assert first.status == EventStatus.PLANNED
    assert (second.status, second.actual_date) == (EventStatus.DONE, date(2026, 12, 27))
    (row,) = _all(engine, DoseAdministration)
    assert row.event_id == second.id


def test_an_early_belimumab_dose_is_a_deviation_and_never_closes_the_future_infusion(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    write(engine, _belimumab(protocol, pid, date(2026, 12, 15)))
    # Infusion 2's window opens on 26 Dec: 23 Dec is 3 days early.
    refused(engine, _belimumab(protocol, pid, date(2026, 12, 23)), "day before the window")
    entered, actions = write(engine, _belimumab(protocol, pid, date(2026, 12, 23), "travel"))
    assert actions == ["dose.recorded", "deviation.recorded"]
    assert entered.closed is False  # type: ignore[attr-defined]
    infusion = event(engine, pid, EventKind.BELIMUMAB_INFUSION, 4)
    assert infusion.status == EventStatus.PLANNED
    _, early = _all(engine, DoseAdministration)
    assert early.event_id is None  # not counted as infusion 2
    (deviation,) = _deviations(engine)
    assert (deviation.entry, deviation.event_id, deviation.days_outside) == (
        DeviationEntry.BELIMUMAB,
        infusion.id,
        3,
    )


def test_outside_every_window_a_dose_is_for_the_nearest_infusion(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    # Nothing recorded yet. 6 Jan is 5 days after infusion 2's window (26 Dec to 1 Jan)
    # and 3 days before infusion 3's (9 to 15 Jan): infusion 3, early, so left planned.
    write(engine, _belimumab(protocol, pid, date(2027, 1, 6), "ward full"))
    (deviation,) = _deviations(engine)
    assert (deviation.event_id, deviation.timing, deviation.days_outside) == (
        event(engine, pid, EventKind.BELIMUMAB_INFUSION, 6).id,
        Timing.EARLY,
        3,
    )
    assert event(engine, pid, EventKind.BELIMUMAB_INFUSION, 6).status == EventStatus.PLANNED
    # Weeks after the last infusion (week 22, window 1 to 7 May): late for it, which
    # closes it.
    late = date(2027, 6, 1)
    refused(engine, _belimumab(protocol, pid, late), "day after the window")
    write(engine, _belimumab(protocol, pid, late, "delayed by infection"))
    assert event(engine, pid, EventKind.BELIMUMAB_INFUSION, 22).actual_date == late


def test_a_dose_no_planned_infusion_is_near_is_a_deviation_without_one(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)
    for day in (date(2026, 12, 15), date(2026, 12, 29), date(2027, 1, 12)):
        write(engine, _belimumab(protocol, pid, day))
    # 25 Jan: infusion 4's window (6 to 12 Feb) opens 12 days later, more than its length.
    refused(engine, _belimumab(protocol, pid, date(2027, 1, 25)), "outside every planned window")
    entered, _ = write(engine, _belimumab(protocol, pid, date(2027, 1, 25), "extra dose"))
    assert entered.event is None  # type: ignore[attr-defined]
    (deviation,) = _deviations(engine)
    assert (
        deviation.timing,
        deviation.event_id,
        deviation.window_start,
        deviation.days_outside,
    ) == (
        Timing.UNPLANNED,
        None,
        None,
        0,
    )
    assert event(engine, pid, EventKind.BELIMUMAB_INFUSION, 10).status == EventStatus.PLANNED


def test_each_mp_dose_closes_the_pulse_day_of_its_own_date(
    engine: Engine, protocol: Protocol
) -> None:
    pid = enroll(engine, protocol)

    def mp(day: date) -> Callable[[UnitOfWork], object]:
        return lambda uow: record_dose(
            uow, protocol, pid, "P01", drug=Drug.MP, amount=Decimal("500"), unit="mg", given_on=day
        )

    write(engine, mp(date(2026, 12, 2)))  # day 1: the second pulse day
    with read_session(engine) as session:
        pulses = session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == pid)
            .where(PlannedEventRow.kind == EventKind.MP_PULSE)
            .order_by(col(PlannedEventRow.number))
        ).all()
    assert [(p.status, p.actual_date) for p in pulses] == [
        (EventStatus.PLANNED, None),
        (EventStatus.DONE, date(2026, 12, 2)),
        (EventStatus.PLANNED, None),
    ]
    (row,) = _all(engine, DoseAdministration)
    assert row.event_id == pulses[1].id
    write(engine, mp(date(2026, 12, 9)))  # no pulse day that date: nothing closed
    assert _all(engine, DoseAdministration)[-1].event_id is None
