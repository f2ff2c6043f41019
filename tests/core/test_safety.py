"""core.safety and core.plot_data.with_gaps: what the safety report counts and where a
chart's line breaks, on records built by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from core.plot_data import with_gaps
from core.safety import (
    deviations,
    events_by_term,
    not_done_visits,
    open_at_week_events,
    patients_by_worst_grade,
    serious_events,
)
from core.schedule import EventKind
from core.trial_records import AdverseEventRecord, EventRecord, PatientRecord, TrialData
from core.visits import VisitOutcome

DAY0 = date(2026, 6, 1)
ARMS = ["belimumab_mt", "mt_only"]


def patient(pid: int, arm: str) -> PatientRecord:
    return PatientRecord(pid, f"P0{pid}", arm, DAY0, "F", "60", "zh_Hans", "active")


def ae(
    aid: int, pid: int, grade: int, term: str = "nausea", criteria: tuple[str, ...] = ()
) -> AdverseEventRecord:
    onset = DAY0 + timedelta(days=aid)
    return AdverseEventRecord(aid, pid, "5.0", term, term, True, grade, onset, criteria)


def visit(
    pid: int,
    week: int,
    status: str = "planned",
    deviation_reason: str | None = None,
    missed_reason: str | None = None,
) -> EventRecord:
    day = DAY0 + timedelta(weeks=week)
    kind = EventKind.RENAL_ASSESSMENT
    number = week // 4 + 1
    return EventRecord(
        pid, kind, number, week, day, day, 3, 3, status, None, deviation_reason, missed_reason
    )


DATA = TrialData(
    patients=(patient(1, "belimumab_mt"), patient(2, "belimumab_mt"), patient(3, "mt_only")),
    adverse_events=(
        ae(1, 1, 1),
        ae(2, 1, 3, "lung_infection", criteria=("hospitalization",)),
        ae(3, 3, 2),
        ae(4, 3, 1),
    ),
)


def test_a_patient_counts_once_at_their_highest_grade() -> None:
    belimumab, mt_only = patients_by_worst_grade(DATA, ARMS)
    assert (belimumab.patients, belimumab.with_event, belimumab.with_serious) == (2, 1, 1)
    assert belimumab.by_worst_grade == (0, 0, 1, 0, 0)
    assert (mt_only.patients, mt_only.with_event, mt_only.with_serious) == (1, 1, 0)
    assert mt_only.by_worst_grade == (0, 1, 0, 0, 0)


def test_events_are_counted_one_by_one_per_term_arm_and_grade() -> None:
    rows = {row.term: row for row in events_by_term(DATA, ARMS)}
    assert rows["nausea"].counts == {"belimumab_mt": (1, 0, 0, 0, 0), "mt_only": (1, 1, 0, 0, 0)}
    assert rows["lung_infection"].counts["belimumab_mt"] == (0, 0, 1, 0, 0)
    assert [row.term for row in events_by_term(DATA, ARMS)] == ["nausea", "lung_infection"]


def test_serious_events_are_those_meeting_an_ich_criterion() -> None:
    assert [(s.patient.study_id, s.event.id) for s in serious_events(DATA)] == [("P01", 2)]


def test_deviations_are_what_coordinators_recorded_and_not_done_is_counted() -> None:
    moved = visit(1, 4, "done", deviation_reason="patient abroad")
    missed = visit(2, 4, "missed", missed_reason="in hospital elsewhere")
    lapsed = visit(3, 4)
    ahead = visit(3, 20)
    data = TrialData(patients=DATA.patients, events=(moved, missed, lapsed, ahead))
    today = DAY0 + timedelta(weeks=8)
    rows = deviations(data, today)
    assert [(d.patient.study_id, d.outcome, d.reason) for d in rows] == [
        ("P01", None, "patient abroad"),
        ("P02", VisitOutcome.MISSED, "in hospital elsewhere"),
    ]
    assert not_done_visits(data, today) == 1


def test_a_line_breaks_at_each_planned_week_between_results() -> None:
    points = [(0, Decimal("4")), (12, Decimal("1")), (16, Decimal("0.5"))]
    assert with_gaps(points, [0, 4, 8, 12, 16, 20, 24]) == (
        (0, Decimal("4")),
        (4, None),
        (8, None),
        (12, Decimal("1")),
        (16, Decimal("0.5")),
    )
    assert with_gaps([], [0, 4]) == ()


def test_the_events_open_at_week_24_are_those_begun_and_not_ended_by_that_day() -> None:
    """Week 24 is day 0 + 168 days; an event ending that day is closed, one ending the day
    after is open, one without an end is open; a patient not yet at week 24 is not counted."""
    week24 = DAY0 + timedelta(weeks=24)
    late = replace(patient(3, "mt_only"), day0=DAY0 + timedelta(weeks=10))
    data = TrialData(
        patients=(patient(1, "belimumab_mt"), patient(2, "belimumab_mt"), late),
        adverse_events=(
            replace(ae(1, 1, 1), end_date=week24),  # ended on the day: closed
            replace(ae(2, 1, 3), end_date=week24 + timedelta(days=1)),  # still open
            ae(3, 2, 2),  # no end date: open
            replace(ae(4, 2, 1), onset_date=week24 + timedelta(days=1)),  # not begun
            ae(5, 3, 2),  # its patient's week 24 is after the cut-off
        ),
    )
    cutoff = week24 + timedelta(days=7)
    open_rows = open_at_week_events(data, 24, cutoff)
    assert [(r.patient.study_id, r.event.id) for r in open_rows] == [("P01", 2), ("P02", 3)]
    assert open_at_week_events(data, 24, week24 - timedelta(days=1)) == []
