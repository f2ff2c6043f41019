"""What a failed WeChat API call means for whoever sent it: the :class:`Outcome` of each error.

WeChat answers errors as ``{"errcode": n, "errmsg": "... rid: ..."}`` and a
client must judge by ``errcode`` alone (docs/wechat-oa/api.json,
``conventions``). The meanings below are api.json's ``errors``:

=====================================================  ==================
errcode / the network                                  outcome
=====================================================  ==================
-1 system busy, 45009 / 45011 quota, HTTP 5xx or 429,  ``RETRY_LATER``
a refused or dropped connection, a connect timeout
no answer in time after the request left (read         ``UNCERTAIN``
timeout), an unreadable answer
43004 not following, 43101 refuses messages,           ``UNREACHABLE``
40003 not an openid of this account
45015 outside the customer-service window,             ``OUTSIDE_WINDOW``
45047 the window's messages used up
40001 / 40014 / 42001 after one refresh, 40002,        ``MISCONFIGURED``
40013, 40125, 40164, 61004, 40243, 89503, 48001,
41001: the account's credentials, IP whitelist or
permissions
47003 argument invalid, 40037 template, 47001 format,  ``REJECTED``
and every other code
=====================================================  ==================

``OUTSIDE_WINDOW`` is not ``UNREACHABLE``: a template message still reaches
the person, and the window opens again when they write. ``MISCONFIGURED``
is not the message's fault: once a person fixes the account, the same
message goes through.
"""

from __future__ import annotations

import enum
import re
from typing import Self

__all__ = ["Outcome", "WechatApiError", "error_field", "outcome_of"]


class Outcome(enum.Enum):
    """What a caller should do about a failed call."""

    #: Nothing was delivered; the same call later may succeed.
    RETRY_LATER = "retry_later"
    #: The request left and no answer came: it may have been carried out.
    UNCERTAIN = "uncertain"
    #: The person cannot receive messages from the account (unfollowed, blocked).
    UNREACHABLE = "unreachable"
    #: A customer-service message outside its window: send a template message instead.
    OUTSIDE_WINDOW = "outside_window"
    #: WeChat refused this request; sending it again would fail the same way.
    REJECTED = "rejected"
    #: The account's credentials, IP whitelist or permissions need a person.
    MISCONFIGURED = "misconfigured"


_BY_ERRCODE: dict[int, Outcome] = {
    -1: Outcome.RETRY_LATER,
    45009: Outcome.RETRY_LATER,
    45011: Outcome.RETRY_LATER,
    43004: Outcome.UNREACHABLE,
    43101: Outcome.UNREACHABLE,
    40003: Outcome.UNREACHABLE,
    45015: Outcome.OUTSIDE_WINDOW,
    45047: Outcome.OUTSIDE_WINDOW,
    40001: Outcome.MISCONFIGURED,
    40014: Outcome.MISCONFIGURED,
    42001: Outcome.MISCONFIGURED,
    40002: Outcome.MISCONFIGURED,
    40013: Outcome.MISCONFIGURED,
    40125: Outcome.MISCONFIGURED,
    40164: Outcome.MISCONFIGURED,
    61004: Outcome.MISCONFIGURED,
    40243: Outcome.MISCONFIGURED,
    89503: Outcome.MISCONFIGURED,
    48001: Outcome.MISCONFIGURED,
    41001: Outcome.MISCONFIGURED,
}

# The field a code is about when its errmsg does not say.
_FIELD_BY_ERRCODE = {
    40003: "touser",
    40008: "msgtype",
    40037: "template_id",
    40200: "msgtype",
    41001: "access_token",
    44004: "text.content",
}
# "argument invalid! data.thing1.value invalid rid: ..." (47003) and
# "data format error hint: [button[0].key] rid: ..." (47001).
_ARGUMENT = re.compile(r"argument invalid!\s*(\S+)\s+invalid")
_HINT = re.compile(r"hint:\s*\[(\S*)\]")


def outcome_of(errcode: int) -> Outcome:
    """The outcome of a non-zero ``errcode`` (see the module's table)."""
    return _BY_ERRCODE.get(errcode, Outcome.REJECTED)


def error_field(errcode: int, errmsg: str) -> str | None:
    """The request field an error is about, from its errmsg or, failing that, its code."""
    for pattern in (_ARGUMENT, _HINT):
        match = pattern.search(errmsg)
        if match is not None:
            return match.group(1)
    return _FIELD_BY_ERRCODE.get(errcode)


class WechatApiError(Exception):
    """A call that did not succeed: its :class:`Outcome`, and WeChat's code when it gave one.

    ``field`` names the request field WeChat (or the check before sending)
    refused, as ``data.thing1.value``; ``errmsg`` is WeChat's own text,
    which carries no personal data.
    """

    def __init__(
        self,
        method: str,
        outcome: Outcome,
        reason: str,
        *,
        errcode: int | None = None,
        field: str | None = None,
    ) -> None:
        where = f" ({field})" if field else ""
        super().__init__(f"{method}: {outcome.value}{where}: {reason}")
        self.method = method
        self.outcome = outcome
        self.reason = reason
        self.errcode = errcode
        self.field = field

    @classmethod
    def from_answer(cls, method: str, errcode: int, errmsg: str) -> Self:
        """The error for the answer ``{"errcode": errcode, "errmsg": errmsg}``."""
        return cls(
            method,
            cls.outcome_of(errcode),
            f"errcode {errcode}: {errmsg}",
            errcode=errcode,
            field=cls.field_of(errcode, errmsg),
        )

    @staticmethod
    def outcome_of(errcode: int) -> Outcome:
        """What ``errcode`` means (WeChat's table; WeCom's error class has its own)."""
        return outcome_of(errcode)

    @staticmethod
    def field_of(errcode: int, errmsg: str) -> str | None:
        return error_field(errcode, errmsg)
