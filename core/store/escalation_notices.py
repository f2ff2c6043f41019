"""The escalation steps already sent, and the digests' listings of overdue items.

``escalation_notice`` holds one row per step sent (or covered by a later one)
for a subject (``ae:12``, ``event:345``): an escalation, or a digest that
listed an overdue event (kind ``digest``, step ``daily:2026-12-01`` or
``weekly``, see :mod:`core.escalation`). A step is recorded once: recording it
again for the same subject changes nothing, so a job run twice for one
instant counts once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from core.store.models import EscalationNotice
from core.store.uow import UnitOfWork

__all__ = ["last_sent_at", "record_steps", "sent_steps", "steps_by_subject"]


def sent_steps(session: Session, kind: str, subject: str) -> set[str]:
    """The steps of ``kind`` already recorded for ``subject``."""
    return steps_by_subject(session, kind, [subject]).get(subject, set())


def steps_by_subject(session: Session, kind: str, subjects: Collection[str]) -> dict[str, set[str]]:
    """The steps of ``kind`` recorded for each of ``subjects`` (absent: none)."""
    if not subjects:
        return {}
    rows = session.exec(
        select(EscalationNotice.subject, EscalationNotice.step).where(
            EscalationNotice.kind == kind, col(EscalationNotice.subject).in_(list(subjects))
        )
    ).all()
    found: dict[str, set[str]] = {}
    for subject, step in rows:
        found.setdefault(subject, set()).add(step)
    return found


def last_sent_at(session: Session, kind: str, subject: str, other_than: str) -> datetime | None:
    """When the latest step of ``kind`` for ``subject`` other than ``other_than`` was sent
    (the previous daily digest, seen from today's), or None."""
    return session.exec(
        select(EscalationNotice.sent_at)
        .where(
            EscalationNotice.kind == kind,
            EscalationNotice.subject == subject,
            EscalationNotice.step != other_than,
        )
        .order_by(col(EscalationNotice.sent_at).desc())
    ).first()


def record_steps(
    uow: UnitOfWork, kind: str, subject: str, steps: Iterable[str], at: datetime
) -> int:
    """Record ``steps`` of ``kind`` as sent for ``subject`` at ``at``; how many were new.

    Each new row is audited (``escalation.sent``); a step recorded before is
    left as it is.
    """
    known = sent_steps(uow.session, kind, subject)
    added = 0
    for step in dict.fromkeys(steps):
        if step in known:
            continue
        uow.add(
            EscalationNotice(kind=kind, subject=subject, step=step, sent_at=at), "escalation.sent"
        )
        added += 1
    return added
