"""A local Telegram Bot API server that checks every request against the Bot API spec.

Point the bot's ``TELEGRAM_BASE_URL`` at :attr:`LocalBotApi.base_url` to
rehearse without Telegram; tests and the demo act as users through the
control interface (:class:`LocalBotApi` methods, or HTTP under ``/control/``
via :class:`local_servers.telegram.client.LocalApiClient`). ``python -m local_servers.telegram``
runs one.
"""

from local_servers.telegram.server import (
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
