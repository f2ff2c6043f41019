"""/help, /schedule and /contacts: what a person may do, a patient's coming events, whom to call."""

from __future__ import annotations

from sqlmodel import col, select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.handlers.report import NOT_EMERGENCY
from bot.roles import Role, commands_for
from bot.texts import EVENT_TITLES
from bot.views.outsider import outsider_text
from bot.views.reminder import contact_entries
from core.messages import N_
from core.schedule import EventKind
from core.store.db import read_session
from core.store.models import EventStatus, Patient, PlannedEventRow

# What each command does, as a bare description (the Telegram command menu uses it too).
COMMAND_HELP: dict[str, str] = {
    "start": N_("join with an invitation link, or start again"),
    "help": N_("what you can do here"),
    "lang": N_("choose 中文 or English"),
    "schedule": N_("your coming study events"),
    "calendar": N_("your study events as a calendar file"),
    "report": N_("tell the study team about a symptom or side effect"),
    "contacts": N_("the study team's phone numbers"),
    "enroll": N_("enroll a patient and get their join link or QR code"),
    "channel": N_("move a patient's reminders to WeChat or Telegram"),
    "invite": N_("make a join link for a member of staff"),
    "staff": N_("who is on the study team; end a member's access or revoke an invitation"),
    "withdraw": N_("withdraw a patient from the study"),
    "reschedule": N_("move a patient's infusion or assessment"),
    "visit": N_("record a visit missed, with the reason, or attended"),
    "ack": N_("acknowledge a serious adverse event"),
    "link": N_("use the bot on Telegram and WeCom as one member"),
    "ae": N_("log an adverse event, or follow one to its end: /ae AE12 outcome=recovered end=…"),
    "labs": N_("enter renal lab results"),
    "dose": N_("record a dose of belimumab, methylprednisolone, MMF or tacrolimus"),
    "weight": N_("update a patient's weight"),
    "sledai": N_("enter a SLEDAI-2K assessment"),
    "cd20": N_("enter a CD20 B-cell count"),
    "correct": N_("correct a stored AE or lab value, with the reason"),
    "status": N_("the trial at a glance, or one patient: /status P01"),
    "reports": N_("patient reports waiting for triage"),
    "triage": N_("turn a patient report into an adverse event, or close it"),
    "summary": N_("the trial's endpoints per arm and overall"),
    "plot": N_("a chart: /plot proteinuria, /plot swimmer or /plot P01"),
    "export": N_(
        "the trial's data as an Excel workbook and CSV files; /export pdf: the safety report"
    ),
}
# What a command means for staff where it means something else for patients.
STAFF_COMMAND_HELP: dict[str, str] = {
    "report": N_("the safety-review report as a PDF: /report pdf"),
}


def command_help(command: str, role: Role | None) -> str:
    """The msgid describing ``command`` to someone with ``role``."""
    if role is not None and role != Role.PATIENT and command in STAFF_COMMAND_HELP:
        return STAFF_COMMAND_HELP[command]
    return COMMAND_HELP[command]


# Daily doses and the pulse days are not appointments the patient plans around.
_NOT_SHOWN = (EventKind.ORAL_DOSE, EventKind.MP_PULSE)


async def show_help(ctx: Ctx) -> None:
    if ctx.person.withdrawn:
        # Joining is all a person without a role could do; a patient who left
        # the study is told whom to contact instead.
        await ctx.reply(outsider_text(ctx))
        return
    lines = [ctx.t._("What you can do:")]
    lines += [
        ctx.t._(
            "/{command}: {description}",
            command=command,
            description=ctx.t._(command_help(command, ctx.person.role)),
        )
        for command in commands_for(ctx.person.role)
    ]
    await ctx.reply("\n".join(lines))


def upcoming_events(ctx: Ctx, patient: Patient, limit: int) -> list[PlannedEventRow]:
    with read_session(ctx.services.engine) as session:
        rows = session.exec(
            select(PlannedEventRow)
            .where(PlannedEventRow.patient_id == patient.id)
            .where(PlannedEventRow.status == EventStatus.PLANNED)
            .where(col(PlannedEventRow.kind).not_in(_NOT_SHOWN))
            .where(PlannedEventRow.starts_at >= ctx.now())
            .order_by(col(PlannedEventRow.starts_at), col(PlannedEventRow.id))
            .limit(limit)
        )
        return list(rows)


def next_events_text(ctx: Ctx, patient: Patient, limit: int) -> str:
    """The patient's next events, dated in their language and the trial time zone."""
    events = upcoming_events(ctx, patient, limit)
    if not events:
        return ctx.t._("You have no more study events planned.")
    lines = [ctx.t._("Your next study events:")]
    for event in events:
        title = ctx.t._(EVENT_TITLES[event.kind], number=event.number)
        lines.append(ctx.t._("{when}: {title}", when=ctx.t.datetime(event.starts_at), title=title))
    return "\n".join(lines)


async def schedule(ctx: Ctx) -> None:
    """/schedule: the next events of the patient (their own data only)."""
    assert ctx.person.patient is not None
    await ctx.reply(next_events_text(ctx, ctx.person.patient, limit=8))


async def contacts(ctx: Ctx) -> None:
    """/contacts: the site's contacts from the protocol file, and what to do in an emergency."""
    protocol = ctx.services.protocol
    lines = [ctx.t._("Your study team:"), *contact_entries(ctx.t, protocol)]
    lines.append(ctx.t._(NOT_EMERGENCY, emergency=protocol.site.emergency_number))
    await ctx.reply("\n".join(lines))


FEATURE = Feature(
    "basics", commands={"help": show_help, "schedule": schedule, "contacts": contacts}
)
