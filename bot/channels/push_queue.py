"""Pushes stored before they are answered, then handled in the background: WeChat's and WeCom's.

Both platforms retry a push that is not answered within 5 seconds and advise
to store it, answer at once and reply later through the API
(docs/wechat-oa/callbacks.md §4.5, docs/wecom/callbacks.md §6). A push is
stored once under the key a retry repeats (a repeat is answered and nothing
else); it is then handled in the background, one person's pushes in the
order they came; pushes stored but not handled when the bot stopped are
handled at the next start (:meth:`PushQueue.recover`), so an acknowledged
push is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.context import Services
from core.store.audit import SYSTEM
from core.store.db import read_session
from core.store.models import Channel, person_key
from core.store.uow import UnitOfWork
from core.store.wechat import StoredPush, push_handled, receive_push, unhandled_pushes

log = logging.getLogger(__name__)

# How long stopping waits for pushes being handled (the rest are handled at the next start).
STOP_WAIT_S = 5.0

Handler = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Settled:
    """A push handled in the transaction that stored it; ``then`` runs once that committed
    (an alert it calls for), as pushes handled in the background do."""

    then: Callable[[], Coroutine[Any, Any, None]] | None = None


Settle = Callable[[UnitOfWork], Settled | None]


class PushQueue:
    """Stores pushes of one channel and hands each stored push's XML to ``handle``."""

    def __init__(self, services: Services, channel: Channel, handle: Handler) -> None:
        self.services = services
        self.channel = channel
        self.handle = handle
        self._tasks: set[asyncio.Task[None]] = set()
        # Each person's latest task: their next push is handled after it.
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._submitted: set[int] = set()

    def store(self, key: str, account: str, body: str, settle: Settle | None = None) -> bool:
        """Store a push and start handling it; False for a repeat (handled once already).

        ``settle`` may handle the push in the transaction that stores it (see
        :class:`Settled`); if it does not, the push is handled in the background.
        """
        actor = person_key(self.channel, account)
        what = f"{self.channel.value} push"
        settled: list[Settled] = []

        def run_settle(uow: UnitOfWork) -> bool:
            assert settle is not None
            outcome = settle(uow)
            if outcome is not None:
                settled.append(outcome)
            return outcome is not None

        with UnitOfWork(self.services.engine, actor, self.services.clock.now(), what) as uow:
            stored = receive_push(
                uow, key, account, body, settle=None if settle is None else partial(run_settle, uow)
            )
        if stored is None:
            return False
        if not settled:
            self._submit(StoredPush(stored, account, body))
        elif settled[0].then is not None:
            self._track(asyncio.get_running_loop().create_task(settled[0].then()))
        return True

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _submit(self, push: StoredPush) -> None:
        if push.id in self._submitted:
            return
        self._submitted.add(push.id)
        before = self._tails.get(push.account)
        task = asyncio.get_running_loop().create_task(self._handle(push, before))
        self._tasks.add(task)
        self._tails[push.account] = task
        task.add_done_callback(lambda done: self._done(push, done))

    def _done(self, push: StoredPush, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._submitted.discard(push.id)
        if self._tails.get(push.account) is task:
            del self._tails[push.account]

    async def _handle(self, push: StoredPush, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.handle(push.body)
        except Exception as error:
            # The conversation layer answers its own failures; this is anything around it.
            log.error(
                "%s push %d failed: %s",
                self.channel.value,
                push.id,
                type(error).__name__,
                exc_info=error,
            )
        what = f"{self.channel.value} push handled"
        with UnitOfWork(self.services.engine, SYSTEM, self.services.clock.now(), what) as uow:
            push_handled(uow, push.id)

    def recover(self) -> int:
        """Handle the pushes stored but not handled before the last stop; how many."""
        with read_session(self.services.engine) as session:
            waiting = unhandled_pushes(session, wecom=self.channel == Channel.WECOM)
        for push in waiting:
            self._submit(push)
        if waiting:
            log.info(
                "%d %s pushes from before the restart are handled now",
                len(waiting),
                self.channel.value,
            )
        return len(waiting)

    async def idle(self) -> None:
        """Wait until every push stored so far has been handled."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        """Let pushes being handled finish for a moment; the rest wait for the next start."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=STOP_WAIT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
