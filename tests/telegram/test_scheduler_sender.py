"""Telegram's errors as the scheduler's outcomes (bot/channels/telegram/transport.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.telegram.transport import classify
from scheduler.ports import Blocked, MaybeDelivered, NotDelivered, Rejected

E = TypeVar("E", bound=TelegramError)


def _timed_out(cause: Exception | None) -> TimedOut:
    return _caused(TimedOut(), cause)


def _caused(error: E, cause: Exception | None) -> E:
    """``error`` as PTB raises it: ``from`` the httpx exception it wraps."""
    error.__cause__ = cause
    return error


REQUEST = httpx.Request("POST", "http://127.0.0.1/bot1:a/sendMessage")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        pytest.param(RetryAfter(7), NotDelivered, id="429"),
        pytest.param(RetryAfter(timedelta(seconds=3)), NotDelivered, id="429 as a timedelta"),
        pytest.param(
            _timed_out(httpx.ConnectTimeout("x", request=REQUEST)),
            NotDelivered,
            id="connect timeout",
        ),
        pytest.param(
            _timed_out(httpx.PoolTimeout("x", request=REQUEST)), NotDelivered, id="pool timeout"
        ),
        pytest.param(
            _timed_out(httpx.ReadTimeout("x", request=REQUEST)), MaybeDelivered, id="read timeout"
        ),
        pytest.param(
            _timed_out(httpx.WriteTimeout("x", request=REQUEST)), MaybeDelivered, id="write timeout"
        ),
        pytest.param(_timed_out(None), MaybeDelivered, id="timeout of unknown kind"),
        pytest.param(Forbidden("Forbidden: bot was blocked by the user"), Blocked, id="403"),
        pytest.param(BadRequest("Bad Request: chat not found"), Rejected, id="400"),
        pytest.param(ChatMigrated(-100123), Rejected, id="chat migrated"),
        pytest.param(
            _caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")),
            NotDelivered,
            id="connection refused",
        ),
        pytest.param(NetworkError("Internal Server Error"), MaybeDelivered, id="500"),
        pytest.param(NetworkError("Bad Gateway"), MaybeDelivered, id="502"),
        pytest.param(
            _caused(
                NetworkError("httpx.RemoteProtocolError: disconnected"),
                httpx.RemoteProtocolError("disconnected"),
            ),
            MaybeDelivered,
            id="dropped after the request left",
        ),
        pytest.param(
            _caused(NetworkError("httpx.ReadError: reset"), httpx.ReadError("reset")),
            MaybeDelivered,
            id="reset after the request left",
        ),
        pytest.param(
            TelegramError("Invalid server response"), MaybeDelivered, id="unreadable answer"
        ),
    ],
)
def test_classify(error: TelegramError, outcome: type[Exception]) -> None:
    assert type(classify(error)) is outcome


def test_retry_after_carries_telegrams_wait() -> None:
    result = classify(RetryAfter(7))
    assert isinstance(result, NotDelivered)
    assert result.retry_after == 7.0


def test_a_refusal_keeps_telegrams_reason() -> None:
    result = classify(BadRequest("Bad Request: message text is empty"))
    assert isinstance(result, Rejected)
    assert "message text is empty" in result.reason.lower()
