"""Joining by invitation, choosing a language, the privacy notice.

A person opening the bot with a valid invitation gets the invited role (staff)
or becomes that patient; an invalid, used or expired link gets a clear answer
and nothing changes. On WeChat the invitation is a QR code whose scan the
adapter hands over as ``/start <token>``: its answers speak of the QR code,
and a staff invitation is refused there (staff join on Telegram). A new patient first chooses 中文 or English, then reads a
short privacy notice, then sees their next events.
"""

from __future__ import annotations

from bot.context import Ctx
from bot.conversations import flows
from bot.conversations.feature import Feature
from bot.handlers.basics import next_events_text
from bot.i18n import LANGUAGES, Translator
from bot.views.outsider import outsider_text
from core.messages import N_
from core.store.invites import Redemption, redeem_invite
from core.store.models import Language, Patient, Staff
from core.store.preferences import set_language

JOIN_FLOW = "join"
LANGUAGE_STEP = "language"
LANGUAGE_BUTTONS = (("中文", "lang:zh_Hans"), ("English", "lang:en"))

REDEMPTION_TEXT: dict[Redemption, str] = {
    Redemption.INVALID: N_(
        "This invitation link is not valid. Please check it with the study team."
    ),
    Redemption.USED: N_(
        "This invitation link has already been used. Ask the study team for a new one if you need it."
    ),
    Redemption.EXPIRED: N_(
        "This invitation link has expired. Please ask the study team for a new one."
    ),
    Redemption.ALREADY_REGISTERED: N_("You have already joined. /help lists what you can do."),
    Redemption.PATIENT_TAKEN: N_(
        "This invitation belongs to someone who has already joined. Please contact the study team."
    ),
    Redemption.PATIENT_INACTIVE: N_(
        "This invitation is no longer valid. Please contact the study team."
    ),
    Redemption.PATIENTS_ONLY: N_(
        "Here the bot serves the study's patients only. Study staff join on Telegram or on "
        "the hospital's WeCom: please use your invitation there."
    ),
    Redemption.ALREADY_LINKED: N_(
        "You already have an account here linked to your place in the study team; this link "
        "code was not used."
    ),
    Redemption.STAFF_ONLY: N_(
        "This is the study team's application. This invitation is a patient's: give it back "
        "to the patient, who joins with it on Telegram or by the QR code in WeChat."
    ),
}
# Where people join by scanning a code (WeChat), what they hold is a QR code.
QR_REDEMPTION_TEXT: dict[Redemption, str] = {
    Redemption.INVALID: N_("This QR code is not valid. Please check it with the study team."),
    Redemption.USED: N_(
        "This QR code has already been used. Ask the study team for a new one if you need it."
    ),
    Redemption.EXPIRED: N_("This QR code has expired. Please ask the study team for a new one."),
}

ROLE_NAMES = {
    "nurse": N_("nurse"),
    "investigator": N_("investigator"),
    "coordinator": N_("coordinator"),
}

# The role inside a sentence, with its article ("an investigator"); Chinese has none.
ROLE_WITH_ARTICLE = {
    "nurse": N_("a nurse"),
    "investigator": N_("an investigator"),
    "coordinator": N_("a coordinator"),
}

PRIVACY_NOTICE = N_(
    "About your data: this bot stores your study ID, the language you chose, your answers "
    "to reminders and what you report. It never stores your name or phone number. Only "
    "the study team at the trial unit sees it. This bot is not an emergency service: in "
    "an emergency call {emergency} or go to the nearest emergency department."
)


async def start(ctx: Ctx) -> None:
    """/start, with or without an invitation token."""
    args = ctx.args
    if not args:
        if ctx.person.role is None:
            await ctx.reply(outsider_text(ctx))
        else:
            await ctx.reply(ctx.t._("Welcome back. /help lists what you can do."))
        return
    await _redeem(ctx, args[0])


async def _redeem(ctx: Ctx, token: str) -> None:
    language = Language(ctx.person.lang)
    with ctx.uow() as uow:
        result = redeem_invite(
            uow,
            token[:128],
            channel=ctx.inbound.channel,
            account=ctx.inbound.account,
            chat=ctx.inbound.chat,
            language=language,
        )
        if result.outcome == Redemption.JOINED_AS_PATIENT:
            flows.move_to(uow, ctx.person.key, JOIN_FLOW, LANGUAGE_STEP)
    if result.outcome == Redemption.JOINED_AS_PATIENT:
        await ask_language(ctx)
    elif result.outcome == Redemption.JOINED_AS_STAFF:
        assert result.staff is not None
        await _welcome_staff(ctx, result.staff)
    elif result.outcome == Redemption.LINKED:
        assert result.staff is not None
        role = ctx.t._(ROLE_NAMES[result.staff.role.value])
        await ctx.reply(
            ctx.t._(
                "This account is now linked to your place in the study team as {role}: you can "
                "use the bot here too, and your alerts come here from now on.",
                role=role,
            )
        )
    else:
        texts = QR_REDEMPTION_TEXT if ctx.joins_by_code else {}
        await ctx.reply(ctx.t._(texts.get(result.outcome, REDEMPTION_TEXT[result.outcome])))


async def ask_language(ctx: Ctx) -> None:
    """Both languages at once: the patient has not chosen yet."""
    text = "\n".join(
        Translator(lang, ctx.services.zone)._("Please choose your language.") for lang in LANGUAGES
    )
    await ctx.reply(text, [LANGUAGE_BUTTONS])


async def _welcome_staff(ctx: Ctx, staff: Staff) -> None:
    role = ctx.t._(ROLE_NAMES[staff.role.value])
    await ctx.reply(
        ctx.t._("Welcome to the study team as {role}. /help lists your commands.", role=role)
    )


async def language_pressed(ctx: Ctx) -> None:
    """A 中文 / English button: store the choice; a new patient then reads the notice."""
    code = (ctx.inbound.token or "").removeprefix("lang:")
    if code not in LANGUAGES or ctx.person.role is None:
        await ctx.toast(ctx.t._("This button is no longer valid."))
        return
    lang = Language(code)
    record: Patient | Staff | None = ctx.person.patient or ctx.person.staff
    assert record is not None
    step = flows.current(ctx.services.engine, ctx.person.key)
    joining = step is not None and step.flow == JOIN_FLOW
    assert record.id is not None
    with ctx.uow() as uow:
        set_language(uow, type(record), record.id, Language(lang))
        if joining:
            flows.finish(uow, ctx.person.key)
    ctx.t = Translator(lang, ctx.services.zone)
    await ctx.toast()
    # The choice is made: buttons left under the question would invite a second one.
    await ctx.remove_options()
    await ctx.reply(
        ctx.t._("Language set: English.") if lang == "en" else ctx.t._("Language set: Chinese.")
    )
    if joining and ctx.person.patient is not None:
        emergency = ctx.services.protocol.site.emergency_number
        await ctx.reply(ctx.t._(PRIVACY_NOTICE, emergency=emergency))
        await ctx.reply(next_events_text(ctx, ctx.person.patient, limit=3))


async def choose_language(ctx: Ctx) -> None:
    """/lang: the same buttons, any time."""
    await ctx.reply(ctx.t._("Choose the language the bot writes to you in."), [LANGUAGE_BUTTONS])


FEATURE = Feature(
    "joining",
    commands={"start": start, "lang": choose_language},
    options=[(r"^lang:", language_pressed)],
)
