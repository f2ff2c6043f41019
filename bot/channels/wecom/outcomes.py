"""What a failed WeCom API call means: the :class:`~bot.channels.wechat.outcomes.Outcome` of
each of WeCom's error codes (docs/wecom/api.json ``errors``).

=====================================================  ==================
errcode / the network                                  outcome
=====================================================  ==================
-1 system busy, 45009 frequency, 45033 concurrency,    ``RETRY_LATER``
HTTP 5xx or 429, a refused or dropped connection
no answer in time after the request left               ``UNCERTAIN``
40003 / 60111 no such member, 40031 / 81013 / 60011    ``UNREACHABLE``
outside the app's visible range
40001 secret, 40013 corp id, 40014 / 42001 token       ``MISCONFIGURED``
(after one refresh), 40056 / 41011 agent id, 41001,
48002 no permission, 60020 untrusted IP, 301002
60140 a used or expired card code, 40058 an argument,  ``REJECTED``
45002 too long, and every other code
=====================================================  ==================
"""

from __future__ import annotations

from bot.channels.wechat.outcomes import Outcome, WechatApiError

__all__ = ["WecomApiError", "outcome_of"]

_BY_ERRCODE: dict[int, Outcome] = {
    -1: Outcome.RETRY_LATER,
    45009: Outcome.RETRY_LATER,
    45033: Outcome.RETRY_LATER,
    40003: Outcome.UNREACHABLE,
    60111: Outcome.UNREACHABLE,
    40031: Outcome.UNREACHABLE,
    81013: Outcome.UNREACHABLE,
    60011: Outcome.UNREACHABLE,
    40001: Outcome.MISCONFIGURED,
    40013: Outcome.MISCONFIGURED,
    40014: Outcome.MISCONFIGURED,
    42001: Outcome.MISCONFIGURED,
    40056: Outcome.MISCONFIGURED,
    41001: Outcome.MISCONFIGURED,
    41011: Outcome.MISCONFIGURED,
    48002: Outcome.MISCONFIGURED,
    60020: Outcome.MISCONFIGURED,
    301002: Outcome.MISCONFIGURED,
}
_FIELD_BY_ERRCODE = {
    40003: "touser",
    40007: "media_id",
    44004: "text.content",
    45002: "text.content",
    60140: "response_code",
}


def outcome_of(errcode: int) -> Outcome:
    """The outcome of a non-zero WeCom ``errcode`` (see the module's table)."""
    return _BY_ERRCODE.get(errcode, Outcome.REJECTED)


class WecomApiError(WechatApiError):
    """A WeCom call that did not succeed, with WeCom's meaning of its code."""

    @staticmethod
    def outcome_of(errcode: int) -> Outcome:
        return outcome_of(errcode)

    @staticmethod
    def field_of(errcode: int, errmsg: str) -> str | None:
        return _FIELD_BY_ERRCODE.get(errcode)
