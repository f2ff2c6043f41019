"""Signed tokens in the links to a patient's pages (``{PUBLIC_BASE_URL}/r/{token}``).

A token names one patient, optionally one of their reminders, and when it stops
working. It is an HMAC-SHA256 over exactly those fields, so changing any of them
(another patient, another reminder, a later expiry) makes it fail verification:
a link is useless for anything but what it was issued for. Nothing is stored;
the secret is the only state.

The layout is binary and base64url without padding to stay short in a template
message's link: a version byte, the patient, the reminder (0 when none), the
expiry in whole seconds since the epoch, then the first 16 bytes of the MAC.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

_VERSION = 1
_FIELDS = struct.Struct(">BIIQ")  # version, patient, reminder (0 = none), expiry (s)
# 128 bits of HMAC-SHA256 is far beyond guessing over HTTP (RFC 2104 §5 allows truncation).
_MAC_BYTES = 16
_LIMIT = 2**32 - 1


class PageTokenError(ValueError):
    """A token that opens nothing; the subclass says why (never which part was wrong)."""


class MalformedToken(PageTokenError):
    """Not a token this bot issues: wrong length, alphabet or version."""


class BadSignature(PageTokenError):
    """Well formed, but not signed with this bot's secret for these fields."""


class ExpiredToken(PageTokenError):
    """Genuine, but its time has passed."""


@dataclass(frozen=True, slots=True)
class PageToken:
    """What a verified token grants: this patient's pages, and this reminder's if any."""

    patient_id: int
    reminder_id: int | None
    expires_at: datetime


def _mac(secret: bytes, fields: bytes) -> bytes:
    return hmac.new(secret, fields, sha256).digest()[:_MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def issue(secret: bytes, reminder_id: int | None, patient_id: int, expires_at: datetime) -> str:
    """A URL-safe token for ``patient_id`` (and ``reminder_id``) valid until ``expires_at``."""
    if not secret:
        raise ValueError("the page secret is empty")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at needs a time zone")
    if not 0 < patient_id <= _LIMIT:
        raise ValueError(f"patient id out of range: {patient_id}")
    if reminder_id is not None and not 0 < reminder_id <= _LIMIT:
        raise ValueError(f"reminder id out of range: {reminder_id}")
    seconds = int(expires_at.timestamp())
    fields = _FIELDS.pack(_VERSION, patient_id, reminder_id or 0, seconds)
    return _encode(fields + _mac(secret, fields))


def verify(secret: bytes, token: str, now: datetime) -> PageToken:
    """The grant ``token`` carries, or a :class:`PageTokenError` saying why there is none."""
    size = _FIELDS.size + _MAC_BYTES
    if not token.isascii() or len(token) != len(_encode(bytes(size))):
        raise MalformedToken("not a page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("not a page token") from None
    if len(raw) != size or _encode(raw) != token:
        raise MalformedToken("not a page token")
    fields, mac = raw[: _FIELDS.size], raw[_FIELDS.size :]
    version, patient_id, reminder_id, seconds = _FIELDS.unpack(fields)
    if version != _VERSION:
        raise MalformedToken("not a page token")
    if not hmac.compare_digest(mac, _mac(secret, fields)):
        raise BadSignature("page token not signed by this bot")
    expires_at = datetime.fromtimestamp(seconds, UTC)
    if now >= expires_at:
        raise ExpiredToken("page token expired")
    if patient_id == 0:
        raise MalformedToken("not a page token")
    return PageToken(patient_id, reminder_id or None, expires_at)
