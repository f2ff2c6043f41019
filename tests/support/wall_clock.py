"""Unix seconds that move only when a test says so: the wall clock the chat platforms' local
servers sign and expire with."""

from __future__ import annotations

from dataclasses import dataclass

# 2025-12-05 in Unix seconds: any fixed instant will do.
START = 1_764_900_000.0


@dataclass
class FakeClock:
    """Seconds that move only when a test says so."""

    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
