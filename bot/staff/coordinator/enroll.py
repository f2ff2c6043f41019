"""/enroll: a new patient, their plan, and their one-time way to join.

The words are read by :mod:`core.enrollment` (study ID, arm, day 0 within its
limits, sex, weight, language, year of birth, informed-consent date, daily dose
reminders); what was understood is
shown with Confirm / Cancel and stored only on Confirm. The last word may
name the channel the patient joins on: ``telegram`` (the default) gives a
join link, ``wechat`` a QR code to scan (:mod:`bot.staff.coordinator.joins`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import Field, StaffCommand
from bot.staff.coordinator.joins import channel_name, channel_word, give_invitation, parse_channel
from bot.staff.coordinator.shared import event_title
from bot.views.plan import arm_name, dose_line
from core.enrollment import (
    AgeRange,
    age_at_day0,
    check_consent_date,
    check_day0,
    check_study_id,
    parse_arm,
    parse_birth_year,
    parse_language,
    parse_sex,
    parse_weight,
    parse_yes_no,
)
from core.entry_syntax import parse_date, parse_options
from core.messages import N_, RuleError
from core.schedule import Enrollment, EventKind, plan, trial_today
from core.store.coordination import event_rows
from core.store.db import read_session
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole, Reminder, ReminderStatus
from core.store.services import enroll_patient, invite_by_token, patient_by_study_id
from core.store.uow import UnitOfWork
from core.vocabulary import Language, Sex

ENROLL_USAGE = N_(
    "/enroll <study ID> <arm> <day 0 as YYYY-MM-DD> <F|M> <weight in kg> <zh|en>"
    " born=<year of birth> consent=<consent date> [doses=yes] [telegram|wechat]"
    "  e.g. /enroll P01 belimumab_mt 2026-12-01 F 62kg zh born=1984 consent=2026-11-28"
)

# The key=value words of /enroll, in either language.
_OPTIONS = {
    "doses": "doses",
    "服药提醒": "doses",
    "born": "born",
    "出生": "born",
    "出生年": "born",
    "consent": "consent",
    "知情同意": "consent",
    "同意": "consent",
}
_MISSING = {
    ("born", "consent"): N_(
        "/enroll needs the year of birth (born=) and the informed-consent date (consent=)."
    ),
    ("born",): N_("/enroll needs the year of birth (born=), for example born=1984."),
    ("consent",): N_(
        "/enroll needs the informed-consent date (consent=), for example consent=2026-11-28."
    ),
}
_WEIGHT_UNITS = frozenset({"kg", "公斤"})

_SEX_NAMES: dict[str, str] = {Sex.F: N_("female"), Sex.M: N_("male")}
_LANGUAGE_NAMES: dict[str, str] = {Language.ZH_HANS: "中文", Language.EN: "English"}
_YES_NO = {True: N_("yes"), False: N_("no")}
# How many coming events the enrollment answer lists.
_NEXT_EVENTS = 5
# Daily doses and the pulse days are not appointments.
_NOT_APPOINTMENTS = (EventKind.ORAL_DOSE, EventKind.MP_PULSE)


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    """What /enroll understood; also what Confirm stores (the pending action's payload)."""

    study_id: str
    arm: str
    day0: date
    sex: str
    weight: Decimal
    language: str
    doses: bool
    birth_year: int
    consent_date: date
    channel: Channel = Channel.TELEGRAM


def parse_enroll(ctx: Ctx, args: Sequence[str]) -> EnrollRequest:
    """The six words of /enroll, ``born=`` and ``consent=`` (required), the optional
    ``doses=yes`` and, last, the optional channel, each checked by core (the channel
    here: it is the bot's, not the protocol's)."""
    words: list[str] = []
    keyed: list[str] = []
    for word in args:
        if "=" in word:
            keyed.append(word)
        elif word.casefold() in _WEIGHT_UNITS and len(words) == 5:
            words[4] += word  # "62 kg" typed with a space is one weight
        else:
            words.append(word)
    options = parse_options(keyed, _OPTIONS)
    channel = Channel.TELEGRAM
    if len(words) == 7 and channel_word(words[-1]) is not None:
        channel = parse_channel(ctx, words.pop())
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
    missing = tuple(key for key in ("born", "consent") if key not in options)
    if missing:
        raise RuleError(_MISSING[missing])
    today = ctx.today()
    study_id = check_study_id(words[0])
    arm = parse_arm(words[1], list(ctx.services.protocol.arms))
    day0 = check_day0(parse_date(words[2], today=today), today)
    sex = parse_sex(words[3])
    weight = parse_weight(words[4])
    language = parse_language(words[5])
    birth_year = parse_birth_year(
        options["born"][0], day0, AgeRange.from_protocol(ctx.services.protocol)
    )
    consent = check_consent_date(parse_date(options["consent"][0], today=today), day0, today)
    doses = parse_yes_no(options["doses"][0]) if "doses" in options else False
    with read_session(ctx.services.engine) as session:
        if patient_by_study_id(session, study_id) is not None:
            raise RuleError(N_("Study ID {study_id} is already enrolled."), study_id=study_id)
    return EnrollRequest(
        study_id, arm, day0, sex, weight, language, doses, birth_year, consent, channel
    )


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
        t._(
            "Born: {year} (age {age} at day 0)",
            year=request.birth_year,
            age=age_at_day0(request.birth_year, request.day0),
        ),
        t._("Informed consent: {day}", day=t.date(request.consent_date)),
        t._("Sex: {sex}", sex=t._(_SEX_NAMES[request.sex])),
        t._("Weight: {weight} kg", weight=t.number(request.weight)),
        t._("Language: {language}", language=_LANGUAGE_NAMES[request.language]),
        t._("Daily medication reminders: {answer}", answer=t._(_YES_NO[request.doses])),
        t._("Joins on: {channel}", channel=channel_name(ctx, request.channel)),
        t.n_(
            "Plan: {events} study visits and infusions, {reminders} reminder.",
            "Plan: {events} study visits and infusions, {reminders} reminders.",
            len(the_plan.reminders),
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
    await propose(ctx, "enroll", Draft("\n".join(lines), request))


@dataclass(frozen=True, slots=True)
class Enrolled:
    patient_id: int
    study_id: str
    token: str
    expires_at: datetime
    channel: Channel


def store_enroll(ctx: Ctx, uow: UnitOfWork, request: EnrollRequest) -> Enrolled:
    """Confirm: the patient, plan, reminders and a one-time patient invite, in one transaction."""
    # The button may be pressed a little later: today may have moved on.
    check_day0(request.day0, trial_today(uow.now, ctx.services.zone))
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
        birth_year=request.birth_year,
        consent_date=request.consent_date,
        now=uow.now,
    )
    assert patient.id is not None
    token = create_invite(uow, InviteRole.PATIENT, patient=patient)
    invite = invite_by_token(uow.session, token)
    assert invite is not None
    return Enrolled(patient.id, patient.study_id, token, invite.expires_at, request.channel)


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
        t.n_(
            "{study_id} is enrolled: {events} study visits and infusions, {reminders} reminder.",
            "{study_id} is enrolled: {events} study visits and infusions, {reminders} reminders.",
            len(reminders),
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
                title=event_title(t, r.kind, r.number),
            )
            for r in coming
        ]
    await ctx.reply("\n".join(lines))
    await give_invitation(ctx, result.study_id, result.token, result.expires_at, result.channel)


def _arm_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(arm_name(ctx.t, arm), arm) for arm in ctx.services.protocol.arms]


def _sex_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(name), code) for code, name in _SEX_NAMES.items()]


def _language_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [("中文", "zh"), ("English", "en")]


def _yes_no_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(_YES_NO[True]), "yes"), (ctx.t._(_YES_NO[False]), "no")]


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
            "born",
            N_("The patient's year of birth, four digits, e.g. 1984:"),
            template="born={value}",
        ),
        Field(
            "consent",
            N_("The date informed consent was signed, as YYYY-MM-DD:"),
            template="consent={value}",
        ),
        Field(
            "doses",
            N_("Daily medication reminders for this patient?"),
            choices=_yes_no_choices,
            template="doses={value}",
        ),
    ),
)


FEATURE = Feature(
    "enrollment",
    staff_commands=[ENROLL],
    actions=[
        ActionSpec("enroll", "enroll", EnrollRequest, store_enroll, after_enroll),
    ],
)
