"""Where the rehearsal clock stood, so ``python -m bot run --resume`` carries on from there.

Requirement: "``--resume`` restarts from where the rehearsal clock stood". The
position is saved every few real seconds and when the bot stops. A crash
can lose the last few seconds of saves, so the resume point is the later of
the saved position and the newest audit record: trial time never runs back
behind anything already recorded (a reminder sent, a report made).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.store.db import read_session
from core.store.models import AuditRecord
from core.store.uow import UnitOfWork
from scheduler.clock import RehearsalClock
from scheduler.outbox import get_setting, put_setting

KEY = "rehearsal_clock"


@dataclass(frozen=True, slots=True)
class ResumePoint:
    position: datetime
    speed: float


def save_position(uow: UnitOfWork, clock: RehearsalClock) -> None:
    """Store the clock's current trial instant and speed.

    ``start`` and ``origin`` let another process on this machine follow the
    running clock exactly (:attr:`scheduler.clock.RehearsalClock.origin`).
    """
    put_setting(
        uow,
        KEY,
        {
            "position": uow.now.isoformat(),
            "speed": clock.speed,
            "start": clock.start.isoformat(),
            "origin": clock.origin,
        },
    )


def resume_point(session: Session) -> ResumePoint | None:
    """Where to resume: the saved position, or the newest audit record if later."""
    saved = get_setting(session, KEY)
    if not isinstance(saved, dict):
        return None
    position = datetime.fromisoformat(str(saved["position"]))
    speed = float(saved["speed"])
    newest = session.exec(select(func.max(col(AuditRecord.at)))).one()
    if newest is not None and newest > position:
        position = newest
    return ResumePoint(position, speed)


def command_now(db: DbEngine) -> datetime:
    """When a command run from the command line (``invite``, ``enroll``) happens.

    Real time, except on a rehearsal's database: there the trial time the
    rehearsal stands at, so what the command records (an invitation and its
    expiry, an enrolment) belongs to the trial's timeline, and ``--resume``
    never jumps to the real date because a command ran between two runs.
    """
    try:
        with read_session(db) as session:
            point = resume_point(session)
    except SQLAlchemyError:  # no trial in it yet: nothing rehearsed
        point = None
    return datetime.now(UTC) if point is None else point.position
