"""What a drain of the reminder engine did, and what is left to do once a reminder is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.ports import Alert, MissedReminder


@dataclass(slots=True)
class RunReport:
    """What one drain did, by reminder id."""

    sent: list[int] = field(default_factory=list)
    repeats_scheduled: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    missed: list[MissedReminder] = field(default_factory=list)

    def merge(self, other: RunReport) -> None:
        for name in self.__slots__:
            getattr(self, name).extend(getattr(other, name))


@dataclass(slots=True)
class Outcome:
    """Work to do after a reminder's transaction committed (alerts, pauses)."""

    alerts: list[Alert] = field(default_factory=list)
