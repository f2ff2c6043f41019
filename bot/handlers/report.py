"""/report: a patient tells the study team about a symptom or side effect.

A guided flow with buttons, its state in the ``conversation`` table (flow
``report``):

1. ``red_flag``: "Is any of these happening now?" Trouble breathing, chest
   pain, fainting, thoughts of self-harm, or none of these. A red flag gets
   the emergency instructions from the protocol file at once (the emergency
   number and the site contacts), is stored as a red-flag report and sends
   every active member of staff an urgent alert; the flow ends there.
2. ``category``: what it is about (eight categories).
3. ``severity``: mild, moderate or severe, each in plain words.
4. ``onset``: today, yesterday, 2-3 days ago, more than 3 days ago.
5. ``details``: the patient's own words (the next text message, or a photo
   with or without a caption: the photo is kept with the report), or Skip.

Then the report is stored (triage status open), the patient gets its number
and the reminder that the bot is no emergency service, and staff get an
alert. Stored values are stable English keys, never translated text. The
bot gives no medical advice beyond the protocol file's own instructions.

Source: the requirement ("/report: a guided flow with buttons ... Red flags
(trouble breathing, chest pain, fainting, thoughts of self-harm) get the
emergency instructions from the protocol file at once ... and an urgent staff
alert") and docs/clinical-facts.md §6 (belimumab warnings: infusion and
hypersensitivity reactions, also delayed up to a week; serious infections;
depression and suicidal thoughts).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from bot.context import Buttons, Ctx
from bot.conversations import flows
from bot.conversations.events import FileRef
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.outputs.commands import run_report_for_staff
from bot.roles import Role
from bot.texts import CONTACT_ROLES, OTHER_CONTACT
from core.messages import N_
from core.protocol import Contact
from core.schedule import trial_today
from core.store.db import read_session
from core.store.reports import (
    ReportFile,
    file_patient_report,
    file_red_flag_report,
    recent_belimumab_infusion,
    record_staff_alerted,
)
from scheduler.ports import SendOutcome

log = logging.getLogger(__name__)

FLOW: Final = "report"
PREFIX: Final = "rep:"
CALLBACK_PATTERN: Final = r"^rep:"

# The free text is the patient's own words, shown to staff as typed; this
# bounds one report to what staff can read in one Telegram message.
MAX_DETAILS_CHARS: Final = 1000

# docs/clinical-facts.md §6: belimumab hypersensitivity reactions may be
# delayed "up to a week" after the infusion.
DELAYED_REACTION_DAYS: Final = 7


class Step(StrEnum):
    RED_FLAG = "red_flag"
    CATEGORY = "category"
    SEVERITY = "severity"
    ONSET = "onset"
    DETAILS = "details"


class RedFlag(StrEnum):
    """docs/clinical-facts.md §6: these get the emergency instructions at once."""

    BREATHING = "breathing"
    CHEST_PAIN = "chest_pain"
    FAINTING = "fainting"
    SELF_HARM = "self_harm"


class Category(StrEnum):
    FEVER_INFECTION = "fever_infection"
    INFUSION_ALLERGY = "infusion_allergy"
    SWELLING_URINE = "swelling_urine"
    FOAMY_URINE = "foamy_urine"
    STOMACH_BOWEL = "stomach_bowel"
    TREMOR = "tremor"
    MOOD_SLEEP = "mood_sleep"
    OTHER = "other"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Onset(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    DAYS_2_3 = "days_2_3"
    MORE_THAN_3_DAYS = "more_than_3_days"


# --- what people read ------------------------------------------------------------------

ASK_RED_FLAG = N_("Is any of these happening now?")
ASK_CATEGORY = N_("What is it about?")
ASK_SEVERITY = N_("How much does it affect you?")
ASK_ONSET = N_("When did it start?")
ASK_DETAILS = N_("Describe it in your own words, or press Skip.")
NONE_OF_THESE = N_("None of these")
SKIP = N_("Skip")
NOT_EMERGENCY = N_(
    "This bot is not an emergency service: in an emergency call {emergency} "
    "or go to the nearest emergency department."
)
WITH_PHOTO = N_("The patient sent a photo with it: /reports R{number} shows it.")

# The buttons the patient presses, in the first person.
RED_FLAG_BUTTONS: dict[RedFlag, str] = {
    RedFlag.BREATHING: N_("Trouble breathing"),
    RedFlag.CHEST_PAIN: N_("Chest pain"),
    RedFlag.FAINTING: N_("Fainting"),
    RedFlag.SELF_HARM: N_("Thoughts of harming myself"),
}

# The same red flags as staff read them in an alert.
RED_FLAG_NAMES: dict[RedFlag, str] = {
    RedFlag.BREATHING: N_("trouble breathing"),
    RedFlag.CHEST_PAIN: N_("chest pain"),
    RedFlag.FAINTING: N_("fainting"),
    RedFlag.SELF_HARM: N_("thoughts of self-harm"),
}

CATEGORY_NAMES: dict[Category, str] = {
    Category.FEVER_INFECTION: N_("Fever or signs of infection"),
    Category.INFUSION_ALLERGY: N_("Infusion or allergic reaction"),
    Category.SWELLING_URINE: N_("Swelling or less urine"),
    Category.FOAMY_URINE: N_("Foamy urine"),
    Category.STOMACH_BOWEL: N_("Stomach or bowel problems"),
    Category.TREMOR: N_("Tremor (shaking)"),
    Category.MOOD_SLEEP: N_("Mood or sleep"),
    Category.OTHER: N_("Something else"),
}

SEVERITY_BUTTONS: dict[Severity, str] = {
    Severity.MILD: N_("Mild: I can do my usual activities"),
    Severity.MODERATE: N_("Moderate: it limits some activities"),
    Severity.SEVERE: N_("Severe: I cannot do my usual activities"),
}

SEVERITY_NAMES: dict[Severity, str] = {
    Severity.MILD: N_("mild (usual activities possible)"),
    Severity.MODERATE: N_("moderate (limits some activities)"),
    Severity.SEVERE: N_("severe (usual activities impossible)"),
}

ONSET_NAMES: dict[Onset, str] = {
    Onset.TODAY: N_("Today"),
    Onset.YESTERDAY: N_("Yesterday"),
    Onset.DAYS_2_3: N_("2-3 days ago"),
    Onset.MORE_THAN_3_DAYS: N_("More than 3 days ago"),
}


# --- the flow's state ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Press:
    """A ``rep:`` button: what kind (``flag``, ``cat``, ``sev``, ``on``, ``skip``) and value."""

    kind: str
    value: str


# Which step each kind of button answers.
STEP_OF: dict[str, Step] = {
    "flag": Step.RED_FLAG,
    "cat": Step.CATEGORY,
    "sev": Step.SEVERITY,
    "on": Step.ONSET,
    "skip": Step.DETAILS,
}


def parse_press(data: str) -> Press | None:
    """``rep:cat:fever_infection`` -> Press("cat", "fever_infection"); None if malformed."""
    if not data.startswith(PREFIX):
        return None
    kind, _, value = data.removeprefix(PREFIX).partition(":")
    if kind not in STEP_OF:
        return None
    return Press(kind, value)


def _data(kind: str, value: str | None = None) -> str:
    return f"{PREFIX}{kind}" if value is None else f"{PREFIX}{kind}:{value}"


async def _ask(
    ctx: Ctx, step: Step, text: str, buttons: Buttons, *, fresh: bool = False, **answer: str
) -> None:
    """Ask a step's question, then record the answer so far and that the flow waits at
    ``step`` for this very message.

    The question's message id is kept, so only the buttons of the latest
    question count: an older message's button is stale even at the same step.
    If the question cannot be sent, nothing moves and the previous buttons
    still work. ``fresh`` starts the flow over, dropping an earlier report's answers.
    """
    message = await ctx.reply(text, buttons)
    user = ctx.person.key
    with ctx.uow() as uow:
        if fresh:
            flows.finish(uow, user)
            uow.session.flush()
        flows.move_to(uow, user, FLOW, step.value, message_id=message.message, **answer)


async def start_report(ctx: Ctx) -> None:
    """/report from a patient: ask about red flags first.

    A /report while a report is open starts it over. A coordinator's /report is the
    safety-review report instead (the one command the table gives two roles).
    """
    if ctx.person.role == Role.COORDINATOR:
        await run_report_for_staff(ctx)
        return
    t = ctx.t
    buttons: list[list[tuple[str, str]]] = [
        [(t._(label), _data("flag", flag.value))] for flag, label in RED_FLAG_BUTTONS.items()
    ]
    buttons.append([(t._(NONE_OF_THESE), _data("flag", "none"))])
    await _ask(ctx, Step.RED_FLAG, t._(ASK_RED_FLAG), buttons, fresh=True)


async def button_pressed(ctx: Ctx) -> None:
    """Any ``rep:`` button. Valid only from the patient's latest question of the open
    report at the step it answers; anything else is stale and changes nothing."""
    press = parse_press(ctx.inbound.token or "")
    if press is None or not _is_current(ctx, press):
        await ctx.toast(ctx.t._("This button is no longer valid."))
        return
    await ctx.toast()
    if press.kind == "flag" and press.value == "none":
        await _ask_category(ctx)
    elif press.kind == "flag":
        await _red_flag(ctx, RedFlag(press.value))
    elif press.kind == "cat":
        await _ask_severity(ctx, Category(press.value))
    elif press.kind == "sev":
        await _ask_onset(ctx, Severity(press.value))
    elif press.kind == "on":
        await _ask_details(ctx, Onset(press.value))
    else:
        await _complete(ctx, None)


_VALUES: dict[str, frozenset[str]] = {
    "flag": frozenset({*RedFlag, "none"}),
    "cat": frozenset(Category),
    "sev": frozenset(Severity),
    "on": frozenset(Onset),
    "skip": frozenset({""}),
}


def _is_current(ctx: Ctx, press: Press) -> bool:
    if ctx.person.role != Role.PATIENT or press.value not in _VALUES[press.kind]:
        return False
    step = flows.current(ctx.services.engine, ctx.person.key)
    if step is None or step.flow != FLOW or step.step != STEP_OF[press.kind]:
        return False
    message = ctx.inbound.message
    return message is not None and message.message == str(step.data.get("message_id"))


async def _ask_category(ctx: Ctx) -> None:
    t = ctx.t
    buttons = [[(t._(label), _data("cat", c.value))] for c, label in CATEGORY_NAMES.items()]
    await _ask(ctx, Step.CATEGORY, t._(ASK_CATEGORY), buttons)


async def _ask_severity(ctx: Ctx, category: Category) -> None:
    t = ctx.t
    buttons = [[(t._(label), _data("sev", s.value))] for s, label in SEVERITY_BUTTONS.items()]
    await _ask(ctx, Step.SEVERITY, t._(ASK_SEVERITY), buttons, category=category.value)


async def _ask_onset(ctx: Ctx, severity: Severity) -> None:
    t = ctx.t
    buttons = [[(t._(label), _data("on", o.value))] for o, label in ONSET_NAMES.items()]
    await _ask(ctx, Step.ONSET, t._(ASK_ONSET), buttons, severity=severity.value)


async def _ask_details(ctx: Ctx, onset: Onset) -> None:
    t = ctx.t
    buttons = [[(t._(SKIP), _data("skip"))]]
    await _ask(ctx, Step.DETAILS, t._(ASK_DETAILS), buttons, onset=onset.value)


async def details_text(ctx: Ctx, text: str) -> None:
    """The free-text step: the patient's own words, stored and shown to staff as typed
    (a photo's caption), and a photo kept with the report."""
    words = text.strip()
    if len(words) > MAX_DETAILS_CHARS:
        await ctx.reply(
            ctx.t._(
                "That is {length} characters; the limit is {limit}. Please send a shorter "
                "description, or press Skip.",
                length=len(words),
                limit=MAX_DETAILS_CHARS,
            )
        )
        return
    await _complete(ctx, words or None, report_files(ctx, ctx.inbound.file))


# --- storing and alerting --------------------------------------------------------------


def report_files(ctx: Ctx, file: FileRef | None) -> tuple[ReportFile, ...]:
    """A file the patient sent, as the report keeps it (on the channel they used)."""
    if file is None:
        return ()
    return (ReportFile(ctx.inbound.channel, file.kind, file.id),)


async def _complete(ctx: Ctx, details: str | None, files: tuple[ReportFile, ...] = ()) -> None:
    """Store the report (triage open), confirm it to the patient, alert staff."""
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    step = flows.current(ctx.services.engine, ctx.person.key)
    assert step is not None
    category = Category(step.data["category"])
    severity = Severity(step.data["severity"])
    onset = Onset(step.data["onset"])
    with ctx.uow() as uow:
        report = file_patient_report(
            uow,
            patient.id,
            category=category.value,
            severity=severity.value,
            onset=onset.value,
            details=details,
            files=files,
        )
        flows.finish(uow, ctx.person.key)
    now = report.created_at
    number = report.id
    assert number is not None
    log.info("report %d from %s: %s", number, patient.study_id, category.value)
    confirmation = (
        ctx.t._(
            "Thank you. Your report number {number} has been sent to the study team.",
            number=number,
        ),
        ctx.t._(NOT_EMERGENCY, emergency=ctx.services.protocol.site.emergency_number),
    )
    await tell_patient(ctx, "\n".join(confirmation))
    infusion: date | None = None
    if category == Category.INFUSION_ALLERGY:
        # The last belimumab infusion within the days a delayed reaction may follow it.
        zone = ctx.services.zone
        with read_session(ctx.services.engine) as session:
            infusion = recent_belimumab_infusion(
                session, patient.id, trial_today(now, zone), DELAYED_REACTION_DAYS, zone
            )

    def text(t: Translator) -> str:
        lines = [
            t._(
                "New patient report {number} from {study_id} ({when}).",
                number=number,
                study_id=patient.study_id,
                when=t.datetime(now),
            ),
            t._("Category: {category}", category=t._(CATEGORY_NAMES[category])),
            t._("Severity: {severity}", severity=t._(SEVERITY_NAMES[severity])),
            t._("Started: {onset}", onset=t._(ONSET_NAMES[onset])),
        ]
        if infusion is not None:
            lines.append(
                t._(
                    "Last recorded belimumab infusion: {date}, within {days} days before "
                    "this report.",
                    date=t.date(infusion),
                    days=DELAYED_REACTION_DAYS,
                )
            )
        if details is None:
            lines.append(t._("The patient gave no description."))
        else:
            lines.append(t._("In the patient's words: {text}", text=details))
        if files:
            lines.append(t._(WITH_PHOTO, number=number))
        return "\n".join(lines)

    sent = await ctx.router.alert_staff(text)
    record_alert(ctx, number, sent, urgent=False)


async def _red_flag(ctx: Ctx, flag: RedFlag) -> None:
    """A red flag: the emergency instructions first, then the report and the urgent alert.

    docs/clinical-facts.md §6: "gets the site's emergency instructions at once
    (emergency number 120 in mainland China, plus the site contacts from the
    protocol file) and an urgent staff alert". Staff are alerted even if the
    report could not be stored.
    """
    patient = ctx.person.patient
    assert patient is not None
    assert patient.id is not None
    site = ctx.services.protocol.site
    shown = await tell_patient(ctx, emergency_text(ctx.t, site.emergency_number, site.contacts))
    now = ctx.now()
    number: int | None = None
    try:
        with ctx.uow() as uow:
            report = file_red_flag_report(uow, patient.id, flag.value)
            flows.finish(uow, ctx.person.key)
        number = report.id
    except Exception:
        # The alert matters more than the row: staff still hear of it.
        log.exception("red-flag report from %s could not be stored", patient.study_id)
    log.warning("red flag %s from %s (report %s)", flag.value, patient.study_id, number)

    def text(t: Translator) -> str:
        lines = [
            t._(
                "URGENT: patient {study_id} reports {red_flag} happening now ({when}).",
                study_id=patient.study_id,
                red_flag=t._(RED_FLAG_NAMES[flag]),
                when=t.datetime(now),
            ),
            t._(
                "The patient was shown the emergency instructions: call {emergency}, and the "
                "site contacts.",
                emergency=site.emergency_number,
            )
            if shown
            else t._("The emergency instructions could not be delivered to the patient."),
        ]
        if number is not None:
            lines.append(t._("Report number: {number}", number=number))
        return "\n".join(lines)

    sent = await ctx.router.alert_staff(text)
    if number is not None:
        record_alert(ctx, number, sent, urgent=True)


async def tell_patient(ctx: Ctx, text: str) -> bool:
    """Write to the patient; False if that failed (they blocked the bot, the network).

    The report is still stored and staff still alerted, so the failure is
    logged, not raised.
    """
    try:
        await ctx.reply(text)
    except SendOutcome as error:
        log.warning("report message to %s failed: %s", ctx.person.label, type(error).__name__)
        return False
    return True


def emergency_text(t: Translator, emergency: str, contacts: Sequence[Contact]) -> str:
    """The protocol file's emergency instructions: the emergency number, then each
    site contact with its role named in the reader's language."""
    lines = [
        t._(
            "If this is happening now, call {emergency} at once or go to the nearest "
            "emergency department.",
            emergency=emergency,
        ),
        t._("Then tell the study team:"),
    ]
    for contact in contacts:
        role = t._(CONTACT_ROLES.get(contact.role, OTHER_CONTACT))
        lines.append(t._("{role}: {phone}", role=role, phone=contact.phone))
    lines.append(t._("The study team is being alerted now."))
    return "\n".join(lines)


def record_alert(ctx: Ctx, number: int, sent: int, *, urgent: bool) -> None:
    """Keep in the audit trail how many members of staff the alert reached."""
    if sent == 0:
        log.error("report %d: no member of staff could be alerted", number)
    with ctx.uow() as uow:
        record_staff_alerted(uow, number, sent, urgent=urgent)


FEATURE = Feature(
    "report",
    commands={"report": start_report},
    options=[(CALLBACK_PATTERN, button_pressed)],
    text_steps={(FLOW, Step.DETAILS.value): details_text},
)
