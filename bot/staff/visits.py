"""/visit: record a visit missed (with the reason) or attended (coordinators).

``/visit P01 assessment 4 missed reason=patient in hospital elsewhere``
(``/visit P01 评估 4 未到 原因=...``) and ``/visit P01 infusion 3 attended``
(``已到``). The event is named as /reschedule names it (``infusion``/输注 or
``assessment``/评估 and its number); the words after the outcome are the
reason, as ``reason=`` is. What may be recorded, and what is missed with a
renal assessment, are :mod:`core.visits`; the preview is shown with Confirm /
Cancel and stored on Confirm by :mod:`core.store.visits` (audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.staff.coordinator.shared import event_title
from core.enrollment import check_study_id
from core.entry_syntax import split_reason
from core.messages import N_, RuleError
from core.rescheduling import EventChoice, parse_event_number
from core.schedule import trial_today
from core.store.db import read_session
from core.store.uow import UnitOfWork
from core.store.visits import VisitChange, mark_visit, plan_visit_mark
from core.visits import VisitMark, parse_visit_event, parse_visit_mark

KIND = "visit"

USAGE = N_(
    "/visit <study ID> <infusion|assessment> <number> <missed|attended> [reason=...]"
    "  e.g. /visit P01 assessment 4 missed reason=patient in hospital elsewhere"
)

MARK_LABELS: dict[VisitMark, str] = {
    VisitMark.MISSED: N_("Missed"),
    VisitMark.ATTENDED: N_("Attended"),
}


@dataclass(frozen=True, slots=True)
class VisitRequest:
    """What /visit understood; with the reason checked, what Confirm stores."""

    study_id: str
    choice: EventChoice
    number: int
    mark: VisitMark
    reason: str | None


def parse_visit(args: Sequence[str]) -> VisitRequest:
    """Four words (study ID, infusion or assessment, its number, missed or attended), then
    the reason: ``reason=...`` (``原因=...``) or the words after the outcome; both at once
    is refused rather than guessing which was meant (as /reschedule reads it)."""
    words, reason = split_reason(args)
    if len(words) > 4 and reason is not None:
        raise RuleError(
            N_("Give the reason once: either as the words after missed or as reason=..., not both.")
        )
    if len(words) > 4:
        words, reason = words[:4], " ".join(words[4:])
    if len(words) != 4:
        raise RuleError(
            N_(
                "/visit needs four words before any reason=: study ID, infusion or "
                "assessment, its number, and missed or attended."
            )
        )
    return VisitRequest(
        check_study_id(words[0]),
        parse_visit_event(words[1]),
        parse_event_number(words[2]),
        parse_visit_mark(words[3]),
        reason,
    )


async def run(ctx: Ctx, args: list[str]) -> None:
    request = parse_visit(args)
    with read_session(ctx.services.engine) as session:
        change = plan_visit_mark(
            session,
            request.study_id,
            request.choice,
            request.number,
            request.mark,
            request.reason,
            ctx.today(),
        )
    t = ctx.t
    event = change.event
    title = event_title(t, event.kind, event.number)
    if change.mark is VisitMark.MISSED:
        lines = [
            t._(
                "Record {event} of {study_id}, booked for {day}, as missed?",
                event=title,
                study_id=change.study_id,
                day=t.date(event.scheduled_date),
            ),
            t._("Reason: {reason}", reason=change.reason),
        ]
        if change.with_it:
            events = t.join([event_title(t, e.kind, e.number) for e in change.with_it])
            lines.append(
                t._("Recorded missed with it, at the same visit: {events}.", events=events)
            )
    else:
        lines = [
            t._(
                "Record {event} of {study_id} as attended on its booked day, {day}?",
                event=title,
                study_id=change.study_id,
                day=t.date(event.scheduled_date),
            )
        ]
        if event.status == "missed":
            lines.append(
                t._(
                    "It is recorded as missed now ({reason}); the audit trail keeps that.",
                    reason=event.missed_reason or "",
                )
            )
    payload = VisitRequest(
        change.study_id, request.choice, request.number, request.mark, change.reason
    )
    await propose(ctx, KIND, Draft("\n".join(lines), payload))


def store(ctx: Ctx, uow: UnitOfWork, request: VisitRequest) -> VisitChange:
    # Checked again: a dose or lab panel may have marked the event meanwhile.
    today: date = trial_today(uow.now, ctx.services.zone)
    return mark_visit(
        uow,
        request.study_id,
        request.choice,
        request.number,
        request.mark,
        request.reason,
        today,
    )


async def after(ctx: Ctx, change: VisitChange) -> None:
    t = ctx.t
    event = change.event
    title = event_title(t, event.kind, event.number)
    if change.mark is VisitMark.MISSED:
        text = t._(
            "{event} of {study_id} is recorded as missed: {reason}",
            event=title,
            study_id=change.study_id,
            reason=change.reason,
        )
    else:
        text = t._(
            "{event} of {study_id} is recorded as attended.", event=title, study_id=change.study_id
        )
    await ctx.reply(text)


def _event_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(choice.label), choice.value) for choice in EventChoice]


def _mark_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(label), mark.value) for mark, label in MARK_LABELS.items()]


COMMAND = StaffCommand(
    "visit",
    USAGE,
    run,
    fields=(
        Field("study_id", N_("Which patient?"), choices=patient_choices),
        Field("event", N_("Which event?"), choices=_event_choices),
        Field("number", N_("Its number, e.g. 3 for the third:")),
        Field("mark", N_("What became of it?"), choices=_mark_choices),
        Field(
            "reason",
            N_("If it was missed, type the reason; otherwise press Skip."),
            template="reason={value}",
            optional=True,
        ),
    ),
)

FEATURE = Feature(
    "visits",
    staff_commands=[COMMAND],
    actions=[ActionSpec(KIND, "visit", VisitRequest, store, after)],
)
