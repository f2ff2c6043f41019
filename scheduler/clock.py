"""The one place the application reads the time.

Everything that needs "now" takes a :class:`Clock`: the real one in
production, a :class:`FakeClock` in tests (time moves only when the test says
so), and a :class:`RehearsalClock` for site training and the demo (trial time
running ``speed`` times faster than real time). Instants are always aware and
in UTC.

Pacing sends within a channel's limits and backing off after a failed send
read a monotonic clock and a sleep (:func:`pacing_time`): real seconds in
production, trial seconds under a rehearsal clock (whose local servers keep
their limits in trial time), :class:`FakeMonotonic` in tests.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch of trial time: ``start`` at the real reading ``origin``, then ``speed`` trial
    seconds per real second, standing still at ``hold`` (if any) for at most ``max_hold`` real
    seconds after reaching it, then running on at ``then`` (None: ``speed`` again).

    Pure, so another process given the same stretch (the demo, through the file
    ``python -m bot run --clock-file`` writes) reads exactly the bot's trial time.
    """

    start: datetime
    origin: float
    speed: float
    hold: datetime | None = None
    max_hold: float = 5.0
    then: float | None = None

    def at(self, real: float) -> datetime:
        """Trial time at the real reading ``real`` (of the same monotonic clock as ``origin``)."""
        free = self.start + timedelta(seconds=(real - self.origin) * self.speed)
        if self.hold is None or self.hold < self.start or free <= self.hold:
            return free
        reached = self.origin + (self.hold - self.start).total_seconds() / self.speed
        released = reached + self.max_hold
        if real < released:
            return self.hold
        # Past the hold: at ``then`` (real speed after --clock-until), or, when what was to
        # release it did not, at the same speed: a stuck engine never stops a rehearsal.
        after = self.speed if self.then is None else self.then
        return self.hold + timedelta(seconds=(real - released) * after)

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "origin": self.origin,
            "speed": self.speed,
            "hold": None if self.hold is None else self.hold.isoformat(),
            "max_hold": self.max_hold,
            "then": self.then,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Stretch:
        hold = data.get("hold")
        return cls(
            datetime.fromisoformat(str(data["start"])),
            float(str(data["origin"])),
            float(str(data["speed"])),
            None if hold is None else datetime.fromisoformat(str(hold)),
            float(str(data.get("max_hold", 5.0))),
            None if data.get("then") is None else float(str(data["then"])),
        )


class RehearsalClock:
    """Trial time that starts at ``start`` and runs ``speed`` times faster than real time.

    Requirement: "``--clock-start 2026-12-01T06:00:00+08:00 --clock-speed 3600``
    runs the whole bot on trial time moving 3600 times faster than real
    time". ``real_monotonic`` is the real clock it is driven by (injectable
    for tests).

    It behaves like production at any speed: sending a batch of reminders
    takes real milliseconds, which at 240,000 times real time would be trial
    hours. So the engine holds trial time at the next instant a reminder is due
    (:meth:`hold`) until it has woken up for it, and while it sends
    (:meth:`busy`) trial time runs at ``busy_speed`` at most: a reminder goes
    out within trial minutes of its time, as it would in production, however
    fast the weeks pass in between. A hold gives way by itself after
    ``max_hold`` real seconds, so a stuck engine never stops the rehearsal.
    ``held``: trial time stands at ``start`` until the engine first sets a
    hold (``python -m bot run``: start-up takes real seconds). ``until``: from
    that trial instant on, time runs at real speed (``--clock-until``: a
    rehearsal stopped there with Ctrl-C stops there, not trial days later).
    ``on_change`` is told each new :class:`Stretch` (``--clock-file``).
    """

    def __init__(
        self,
        start: datetime,
        speed: float,
        real_monotonic: Callable[[], float] = time.monotonic,
        *,
        busy_speed: float = 600.0,
        max_hold: float = 5.0,
        held: bool = False,
        until: datetime | None = None,
        on_change: Callable[[Stretch], None] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware start instant")
        if not speed > 0 or not busy_speed > 0:
            raise ValueError("the clock speed must be positive")
        self.speed = float(speed)
        self.busy_speed = min(self.speed, float(busy_speed))
        self.max_hold = max_hold
        self._real = real_monotonic
        self._origin = real_monotonic()
        self.start = start.astimezone(UTC)
        # Held: standing at ``start`` until the engine first says where to hold (a bot takes
        # real seconds to start, which at speed would be trial days before anything runs).
        self._stretch = Stretch(
            self.start,
            self._origin,
            self.speed,
            self.start if held else None,
            math.inf if held else max_hold,
        )
        self._busy = 0
        self._hold: datetime | None = None
        self.until = None if until is None else until.astimezone(UTC)
        self.on_change = on_change
        if until is not None and not held:
            self._restretch(self.speed, None)

    @property
    def origin(self) -> float:
        """The real clock's reading when trial time stood at ``start``.

        With the default ``time.monotonic`` (CLOCK_MONOTONIC on Linux, shared by
        every process of the machine), another process can follow this clock
        from the current :attr:`stretch` exactly.
        """
        return self._origin

    @property
    def stretch(self) -> Stretch:
        """The stretch trial time is in now (its speed, where it holds)."""
        return self._stretch

    def now(self) -> datetime:
        return self._stretch.at(self._real())

    def hold(self, instant: datetime | None) -> None:
        """Stand still at ``instant`` (the next reminder due) until told otherwise; None: run on.

        While the engine is :meth:`busy` the hold waits for it to finish.
        """
        self._hold = instant
        if not self._busy:
            self._restretch(self.speed, instant)

    @contextmanager
    def busy(self) -> Iterator[None]:
        """While the engine sends: trial time runs on, at ``busy_speed`` at most."""
        self._busy += 1
        if self._busy == 1:
            self._restretch(self.busy_speed, None)
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._restretch(self.speed, self._hold)

    def seconds(self) -> float:
        """Trial time as monotonic seconds (for pacing and waiting in trial time)."""
        return (self.now() - _EPOCH).total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of trial time (as long as trial time runs at its present speed)."""
        await asyncio.sleep(max(0.0, seconds) / self._stretch.speed)

    def _restretch(self, speed: float, hold: datetime | None) -> None:
        real = self._real()
        now = self._stretch.at(real)
        if hold is not None and hold < now:
            hold = None
        max_hold, then = self.max_hold, None
        if self.until is not None:
            if now >= self.until:
                speed, hold = min(speed, 1.0), None
            elif hold is None or hold >= self.until:
                hold, max_hold, then = self.until, 0.0, min(speed, 1.0)
        old = self._stretch
        if (old.speed, old.hold, old.max_hold, old.then) == (speed, hold, max_hold, then):
            return
        self._stretch = Stretch(now, real, speed, hold, max_hold, then)
        if self.on_change is not None:
            self.on_change(self._stretch)


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def pacing_time(clock: Clock) -> tuple[Callable[[], float], Callable[[float], Awaitable[None]]]:
    """The monotonic seconds and the sleep that pacing and back-off are measured in.

    Real seconds in production. Under a rehearsal clock, trial seconds: the
    local servers a rehearsal runs against keep Telegram's limits in trial time
    too, so the rehearsal sends as production would, trial second for trial second.
    """
    if isinstance(clock, RehearsalClock):
        return clock.seconds, clock.sleep
    return time.monotonic, asyncio.sleep


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
