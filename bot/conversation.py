"""Multi-step flows kept in the database (table ``conversation``), never in memory."""

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


def current(engine: Engine, telegram_user_id: int) -> Step | None:
    """Where this person is in a flow, if anywhere."""
    with read_session(engine) as session:
        row = session.get(Conversation, telegram_user_id)
        if row is None:
            return None
        return Step(row.flow, row.step, json.loads(row.data))


def move_to(uow: UnitOfWork, telegram_user_id: int, flow: str, step: str, **data: Any) -> None:
    """Start a flow or move it on, keeping the data gathered so far."""
    row = uow.session.get(Conversation, telegram_user_id)
    if row is None:
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        row = Conversation(
            telegram_user_id=telegram_user_id,
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


def finish(uow: UnitOfWork, telegram_user_id: int) -> None:
    """Leave any flow."""
    row = uow.session.get(Conversation, telegram_user_id)
    if row is not None:
        uow.audit(
            "conversation.finished",
            "conversation",
            str(telegram_user_id),
            before={"flow": row.flow, "step": row.step},
        )
        uow.session.delete(row)
