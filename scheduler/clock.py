"""The one place the application reads the time.

Everything that needs "now" takes a :class:`Clock`: the real one in
production, a :class:`FakeClock` in tests (time moves only when the test says
so), and a :class:`RehearsalClock` for site training and the demo (trial time
running ``speed`` times faster than real time). Instants are always aware and
in UTC.

Pacing sends within Telegram's limits is a matter of real seconds, not trial
time: it reads a monotonic clock (``time.monotonic``; :class:`FakeMonotonic`
in tests), injected the same way.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    """Real time."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """Time that moves only when told to: for tests."""

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware start instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> datetime:
        return self.advance(instant.astimezone(UTC) - self._now)


class RehearsalClock:
    """Trial time that starts at ``start`` and runs ``speed`` times faster than real time.

    Requirement: "``--clock-start 2026-12-01T06:00:00+08:00 --clock-speed 3600``
    runs the whole bot on trial time moving 3600 times faster than real
    time". ``real_monotonic`` is the real clock it is driven by (injectable
    for tests).
    """

    def __init__(
        self,
        start: datetime,
        speed: float,
        real_monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware start instant")
        if not speed > 0:
            raise ValueError("the clock speed must be positive")
        self.start = start.astimezone(UTC)
        self.speed = float(speed)
        self._real = real_monotonic
        self._origin = real_monotonic()

    @property
    def origin(self) -> float:
        """The real clock's reading when trial time stood at ``start``.

        With the default ``time.monotonic`` (CLOCK_MONOTONIC on Linux, shared by
        every process of the machine), another process can follow this
        clock exactly: ``start + (time.monotonic() - origin) * speed``. The demo
        stamps its transcript that way.
        """
        return self._origin

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._real() - self._origin) * self.speed)


def speed_of(clock: Clock) -> float:
    """Trial seconds per real second: 1 for real time (and for a fake clock), more in rehearsal."""
    speed = getattr(clock, "speed", 1.0)
    return float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0


def real_seconds(clock: Clock, trial: timedelta) -> float:
    """How many real seconds a span of trial time takes on ``clock``."""
    return trial.total_seconds() / speed_of(clock)


def trial_span(clock: Clock, real: float) -> timedelta:
    """The span of trial time that passes on ``clock`` during ``real`` real seconds."""
    return timedelta(seconds=real * speed_of(clock))


class FakeMonotonic:
    """A monotonic clock and a ``sleep`` for tests: virtual time, nothing really waits.

    Sleepers wake in the order of the instants they asked for, and time jumps
    to each one only once every other task has had its turn (a few rounds of
    the event loop), so concurrent sleepers see the times they would in real
    life and rates measured on it are exact.
    """

    ROUNDS = 20  # event-loop turns given to other tasks before time moves on

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._advancing = False

    def __call__(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.value + max(0.0, seconds), self._seq, wake))
        if not self._advancing:
            self._advancing = True
            loop.call_soon(self._advance, self.ROUNDS)
        await wake

    def _advance(self, rounds: int) -> None:
        loop = asyncio.get_running_loop()
        if rounds > 0:
            loop.call_soon(self._advance, rounds - 1)
            return
        if self._sleepers:
            self.value = max(self.value, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self.value:
            _, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():
                wake.set_result(None)
        if self._sleepers:
            loop.call_soon(self._advance, self.ROUNDS)
        else:
            self._advancing = False
