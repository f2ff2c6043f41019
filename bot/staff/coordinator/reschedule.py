"""/reschedule: move an infusion or assessment; outside its window, a protocol deviation.

Infusions keep their order and spacing (:func:`core.rescheduling.check_infusion_spacing`);
the words after the date are the reason, as ``reason=...`` is.

What moves and the window are :mod:`core.rescheduling`; the move is shown with
Confirm / Cancel and stored only on Confirm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.staff.coordinator.shared import active_patient, event_title
from core.enrollment import check_study_id
from core.entry_syntax import parse_date, split_reason
from core.messages import N_, RuleError
from core.rescheduling import (
    EventChoice,
    Reschedule,
    check_reason,
    parse_event_choice,
    parse_event_number,
    plan_move,
)
from core.schedule import EventKind, PlannedEvent, trial_today
from core.store.coordination import apply_reschedule, event_from_row, event_rows
from core.store.db import read_session
from core.store.models import EventStatus, Patient
from core.store.uow import UnitOfWork

RESCHEDULE_USAGE = N_(
    "/reschedule <study ID> <infusion|assessment> <number> <YYYY-MM-DD> [reason=...]"
    "  e.g. /reschedule P01 infusion 3 2026-12-18"
)


@dataclass(frozen=True, slots=True)
class RescheduleRequest:
    """What /reschedule understood; with the deviation reason checked, what Confirm stores."""

    study_id: str
    choice: EventChoice
    number: int
    new_date: date
    reason: str | None


def parse_reschedule(args: Sequence[str], today: date) -> RescheduleRequest:
    """What the command's words say; dates are read by :func:`core.entry_syntax.parse_date`.

    Four words (study ID, infusion or assessment, its number, the new date),
    then the reason: either ``reason=...`` (``原因=...``) or simply the words
    after the date (``/reschedule P01 infusion 3 2026-12-25 patient travelling``),
    read the same way. Giving both (words after the date and a ``reason=``
    further on) is refused rather than guessing which one was meant.
    """
    words, reason = split_reason(args)
    if len(words) > 4 and reason is not None:
        raise RuleError(
            N_(
                "Give the reason once: either as the words after the date or as reason=..., "
                "not both."
            )
        )
    if len(words) > 4:
        words, reason = words[:4], " ".join(words[4:])
    if len(words) != 4:
        raise RuleError(
            N_(
                "/reschedule needs four words before any reason=: study ID, infusion or "
                "assessment, its number and the new date."
            )
        )
    return RescheduleRequest(
        check_study_id(words[0]),
        parse_event_choice(words[1]),
        parse_event_number(words[2]),
        parse_date(words[3], today=today),
        reason,
    )


def _planned_move(
    session: Session, request: RescheduleRequest, today: date, zone: str, min_days: int
) -> tuple[Patient, Reschedule, str | None]:
    """The patient, the move and the deviation reason, all checked by core."""
    patient = active_patient(session, request.study_id)
    assert patient.id is not None
    rows = event_rows(session, patient.id)
    done = frozenset(f"{r.kind}:{r.number}" for r in rows if r.status == EventStatus.DONE)
    events = [event_from_row(r) for r in rows]
    move = plan_move(
        events,
        request.choice,
        request.number,
        request.new_date,
        today=today,
        timezone=zone,
        min_days_between_infusions=min_days,
        done=done,
    )
    return patient, move, check_reason(move, request.reason)


def _when(t: Translator, event: PlannedEvent) -> str:
    return t.datetime(event.starts_at)


async def run_reschedule(ctx: Ctx, args: list[str]) -> None:
    request = parse_reschedule(args, ctx.today())
    with read_session(ctx.services.engine) as session:
        patient, move, deviation = _planned_move(
            session,
            request,
            ctx.today(),
            ctx.services.zone.key,
            ctx.services.protocol.belimumab.min_days_between_infusions,
        )
    t = ctx.t
    anchor = move.moves[0]
    lines = [
        t._(
            "Move {event} of {study_id} from {old} to {new}?",
            event=event_title(t, anchor.before.kind, anchor.before.number),
            study_id=patient.study_id,
            old=_when(t, anchor.before),
            new=_when(t, anchor.after),
        ),
        t._(
            "Window: {start} to {end}.",
            start=t.date(move.window_start),
            end=t.date(move.window_end),
        ),
    ]
    if deviation is None:
        lines.append(t._("The new date is inside the window."))
    else:
        lines.append(
            t._(
                "The new date is outside the window: it will be recorded as a protocol "
                "deviation, with the reason: {reason}",
                reason=deviation,
            )
        )
    lines += [
        t._(
            "Moves with it: {event}, now {when}.",
            event=event_title(t, m.before.kind, m.before.number),
            when=_when(t, m.after),
        )
        for m in move.moves[1:]
    ]
    lines.append(
        t._("Later events stay anchored to day 0; the moved events' reminders are recomputed.")
    )
    payload = RescheduleRequest(
        patient.study_id, request.choice, request.number, request.new_date, deviation
    )
    await propose(ctx, "reschedule", Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class Rescheduled:
    study_id: str
    kind: EventKind
    number: int
    starts_at: datetime
    deviation: str | None
    moved: int
    added: int
    cancelled: int
    missed: int
    renewed: int


def store_reschedule(ctx: Ctx, uow: UnitOfWork, request: RescheduleRequest) -> Rescheduled:
    # Checked again: the plan or the date may have changed since the summary.
    patient, move, deviation = _planned_move(
        uow.session,
        request,
        trial_today(uow.now, ctx.services.zone),
        ctx.services.zone.key,
        ctx.services.protocol.belimumab.min_days_between_infusions,
    )
    changes = apply_reschedule(uow, ctx.services.protocol, patient, move, deviation)
    after = move.moves[0].after
    return Rescheduled(
        patient.study_id,
        after.kind,
        after.number,
        after.starts_at,
        deviation,
        changes.moved,
        changes.added,
        changes.cancelled,
        changes.missed,
        changes.renewed,
    )


async def after_reschedule(ctx: Ctx, result: Rescheduled) -> None:
    t = ctx.t
    lines = [
        t._(
            "{event} of {study_id} is now booked for {when}.",
            event=event_title(t, result.kind, result.number),
            study_id=result.study_id,
            when=t.datetime(result.starts_at),
        )
    ]
    if result.deviation is not None:
        lines.append(t._("Recorded as a protocol deviation: {reason}", reason=result.deviation))
    lines.append(
        t._(
            "Reminders: {moved} moved, {added} added, {cancelled} cancelled, "
            "{missed} already past (recorded as not sent).",
            moved=result.moved,
            added=result.added,
            cancelled=result.cancelled,
            missed=result.missed,
        )
    )
    if result.renewed:
        lines.append(
            t._(
                "Reminders already sent for the old date: {count}; they are sent again for the new date.",
                count=result.renewed,
            )
        )
    await ctx.reply("\n".join(lines))


def _event_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(choice.label), choice.value) for choice in EventChoice]


RESCHEDULE = StaffCommand(
    "reschedule",
    RESCHEDULE_USAGE,
    run_reschedule,
    fields=(
        Field("study_id", N_("Which patient?"), choices=patient_choices),
        Field("event", N_("Which event?"), choices=_event_choices),
        Field("number", N_("Its number, e.g. 3 for the third:")),
        Field("date", N_("The new date, as YYYY-MM-DD:")),
        Field(
            "reason",
            N_(
                "If the new date is outside the window, type the reason (recorded as a "
                "protocol deviation); otherwise press Skip."
            ),
            template="reason={value}",
            optional=True,
        ),
    ),
)


FEATURE = Feature(
    "rescheduling",
    staff_commands=[RESCHEDULE],
    actions=[
        ActionSpec(
            "reschedule", "reschedule", RescheduleRequest, store_reschedule, after_reschedule
        ),
    ],
)
