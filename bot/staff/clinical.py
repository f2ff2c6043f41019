"""What the clinical data-entry commands share: the patient, dates, weeks, languages.

``/ae``, ``/labs``, ``/dose``, ``/weight``, ``/sledai`` and ``/cd20`` all name
a patient by study ID first. An unknown study ID, or a patient who withdrew,
is refused with the reason (requirement: "Every refusal says why and what was
expected, and stores nothing"); the store step checks again at Confirm, since
the patient may have been withdrawn in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.context import Ctx
from bot.i18n import Translator
from bot.staff.commands import Choices
from core.messages import N_, RuleError
from core.schedule import EventKind, trial_today
from core.store.db import read_session
from core.store.models import EventStatus, Patient, PatientStatus, PlannedEventRow, Reminder
from core.store.models import ReminderStatus as RS
from core.store.reminder_state import move
from core.store.services import patient_by_study_id
from core.store.uow import UnitOfWork
from core.units import Quantity

NO_STUDY_ID = N_("Start with the patient's study ID, for example P01.")


def _check_active(patient: Patient | None, study_id: str) -> Patient:
    if patient is None:
        raise RuleError(N_("There is no patient with study ID {study_id}."), study_id=study_id)
    if patient.status == PatientStatus.WITHDRAWN:
        raise RuleError(
            N_("{study_id} has withdrawn from the study: nothing more is recorded for them."),
            study_id=patient.study_id,
        )
    return patient


def patient_for_entry(ctx: Ctx, args: Sequence[str]) -> Patient:
    """The patient the first word names; refuses a missing, unknown or withdrawn one."""
    if not args:
        raise RuleError(NO_STUDY_ID)
    study_id = args[0].strip()[:32]
    with read_session(ctx.services.engine) as session:
        return _check_active(patient_by_study_id(session, study_id), study_id)


def patient_in_store(uow: UnitOfWork, patient_id: int, study_id: str) -> Patient:
    """The patient again, inside the Confirm transaction; refused if withdrawn meanwhile."""
    return _check_active(uow.session.get(Patient, patient_id), study_id)


def local_date(ctx: Ctx, instant: datetime) -> date:
    """The trial's date of a stored instant."""
    return trial_today(instant, ctx.services.zone)


def instant_on(ctx: Ctx, day: date, wall: time) -> datetime:
    """``day`` at the wall-clock time ``wall`` in the trial zone, but never after now.

    A sample collected "today" is given the protocol's visit time; when that
    time is still to come, the entry's own instant is used instead.
    """
    moment = datetime.combine(day, wall, tzinfo=ctx.services.zone)
    return min(moment, ctx.now())


def by_language(t: Translator, en: str, zh: str) -> str:
    """Pick the reader's version of a name the core data holds in both languages."""
    return zh if t.lang == "zh_Hans" else en


def quantity_text(t: Translator, q: Quantity) -> str:
    """A value as entered, in the reader's number format, with its unit (``0.25 g/24h``)."""
    return f"{t.number(q.value)}{q.unit.suffix}"


def signed(t: Translator, value: Decimal | int) -> str:
    """A change with its sign: ``+4``, ``-30``, ``0``."""
    text = t.number(abs(Decimal(value)))
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def week_choices(weeks: Callable[[Ctx], Sequence[int]]) -> Choices:
    """Buttons for a guided flow's week step: the protocol's weeks for that measurement."""

    def choices(ctx: Ctx) -> list[tuple[str, str]]:
        return [(ctx.t._("Week {week}", week=week), f"w{week}") for week in weeks(ctx)]

    return choices


def last_week(ctx: Ctx) -> int:
    """The last study week data may be entered for (the end of the induction)."""
    return ctx.services.protocol.trial.induction_weeks


def event_of_week(
    session: Session, patient_id: int, kind: EventKind, week: int
) -> PlannedEventRow | None:
    """The patient's planned event of ``kind`` in protocol week ``week``, if there is one."""
    return session.exec(
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(PlannedEventRow.kind == kind)
        .where(PlannedEventRow.week == week)
        .order_by(col(PlannedEventRow.number))
    ).first()


def mark_event_done(uow: UnitOfWork, event: PlannedEventRow, day: date) -> None:
    """The event happened on ``day``: done, and its reminders still waiting are skipped.

    A reminder for something already done would only confuse the patient
    (``skipped``: "no longer relevant, e.g. the event is done").
    """
    if event.status != EventStatus.DONE or event.actual_date != day:
        uow.update(event, "event.done", status=EventStatus.DONE, actual_date=day)
    waiting = uow.session.exec(
        select(Reminder).where(Reminder.event_id == event.id).where(Reminder.status == RS.PENDING)
    ).all()
    for reminder in waiting:
        move(uow, reminder, RS.SKIPPED, "reminder.skipped", last_error="event done")
