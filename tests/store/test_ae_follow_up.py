"""The follow-up service of :mod:`core.store.ae_follow_up`, on SQLite and PostgreSQL: the event
changes in place, the audit record keeps old and new values with who and when, the data still
reconciles with the trail, and what the rules refuse stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.ae_outcomes import Action, Outcome
from core.entry_syntax import Relatedness
from core.messages import RuleError
from core.protocol import Protocol
from core.store.ae_follow_up import AdverseEventFollowUp, follow_up_adverse_event
from core.store.clinical import AdverseEventEntry, record_adverse_event
from core.store.db import read_session
from core.store.models import AdverseEvent, AuditRecord
from core.store.reconcile import reconcile
from core.store.uow import UnitOfWork
from core.vocabulary import Drug
from tests.support.db_state import changed_tables, snapshot
from tests.support.store_fixtures import enroll

NOW = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 31)


def _event(engine: Engine, protocol: Protocol, grade: int = 3) -> int:
    pid = enroll(engine, protocol)
    with UnitOfWork(engine, "staff:1", NOW) as uow:
        entry = AdverseEventEntry("lung infection", "lung_infection", grade, (), date(2026, 12, 20))
        ae_id = record_adverse_event(uow, pid, "P01", entry).id
    assert ae_id is not None
    return ae_id


def _last_record(engine: Engine) -> AuditRecord:
    with read_session(engine) as session:
        return session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()  # type: ignore[return-value]


def test_an_event_followed_to_its_end_keeps_old_and_new_values_in_the_trail(
    engine: Engine, protocol: Protocol
) -> None:
    ae_id = _event(engine, protocol)
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        follow_up_adverse_event(
            uow,
            ae_id,
            AdverseEventFollowUp(outcome=Outcome.RECOVERING, action=Action.DRUG_INTERRUPTED),
            TODAY,
        )
    with UnitOfWork(engine, "staff:3", NOW) as uow:
        follow_up = AdverseEventFollowUp(
            outcome=Outcome.RECOVERED,
            end=date(2026, 12, 30),
            related=(
                (Drug.MMF, Relatedness.POSSIBLE),
                (Drug.BELIMUMAB, Relatedness.UNLIKELY),
            ),
        )
        follow_up_adverse_event(uow, ae_id, follow_up, TODAY)

    with read_session(engine) as session:
        event = session.get(AdverseEvent, ae_id)
        assert event is not None
        assert (event.outcome, event.action, event.end_date) == (
            "recovered",
            "drug_interrupted",
            date(2026, 12, 30),
        )
        assert (event.related_mmf, event.related_belimumab, event.related_tacrolimus) == (
            "possible",
            "unlikely",
            None,
        )
        assert reconcile(session) == []
    record = _last_record(engine)
    assert (record.action, record.actor, record.entity_key) == (
        "adverse_event.followed_up",
        "staff:3",
        str(ae_id),
    )
    assert json.loads(record.before or "") == {
        "outcome": "recovering",
        "end_date": None,
        "related_mmf": None,
        "related_belimumab": None,
    }
    assert json.loads(record.after or "") == {
        "outcome": "recovered",
        "end_date": "2026-12-30",
        "related_mmf": "possible",
        "related_belimumab": "unlikely",
    }

    # The same follow-up again changes nothing: refused, nothing stored.
    before = snapshot(engine, skip=frozenset())
    with (
        pytest.raises(RuleError, match="changes nothing"),
        UnitOfWork(engine, "staff:3", NOW) as uow,
    ):
        follow_up_adverse_event(uow, ae_id, follow_up, TODAY)
    assert changed_tables(before, snapshot(engine, skip=frozenset())) == {}


def test_an_event_going_on_again_loses_its_end_date(engine: Engine, protocol: Protocol) -> None:
    ae_id = _event(engine, protocol)
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        follow_up_adverse_event(
            uow, ae_id, AdverseEventFollowUp(Outcome.RECOVERED, end=date(2026, 12, 28)), TODAY
        )
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        follow_up_adverse_event(uow, ae_id, AdverseEventFollowUp(Outcome.NOT_RECOVERED), TODAY)
    with read_session(engine) as session:
        event = session.get(AdverseEvent, ae_id)
        assert event is not None
        assert (event.outcome, event.end_date) == ("not_recovered", None)
    assert json.loads(_last_record(engine).before or "") == {
        "outcome": "recovered",
        "end_date": "2026-12-28",
    }


@pytest.mark.parametrize(
    ("follow_up", "grade", "refusal"),
    [
        (AdverseEventFollowUp(Outcome.RECOVERED), 3, "needs its end date"),
        (AdverseEventFollowUp(Outcome.RECOVERED, end=date(2026, 12, 19)), 3, "before the onset"),
        (AdverseEventFollowUp(Outcome.RECOVERED, end=date(2027, 1, 2)), 3, "in the future"),
        (AdverseEventFollowUp(Outcome.RECOVERING, end=date(2026, 12, 30)), 3, "no end date"),
        (AdverseEventFollowUp(end=date(2026, 12, 30)), 3, "Give the outcome"),
        (AdverseEventFollowUp(Outcome.FATAL, end=date(2026, 12, 30)), 3, "grade 5"),
        (AdverseEventFollowUp(Outcome.RECOVERED, end=date(2026, 12, 30)), 5, "fatal or unknown"),
    ],
)
def test_what_the_rules_refuse_stores_nothing(
    engine: Engine, protocol: Protocol, follow_up: AdverseEventFollowUp, grade: int, refusal: str
) -> None:
    ae_id = _event(engine, protocol, grade)
    before = snapshot(engine, skip=frozenset())
    with pytest.raises(RuleError, match=refusal), UnitOfWork(engine, "staff:2", NOW) as uow:
        follow_up_adverse_event(uow, ae_id, follow_up, TODAY)
    assert changed_tables(before, snapshot(engine, skip=frozenset())) == {}


def test_a_fatal_grade_5_event_ends_on_the_day_of_death(engine: Engine, protocol: Protocol) -> None:
    ae_id = _event(engine, protocol, grade=5)
    with UnitOfWork(engine, "staff:2", NOW) as uow:
        follow_up_adverse_event(
            uow, ae_id, AdverseEventFollowUp(Outcome.FATAL, end=date(2026, 12, 22)), TODAY
        )
    with read_session(engine) as session:
        event = session.get(AdverseEvent, ae_id)
        assert event is not None
        assert (event.outcome, event.end_date) == ("fatal", date(2026, 12, 22))
