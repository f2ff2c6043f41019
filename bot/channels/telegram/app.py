"""The python-telegram-bot ``Application``: Telegram's updates wired to the conversation layer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from telegram import BotCommand
from telegram._utils.types import ODVInput
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.telegram.adapter import TelegramAdapter
from bot.channels.telegram.transport import TelegramTransport
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.conversations.feature import Feature
from bot.features import FEATURES
from bot.handlers.basics import COMMAND_HELP
from bot.i18n import Translator
from bot.routing import Router
from core.store.models import Channel

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
# The commands Telegram's menu offers (everyone's first steps; staff see /help).
MENU = ("help", "schedule", "calendar", "report", "lang")
# The updates the bot asks Telegram for: messages, their edits (an edited command
# replaces its preview) and button presses.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class PollingRequest(HTTPXRequest):
    """The ``getUpdates`` connection (PTB gives polling a request object of its own): each
    answer with HTTP 200 (Telegram's "ok") calls ``on_success``."""

    def __init__(self, on_success: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_success = on_success

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code == HTTPStatus.OK:
            self._on_success()
        return code, payload


def build_application(
    services: Services,
    token: str,
    *,
    base_url: str | None = None,
    read_timeout: float = 10.0,
    rate_limited: bool = True,
    features: Sequence[Feature] = FEATURES,
) -> Application:  # type: ignore[type-arg]
    """The bot on Telegram (or a local Bot API server at ``base_url``).

    ``rate_limited`` keeps replies within Telegram's overall 30 messages a
    second and retries a 429; tests against a server without flood limits
    may turn it off to run at full speed. The services' router gains the
    Telegram transport, so alerts reach staff who use Telegram. Each
    ``getUpdates`` that succeeds is told to the services' observer (the health
    check's "Telegram answers").
    """
    conversations = Conversations(services, features)
    builder = (
        Application.builder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=services.zone))
        .read_timeout(read_timeout)
        .get_updates_request(
            PollingRequest(
                lambda: services.observer.polled(),
                connection_pool_size=1,
                read_timeout=read_timeout + 30,
            )
        )
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
    if services.router is None:
        services.router = Router(services, {})
    services.router.transports[Channel.TELEGRAM] = TelegramTransport(app.bot)

    adapter = TelegramAdapter(conversations)
    private = filters.ChatType.PRIVATE
    # First: every handler below would also take an edited message for a new one.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, adapter.on_edit))
    app.add_handler(MessageHandler(~private & filters.ALL, adapter.on_other))
    app.add_handler(
        CommandHandler(list(conversations.tables.commands), adapter.on_command, filters=private)
    )
    app.add_handler(CallbackQueryHandler(adapter.on_option))
    app.add_handler(MessageHandler(private & filters.COMMAND, adapter.on_unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT, adapter.on_text))
    app.add_handler(MessageHandler(private & filters.PHOTO, adapter.on_photo))
    app.add_handler(MessageHandler(private, adapter.on_other))
    app.add_error_handler(_on_error)
    return app


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data["services"]
    me = await app.bot.get_me()
    services.bot_username = me.username
    for lang, code in (("en", None), ("zh_Hans", "zh")):
        t = Translator(lang, services.zone)  # type: ignore[arg-type]
        commands = [BotCommand(name, t._(COMMAND_HELP[name])[:256]) for name in MENU]
        await app.bot.set_my_commands(commands, language_code=code)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A failure outside the conversation layer (which answers its own): log it, no personal data."""
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    del update
