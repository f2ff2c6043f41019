"""The python-telegram-bot ``Application``: handlers wired to the authorization table."""

from __future__ import annotations

import html
import logging

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import Handler, Services, guarded, make_ctx, members_only
from bot.handlers import basics, fallback, joining
from bot.i18n import Translator
from bot.roles import COMMANDS
from core.store.audit import patient_actor
from core.store.db import read_session
from core.store.models import Patient
from core.store.services import patient_by_telegram_user
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3

# Every command of the authorization table, and the function that serves it.
HANDLERS: dict[str, Handler] = {
    "start": joining.start,
    "help": basics.show_help,
    "lang": joining.choose_language,
    "schedule": basics.schedule,
}


def register_feature(command: str, handler: Handler) -> None:
    """Feature modules (reports, calendar, staff commands) add their handlers here."""
    HANDLERS[command] = handler


def build_application(
    services: Services,
    token: str,
    *,
    base_url: str | None = None,
    read_timeout: float = 10.0,
    rate_limited: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The bot, talking to Telegram (or a local Bot API server at ``base_url``).

    ``rate_limited`` keeps replies within Telegram's overall 30 messages a
    second and retries a 429; tests against a server without flood limits
    may turn it off to run at full speed.
    """
    from bot import features

    missing = set(COMMANDS) - set(HANDLERS)
    if missing:
        raise RuntimeError(f"commands without a handler: {sorted(missing)}")
    builder = (
        Application.builder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=services.zone))
        .read_timeout(read_timeout)
        .get_updates_read_timeout(read_timeout + 30)
        .post_init(_post_init)
    )
    if rate_limited:
        # Replies and staff alerts wait out Telegram's 429 and try again; the
        # reminder engine paces and classifies its own sends (bot.runner).
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))  # type: ignore[arg-type]
    if base_url:
        builder = builder.base_url(base_url)
    app = builder.build()
    app.bot_data["services"] = services

    private = filters.ChatType.PRIVATE
    # Group -1 runs before the others, for every update.
    app.add_handler(TypeHandler(Update, _reachable_again), group=-1)
    app.add_handler(MessageHandler(~private & filters.ALL, fallback.in_group))
    for command, handler in HANDLERS.items():
        app.add_handler(CommandHandler(command, guarded(command, handler), filters=private))
    for pattern, callback in features.CALLBACKS:
        app.add_handler(CallbackQueryHandler(members_only(callback), pattern=pattern))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
    app.add_handler(MessageHandler(private & filters.COMMAND, fallback.unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT, fallback.free_text))
    app.add_handler(MessageHandler(private, fallback.not_text))
    app.add_error_handler(_on_error)
    return app


async def _reachable_again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A patient who blocked the bot (403) and now writes has unblocked it: reach them again.

    Telegram delivers nothing from a user while they block the bot, so any
    update from a patient marked unreachable means they are back.
    """
    user = update.effective_user
    if user is None:
        return
    services: Services = context.bot_data["services"]
    with read_session(services.engine) as session:
        patient = patient_by_telegram_user(session, user.id)
    if patient is None or patient.unreachable_since is None:
        return
    actor = patient_actor(patient.study_id)
    with UnitOfWork(services.engine, actor, services.clock.now(), "wrote to the bot again") as uow:
        row = uow.session.get(Patient, patient.id)
        if row is not None and row.unreachable_since is not None:
            uow.update(row, "patient.reachable", unreachable_since=None)
    log.info("patient %s is reachable again", patient.study_id)


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data["services"]
    me = await app.bot.get_me()
    services.bot_username = me.username
    for lang, code in (("en", None), ("zh_Hans", "zh")):
        t = Translator(lang, services.zone)  # type: ignore[arg-type]
        commands = [
            BotCommand(name, t._(basics.COMMAND_HELP[name])[:256])
            for name in ("help", "schedule", "calendar", "report", "lang")
        ]
        await app.bot.set_my_commands(commands, language_code=code)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (no personal data) and tell the person nothing was half-done."""
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update):
        ctx = make_ctx(update, context)
        if ctx is not None:
            text = ctx.t._(
                "Something went wrong on our side, and nothing was saved. Please try again."
            )
            await context.bot.send_message(ctx.person.chat_id, html.escape(text, quote=False))
