"""Escalations and the coordinators' digests, run by the reminder engine on trial time.

Site operations choices, all instants from the protocol file's ``[escalation]``:

- an infusion not confirmed ("I'll be there") by the evening before -> nurses;
- a 24-hour urine collection not started by noon of its day -> one nudge to
  the patient, with the Started / Something went wrong buttons;
- a serious adverse event not acknowledged -> coordinators at 1, 4 and 12
  hours after awareness and at the 24-hour deadline;
- every day at 08:30 -> coordinators get first what is new since the previous
  digest (adverse events, patient reports, unconfirmed infusions), then today's
  visits, overdue items and open serious-event clocks; every Monday at 09:00
  the response summary (a few lines until a patient reaches week 24). An
  overdue item is on at most three daily digests, then once in the Monday
  summary (core.escalation.overdue_listing; listings in ``escalation_notice``).

Each step is recorded in ``escalation_notice`` after it is sent, so a job run
again for the same instant (a crash, a restart) sends nothing twice; after
downtime only the latest due step of a subject is sent (core.escalation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from bot.context import Services
from bot.i18n import Translator
from bot.outputs.summary import send_weekly_digest
from bot.routing import Pace, Router
from bot.staff.reports import category_name
from bot.texts import EVENT_TITLES
from bot.views.reminder import Choice, callback_data, choice_label
from bot.views.status import term_name
from core.escalation import (
    DIGEST_KIND,
    DIGEST_SENT,
    WEEKLY_STEP,
    Listing,
    Step,
    daily_step,
    due_step,
    infusion_confirmation_step,
    overdue_listing,
    serious_event_steps,
    urine_nudge_step,
)
from core.messages import N_
from core.overview import ReportingClock, reporting_clock
from core.schedule import EventKind, Slot, trial_today
from core.store.anchor import current_anchor
from core.store.db import read_session
from core.store.escalation_notices import (
    last_sent_at,
    record_steps,
    sent_steps,
    steps_by_subject,
)
from core.store.identities import is_joined
from core.store.models import (
    EventStatus,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    StaffRole,
)
from core.store.status import (
    NewSince,
    SeriousOpen,
    events_not_done,
    new_since,
    serious_unacknowledged,
)
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


def _record(
    services: Services, at: datetime, kind: str, subject: str, steps: Sequence[Step]
) -> None:
    with UnitOfWork(services.engine, "system", at, f"escalation {kind}") as uow:
        record_steps(uow, kind, subject, [step.name for step in steps], at)


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
            step, covered = due_step(steps, sent_steps(session, "sae", subject), at)
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
                [step], sent_steps(session, "infusion", subject), at, until=event.starts_at
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
                [step], sent_steps(session, "urine", subject), at, until=event.ends_at
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
                ReminderStatus.DELIVERED,
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

DIGEST_KINDS = (
    EventKind.BELIMUMAB_INFUSION,
    EventKind.RENAL_ASSESSMENT,
    EventKind.URINE_COLLECTION,
)
# How far back the digests look for overdue items.
DIGEST_LOOKBACK = timedelta(days=28)


def _subject(event: PlannedEventRow) -> str:
    return f"event:{event.id}"


def _overdue_by_listing(
    session: Session, services: Services, today: date
) -> dict[Listing, list[tuple[PlannedEventRow, str]]]:
    """Overdue events not done, by where the digests list them today (core.escalation)."""
    limit = services.protocol.escalation.overdue_in_digests
    rows = events_not_done(session, today - DIGEST_LOOKBACK, today, DIGEST_KINDS)
    # Overdue: its day has passed (a collection ends the next morning).
    overdue = [
        (e, s)
        for e, s in rows
        if e.scheduled_date
        < today - timedelta(days=1 if e.kind == EventKind.URINE_COLLECTION else 0)
    ]
    steps = steps_by_subject(session, DIGEST_KIND, [_subject(e) for e, _ in overdue])
    out: dict[Listing, list[tuple[PlannedEventRow, str]]] = {where: [] for where in Listing}
    for event, study_id in overdue:
        where = overdue_listing(steps.get(_subject(event), set()), today, limit)
        out[where].append((event, study_id))
    return out


def _record_listed(
    services: Services, at: datetime, events: Sequence[PlannedEventRow], step: str, why: str
) -> None:
    if not events:
        return
    with UnitOfWork(services.engine, "system", at, why) as uow:
        for event in events:
            record_steps(uow, DIGEST_KIND, _subject(event), [step], at)


def _event_line(t: Translator, event: PlannedEventRow, study_id: str) -> str:
    return t._(
        "  {day} {study_id}: {event}",
        day=t.date(event.scheduled_date, "MMMd"),
        study_id=study_id,
        event=t._(EVENT_TITLES[event.kind], number=event.number),
    )


def _new_lines(t: Translator, new: NewSince, since: datetime) -> list[str]:
    """What is new since the previous digest, first in the digest: adverse events recorded,
    patient reports filed, infusions the patient did not confirm."""
    if not new.count:
        return [t._("Nothing new since the previous digest ({since}).", since=t.datetime(since))]
    lines = [
        t._(
            "New since the previous digest ({since}): {count}.",
            since=t.datetime(since),
            count=new.count,
        )
    ]
    for ae, study_id in new.adverse_events:
        pattern = (
            N_("  AE{id} {study_id}: {term}, grade {grade}, serious")
            if ae.serious
            else N_("  AE{id} {study_id}: {term}, grade {grade}")
        )
        lines.append(
            t._(pattern, id=ae.id, study_id=study_id, term=term_name(t, ae), grade=ae.grade)
        )
    for report, study_id in new.reports:
        lines.append(
            t._(
                "  R{id} {study_id}: patient report, {category}",
                id=report.id,
                study_id=study_id,
                category=category_name(t, report),
            )
        )
    for event, study_id in new.unconfirmed:
        lines.append(
            t._(
                "  {study_id}: {event} on {day} not confirmed by the patient",
                study_id=study_id,
                event=t._(EVENT_TITLES[event.kind], number=event.number),
                day=t.date(event.scheduled_date, "MMMd"),
            )
        )
    return lines


async def send_daily_digest(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """Coordinators' morning digest: first what is new since the previous digest (adverse
    events recorded, patient reports filed, infusions escalated as not confirmed), then the
    standing list: today's visits, overdue items, open serious-event clocks, and the audit
    trail's anchor (its record count and signed head, :mod:`core.store.anchor`).

    The previous digest is the latest one that reached a coordinator (recorded under
    ``DIGEST_SENT``); before the first, the day before. Listing what is new first is a
    site operations choice (README, choices table).

    An overdue item (not done: a urine collection the patient answered Finished
    is done) is listed on at most ``escalation.overdue_in_digests`` digests,
    then left for the weekly summary (core.escalation.overdue_listing); each
    listing is recorded once the digest reached a coordinator.
    """
    today = trial_today(at, services.zone)
    hours = services.protocol.adverse_events.serious_report_hours
    limit = services.protocol.escalation.overdue_in_digests
    with read_session(services.engine) as session:
        todays = [
            (e, s)
            for e, s in events_not_done(session, today, today, DIGEST_KINDS)
            if e.scheduled_date == today
        ]
        listing = _overdue_by_listing(session, services, today)
        serious = serious_unacknowledged(session)
        previous = last_sent_at(session, DIGEST_KIND, DIGEST_SENT, daily_step(today))
        since = previous if previous is not None and previous < at else at - timedelta(days=1)
        new = new_since(session, since, at)
        key = services.audit_key
        anchor = current_anchor(session, key) if key is not None else None
    overdue = listing[Listing.DAILY]
    waiting = len(listing[Listing.WEEKLY])

    def text(t: Translator) -> str:
        lines = [t._("Daily digest for {day}.", day=t.date(today))]
        lines += _new_lines(t, new, since)
        lines.append("")
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
        lines += [_event_line(t, e, s) for e, s in overdue]
        if waiting:
            lines.append(
                t.n_(
                    "Overdue and already on {n} digest, left for the weekly summary: {count}.",
                    "Overdue and already on {n} digests, left for the weekly summary: {count}.",
                    limit,
                    count=waiting,
                )
            )
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
        if anchor is not None:
            # Kept outside the database by whoever reads it: `audit verify --anchor` later.
            lines.append(
                t.n_(
                    "Audit trail: {count} record, anchor {anchor}.",
                    "Audit trail: {count} records, anchor {anchor}.",
                    anchor.count,
                    count=anchor.count,
                    anchor=anchor.short,
                )
            )
        return "\n".join(lines)

    reached = await router.alert_staff(text, roles=[StaffRole.COORDINATOR], pace=pace)
    if reached:
        _record_listed(
            services, at, [e for e, _ in overdue], daily_step(today), "daily digest listed"
        )
        with UnitOfWork(services.engine, "system", at, "daily digest sent") as uow:
            record_steps(uow, DIGEST_KIND, DIGEST_SENT, [daily_step(today)], at)
    return reached


async def send_weekly_summary(
    router: Router, services: Services, at: datetime, pace: Pace | None = None
) -> int:
    """The Monday summary, ending with the overdue items the daily digest no longer lists
    (each once: core.escalation.overdue_listing), recorded once it reached a coordinator."""
    today = trial_today(at, services.zone)
    limit = services.protocol.escalation.overdue_in_digests
    with read_session(services.engine) as session:
        moved = _overdue_by_listing(session, services, today)[Listing.WEEKLY]

    def overdue_block(t: Translator) -> list[str]:
        if not moved:
            return []
        heading = t.n_(
            "Overdue after {n} daily digest, listed here once and then no more: {count}.",
            "Overdue after {n} daily digests, listed here once and then no more: {count}.",
            limit,
            count=len(moved),
        )
        return ["\n".join(["", heading, *(_event_line(t, e, s) for e, s in moved)])]

    # Once a week and long: sent without the pacer.
    reached = await send_weekly_digest(router, services, at, after=overdue_block)
    if reached:
        _record_listed(services, at, [e for e, _ in moved], WEEKLY_STEP, "weekly summary listed")
    return reached


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
            send_weekly_summary,
        ),
    ]
