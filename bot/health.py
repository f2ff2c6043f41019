"""Is the bot working? ``/healthz`` answers, the process lock beats, coordinators are told.

Healthy (``/healthz`` 200) means all three hold:

- the database answers a read now, and took the last heartbeat's write;
- the reminder engine refilled (its tick) within its period plus
  :attr:`HealthOptions.tick_slack`;
- Telegram answered a ``getUpdates`` within :attr:`HealthOptions.poll_within`.

Otherwise ``/healthz`` is 503 with the reasons, one sentence each, in JSON
(``{"ok": false, "reasons": [...]}``); the HTTP side is :mod:`bot.web.health`.

:meth:`Health.beat` runs every :attr:`HealthOptions.beat_every` seconds: it
refreshes the process lock's heartbeat (:mod:`core.store.process_lock`),
which is also the write that finds a database turned read-only or
unreachable. Coordinators are told once when that happens and once when it
is over, through their channel as usual; their addresses and languages
cannot be looked up in a database that does not answer, so they are read at
start and re-read every :attr:`HealthOptions.coordinators_every` seconds
while it does (a coordinator who joined a minute before the outage may not
be told). A heartbeat that finds the lock taken over by another process
(ours had gone stale) stops this bot: two must never poll at once.

All times here are real time, never the trial clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import SQLAlchemyError

from bot.conversations.events import Text
from bot.metrics import Metrics
from bot.routing import Member, Router
from core.messages import N_
from core.store.db import read_only
from core.store.models import StaffRole
from core.store.process_lock import heartbeat
from scheduler.engine import Engine
from scheduler.ports import SendOutcome

log = logging.getLogger(__name__)

DB_READ_ONLY = N_(
    "The trial database has stopped accepting changes (it is read-only). Nothing new can be "
    "stored: answers, reports, entries and reminder outcomes fail until it is fixed. Please "
    "tell whoever runs the bot's server now."
)
DB_UNREACHABLE = N_(
    "The bot cannot reach the trial database. Nothing can be looked up or stored and "
    "reminders are on hold until it answers again. Please tell whoever runs the bot's "
    "server now."
)
DB_BACK = N_("The trial database works again: the bot stores and sends as usual.")

READ_ONLY = "read-only"
UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """The monitor's periods and limits, in real seconds (the issue leaves them to us).

    ``beat_every``: heartbeat and database write check. ``stale_after``: a
    lock whose heartbeat is older is taken over (six missed beats).
    ``poll_within``: longest time without a successful ``getUpdates`` (a long
    poll returns every 10 s when nothing happens). ``tick_slack``: added to
    the engine's refill period. ``coordinators_every``: how often the
    coordinators' addresses are re-read.
    """

    beat_every: float = 10.0
    stale_after: float = 60.0
    poll_within: float = 90.0
    tick_slack: float = 30.0
    coordinators_every: float = 300.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``/healthz`` answers: healthy, or the reasons it is not."""

    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons


def _brief(error: BaseException) -> str:
    """An error in one line for an operator: its class and first line (no personal data:
    database errors name statements, not values)."""
    first = str(getattr(error, "orig", None) or error).splitlines()
    return f"{type(error).__name__}: {first[0] if first else ''}".strip()


class Health:
    """The health monitor of one running bot."""

    def __init__(
        self,
        db: DbEngine,
        engine: Engine,
        router: Router,
        metrics: Metrics,
        lock: tuple[str, str],
        *,
        options: HealthOptions | None = None,
        real_now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_lock_lost: Callable[[], object] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.router = router
        self.metrics = metrics
        self.lock_name, self.holder = lock
        self.options = options or HealthOptions()
        self._real_now = real_now
        self._on_lock_lost = on_lock_lost
        self.started_at = real_now()
        # The database's state as the last heartbeat found it (None: it took the write).
        self.db_problem: str | None = None
        self.db_error: str | None = None
        self._told: str | None = None  # the problem coordinators were told of
        self.coordinators: list[Member] = []
        self._coordinators_read: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    # --- the heartbeat -------------------------------------------------------------------

    async def start(self) -> None:
        """Read the coordinators, then beat every ``beat_every`` seconds until :meth:`stop`."""
        self._refresh_coordinators(self._real_now())
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.options.beat_every)
            try:
                await self.beat()
            except Exception:
                log.exception("health: heartbeat failed; the next one retries")

    async def beat(self) -> None:
        """One heartbeat: write it, judge the database, tell coordinators of a change."""
        now = self._real_now()
        try:
            held = await asyncio.to_thread(heartbeat, self.db, self.lock_name, self.holder, now)
        except SQLAlchemyError as error:
            problem = await asyncio.to_thread(self._why_no_write)
            self._database_failed(problem, _brief(error))
        else:
            self._database_works(now)
            if not held:
                log.critical(
                    "another process took over the polling lock %s while this one's heartbeat "
                    "was late; this bot stops so that only one polls",
                    self.lock_name,
                )
                if self._on_lock_lost is not None:
                    self._on_lock_lost()
        await self._tell_coordinators()

    def _why_no_write(self) -> str:
        """After a refused write: read-only if a read still goes through, else unreachable."""
        try:
            self._read_one()
        except SQLAlchemyError:
            return UNREACHABLE
        return READ_ONLY

    def _read_one(self) -> None:
        # A reader's transaction: SQLite's BEGIN IMMEDIATE would fail on a read-only file.
        with read_only(self.db).connect() as connection:
            connection.execute(text("SELECT 1"))

    def _database_failed(self, problem: str, error: str) -> None:
        if self.db_problem != problem:
            log.error("health: the database is %s: %s", problem, error)
        self.db_problem, self.db_error = problem, error
        self.metrics.database_writable.set(0)

    def _database_works(self, now: datetime) -> None:
        if self.db_problem is not None:
            log.warning("health: the database takes writes again")
        self.db_problem = self.db_error = None
        self.metrics.database_writable.set(1)
        due = self._coordinators_read is None or now - self._coordinators_read >= timedelta(
            seconds=self.options.coordinators_every
        )
        if due:
            self._refresh_coordinators(now)

    def _refresh_coordinators(self, now: datetime) -> None:
        try:
            self.coordinators = self.router.staff_to_alert([StaffRole.COORDINATOR])
        except SQLAlchemyError as error:
            log.warning("health: coordinators not re-read: %s", _brief(error))
            return
        self._coordinators_read = now

    async def _tell_coordinators(self) -> None:
        """Each coordinator told once of a problem and once of its end (the cached list)."""
        if self.db_problem == self._told:
            return
        if self.db_problem is None:
            message = DB_BACK
        else:
            message = DB_READ_ONLY if self.db_problem == READ_ONLY else DB_UNREACHABLE
        told = 0
        for member in self.coordinators:
            try:
                await self.router.deliver(member.reach, Text(member.t._(message)))
            except SendOutcome as error:
                log.warning(
                    "database notice to staff %s not delivered: %s",
                    member.staff.id,
                    type(error).__name__,
                )
                continue
            told += 1
        if self.coordinators and told == 0:
            return  # no one heard it: tried again at the next heartbeat
        if not self.coordinators:
            log.warning("health: no coordinator is known to tell about the database")
        self._told = self.db_problem

    # --- the verdict ---------------------------------------------------------------------

    async def verdict(self) -> Verdict:
        """Healthy or not, and why (see the module's list)."""
        now = self._real_now()
        reasons: list[str] = []
        try:
            await asyncio.to_thread(self._read_one)
        except SQLAlchemyError as error:
            reasons.append(f"the database does not answer: {_brief(error)}")
        else:
            if self.db_problem == READ_ONLY:
                reasons.append(f"the database is read-only: {self.db_error}")
            elif self.db_problem == UNREACHABLE:
                reasons.append(f"the database did not take the last heartbeat: {self.db_error}")
        period = self.engine.refill_period()
        tick = self.engine.last_tick or self.started_at
        since = (now - tick).total_seconds()
        if since > period + self.options.tick_slack:
            reasons.append(
                f"the reminder engine has not ticked for {since:.0f} s (it ticks every "
                f"{period:.0f} s)"
            )
        polled = self.metrics.last_poll
        last = self.started_at if polled is None else datetime.fromtimestamp(polled, UTC)
        quiet = (now - last).total_seconds()
        if quiet > self.options.poll_within:
            reasons.append(f"no successful getUpdates from Telegram for {quiet:.0f} s")
        if self.engine.last_tick is not None:
            self.metrics.engine_tick.set(self.engine.last_tick.timestamp())
        self.metrics.healthy.set(0 if reasons else 1)
        return Verdict(tuple(reasons))
