"""WeCom's limits on an application's messages to one member, kept by waiting, never by dropping.

docs/wecom/api.json ``limits.app_messages``: at most 30 messages a minute and
1,000 an hour to one member; what goes beyond is dropped by WeCom without
necessarily saying so. So every message to a member waits here until both
sliding windows have room: an alert burst is queued and paced, and nothing
is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

__all__ = ["PER_HOUR", "PER_MINUTE", "MemberPacer"]

PER_MINUTE = 30
PER_HOUR = 1000


class MemberPacer:
    """Waits (``sleep``) until a message to a member fits both windows; ``clock`` is monotonic."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        windows: tuple[tuple[float, int], ...] = ((60.0, PER_MINUTE), (3600.0, PER_HOUR)),
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._windows = windows
        self._longest = max(span for span, _ in windows)
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def _wait_needed(self, sent: deque[float], now: float) -> float:
        while sent and sent[0] <= now - self._longest:
            sent.popleft()
        wait = 0.0
        for span, most in self._windows:
            inside = [at for at in sent if at > now - span]
            if len(inside) >= most:
                wait = max(wait, inside[len(inside) - most] + span - now)
        return wait

    async def acquire(self, member: str) -> None:
        """Return once a message to ``member`` may go; it is counted as sent now."""
        async with self._locks[member]:
            sent = self._sent[member]
            while (wait := self._wait_needed(sent, self._clock())) > 0:
                await self._sleep(wait)
            sent.append(self._clock())
