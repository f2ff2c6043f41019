"""The reminder engine: turns the reminder table into messages at the right moment.

The reminder table is the outbox and the only source of truth
(docs/DESIGN.md §3). APScheduler (an ``AsyncIOScheduler`` on the bot's
event loop, explicit job defaults) is used only to wake up: a periodic
*refill* job arms one-shot wake-ups for what becomes due within a rolling
window of trial time, and each wake-up drains what is due. APScheduler's
job store never holds a reminder, so nothing is lost when a job is removed
or misfires: the next refill finds the row still ``pending``. At start-up
the window is rebuilt from the table.

Draining (:meth:`Engine.run_due`): claim due reminders in small batches
(``pending -> sending``, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), topped up
to ``batch_size`` claims once half of them are done (a patient's reminders
still in due order), so each channel's pacer always has one waiting; and hand
each one to the send step (:mod:`scheduler.sending`: re-check, pace, send,
record the outcome before going on; the table of outcomes and the
uncertain policy are there). What a drain did comes back as a
:class:`~scheduler.run_report.RunReport`.

Crash recovery: each process claims as its own worker (``host-pid``). At
start-up, ``sending`` claims of this worker id, of processes on this host
that no longer run, and of other hosts older than the claim lease are
marked ``uncertain`` (they may have been delivered) and the uncertain policy
(:mod:`scheduler.sending`) applies. A graceful stop finishes the send in flight and puts claims not
yet attempted back to ``pending``.

Time: the injectable clock is the only source of trial time, and every span
the outbox rules name (the still-useful grace, the retry back-off, the pacing
of a chat) is a span of it. Under a rehearsal clock running ``speed`` times
faster, a real delay is the trial delay divided by ``speed``; the engine
holds trial time at the next reminder due until it has woken up for it, and
sends with the clock slowed (:meth:`scheduler.clock.RehearsalClock.busy`), so a
rehearsal sends each reminder within trial minutes of its time, as production
does, and never lets the weeks run past it. Only a worker's claim lease, which
is about whether a process still runs, stays in real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine as DbEngine

from core.store.audit import SYSTEM
from core.store.db import read_session
from core.store.models import Reminder
from core.store.services import (
    claim_due_reminders,
    mark_interrupted_uncertain,
    release_never_handed,
)
from core.store.uow import UnitOfWork
from scheduler import outbox
from scheduler.clock import Clock, RehearsalClock, real_seconds, trial_span
from scheduler.jobs import PeriodicJob, latest_due
from scheduler.pacing import Pacer
from scheduler.policy import Backoff, PolicyOptions
from scheduler.ports import Alert, Alerter, RemindersMissed, Sender
from scheduler.rehearsal import save_position
from scheduler.run_report import RunReport
from scheduler.sending import SendStep

log = logging.getLogger(__name__)

# Real seconds added to each wake-up, so it never fires before its trial instant (a wake-up
# that still comes early is armed again).
WAKE_SLACK = 0.005
JOB_KEY = "job:{name}"
_INSTANT = timedelta(microseconds=1)


def default_worker() -> str:
    """This process as a claimant: ``<host>-<pid>`` (at most 64 characters)."""
    host = socket.gethostname() or "localhost"
    suffix = f"-{os.getpid()}"
    return host[: 64 - len(suffix)] + suffix


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """The engine's choices (the requirements leave them to us).

    ``window``: trial time armed ahead at each refill. ``refill_every``:
    real seconds between refills at most (each refill also drains what is
    due and finds other hosts' abandoned claims). ``batch_size``: reminders
    claimed and not done at most (a crash leaves at most this many
    ``uncertain`` per worker). ``claim_lease``: real seconds after which another host's
    claim is taken as abandoned. ``clock_save_every``: real seconds between
    saves of the rehearsal clock's position (for ``--resume``).
    """

    policy: PolicyOptions = field(default_factory=PolicyOptions)
    backoff: Backoff = field(default_factory=Backoff)
    window: timedelta = timedelta(hours=6)
    refill_every: float = 60.0
    batch_size: int = 10
    claim_lease: float = 600.0
    clock_save_every: float = 2.0


class _InFlight:
    """How many claimed reminders of a drain are not done yet; a way to wait for fewer."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Event()

    def done(self, count: int) -> None:
        if count:
            self.count -= count
            self._changed.set()

    async def until_at_most(self, count: int) -> None:
        while self.count > count:
            self._changed.clear()
            await self._changed.wait()


class Engine:
    """Sends due reminders through ``sender``, on ``clock``, and tells staff through ``alerter``.

    In production :meth:`start` and :meth:`stop` run it on APScheduler; tests
    call :meth:`recover`, :meth:`run_due` and :meth:`next_wake` directly and
    move a :class:`~scheduler.clock.FakeClock`.
    """

    def __init__(
        self,
        db: DbEngine,
        clock: Clock,
        sender: Sender,
        alerter: Alerter,
        *,
        options: EngineOptions | None = None,
        pacer: Pacer | None = None,
        worker: str | None = None,
        real_now: Callable[[], datetime] = lambda: datetime.now(UTC),
        is_alive: Callable[[int], bool] = pid_alive,
        host: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.sender = sender
        self.alerter = alerter
        self.options = options or EngineOptions()
        self.pacer = pacer or Pacer()
        self.worker = worker or default_worker()
        self.host = host or socket.gethostname() or "localhost"
        self.jobs: list[PeriodicJob] = []
        self._real_now = real_now
        self._is_alive = is_alive
        self._lock = asyncio.Lock()
        self._jobs_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._scheduler: AsyncIOScheduler | None = None
        self._armed: dict[datetime, datetime] = {}  # trial instant -> real wake-up
        self._waking: set[datetime] = set()  # instants whose wake-up is under way
        self._arming = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._step = SendStep(self)
        # Real time of the last refill that went through: the health check's "engine ticks".
        self.last_tick: datetime | None = None
        # Each patient's latest run of sends: their next batch's reminders go after it.
        self._tails: dict[int, asyncio.Task[RunReport]] = {}

    # --- hooks -------------------------------------------------------------------------

    def add_job(self, job: PeriodicJob) -> None:
        """Run ``job`` at the trial instants of its schedule (see :mod:`scheduler.jobs`)."""
        if any(j.name == job.name for j in self.jobs):
            raise ValueError(f"a job named {job.name!r} is already registered")
        self.jobs.append(job)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Recover after a crash, then run on APScheduler (on the running event loop)."""
        self._stopping = False
        self._save_clock_now()  # a rehearsal is resumable from its first moment
        await self.recover()
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        scheduler.add_job(
            self.refill,
            "interval",
            seconds=self.refill_period(),
            id="refill",
            next_run_time=self._real_now(),
        )
        if isinstance(self.clock, RehearsalClock):
            scheduler.add_job(
                self._save_clock, "interval", seconds=self.options.clock_save_every, id="clock"
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("reminder engine started as worker %s", self.worker)

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop waking up, let the send in flight finish, give back unattempted claims.

        APScheduler cancels the jobs still running when it shuts down, so it is
        paused first and shut down only once the drain has finished.
        """
        self._stopping = True
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.pause()
        try:
            async with asyncio.timeout(timeout):
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("reminder engine: a drain did not finish within %s s", timeout)
        jobs, self._jobs_task = self._jobs_task, None
        if jobs is not None and not jobs.done():
            # A job cut short runs again next time: jobs are idempotent.
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if isinstance(self.clock, RehearsalClock):
            self.clock.hold(None)
            self._save_clock_now()
        log.info("reminder engine stopped")

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` has begun: claims not yet attempted go back to ``pending``."""
        return self._stopping

    def refill_period(self) -> float:
        """Real seconds between refills: at most ``refill_every``, and a third of the window."""
        window = real_seconds(self.clock, self.options.window)
        return max(1.0, min(self.options.refill_every, window / 3))

    # --- crash recovery ----------------------------------------------------------------

    async def recover(self, *, at_start: bool = True) -> list[int]:
        """Abandoned ``sending`` claims: those handed to their channel -> ``uncertain`` -> one
        repeat (the uncertain policy); those never handed over back to ``pending``.

        Returns the ids scheduled for a repeat.
        """
        now = self.clock.now()
        with read_session(self.db) as session:
            workers = outbox.claimed_workers(session)
        abandoned = [
            w for w, oldest in workers.items() if self._abandoned(w, oldest, now, at_start)
        ]
        if abandoned:
            with self._uow(now, "claims of a stopped worker") as uow:
                for worker in abandoned:
                    released = release_never_handed(uow, worker=worker)
                    if released:
                        log.info(
                            "worker %s left %d reminders claimed but never handed to their "
                            "channel; they go as usual: %s",
                            worker,
                            len(released),
                            released,
                        )
                    ids = mark_interrupted_uncertain(uow, worker=worker)
                    if ids:
                        log.warning(
                            "worker %s left %d reminders sending: %s", worker, len(ids), ids
                        )
        with self._uow(now, "uncertain policy: one repeat") as uow:
            rows = outbox.uncertain_to_repeat(uow.session)
            for reminder in rows:
                outbox.schedule_repeat(uow, reminder)
        repeats = [r.id for r in rows if r.id is not None]
        if repeats:
            log.info("reminders to repeat once (may not have been delivered): %s", repeats)
        return repeats

    def _abandoned(self, worker: str, oldest: datetime, now: datetime, at_start: bool) -> bool:
        if worker == self.worker:
            return at_start  # our own id from before a restart (same host, same pid)
        host, _, pid = worker.rpartition("-")
        if host == self.host and pid.isdigit():
            return not self._is_alive(int(pid))
        return now - oldest > trial_span(self.clock, self.options.claim_lease)

    # --- waking up ---------------------------------------------------------------------

    async def refill(self) -> None:
        """The periodic job: find abandoned claims, start a drain, arm the next window.

        The drain runs as its own task, so a long burst never makes APScheduler
        skip a refill; a drain already under way claims until nothing is due.
        A refill that went through sets :attr:`last_tick` (real time), which the
        bot's health check reads; one that failed (the database refused) leaves it.
        """
        try:
            await self.recover(at_start=False)
            if not self._lock.locked() and not self._stopping:
                task = asyncio.create_task(self._wake())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._arm_window()
            self.last_tick = self._real_now()
        except Exception:
            log.exception("reminder engine: refill failed; the next one retries")

    def wake_instants(self) -> list[datetime]:
        """Trial instants within the window at which something becomes due."""
        now = self.clock.now()
        until = now + self.options.window
        with read_session(self.db) as session:
            instants = set(outbox.wake_instants(session, now, until))
        for job in self.jobs:
            last = self._job_last(job)
            if last is not None:
                instant = job.schedule(max(last, now))
                if instant < until:
                    instants.add(instant)
        return sorted(instants)

    def next_wake(self) -> datetime | None:
        """The next trial instant at which something becomes due (for tests and reports)."""
        now = self.clock.now()
        with read_session(self.db) as session:
            found = outbox.next_sendable(session, now)
        for job in self.jobs:
            last = self._job_last(job)
            instant = job.schedule(max(last or now, now))
            found = instant if found is None else min(found, instant)
        return found

    def _arm_window(self) -> None:
        scheduler = self._scheduler
        if scheduler is None or self._stopping:
            return
        now = self.clock.now()
        real_now = self._real_now()
        self._armed = {at: real for at, real in self._armed.items() if at > now}
        instants = set(self.wake_instants())
        upcoming = self._hold_next()
        if upcoming is not None:
            # Beyond the window too: the next reminder is always armed (a rehearsal clock at
            # speed crosses the window between two refills); at once if trial time stands at it.
            instants.add(upcoming)
        for instant in sorted(instants):
            armed = self._armed.get(instant)
            if instant in self._waking or (armed is not None and armed > real_now):
                continue  # armed, and not yet woken (a wake-up that came early is armed again)
            delay = max(0.0, real_seconds(self.clock, instant - now))
            run_date = real_now + timedelta(seconds=delay + WAKE_SLACK)
            scheduler.add_job(
                self._wake,
                "date",
                args=[instant],
                run_date=run_date,
                # One id per arming: a wake-up armed again while the early one still runs is a
                # job of its own (APScheduler would skip a second instance of the same job).
                id=f"wake:{instant.isoformat()}#{next(self._arming)}",
                replace_existing=True,
            )
            self._armed[instant] = run_date

    async def _wake(self, instant: datetime | None = None) -> None:
        if instant is not None:
            self._waking.add(instant)
        try:
            try:
                await self.run_due(jobs_in_background=True)
            finally:
                if instant is not None:
                    self._waking.discard(instant)
            # Retries and deferrals made by this drain; its own instant again if it came early.
            self._arm_window()
        except Exception:
            log.exception("reminder engine: wake-up failed; the next refill retries")

    # --- draining ----------------------------------------------------------------------

    async def run_due(self, *, jobs_in_background: bool = False) -> RunReport:
        """Claim, re-check and send everything due now; run the periodic jobs that are due.

        One drain at a time (a wake-up during a drain waits for it). Reminders
        marked ``missed`` are reported to coordinators in one summary. The
        periodic jobs run after the drain, outside its lock; with
        ``jobs_in_background`` (the scheduler's wake-ups) as a task of their own,
        one pass at a time, so a slow alert never holds up a reminder.
        """
        report = RunReport()
        async with self._lock:
            with self._sending():
                window = _InFlight()
                runs: list[asyncio.Task[RunReport]] = []
                results: list[RunReport | BaseException] = []
                try:
                    while not self._stopping:
                        room = self.options.batch_size - window.count
                        now = self.clock.now()
                        with self._uow(now) as uow:
                            claimed = claim_due_reminders(
                                uow, limit=room, worker=self.worker, now=now
                            )
                        if not claimed and window.count == 0:
                            break
                        runs.extend(self._send_batch(claimed, window))
                        # Topped up once half the claims are done; the rest are still waiting
                        # for the pacer, so each channel goes on at its pace meanwhile.
                        await window.until_at_most(self.options.batch_size // 2 if claimed else 0)
                finally:
                    # Every run is seen through, after an error too: none is abandoned mid-send.
                    results = await asyncio.gather(*runs, return_exceptions=True)
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                    report.merge(result)
                self._hold_next()
        if not self._stopping:
            if not jobs_in_background:
                await self._run_jobs()
            elif self._jobs_task is None or self._jobs_task.done():
                self._jobs_task = asyncio.create_task(self._run_jobs())
        if report.missed:
            await self._alert(RemindersMissed(tuple(report.missed)))
        return report

    def _send_batch(
        self, claimed: Iterable[Reminder], window: _InFlight
    ) -> list[asyncio.Task[RunReport]]:
        """Each patient's reminders in due order; different patients at the same time.

        A patient's reminders wait for those of theirs claimed earlier and still going.
        """
        by_patient: dict[int, list[int]] = {}
        for reminder in claimed:
            assert reminder.id is not None
            by_patient.setdefault(reminder.patient_id, []).append(reminder.id)
            window.count += 1
        runs: list[asyncio.Task[RunReport]] = []
        for patient_id, ids in by_patient.items():
            after = self._tails.get(patient_id)
            run = asyncio.create_task(self._send_in_order(ids, after, window))
            self._tails[patient_id] = run
            run.add_done_callback(partial(self._forget_tail, patient_id))
            runs.append(run)
        return runs

    def _forget_tail(self, patient_id: int, run: asyncio.Task[RunReport]) -> None:
        if self._tails.get(patient_id) is run:
            del self._tails[patient_id]

    async def _send_in_order(
        self, ids: list[int], after: asyncio.Task[RunReport] | None, window: _InFlight
    ) -> RunReport:
        report = RunReport()
        done = 0
        try:
            if after is not None:
                await asyncio.wait([after])  # its outcome is reported by its own run
            for reminder_id in ids:
                try:
                    outcome = await self._step.process(reminder_id, report)
                finally:
                    done += 1
                    window.done(1)
                for alert in outcome.alerts:
                    await self._alert(alert)
        finally:
            window.done(len(ids) - done)  # those never reached (an error)
        return report

    def grace(self) -> timedelta:
        """How late a reminder announcing its own instant is still sent, in trial time at any
        clock speed (a rehearsal never sends an 08:00 dose reminder at 07:00 the next day)."""
        return self.options.policy.late_grace

    def _hold_next(self) -> datetime | None:
        """The next instant a reminder becomes sendable (now included); a running engine on a
        rehearsal clock holds trial time there until it has sent what is due."""
        now = self.clock.now()
        with read_session(self.db) as session:
            upcoming = outbox.next_sendable(session, now - _INSTANT)
        if (
            isinstance(self.clock, RehearsalClock)
            and self._scheduler is not None
            and not self._stopping
        ):
            self.clock.hold(upcoming)
        return upcoming

    def _sending(self) -> contextlib.AbstractContextManager[None]:
        """A rehearsal clock runs slowly while reminders go out (see the module's Time)."""
        if isinstance(self.clock, RehearsalClock):
            return self.clock.busy()
        return contextlib.nullcontext()

    async def _alert(self, alert: Alert) -> None:
        try:
            await self.alerter.alert(alert)
        except Exception:
            log.exception("reminder engine: alert %s failed", type(alert).__name__)

    # --- periodic jobs -------------------------------------------------------------------

    def _job_last(self, job: PeriodicJob) -> datetime | None:
        with read_session(self.db) as session:
            value = outbox.get_setting(session, JOB_KEY.format(name=job.name))
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    async def _run_jobs(self) -> None:
        for job in self.jobs:
            now = self.clock.now()
            key = JOB_KEY.format(name=job.name)
            last = self._job_last(job)
            if last is None:
                # First time this job is known: it starts from now, never runs for the past.
                with self._uow(now, f"job {job.name} registered") as uow:
                    outbox.put_setting(uow, key, now.isoformat())
                continue
            at = latest_due(job.schedule, last, now)
            if at is None:
                continue
            try:
                await job.work(at)
            except Exception:
                log.exception("periodic job %s failed for %s; retried next time", job.name, at)
                continue
            with self._uow(self.clock.now(), f"job {job.name} ran") as uow:
                outbox.put_setting(uow, key, at.isoformat())

    # --- helpers -----------------------------------------------------------------------

    def _uow(self, now: datetime, reason: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.db, SYSTEM, now, reason)

    async def _save_clock(self) -> None:
        self._save_clock_now()

    def _save_clock_now(self) -> None:
        clock = self.clock
        if not isinstance(clock, RehearsalClock):
            return
        try:
            with self._uow(clock.now(), "rehearsal clock") as uow:
                save_position(uow, clock)
        except Exception:
            log.exception("could not save the rehearsal clock's position")
