"""A local Telegram Bot API server that checks every request against the Bot API spec.

Point the bot's ``TELEGRAM_BASE_URL`` at :attr:`LocalBotApi.base_url` to
rehearse without Telegram; tests and the demo act as users through the
control interface (:class:`LocalBotApi` methods, or HTTP under ``/control/``
via :class:`bot.local_api.client.LocalApiClient`). ``python -m bot.local_api``
runs one.
"""

from bot.local_api.server import (
    ApiError,
    CallbackAnswer,
    ControlError,
    FloodPolicy,
    LocalBotApi,
    SentFile,
    SentMessage,
    SimChat,
    SimUser,
    Violation,
    serve_forever,
)

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "ControlError",
    "FloodPolicy",
    "LocalBotApi",
    "SentFile",
    "SentMessage",
    "SimChat",
    "SimUser",
    "Violation",
    "serve_forever",
]
