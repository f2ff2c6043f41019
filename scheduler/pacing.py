"""Pacing sends within each channel's message limits.

Telegram's Bots FAQ ("My bot is hitting limits"): "avoid sending more than
one message per second" to one chat, and "no more than 30 messages per
second" in total; beyond that Telegram answers 429 with ``retry_after``.
PTB's ``AIORateLimiter`` does not limit private chats, so the scheduler
paces its own sends:

- per chat: one message per second, with a burst of two;
- overall: 28 a second (a margin under 30), evenly spaced;
- a ``retry_after`` pauses that chat (or everything) for that long.

Each channel is a *lane* with limits of its own (:class:`PaceLimits`), so
one channel's overall limit never slows another's sends: WeChat's template
messages are limited per day, not per second (docs/wechat-oa/api.json), and
a burst to WeChat patients is not held to Telegram's 28 a second. A chat is
paced in the lane it is sent in; a lane not named is paced as the default one
(Telegram's limits unless told otherwise).

Both limits are token buckets in the GCRA form (a "theoretical arrival
time" per bucket), in real seconds from an injectable monotonic clock and
an injectable ``sleep``, so tests measure rates without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """One lane's limits; the defaults are Telegram's (Bots FAQ; 28/s leaves a margin under 30/s).

    The global burst of 3 lets the pacer make up the moments it spends
    claiming and recording between sends, so a long burst really averages
    28/s; even then no one-second window holds more than 28 + 2 = 30.
    ``global_rate=None``: the channel sets no overall rate (only its chats are
    paced).
    """

    per_chat_rate: float = 1.0
    per_chat_burst: int = 2
    global_rate: float | None = 28.0
    global_burst: int = 3

    def __post_init__(self) -> None:
        if self.per_chat_rate <= 0 or (self.global_rate is not None and self.global_rate <= 0):
            raise ValueError("rates must be positive")
        if self.per_chat_burst < 1 or self.global_burst < 1:
            raise ValueError("bursts must be at least 1")


@dataclass(slots=True)
class _Bucket:
    """GCRA state: a message may go at ``t`` if ``t >= tat - tolerance``."""

    interval: float
    tolerance: float
    tat: float = float("-inf")
    paused_until: float = float("-inf")

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tolerance, self.paused_until)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval


@dataclass(slots=True)
class _Chat:
    bucket: _Bucket
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(slots=True)
class _Lane:
    """A channel: its limits and its overall bucket (interval 0 when it sets no rate)."""

    limits: PaceLimits
    bucket: _Bucket = field(init=False)

    def __post_init__(self) -> None:
        rate = self.limits.global_rate
        if rate is None:
            self.bucket = _Bucket(0.0, 0.0)
        else:
            self.bucket = _Bucket(1.0 / rate, (self.limits.global_burst - 1) / rate)


class Pacer:
    """Waits until a message to a chat may go without breaking its channel's limits.

    ``await pacer.acquire(chat_id, lane)`` returns when the message may be
    sent and counts it at that instant (a sleep that overruns is counted as
    it really went). ``lanes`` maps each channel to its limits; ``limits`` is
    the default lane's, for a lane not among them (or None). Messages to one
    chat pass in the order they asked; one slow chat never holds up the
    others.
    """

    def __init__(
        self,
        limits: PaceLimits | None = None,
        *,
        lanes: Mapping[Hashable, PaceLimits] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or PaceLimits()
        self._now = monotonic
        self._sleep = sleep
        self._default = _Lane(self.limits)
        self._lanes = {name: _Lane(lane_limits) for name, lane_limits in (lanes or {}).items()}
        self._chats: dict[Hashable, _Chat] = {}

    def _lane(self, lane: Hashable) -> _Lane:
        return self._lanes.get(lane, self._default)

    def _chat(self, chat_id: Hashable, lane: _Lane) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            lim = lane.limits
            interval = 1.0 / lim.per_chat_rate
            chat = _Chat(_Bucket(interval, (lim.per_chat_burst - 1) * interval))
            self._chats[chat_id] = chat
        return chat

    async def acquire(self, chat_id: Hashable, lane: Hashable = None) -> float:
        """Wait for a slot for one message to ``chat_id`` in ``lane``; the seconds waited."""
        overall = self._lane(lane).bucket
        chat = self._chat(chat_id, self._lane(lane))
        chat.users += 1
        started = self._now()
        try:
            async with chat.lock:
                while True:
                    now = self._now()
                    ready = max(chat.bucket.earliest(now), overall.earliest(now))
                    if ready <= now:
                        # Check and take with no await in between: nothing else runs.
                        overall.take(now)
                        chat.bucket.take(now)
                        return now - started
                    await self._sleep(ready - now)
        finally:
            chat.users -= 1
            self._forget_idle(chat_id)

    def _forget_idle(self, chat_id: Hashable) -> None:
        chat = self._chats.get(chat_id)
        now = self._now()
        if (
            chat is not None
            and chat.users == 0
            and chat.bucket.tat <= now
            and chat.bucket.paused_until <= now
        ):
            del self._chats[chat_id]

    def pause_chat(self, chat_id: Hashable, seconds: float, lane: Hashable = None) -> None:
        """Telegram said ``retry_after`` for this chat: nothing goes to it for ``seconds``."""
        bucket = self._chat(chat_id, self._lane(lane)).bucket
        bucket.paused_until = max(bucket.paused_until, self._now() + seconds)

    def pause_all(self, seconds: float, lane: Hashable = None) -> None:
        """Nothing goes to any chat of ``lane`` for ``seconds`` (a flood wait for the whole bot
        on that channel)."""
        bucket = self._lane(lane).bucket
        bucket.paused_until = max(bucket.paused_until, self._now() + seconds)
