"""Property: no entry ever closes a future event, nor any event but its own.

Random sequences of /labs, /sledai, /cd20 and /dose entries (any week, any date
from ten days before day 0 to past the induction, with or without a reason)
go through the services Confirm uses (:mod:`core.store.clinical`). Whatever is
refused or stored, every event an entry marks done is the one it names (the
assessment of its week, a belimumab infusion, the pulse day of its date), on
the entry's own date, and never one whose window had not opened by then
(docs/clinical-facts.md §2 windows; the rule is core.entry_calendar's).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.messages import RuleError
from core.protocol import Protocol
from core.renal_panel import CASTS
from core.schedule import EventKind
from core.store.clinical import (
    LabValue,
    record_cd20,
    record_dose,
    record_lab_panel,
    record_sledai,
)
from core.store.db import read_session
from core.store.models import Cd20Unit, Drug, EventStatus, PlannedEventRow
from core.store.uow import UnitOfWork
from core.units import Analyte
from tests.support.store_fixtures import DAY0, enroll

PANEL = (
    LabValue(Analyte.URINE_PROTEIN_24H.value, Decimal("0.25"), "g/24h"),
    LabValue(Analyte.URINE_RBC.value, Decimal("2"), "/hpf"),
    LabValue(Analyte.URINE_WBC.value, Decimal("3"), "/hpf"),
    LabValue(CASTS, Decimal("0"), "none"),
    LabValue(Analyte.SERUM_ALBUMIN.value, Decimal("39"), "g/L"),
    LabValue(Analyte.SERUM_CREATININE.value, Decimal("69"), "umol/L"),
)

# What each entry may close.
NAMED = {
    "labs": EventKind.RENAL_ASSESSMENT,
    "sledai": EventKind.SLEDAI,
    "cd20": EventKind.CD20,
    "belimumab": EventKind.BELIMUMAB_INFUSION,
    "mp": EventKind.MP_PULSE,
}

_study_ids = (f"H{n:04d}" for n in itertools.count())


@dataclass(frozen=True)
class Entry:
    what: str
    week: int
    day: int  # study day
    reason: str | None
    complete: bool  # labs: the whole panel, or its first two results


entries = st.builds(
    Entry,
    what=st.sampled_from(sorted(NAMED)),
    week=st.integers(0, 24),
    day=st.integers(-10, 180),
    reason=st.sampled_from([None, "reason given"]),
    complete=st.booleans(),
)


def _store(uow: UnitOfWork, protocol: Protocol, pid: int, study_id: str, entry: Entry) -> None:
    day = DAY0 + timedelta(days=entry.day)
    at = datetime.combine(day, time(0, 0), tzinfo=UTC)
    if entry.what == "labs":
        record_lab_panel(
            uow,
            protocol,
            pid,
            study_id,
            week=entry.week,
            collected_on=day,
            collected_at=at,
            uti=False,
            results=PANEL if entry.complete else PANEL[:2],
            reason=entry.reason,
        )
    elif entry.what == "sledai":
        record_sledai(
            uow,
            protocol,
            pid,
            study_id,
            week=entry.week,
            assessed_on=day,
            items=(),
            total=0,
            renal=0,
            reason=entry.reason,
        )
    elif entry.what == "cd20":
        record_cd20(
            uow,
            protocol,
            pid,
            study_id,
            week=entry.week,
            value=Decimal(5),
            unit=Cd20Unit.PER_UL,
            collected_on=day,
            collected_at=at,
            reason=entry.reason,
        )
    else:
        drug = Drug.BELIMUMAB if entry.what == "belimumab" else Drug.MP
        record_dose(
            uow,
            protocol,
            pid,
            study_id,
            drug=drug,
            amount=Decimal(500),
            unit="mg",
            given_on=day,
            reason=entry.reason,
        )


def _events(engine: Engine, pid: int) -> dict[int, PlannedEventRow]:
    with read_session(engine) as session:
        rows = session.exec(select(PlannedEventRow).where(PlannedEventRow.patient_id == pid))
        return {row.id: row for row in rows if row.id is not None}


@given(st.lists(entries, min_size=1, max_size=8))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_entry_closes_a_future_event_or_another_than_its_own(
    engine: Engine, protocol: Protocol, sequence: list[Entry]
) -> None:
    study_id = next(_study_ids)
    pid = enroll(engine, protocol, study_id)
    for entry in sequence:
        day = DAY0 + timedelta(days=entry.day)
        # "Today" is the entry's own date: the latest it can be typed with date=.
        now = datetime.combine(day, time(4, 0), tzinfo=UTC)
        before = _events(engine, pid)
        try:
            with UnitOfWork(engine, "staff:1", now) as uow:
                _store(uow, protocol, pid, study_id, entry)
        except RuleError:
            assert _events(engine, pid) == before
            continue
        for event_id, row in _events(engine, pid).items():
            old = before[event_id]
            if (row.status, row.actual_date) == (old.status, old.actual_date):
                continue
            assert row.status == EventStatus.DONE
            assert row.kind == NAMED[entry.what], (entry, row.kind)
            if entry.what in ("labs", "sledai", "cd20"):
                assert row.week == entry.week
            if entry.what == "mp":
                assert row.scheduled_date == day
            assert row.actual_date == day
            opens = min(row.target_date - timedelta(days=row.window_before), row.scheduled_date)
            assert opens <= day, (entry, row.kind, row.number, opens)
