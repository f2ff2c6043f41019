"""The send step's records, committed together when several are waiting (group commit).

Each reminder's hand-off (``handed_at``, before its send leaves) and outcome
(``sent`` and the rest, after the channel answered) is one small audited
change. A transaction per change made these commits about a third of the
bot's CPU in a burst. Here a change is queued and its caller waits until it
has *committed*: the changes queued while the event loop was busy (the other
patients' sends of the batch, both channels) go in one transaction, in the
order they came. Nothing waits on purpose: an idle bot commits each change
alone, as before; a busy one, whose callers queue up anyway, commits several
for the cost of one.

Crash-exactness is the same as with one transaction each: no caller goes on
(no send leaves) before its own change is durable, and a crash before a
commit loses the whole group, each member as it would have been lost alone
(a hand-off not recorded was not sent; a send not recorded was handed, so
it is uncertain and repeated once, :mod:`scheduler.sending`).

If the group's transaction fails, each change is tried again in one of its
own, so a change that cannot be made fails only its own caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine as DbEngine

from core.store.audit import SYSTEM
from core.store.models import Reminder
from core.store.uow import UnitOfWork

Change = Callable[[UnitOfWork, Reminder], Any]
Claimed = Callable[[UnitOfWork, int], Reminder]


@dataclass(frozen=True, slots=True)
class _Waiting:
    reminder_id: int
    reason: str
    change: Change
    done: asyncio.Future[None]


class GroupRecorder:
    """Commits the changes queued since its last commit in one transaction.

    ``claimed`` loads the reminder a change applies to (locked, and checked
    to be the worker's); ``now`` is the instant the records take.
    """

    def __init__(self, db: DbEngine, now: Callable[[], datetime], claimed: Claimed) -> None:
        self.db = db
        self.now = now
        self.claimed = claimed
        self._queue: list[_Waiting] = []

    async def record(self, reminder_id: int, reason: str, change: Change) -> None:
        """Apply ``change`` to the claimed reminder; return once it has committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not self._queue:
            # Runs after the callbacks already ready: those queue their changes first.
            loop.call_soon(self._commit)
        self._queue.append(_Waiting(reminder_id, reason, change, done))
        await done

    def _commit(self) -> None:
        # A caller cancelled while waiting (the engine stopping) has its change dropped:
        # a hand-off recorded for a send that will never leave would be repeated.
        group = [waiting for waiting in self._queue if not waiting.done.cancelled()]
        self._queue = []
        if not group:
            return
        try:
            with UnitOfWork(self.db, SYSTEM, self.now()) as uow:
                for waiting in group:
                    self._apply(uow, waiting)
        except Exception as error:
            if len(group) == 1:
                _settle(group[0], error)
            else:
                for waiting in group:
                    self._alone(waiting)
            return
        for waiting in group:
            _settle(waiting, None)

    def _alone(self, waiting: _Waiting) -> None:
        try:
            with UnitOfWork(self.db, SYSTEM, self.now()) as uow:
                self._apply(uow, waiting)
        except Exception as error:
            _settle(waiting, error)
        else:
            _settle(waiting, None)

    def _apply(self, uow: UnitOfWork, waiting: _Waiting) -> None:
        with uow.acting_as(SYSTEM, waiting.reason):
            waiting.change(uow, self.claimed(uow, waiting.reminder_id))


def _settle(waiting: _Waiting, error: BaseException | None) -> None:
    if waiting.done.cancelled():
        return
    if error is None:
        waiting.done.set_result(None)
    else:
        waiting.done.set_exception(error)
