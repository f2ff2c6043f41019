"""What became of a visit (core.visits): the outcome as of a day, the words /visit reads, what
may be recorded, and what is missed with a renal assessment."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from core.messages import RuleError
from core.rescheduling import EventChoice
from core.schedule import EventKind
from core.trial_records import EventRecord
from core.visits import (
    VisitMark,
    VisitOutcome,
    check_visit_mark,
    missed_with,
    parse_visit_event,
    parse_visit_mark,
    visit_outcome,
)

# Infusion 1 booked for 15 December, window 12 to 18 December.
INFUSION = EventRecord(
    patient_id=1,
    kind=EventKind.BELIMUMAB_INFUSION,
    number=1,
    week=2,
    target_date=date(2026, 12, 15),
    scheduled_date=date(2026, 12, 15),
    window_before=3,
    window_after=3,
    status="planned",
)


@pytest.mark.parametrize(
    ("today", "outcome"),
    [
        (date(2026, 12, 14), VisitOutcome.PLANNED),
        (date(2026, 12, 15), VisitOutcome.PLANNED),
        (date(2026, 12, 16), VisitOutcome.OVERDUE),
        (date(2026, 12, 18), VisitOutcome.OVERDUE),
        (date(2026, 12, 19), VisitOutcome.NOT_DONE),
    ],
)
def test_a_planned_visit_is_overdue_then_not_done_once_its_window_closes(
    today: date, outcome: VisitOutcome
) -> None:
    assert visit_outcome(INFUSION, today) is outcome


def test_a_confirmed_visit_is_attended_from_its_booked_day_and_missed_stands_over_it() -> None:
    confirmed = replace(INFUSION, confirmed=True)
    assert visit_outcome(confirmed, date(2026, 12, 14)) is VisitOutcome.PLANNED
    assert visit_outcome(confirmed, date(2026, 12, 15)) is VisitOutcome.ATTENDED
    assert visit_outcome(confirmed, date(2027, 1, 30)) is VisitOutcome.ATTENDED
    missed = replace(confirmed, status="missed", missed_reason="did not come")
    assert visit_outcome(missed, date(2026, 12, 21)) is VisitOutcome.MISSED


@pytest.mark.parametrize(
    ("word", "mark"),
    [
        ("missed", VisitMark.MISSED),
        ("MISSED", VisitMark.MISSED),
        ("未到", VisitMark.MISSED),
        ("缺席", VisitMark.MISSED),
        ("attended", VisitMark.ATTENDED),
        ("已到", VisitMark.ATTENDED),
    ],
)
def test_the_words_for_what_became_of_a_visit(word: str, mark: VisitMark) -> None:
    assert parse_visit_mark(word) is mark


def test_unknown_words_are_refused() -> None:
    with pytest.raises(RuleError, match="not what became of a visit"):
        parse_visit_mark("absent")
    with pytest.raises(RuleError, match="not a visit to record"):
        parse_visit_event("collection")
    assert parse_visit_event("输注") is EventChoice.INFUSION


def test_what_may_be_recorded() -> None:
    today = date(2026, 12, 21)
    choice = EventChoice.INFUSION
    reason = check_visit_mark(INFUSION, choice, VisitMark.MISSED, " no \n show ", today)
    assert reason == "no show"
    assert check_visit_mark(INFUSION, choice, VisitMark.ATTENDED, None, today) is None
    # A visit recorded missed by mistake may be recorded attended.
    missed = replace(INFUSION, status="missed", missed_reason="x")
    assert check_visit_mark(missed, choice, VisitMark.ATTENDED, None, today) is None
    with pytest.raises(RuleError, match="after today"):
        check_visit_mark(INFUSION, choice, VisitMark.MISSED, "r", date(2026, 12, 14))
    refusals = [
        (replace(INFUSION, status="cancelled"), VisitMark.MISSED, "r", "was cancelled"),
        (replace(INFUSION, status="done"), VisitMark.MISSED, "r", "already recorded as attended"),
        (replace(INFUSION, status="done"), VisitMark.ATTENDED, None, "already recorded as"),
        (missed, VisitMark.MISSED, "r", "already recorded as missed: x"),
        (INFUSION, VisitMark.MISSED, "  ", "Say why the visit was missed"),
        (INFUSION, VisitMark.MISSED, "x" * 501, "at most 500 characters"),
    ]
    for event, mark, given, refusal in refusals:
        with pytest.raises(RuleError, match=refusal):
            check_visit_mark(event, choice, mark, given, today)


def test_a_missed_assessment_takes_the_planned_sledai_and_cd20_of_its_day() -> None:
    day = date(2027, 2, 23)
    assessment = replace(
        INFUSION, kind=EventKind.RENAL_ASSESSMENT, number=4, week=12, scheduled_date=day
    )
    sledai = replace(assessment, kind=EventKind.SLEDAI, number=2)
    cd20 = replace(assessment, kind=EventKind.CD20, number=3, status="done")
    urine = replace(assessment, kind=EventKind.URINE_COLLECTION, scheduled_date=date(2027, 2, 22))
    other_day = replace(sledai, number=3, scheduled_date=date(2027, 5, 18))
    events = [assessment, sledai, cd20, urine, other_day]
    assert missed_with(events, assessment) == [sledai]
    assert missed_with(events, INFUSION) == []
