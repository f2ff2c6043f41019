"""Coordinator commands: /enroll, /invite, /withdraw, /reschedule, /ack.

The coordinators' commands. Each works as one message or, sent bare, as a
guided flow with buttons; both go through the same parser. Enrolling,
withdrawing and moving an event change the trial's records, so they show
what was understood with Confirm / Cancel and store only on Confirm. A staff
invitation and an acknowledgement act at once (no clinical data).

The rules live in ``core``: :mod:`core.enrollment` (the words of /enroll and
the day-0 limits), :mod:`core.rescheduling` (what moves, the window) and
:mod:`core.store.coordination` (the writes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.handlers.joining import ROLE_NAMES
from bot.i18n import Translator
from bot.plan_view import arm_name, dose_line
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.texts import EVENT_TITLES
from core.adverse_events import hours_left, is_overdue, match_term, reporting_deadline, term_by_key
from core.enrollment import (
    check_day0,
    check_study_id,
    parse_arm,
    parse_date,
    parse_language,
    parse_sex,
    parse_weight,
    parse_yes_no,
)
from core.messages import N_, RuleError
from core.rescheduling import (
    EventChoice,
    Reschedule,
    check_reason,
    parse_event_choice,
    parse_event_number,
    plan_move,
)
from core.schedule import Enrollment, EventKind, PlannedEvent, plan
from core.store.coordination import (
    AlreadyAcknowledged,
    acknowledge_adverse_event,
    apply_reschedule,
    event_from_row,
    event_rows,
    withdraw_patient,
)
from core.store.db import read_session
from core.store.invites import create_invite
from core.store.models import (
    AdverseEvent,
    EventStatus,
    InviteRole,
    Patient,
    PatientStatus,
    Reminder,
    ReminderStatus,
    Staff,
)
from core.store.services import enroll_patient, invite_by_token, patient_by_study_id
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

ENROLL_USAGE = N_(
    "/enroll <study ID> <arm> <day 0 as YYYY-MM-DD> <F|M> <weight in kg> <zh|en> [doses=yes]"
    "  e.g. /enroll P01 belimumab_mt 2026-12-01 F 62kg zh"
)
INVITE_USAGE = N_("/invite <nurse|investigator|coordinator>  e.g. /invite nurse")
WITHDRAW_USAGE = N_("/withdraw <study ID> <reason>  e.g. /withdraw P01 consent withdrawn")
RESCHEDULE_USAGE = N_(
    "/reschedule <study ID> <infusion|assessment> <number> <YYYY-MM-DD> [reason=...]"
    "  e.g. /reschedule P01 infusion 3 2026-12-18"
)
ACK_USAGE = N_("/ack <AE id>  e.g. /ack AE12")

# Words that begin the optional parts of a one-message command.
_DOSES_PREFIXES = ("doses=", "服药提醒=")
_REASON_PREFIXES = ("reason=", "原因=")
_WEIGHT_UNITS = frozenset({"kg", "公斤"})

_SEX_NAMES = {"F": N_("female"), "M": N_("male")}
_LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}
_YES_NO = {True: N_("yes"), False: N_("no")}
_INVITE_ROLES: dict[str, InviteRole] = {
    "nurse": InviteRole.NURSE,
    "护士": InviteRole.NURSE,
    "investigator": InviteRole.INVESTIGATOR,
    "研究者": InviteRole.INVESTIGATOR,
    "coordinator": InviteRole.COORDINATOR,
    "协调员": InviteRole.COORDINATOR,
}
# How many coming events the enrollment answer lists.
_NEXT_EVENTS = 5
# Daily doses and the pulse days are not appointments.
_NOT_APPOINTMENTS = (EventKind.ORAL_DOSE, EventKind.MP_PULSE)


def _today(ctx: Ctx) -> date:
    """Today in the trial's time zone (dates typed by staff are read there)."""
    return ctx.now().astimezone(ctx.services.zone).date()


def _today_of(uow: UnitOfWork, ctx: Ctx) -> date:
    return uow.now.astimezone(ctx.services.zone).date()


def _event_title(t: Translator, kind: EventKind, number: int) -> str:
    return t._(EVENT_TITLES[kind], number=number)


def join_link(ctx: Ctx, token: str) -> str:
    """The Telegram deep link that opens the bot with ``/start <token>``.

    The bot's name is asked of Telegram when the application starts.
    """
    username = ctx.services.bot_username
    assert username is not None, "the bot's name is known once the application has started"
    return f"https://t.me/{username}?start={token}"


def _patient(session: Session, study_id: str) -> Patient:
    """An active patient by study ID, else a refusal."""
    patient = patient_by_study_id(session, study_id)
    if patient is None:
        raise RuleError(N_("There is no patient {study_id}."), study_id=study_id)
    if patient.status == PatientStatus.WITHDRAWN:
        raise RuleError(
            N_("{study_id} is withdrawn from the study; nothing can be changed for them."),
            study_id=patient.study_id,
        )
    if patient.status != PatientStatus.ACTIVE:
        raise RuleError(
            N_("{study_id} has completed the study; nothing can be changed for them."),
            study_id=patient.study_id,
        )
    return patient


def _split_option(args: Sequence[str], prefixes: tuple[str, ...]) -> tuple[list[str], str | None]:
    """The words before an option (``reason=...``) and the option's text to the end."""
    for i, word in enumerate(args):
        lowered = word.casefold()
        for prefix in prefixes:
            if lowered.startswith(prefix):
                return list(args[:i]), " ".join([word[len(prefix) :], *args[i + 1 :]]).strip()
    return list(args), None


# --- /enroll ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    study_id: str
    arm: str
    day0: date
    sex: str
    weight: Decimal
    language: str
    doses: bool

    def payload(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "arm": self.arm,
            "day0": self.day0.isoformat(),
            "sex": self.sex,
            "weight": str(self.weight),
            "language": self.language,
            "doses": self.doses,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> EnrollRequest:
        return cls(
            payload["study_id"],
            payload["arm"],
            date.fromisoformat(payload["day0"]),
            payload["sex"],
            Decimal(payload["weight"]),
            payload["language"],
            bool(payload["doses"]),
        )


def parse_enroll(ctx: Ctx, args: Sequence[str]) -> EnrollRequest:
    """The six words of /enroll and the optional ``doses=yes``, each checked by core."""
    words: list[str] = []
    doses = False
    for word in args:
        lowered = word.casefold()
        prefix = next((p for p in _DOSES_PREFIXES if lowered.startswith(p)), None)
        if prefix is not None:
            doses = parse_yes_no(word[len(prefix) :])
        elif lowered in _WEIGHT_UNITS and len(words) == 5:
            words[4] += word  # "62 kg" typed with a space is one weight
        else:
            words.append(word)
    if len(words) < 6:
        raise RuleError(
            N_(
                "/enroll needs six words: study ID, arm, day 0, sex, weight and language; "
                "{count} were given."
            ),
            count=len(words),
        )
    if len(words) > 6:
        raise RuleError(
            N_("/enroll takes six words; these are extra: {words}"), words=" ".join(words[6:])
        )
    study_id = check_study_id(words[0])
    arm = parse_arm(words[1], list(ctx.services.protocol.arms))
    day0 = check_day0(parse_date(words[2]), _today(ctx))
    sex = parse_sex(words[3])
    weight = parse_weight(words[4])
    language = parse_language(words[5])
    with read_session(ctx.services.engine) as session:
        if patient_by_study_id(session, study_id) is not None:
            raise RuleError(N_("Study ID {study_id} is already enrolled."), study_id=study_id)
    return EnrollRequest(study_id, arm, day0, sex, weight, language, doses)


def _enrollment(ctx: Ctx, request: EnrollRequest) -> Enrollment:
    return Enrollment(request.arm, request.day0, ctx.services.zone.key, request.doses)


async def run_enroll(ctx: Ctx, args: list[str]) -> None:
    request = parse_enroll(ctx, args)
    t = ctx.t
    protocol = ctx.services.protocol
    the_plan = plan(protocol, _enrollment(ctx, request))
    now = ctx.now()
    appointments = [e for e in the_plan.events if e.kind not in _NOT_APPOINTMENTS]
    past = sum(1 for r in the_plan.reminders if r.due < now)
    lines = [
        t._("Enroll {study_id}?", study_id=request.study_id),
        t._("Arm: {arm}", arm=arm_name(t, request.arm)),
        t._("Day 0: {day}", day=t.date(request.day0)),
        t._("Sex: {sex}", sex=t._(_SEX_NAMES[request.sex])),
        t._("Weight: {weight} kg", weight=t.number(request.weight)),
        t._("Language: {language}", language=_LANGUAGE_NAMES[request.language]),
        t._("Daily medication reminders: {answer}", answer=t._(_YES_NO[request.doses])),
        t._(
            "Plan: {events} study visits and infusions, {reminders} reminders.",
            events=len(appointments),
            reminders=len(the_plan.reminders),
        ),
    ]
    if past:
        lines.append(
            t._(
                "Reminders already past: {count}. They will be recorded as not sent "
                "and never sent late.",
                count=past,
            )
        )
    if protocol.gets_belimumab(request.arm):
        dose = protocol.belimumab.dose_plan(request.weight)
        lines.append(t._("Belimumab: {dose}", dose=dose_line(t, dose)))
    await propose(ctx, "enroll", Draft("\n".join(lines), request.payload()))


@dataclass(frozen=True, slots=True)
class Enrolled:
    patient_id: int
    study_id: str
    token: str
    expires_at: datetime


def store_enroll(ctx: Ctx, uow: UnitOfWork, payload: dict[str, Any]) -> Enrolled:
    """Confirm: the patient, plan, reminders and a one-time patient invite, in one transaction."""
    request = EnrollRequest.from_payload(payload)
    # The button may be pressed a little later: today may have moved on.
    check_day0(request.day0, _today_of(uow, ctx))
    patient = enroll_patient(
        uow,
        ctx.services.protocol,
        study_id=request.study_id,
        arm=request.arm,
        day0=request.day0,
        sex=request.sex,
        weight_kg=str(request.weight),
        language=request.language,
        timezone=ctx.services.zone.key,
        daily_dose_reminders=request.doses,
        now=uow.now,
    )
    assert patient.id is not None
    token = create_invite(uow, InviteRole.PATIENT, patient=patient)
    invite = invite_by_token(uow.session, token)
    assert invite is not None
    return Enrolled(patient.id, patient.study_id, token, invite.expires_at)


async def after_enroll(ctx: Ctx, result: Enrolled) -> None:
    t = ctx.t
    now = ctx.now()
    with read_session(ctx.services.engine) as session:
        reminders = session.exec(
            select(Reminder.status).where(Reminder.patient_id == result.patient_id)
        ).all()
        rows = event_rows(session, result.patient_id)
    appointments = [r for r in rows if r.kind not in _NOT_APPOINTMENTS]
    missed = sum(1 for status in reminders if status == ReminderStatus.MISSED)
    lines = [
        t._(
            "{study_id} is enrolled: {events} study visits and infusions, {reminders} reminders.",
            study_id=result.study_id,
            events=len(appointments),
            reminders=len(reminders),
        )
    ]
    if missed:
        lines.append(
            t._(
                "Reminders already past, recorded as not sent (never sent late): {count}.",
                count=missed,
            )
        )
    coming = [r for r in appointments if r.starts_at >= now][:_NEXT_EVENTS]
    if coming:
        lines.append(t._("Next events:"))
        lines += [
            t._(
                "{when}: {title}",
                when=t.datetime(r.starts_at),
                title=_event_title(t, r.kind, r.number),
            )
            for r in coming
        ]
    await ctx.reply("\n".join(lines))
    await ctx.reply(
        t._(
            "One-time join link for {study_id}, valid until {until}. It is shown only this "
            "once: give it to the patient.\n{link}",
            study_id=result.study_id,
            until=t.datetime(result.expires_at),
            link=join_link(ctx, result.token),
        )
    )


# --- /invite ---------------------------------------------------------------------------


def parse_invite_role(args: Sequence[str]) -> InviteRole:
    if len(args) != 1 or args[0].strip().casefold() not in _INVITE_ROLES:
        raise RuleError(
            N_(
                "Name one role: nurse (护士), investigator (研究者) or coordinator (协调员). "
                "Patients get their link from /enroll."
            )
        )
    return _INVITE_ROLES[args[0].strip().casefold()]


async def run_invite(ctx: Ctx, args: list[str]) -> None:
    """A one-time staff join link, valid 7 days (no clinical data: no Confirm)."""
    role = parse_invite_role(args)
    with ctx.uow() as uow:
        token = create_invite(uow, role)
        invite = invite_by_token(uow.session, token)
        assert invite is not None
        expires = invite.expires_at
    log.info("%s made a %s invite", ctx.person.label, role.value)
    await ctx.reply(
        ctx.t._(
            "One-time join link for a {role}, valid until {until}. It is shown only this "
            "once:\n{link}",
            role=ctx.t._(ROLE_NAMES[role.value]),
            until=ctx.t.datetime(expires),
            link=join_link(ctx, token),
        )
    )


# --- /withdraw -------------------------------------------------------------------------


async def run_withdraw(ctx: Ctx, args: list[str]) -> None:
    study_id = check_study_id(args[0] if args else "")
    reason = " ".join(args[1:]).strip()
    if not reason:
        raise RuleError(N_("A reason is required to withdraw {study_id}."), study_id=study_id)
    if len(reason) > 500:
        raise RuleError(N_("The reason is too long: at most {limit} characters."), limit=500)
    with read_session(ctx.services.engine) as session:
        patient = _patient(session, study_id)
        pending = len(
            session.exec(
                select(Reminder.id).where(
                    Reminder.patient_id == patient.id,
                    Reminder.status == ReminderStatus.PENDING,
                )
            ).all()
        )
    t = ctx.t
    lines = [
        t._("Withdraw {study_id} from the study?", study_id=patient.study_id),
        t._("Reason: {reason}", reason=reason),
        t._("Pending reminders to cancel: {count}.", count=pending),
        t._("Everything recorded for {study_id} is kept.", study_id=patient.study_id),
    ]
    await propose(
        ctx, "withdraw", Draft("\n".join(lines), {"study_id": patient.study_id, "reason": reason})
    )


@dataclass(frozen=True, slots=True)
class Withdrawn:
    study_id: str
    cancelled: int


def store_withdraw(ctx: Ctx, uow: UnitOfWork, payload: dict[str, Any]) -> Withdrawn:
    patient = _patient(uow.session, payload["study_id"])
    cancelled = withdraw_patient(uow, patient, payload["reason"])
    return Withdrawn(patient.study_id, cancelled)


async def after_withdraw(ctx: Ctx, result: Withdrawn) -> None:
    await ctx.reply(
        ctx.t._(
            "{study_id} is withdrawn. Pending reminders cancelled: {count}. "
            "Everything recorded is kept.",
            study_id=result.study_id,
            count=result.cancelled,
        )
    )


# --- /reschedule -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RescheduleRequest:
    study_id: str
    choice: EventChoice
    number: int
    new_date: date
    reason: str | None

    def payload(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "choice": self.choice.value,
            "number": self.number,
            "date": self.new_date.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RescheduleRequest:
        return cls(
            payload["study_id"],
            EventChoice(payload["choice"]),
            int(payload["number"]),
            date.fromisoformat(payload["date"]),
            payload["reason"],
        )


def parse_reschedule(args: Sequence[str]) -> RescheduleRequest:
    words, reason = _split_option(args, _REASON_PREFIXES)
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
        parse_date(words[3]),
        reason,
    )


def _planned_move(
    session: Session, request: RescheduleRequest, today: date, zone: str
) -> tuple[Patient, Reschedule, str | None]:
    """The patient, the move and the deviation reason, all checked by core."""
    patient = _patient(session, request.study_id)
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
        done=done,
    )
    return patient, move, check_reason(move, request.reason)


def _when(t: Translator, event: PlannedEvent) -> str:
    return t.datetime(event.starts_at)


async def run_reschedule(ctx: Ctx, args: list[str]) -> None:
    request = parse_reschedule(args)
    with read_session(ctx.services.engine) as session:
        patient, move, deviation = _planned_move(
            session, request, _today(ctx), ctx.services.zone.key
        )
    t = ctx.t
    anchor = move.moves[0]
    lines = [
        t._(
            "Move {event} of {study_id} from {old} to {new}?",
            event=_event_title(t, anchor.before.kind, anchor.before.number),
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
            event=_event_title(t, m.before.kind, m.before.number),
            when=_when(t, m.after),
        )
        for m in move.moves[1:]
    ]
    lines.append(
        t._("Later events stay anchored to day 0; the moved events' reminders are recomputed.")
    )
    payload = RescheduleRequest(
        patient.study_id, request.choice, request.number, request.new_date, deviation
    ).payload()
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


def store_reschedule(ctx: Ctx, uow: UnitOfWork, payload: dict[str, Any]) -> Rescheduled:
    request = RescheduleRequest.from_payload(payload)
    # Checked again: the plan or the date may have changed since the summary.
    patient, move, deviation = _planned_move(
        uow.session, request, _today_of(uow, ctx), ctx.services.zone.key
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
            event=_event_title(t, result.kind, result.number),
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


# --- /ack ------------------------------------------------------------------------------


def parse_ae_id(args: Sequence[str]) -> int:
    word = args[0].strip() if len(args) == 1 else ""
    digits = word[2:] if word[:2].casefold() == "ae" else word
    if not digits.isascii() or not digits.isdigit():
        raise RuleError(N_("Name one adverse event by its id, for example AE12."))
    return int(digits)


def _term_name(t: Translator, event: AdverseEvent) -> str:
    """The CTCAE term in the reader's language when it is a listed term, else as stored."""
    if event.term is None:
        return event.verbatim
    try:
        term = term_by_key(event.term)
    except KeyError:
        found = match_term(event.term)
        if found is None:
            return event.term
        term = found.term
    return term.term_zh if t.lang == "zh_Hans" else term.term_en


def _hours(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _acknowledger_role(session: Session, actor: str | None) -> str | None:
    """The role (never the name) of whoever acknowledged, from the audit actor."""
    if actor is None or not actor.startswith("staff:") or not actor[6:].isdigit():
        return None
    staff = session.get(Staff, int(actor[6:]))
    return None if staff is None else staff.role.value


async def run_ack(ctx: Ctx, args: list[str]) -> None:
    """Acknowledge a serious adverse event at once: who and when, audited."""
    ae_id = parse_ae_id(args)
    t = ctx.t
    try:
        with ctx.uow() as uow:
            event = acknowledge_adverse_event(uow, ae_id)
            patient = uow.session.get(Patient, event.patient_id)
            assert patient is not None
            study_id = patient.study_id
    except AlreadyAcknowledged as already:
        with read_session(ctx.services.engine) as session:
            role = _acknowledger_role(session, already.acknowledged_by)
        when = t.datetime(already.acknowledged_at)
        if role is None:
            text = t._("AE{id} was already acknowledged on {when}.", id=ae_id, when=when)
        else:
            text = t._(
                "AE{id} was already acknowledged by a {role} on {when}.",
                id=ae_id,
                role=t._(ROLE_NAMES[role]),
                when=when,
            )
        await ctx.reply(text)
        return
    assert event.acknowledged_at is not None
    limit = ctx.services.protocol.adverse_events.serious_report_hours
    deadline = reporting_deadline(event.awareness_at, limit)
    took = _hours(hours_left(event.acknowledged_at, event.awareness_at))
    params: dict[str, object] = {
        "id": ae_id,
        "study_id": study_id,
        "term": _term_name(t, event),
        "hours": t.number(took),
        "limit": limit,
    }
    if is_overdue(deadline, event.acknowledged_at):
        late = _hours(-hours_left(deadline, event.acknowledged_at))
        text = t._(
            "AE{id} acknowledged ({study_id}, {term}): {hours} h after awareness, {late} h "
            "past the {limit}-hour reporting clock. Its escalation stops.",
            late=t.number(late),
            **params,
        )
    else:
        left = _hours(hours_left(deadline, event.acknowledged_at))
        text = t._(
            "AE{id} acknowledged ({study_id}, {term}): {hours} h after awareness, within the "
            "{limit}-hour reporting clock ({left} h left). Its escalation stops.",
            left=t.number(left),
            **params,
        )
    log.info("AE%d acknowledged by %s", ae_id, ctx.person.label)
    await ctx.reply(text)


# --- guided flows: the buttons -----------------------------------------------------------


def _arm_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(arm_name(ctx.t, arm), arm) for arm in ctx.services.protocol.arms]


def _sex_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(name), code) for code, name in _SEX_NAMES.items()]


def _language_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [("中文", "zh"), ("English", "en")]


def _yes_no_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(_YES_NO[True]), "yes"), (ctx.t._(_YES_NO[False]), "no")]


def _role_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(ROLE_NAMES[role]), role) for role in ROLE_NAMES]


def _event_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(choice.label), choice.value) for choice in EventChoice]


def _open_serious_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """Serious adverse events not yet acknowledged, by id and study ID (never a name)."""
    with read_session(ctx.services.engine) as session:
        rows = session.exec(
            select(AdverseEvent, Patient.study_id)
            .join(Patient, col(Patient.id) == col(AdverseEvent.patient_id))
            .where(col(AdverseEvent.acknowledged_at).is_(None))
            .order_by(col(AdverseEvent.id))
        ).all()
    return [(f"AE{ae.id} {study_id}", f"AE{ae.id}") for ae, study_id in rows if ae.serious]


ENROLL = StaffCommand(
    "enroll",
    ENROLL_USAGE,
    run_enroll,
    fields=(
        Field(
            "study_id",
            N_("Type the new patient's study ID (1 to 16 letters, digits, _ or -), e.g. P01."),
        ),
        Field("arm", N_("Which arm?"), choices=_arm_choices),
        Field(
            "day0",
            N_("Day 0, the first day of the methylprednisolone pulse, as YYYY-MM-DD:"),
        ),
        Field("sex", N_("Sex?"), choices=_sex_choices),
        Field("weight", N_("Weight in kg, e.g. 62:")),
        Field("language", N_("The patient's language?"), choices=_language_choices),
        Field(
            "doses",
            N_("Daily medication reminders for this patient?"),
            choices=_yes_no_choices,
            template="doses={value}",
        ),
    ),
)
INVITE = StaffCommand(
    "invite",
    INVITE_USAGE,
    run_invite,
    fields=(Field("role", N_("Which role is the join link for?"), choices=_role_choices),),
)
WITHDRAW = StaffCommand(
    "withdraw",
    WITHDRAW_USAGE,
    run_withdraw,
    fields=(
        Field("study_id", N_("Which patient?"), choices=patient_choices),
        Field("reason", N_("Why is the patient withdrawn? Type the reason:")),
    ),
)
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
ACK = StaffCommand(
    "ack",
    ACK_USAGE,
    run_ack,
    fields=(
        Field(
            "ae",
            N_("Which serious adverse event do you acknowledge?"),
            choices=_open_serious_choices,
        ),
    ),
)


FEATURE = Feature(
    "coordination",
    staff_commands=[ENROLL, INVITE, WITHDRAW, RESCHEDULE, ACK],
    actions=[
        ActionSpec("enroll", "enroll", store_enroll, after_enroll),
        ActionSpec("withdraw", "withdraw", store_withdraw, after_withdraw),
        ActionSpec("reschedule", "reschedule", store_reschedule, after_reschedule),
    ],
)
