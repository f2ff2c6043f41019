"""Multi-step flows kept in the database (table ``conversation``), never in memory.

A flow belongs to one channel account (``telegram:5001``): the person who
started it, on the channel they started it on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core.store.db import read_session
from core.store.models import Conversation
from core.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Step:
    flow: str
    step: str
    data: dict[str, Any]


def current(engine: Engine, person: str) -> Step | None:
    """Where this person is in a flow, if anywhere."""
    with read_session(engine) as session:
        row = session.get(Conversation, person)
        if row is None:
            return None
        return Step(row.flow, row.step, json.loads(row.data))


def move_to(uow: UnitOfWork, person: str, flow: str, step: str, **data: Any) -> None:
    """Start a flow or move it on, keeping the data gathered so far."""
    row = uow.session.get(Conversation, person)
    if row is None:
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        row = Conversation(
            person=person,
            flow=flow,
            step=step,
            data=payload,
            updated_at=uow.now,
        )
        uow.add(row, f"conversation.{flow}.{step}")
        return
    merged = json.loads(row.data) if row.flow == flow else {}
    merged.update(data)
    payload = json.dumps(merged, ensure_ascii=False, sort_keys=True)
    uow.update(
        row, f"conversation.{flow}.{step}", flow=flow, step=step, data=payload, updated_at=uow.now
    )


def finish(uow: UnitOfWork, person: str) -> None:
    """Leave any flow."""
    row = uow.session.get(Conversation, person)
    if row is not None:
        uow.audit(
            "conversation.finished",
            "conversation",
            person,
            before={"flow": row.flow, "step": row.step},
        )
        uow.session.delete(row)
