"""Entries waiting for Confirm, when the command that proposed them is edited.

A member of staff who edits a command message means the edited text; the
preview the first text made must then no longer be confirmable. Only the
latest preview of a message counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import select

from core.store.models import ActionStatus, PendingAction
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Replaced:
    """What editing a message did to the previews it had made."""

    replaced: int  # open previews now replaced (their buttons change nothing)
    confirmed: int  # previews already confirmed: what they stored stays


def replace_previews_from(uow: UnitOfWork, owner: str, source_message: str) -> Replaced:
    """Every open preview ``owner`` made from ``source_message`` becomes replaced
    (``action.replaced``, audited); confirmed ones are counted, not touched."""
    actions = uow.session.exec(
        select(PendingAction)
        .where(PendingAction.owner == owner)
        .where(PendingAction.source_message == source_message)
    ).all()
    replaced = 0
    for action in actions:
        if action.status == ActionStatus.OPEN:
            uow.update(action, "action.replaced", status=ActionStatus.REPLACED, decided_at=uow.now)
            replaced += 1
    confirmed = sum(1 for action in actions if action.status == ActionStatus.CONFIRMED)
    if replaced:
        log.info("%d preview(s) replaced by an edited command", replaced)
    return Replaced(replaced, confirmed)
