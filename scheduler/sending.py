"""The send step: one reminder claimed by the engine, re-checked, sent and recorded.

The engine's drain (:meth:`scheduler.engine.Engine.run_due`) claims due
reminders in small batches (``pending -> sending``, ``FOR UPDATE SKIP LOCKED``
on PostgreSQL) and hands each one to :class:`SendStep`, which re-checks it
(:func:`scheduler.policy.decide`: skip, miss, defer for the quiet hours, or
send), waits for the :class:`~scheduler.pacing.Pacer`, re-checks it again on
the row as it is then (a wait for pacing or for a chat paused by Telegram's
``retry_after`` may run into the quiet hours or past the reminder's use),
sends through the bot's :class:`~scheduler.ports.Sender`, and records the
outcome in a unit of work that commits before the step goes on (no
transaction is held across a network call; changes of several reminders
queued at once share one, :mod:`scheduler.recording`). A back-off needs no second check: the retry is claimed anew
and re-checked like any due reminder.

==========================  =================================================
at send time                state
==========================  =================================================
patient withdrawn or not    ``skipped``, with the reason
joined; event done,
cancelled or moved to
another day; reminder
already answered
patient blocked the bot     ``skipped``, except their first sendable reminder
                            on each later day (their own calendar): it is
                            sent as a trial; if it arrives they are reachable
                            again and coordinators are told once
no longer useful (what it   ``missed``; one summary to coordinators per drain
announces has passed, or,   (a repeat stays ``uncertain``: its original may
for a reminder announcing   have arrived)
its own instant, 30 min
after it)
in the quiet hours          ``pending`` until they end (``missed`` if that
                            is too late)
delivered                   ``sent``, with the channel's message id
certainly not delivered     ``pending`` again after a back-off (2 s doubling
(connection refused before  to 5 min of trial time; at least Telegram's
the request left, 429)      ``retry_after``, which also pauses that chat),
                            then sent as new
may have been delivered     ``uncertain``, then the uncertain policy below
(read timeout, 5xx, a
connection dropped after
the request left, any
unexpected error)
blocked (403)               ``failed``; the patient is marked unreachable
                            (audited), their later reminders are skipped
                            but for the daily trial, and coordinators are
                            told once
refused (400)               ``failed`` with the channel's reason; coordinators
                            are told
==========================  =================================================

**The uncertain policy.** When the engine cannot know whether the channel
delivered a reminder (a read timeout, a 5xx, a connection dropped after the
request left, or a reminder a crashed worker had handed to its channel), it sends it once more, marked as a repeat: the text
starts "This is a repeat of a reminder that may not have reached you." and
the row gets ``is_repeat = true``. A repeat is never repeated: if the
repeat's fate is unknown too, or it is no longer useful, the reminder stays
``uncertain``, never ``missed``: it may have reached the patient. So a
patient never misses a reminder for want of a resend, and never gets more
than one repeat of it.

**Claimed is not handed over.** A drain claims a batch at once, and each
reminder waits for the pacer before it goes; the hand-off to the channel is
recorded (``handed_at``) just before the send. A worker that dies leaves
its claims ``sending``: those handed over become ``uncertain`` as above;
the others cannot have reached anyone and go back to ``pending``, to be sent
as usual, not as a repeat. Were they taken as uncertain too, a second crash
in the resent batch would leave them unsent for good.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.store.audit import SYSTEM
from core.store.db import read_session
from core.store.models import Patient, Reminder, ReminderStatus
from core.store.services import mark_reminder_failed, mark_reminder_sent
from core.store.uow import UnitOfWork
from scheduler import outbox
from scheduler.policy import Defer, Miss, Skip, decide
from scheduler.ports import (
    Blocked,
    MaybeDelivered,
    MissedReminder,
    NotDelivered,
    PatientReachable,
    PatientUnreachable,
    Rejected,
    ReminderRejected,
    Undeliverable,
)
from scheduler.recording import GroupRecorder
from scheduler.run_report import Outcome, RunReport

if TYPE_CHECKING:
    from scheduler.engine import Engine

log = logging.getLogger(__name__)

BLOCKED_REASON = "patient blocked the bot (403)"


class SendStep:
    """One reminder at a time, each change committed before the step goes on.

    Reads the engine's parts (clock, sender, pacer, options) as they are at
    each call, so a sender swapped after the engine was built is the one used.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # The clock is read when a group commits: the engine's clock as it is then.
        self._recorder = GroupRecorder(engine.db, lambda: self.engine.clock.now(), _claimed)

    async def process(self, reminder_id: int, report: RunReport) -> Outcome:
        """Re-check, pace, re-check, send and record one claimed reminder; its id goes into
        ``report``.

        The alerts it calls for come back in the outcome, to be sent once its
        unit of work has committed.
        """
        outcome = Outcome()
        found = await self._checked(reminder_id, report)
        if found is None:
            return outcome
        reminder, patient = found
        assert patient.id is not None
        # One patient is one chat, whichever channel reaches them; paced within the limits of
        # the channel the sender will use (their preferred one), not every channel's.
        chat_id = f"patient:{patient.id}"
        lane = patient.preferred_channel
        await self.engine.pacer.acquire(chat_id, lane)
        # The wait (pacing, or a chat paused by Telegram's retry_after) may have run into the
        # quiet hours or past the reminder's use, or the patient may have answered meanwhile:
        # what was true before it decides nothing.
        found = await self._checked(reminder_id, report)
        if found is None:
            return outcome
        reminder, patient = found
        assert patient.id is not None
        trial = patient.unreachable_since is not None
        # Recorded before the send leaves: after a crash, a claim without it is given
        # back to be sent as usual, one with it may have arrived (the uncertain policy).
        # For a patient who blocked the bot it is also the day's one trial.
        await self._record(reminder_id, "handed to its channel", outbox.mark_handed)
        try:
            message_id = await self.engine.sender.send(reminder_id, repeat=reminder.is_repeat)
        except NotDelivered as exc:
            if exc.retry_after:
                self.engine.pacer.pause_chat(chat_id, exc.retry_after, lane)
            await self._retry_later(reminder_id, reminder.attempts, exc.reason, exc.retry_after)
            report.retrying.append(reminder_id)
        except MaybeDelivered as exc:
            self._uncertain_outcome(reminder_id, exc.reason, report)
        except Blocked as exc:
            newly = self._blocked(reminder_id, patient.id, exc.reason)
            report.failed.append(reminder_id)
            if newly:
                outcome.alerts.append(PatientUnreachable(patient.study_id))
        except Rejected as exc:
            await self._record(reminder_id, exc.reason, _failed(exc.reason))
            report.failed.append(reminder_id)
            outcome.alerts.append(ReminderRejected(reminder_id, patient.study_id, exc.reason))
            log.error("reminder %d refused by its channel: %s", reminder_id, exc.reason)
        except Undeliverable as exc:
            await self._record(reminder_id, exc.reason, _skip(exc.reason))
            report.skipped.append(reminder_id)
        except Exception as exc:
            # Nothing says it did not arrive: only a certain failure is sent again as new.
            log.exception("reminder %d: unexpected failure while sending", reminder_id)
            self._uncertain_outcome(reminder_id, type(exc).__name__, report)
        else:
            await self._record(
                reminder_id,
                "sent",
                lambda uow, r: mark_reminder_sent(uow, r, message_id=message_id),
            )
            report.sent.append(reminder_id)
            if (
                trial
                and not self.engine.sender.confirmed_by_receipt(reminder_id)
                and self._reachable(patient.id)
            ):
                outcome.alerts.append(PatientReachable(patient.study_id))
        return outcome

    async def _checked(
        self, reminder_id: int, report: RunReport
    ) -> tuple[Reminder, Patient] | None:
        """The send-time re-check on the reminder as it is now; None if it was settled
        without a send (stopping, skipped, missed, deferred), else the reminder and patient."""
        with read_session(self.engine.db) as session:
            found = outbox.reminder_context(session, reminder_id)
            if found is None:
                return None
            reminder, patient, event = found
            assert patient.id is not None
            last_tried = (
                outbox.last_handed(session, patient.id)
                if patient.unreachable_since is not None
                else None
            )
        if self.engine.stopping:
            await self._record(reminder_id, "stopping", _release)
            report.released.append(reminder_id)
            return None
        now = self.engine.clock.now()
        verdict = decide(
            reminder,
            patient,
            event,
            now,
            self.engine.options.policy,
            grace=self.engine.grace(),
            last_tried=last_tried,
        )
        if isinstance(verdict, Skip):
            await self._record(reminder_id, verdict.reason, _skip(verdict.reason))
            report.skipped.append(reminder_id)
            log.info("reminder %d skipped: %s", reminder_id, verdict.reason)
            return None
        if isinstance(verdict, Miss):
            if reminder.is_repeat:
                # The original may have arrived: never called missed.
                await self._record(reminder_id, verdict.reason, _uncertain(verdict.reason))
                report.uncertain.append(reminder_id)
            else:
                await self._record(reminder_id, verdict.reason, _missed(verdict.reason))
                report.missed.append(
                    MissedReminder(
                        reminder_id,
                        patient.study_id,
                        event.kind,
                        event.number,
                        reminder.slot,
                        reminder.due_at,
                    )
                )
            log.warning("reminder %d for %s missed: %s", reminder_id, patient.study_id, verdict)
            return None
        if isinstance(verdict, Defer):
            await self._record(reminder_id, "quiet hours", _retry("quiet hours", verdict.until))
            report.deferred.append(reminder_id)
            return None
        return reminder, patient

    def _uncertain_outcome(self, reminder_id: int, reason: str, report: RunReport) -> None:
        if self._maybe_delivered(reminder_id, reason):
            report.repeats_scheduled.append(reminder_id)
        else:
            report.uncertain.append(reminder_id)

    async def _retry_later(
        self, reminder_id: int, attempts: int, reason: str, retry_after: float | None
    ) -> None:
        delay = self.engine.options.backoff.delay(attempts, retry_after)
        retry_at = self.engine.clock.now() + timedelta(seconds=delay)
        await self._record(reminder_id, reason, _retry(reason, retry_at))
        log.warning(
            "reminder %d not delivered (%s); retry in %.1f s (attempt %d)",
            reminder_id,
            reason,
            delay,
            attempts,
        )

    def _maybe_delivered(self, reminder_id: int, reason: str) -> bool:
        """The uncertain policy after a send that may have arrived; True if a repeat was
        scheduled."""
        with self._uow(self.engine.clock.now(), "uncertain policy") as uow:
            reminder = _claimed(uow, reminder_id)
            outbox.mark_uncertain(uow, reminder, f"may have been delivered: {reason}")
            if reminder.is_repeat:
                log.warning("repeat of reminder %d may not have arrived either", reminder_id)
                return False
            outbox.schedule_repeat(uow, reminder)
        log.warning("reminder %d may not have been delivered; repeating once", reminder_id)
        return True

    def _reachable(self, patient_id: int) -> bool:
        """A reminder reached a patient marked unreachable: they are back; True if news."""
        with self._uow(self.engine.clock.now(), "a reminder reached them again") as uow:
            back = outbox.mark_reachable(uow, patient_id)
        if back is not None:
            log.info("patient %s is reachable again; their reminders resume", back.study_id)
        return back is not None

    def _blocked(self, reminder_id: int, patient_id: int, reason: str) -> bool:
        """403: the reminder fails and the patient becomes unreachable; True if news."""
        with self._uow(self.engine.clock.now(), BLOCKED_REASON) as uow:
            reminder = _claimed(uow, reminder_id)
            mark_reminder_failed(uow, reminder, error=f"{BLOCKED_REASON}: {reason}", retry_at=None)
            newly = outbox.mark_unreachable(uow, patient_id)
        if newly is not None:
            log.warning("patient %s blocked the bot; their reminders stop", newly.study_id)
        return newly is not None

    async def _record(self, reminder_id: int, reason: str, change: _Change) -> None:
        await self._recorder.record(reminder_id, reason, change)

    def _uow(self, now: datetime, reason: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.engine.db, SYSTEM, now, reason)


_Change = Callable[[UnitOfWork, Reminder], Any]


def _claimed(uow: UnitOfWork, reminder_id: int) -> Reminder:
    reminder = uow.session.get(Reminder, reminder_id, with_for_update=True)
    if reminder is None:
        raise LookupError(f"reminder {reminder_id} is gone")
    if reminder.status != ReminderStatus.SENDING:
        raise ValueError(f"reminder {reminder_id} is {reminder.status}, not sending")
    return reminder


def _release(uow: UnitOfWork, reminder: Reminder) -> Reminder:
    return outbox.release(uow, reminder)


def _skip(reason: str) -> _Change:
    return lambda uow, r: outbox.mark_skipped(uow, r, reason)


def _missed(reason: str) -> _Change:
    return lambda uow, r: outbox.mark_missed(uow, r, reason)


def _uncertain(reason: str) -> _Change:
    return lambda uow, r: outbox.mark_uncertain(uow, r, reason)


def _failed(reason: str) -> _Change:
    return lambda uow, r: mark_reminder_failed(uow, r, error=reason, retry_at=None)


def _retry(reason: str, at: datetime) -> _Change:
    return lambda uow, r: mark_reminder_failed(uow, r, error=reason, retry_at=at)
