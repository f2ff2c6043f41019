"""Escalations and the coordinators' digests, run by the reminder engine on trial time.

Site operations choices, all instants from the protocol file's ``[escalation]``:

- an infusion not confirmed ("I'll be there") by the evening before -> nurses;
- a 24-hour urine collection not started by noon of its day -> one nudge to
  the patient, with the Started / Something went wrong buttons;
- a serious adverse event not acknowledged -> coordinators at 1, 4 and 12
  hours after awareness and at the 24-hour deadline;
- every day at 08:30 -> coordinators get today's visits, overdue items and
  open serious-event clocks; every Monday at 09:00 the response summary.

Each step is recorded in ``escalation_notice`` after it is sent, so a job run
again for the same instant (a crash, a restart) sends nothing twice; after
downtime only the latest due step of a subject is sent (core.escalation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from bot.context import Services
from bot.i18n import Translator
from bot.outputs.summary import send_weekly_digest
from bot.routing import Pace, Router
from bot.texts import EVENT_TITLES
from bot.views.reminder import Choice, callback_data, choice_label
from core.escalation import (
    Step,
    due_step,
    infusion_confirmation_step,
    serious_event_steps,
    urine_nudge_step,
)
from core.messages import N_
from core.overview import ReportingClock, reporting_clock
from core.schedule import EventKind, Slot, trial_today
from core.store.db import read_session
from core.store.identities import is_joined
from core.store.models import (
    EscalationNotice,
    EventStatus,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    StaffRole,
)
from core.store.status import SeriousOpen, serious_unacknowledged
from core.store.uow import UnitOfWork
from scheduler.jobs import PeriodicJob, Schedule, daily_at, every, weekly_at

log = logging.getLogger(__name__)

URINE_NUDGE = N_(
    "Have you started your 24-hour urine collection today? If you have, press Started. "
    "If something went wrong, press Something went wrong and the study team will help."
)

# How often the escalation scan runs, in trial time: fine enough that a step
# goes out within a quarter of an hour of its instant.
SCAN_EVERY = timedelta(minutes=15)


# --- recording steps ---------------------------------------------------------------------


def _sent(session: Session, kind: str, subject: str) -> set[str]:
    rows = session.exec(
        select(EscalationNotice.step).where(
            EscalationNotice.kind == kind, EscalationNotice.subject == subject
        )
    ).all()
    return set(rows)


def _record(
    services: Services, at: datetime, kind: str, subject: str, steps: Sequence[Step]
) -> None:
    with UnitOfWork(services.engine, "system", at, f"escalation {kind}") as uow:
        for step in steps:
            uow.add(
                EscalationNotice(kind=kind, subject=subject, step=step.name, sent_at=at),
                "escalation.sent",
            )


# --- serious adverse events ----------------------------------------------------------------


async def escalate_serious_events(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """Remind coordinators of every serious adverse event not yet acknowledged."""
    protocol = services.protocol
    hours = protocol.adverse_events.serious_report_hours
    sent = 0
    with read_session(services.engine) as session:
        open_events = serious_unacknowledged(session)
        todo = []
        for ae in open_events:
            subject = f"ae:{ae.ae_id}"
            steps = serious_event_steps(
                ae.awareness_at, protocol.escalation.sae_reminder_hours, hours
            )
            step, covered = due_step(steps, _sent(session, "sae", subject), at)
            if step is not None:
                todo.append((ae, subject, covered))
    for ae, subject, covered in todo:
        clock = reporting_clock(ae.awareness_at, at, hours)
        text = partial(_serious_event_text, ae=ae, clock=clock)
        await router.alert_staff(text, roles=[StaffRole.COORDINATOR], pace=pace)
        _record(services, at, "sae", subject, covered)
        sent += 1
    return sent


def _serious_event_text(t: Translator, *, ae: SeriousOpen, clock: ReportingClock) -> str:
    deadline = t.datetime(clock.deadline)
    if clock.overdue:
        state = t._(
            "the reporting deadline {deadline} has passed (overdue by {hours} h)",
            deadline=deadline,
            hours=clock.hours,
        )
    else:
        state = t._(
            "{hours} h left to report (deadline {deadline})", hours=clock.hours, deadline=deadline
        )
    return t._(
        "Serious adverse event AE{id} of {study_id} is not acknowledged yet: {state}. "
        "Acknowledge it with /ack AE{id}.",
        id=ae.ae_id,
        study_id=ae.study_id,
        state=state,
    )


# --- infusions not confirmed -------------------------------------------------------------


def _events_around(
    session: Session, kind: EventKind, at: datetime, services: Services
) -> list[tuple[PlannedEventRow, Patient]]:
    today = trial_today(at, services.zone)
    rows = session.exec(
        select(PlannedEventRow, Patient)
        .join(Patient, col(Patient.id) == PlannedEventRow.patient_id)
        .where(
            PlannedEventRow.kind == kind,
            PlannedEventRow.status == EventStatus.PLANNED,
            col(PlannedEventRow.scheduled_date) >= today - timedelta(days=1),
            col(PlannedEventRow.scheduled_date) <= today + timedelta(days=1),
            Patient.status == PatientStatus.ACTIVE,
        )
    ).all()
    return [(event, patient) for event, patient in rows]


def _responses(session: Session, event_id: int | None) -> set[str]:
    rows = session.exec(
        select(Reminder.response).where(
            Reminder.event_id == event_id, col(Reminder.response).is_not(None)
        )
    ).all()
    return {r for r in rows if r is not None}


async def escalate_unconfirmed_infusions(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """Tell the nurses about each infusion the patient has not confirmed by the evening before."""
    esc = services.protocol.escalation
    todo = []
    with read_session(services.engine) as session:
        for event, patient in _events_around(session, EventKind.BELIMUMAB_INFUSION, at, services):
            subject = f"event:{event.id}"
            step = infusion_confirmation_step(
                event.scheduled_date, esc.infusion_confirm_by, services.zone
            )
            due, covered = due_step(
                [step], _sent(session, "infusion", subject), at, until=event.starts_at
            )
            if due is not None and Choice.YES not in _responses(session, event.id):
                todo.append((event, patient.study_id, covered))
    for event, study_id, covered in todo:

        def text(t: Translator, event: PlannedEventRow = event, study_id: str = study_id) -> str:
            return t._(
                "{study_id} has not confirmed {event} on {when} yet. Please contact the patient.",
                study_id=study_id,
                event=t._(EVENT_TITLES[event.kind], number=event.number),
                when=t.datetime(event.starts_at),
            )

        await router.alert_staff(text, roles=[StaffRole.NURSE], pace=pace)
        _record(services, at, "infusion", f"event:{event.id}", covered)
    return len(todo)


# --- urine collection not started ---------------------------------------------------------


async def nudge_unstarted_collections(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """One nudge to a patient whose 24-hour urine collection has not started by noon.

    Rule: the nudge follows up the collection's start reminder and carries that
    reminder's Started / Problem buttons, so it is sent only when the start reminder
    went out (sent, or uncertain: Telegram may have delivered it and its buttons work
    either way). A collection whose start reminder was never sent (pending, failed,
    missed, skipped, cancelled, or none) gets no nudge and nothing is recorded for it:
    a nudge without buttons would ask a question the patient cannot answer.
    """
    esc = services.protocol.escalation
    todo = []
    with read_session(services.engine) as session:
        for event, patient in _events_around(session, EventKind.URINE_COLLECTION, at, services):
            if not is_joined(patient) or patient.unreachable_since is not None:
                continue
            subject = f"event:{event.id}"
            step = urine_nudge_step(event.scheduled_date, esc.urine_start_nudge_at, services.zone)
            due, covered = due_step(
                [step], _sent(session, "urine", subject), at, until=event.ends_at
            )
            answered = _responses(session, event.id) & {
                Choice.STARTED,
                Choice.FINISHED,
                Choice.PROBLEM,
            }
            if due is None or answered:
                continue
            start = session.exec(
                select(Reminder)
                .where(Reminder.event_id == event.id, Reminder.slot == Slot.URINE_START)
                .order_by(col(Reminder.revision).desc())
            ).first()
            if start is None or start.status not in (
                ReminderStatus.SENT,
                ReminderStatus.UNCERTAIN,
            ):
                continue
            assert start.id is not None
            todo.append((event, patient, start.id, covered))
    for event, patient, start_id, covered in todo:
        t = Translator(patient.language.value, services.zone)
        text = t._(URINE_NUDGE)
        buttons = [
            [
                (choice_label(t, Choice.STARTED), callback_data(start_id, Choice.STARTED)),
                (choice_label(t, Choice.PROBLEM), callback_data(start_id, Choice.PROBLEM)),
            ]
        ]
        if not await router.to_patient(patient, text, buttons, pace=pace):
            continue
        _record(services, at, "urine", f"event:{event.id}", covered)
    return len(todo)


# --- the daily digest ------------------------------------------------------------------------


async def send_daily_digest(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """Coordinators' morning digest: today's visits, overdue items, open serious-event clocks."""
    today = trial_today(at, services.zone)
    hours = services.protocol.adverse_events.serious_report_hours
    kinds = (EventKind.BELIMUMAB_INFUSION, EventKind.RENAL_ASSESSMENT, EventKind.URINE_COLLECTION)
    with read_session(services.engine) as session:
        rows = session.exec(
            select(PlannedEventRow, Patient.study_id)
            .join(Patient, col(Patient.id) == PlannedEventRow.patient_id)
            .where(
                col(PlannedEventRow.kind).in_(kinds),
                PlannedEventRow.status == EventStatus.PLANNED,
                Patient.status == PatientStatus.ACTIVE,
                col(PlannedEventRow.scheduled_date) <= today,
                col(PlannedEventRow.scheduled_date) >= today - timedelta(days=28),
            )
            .order_by(col(PlannedEventRow.starts_at), col(Patient.study_id))
        ).all()
        serious = serious_unacknowledged(session)
    todays = [(e, s) for e, s in rows if e.scheduled_date == today]
    # Overdue: its day has passed and it is not done (a collection ends the next morning).
    overdue = [
        (e, s)
        for e, s in rows
        if e.scheduled_date
        < today - timedelta(days=1 if e.kind == EventKind.URINE_COLLECTION else 0)
    ]

    def text(t: Translator) -> str:
        lines = [t._("Daily digest for {day}.", day=t.date(today))]
        lines.append(t._("Today: {count}.", count=len(todays)))
        lines += [
            t._(
                "  {when} {study_id}: {event}",
                when=t.time(e.starts_at),
                study_id=s,
                event=t._(EVENT_TITLES[e.kind], number=e.number),
            )
            for e, s in todays
        ]
        lines.append(t._("Overdue: {count}.", count=len(overdue)))
        lines += [
            t._(
                "  {day} {study_id}: {event}",
                day=t.date(e.scheduled_date, "MMMd"),
                study_id=s,
                event=t._(EVENT_TITLES[e.kind], number=e.number),
            )
            for e, s in overdue
        ]
        lines.append(t._("Serious adverse events not acknowledged: {count}.", count=len(serious)))
        for ae in serious:
            clock = reporting_clock(ae.awareness_at, at, hours)
            lines.append(
                t._(
                    "  AE{id} {study_id}: overdue by {hours} h",
                    id=ae.ae_id,
                    study_id=ae.study_id,
                    hours=clock.hours,
                )
                if clock.overdue
                else t._(
                    "  AE{id} {study_id}: {hours} h left",
                    id=ae.ae_id,
                    study_id=ae.study_id,
                    hours=clock.hours,
                )
            )
        return "\n".join(lines)

    return await router.alert_staff(text, roles=[StaffRole.COORDINATOR], pace=pace)


# --- the jobs ------------------------------------------------------------------------------

Work = Callable[[Router, Services, datetime, Pace | None], Awaitable[int]]


def periodic_jobs(
    router: Router, services: Services, pace: Pace | None = None
) -> list[PeriodicJob]:
    """The escalation scans and the digests, on the engine's (trial-time) clock.

    ``pace`` is the engine's pacer, so these messages and the reminders share
    one budget of each channel's limits.
    """
    esc = services.protocol.escalation

    def job(name: str, schedule: Schedule, work: Work) -> PeriodicJob:
        async def run(at: datetime) -> None:
            await work(router, services, at, pace)

        return PeriodicJob(name, schedule, run)

    return [
        job("sae-escalations", every(SCAN_EVERY), escalate_serious_events),
        job("infusion-confirmation", every(SCAN_EVERY), escalate_unconfirmed_infusions),
        job("urine-nudge", every(SCAN_EVERY), nudge_unstarted_collections),
        job("daily-digest", daily_at(esc.digest_time, services.zone), send_daily_digest),
        job(
            "weekly-summary",
            weekly_at(esc.summary_weekday, esc.summary_time, services.zone),
            _weekly_digest,
        ),
    ]


async def _weekly_digest(
    router: Router, services: Services, at: datetime, pace: Pace | None
) -> int:
    # Once a week and long: sent by its own module, without the pacer.
    return await send_weekly_digest(router, services, at)
