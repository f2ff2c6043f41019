"""Callback security shared by WeChat Official Accounts and WeCom: signatures and AES messages.

Both platforms sign and encrypt their pushes the same way
(docs/wechat-oa/callbacks.md §2-§4; the WeCom page it cites has the same
scheme, with the corp id where an Official Account has its AppID):

* ``signature = sha1hex("".join(sorted([token, timestamp, nonce])))`` signs a
  plain push and the Official Account's URL check (§2, §3);
* ``msg_signature`` is the same over ``[token, timestamp, nonce, Encrypt]``
  and is the one to check in safe mode (§4.2);
* ``Encrypt = base64(AES-256-CBC(random16 | uint32_be(len) | msg | receive_id))``
  with ``key = base64(EncodingAESKey + "=")``, ``IV = key[:16]`` and PKCS#7
  padding to **32**-byte blocks (§4.3), not AES's own 16.

Everything here is pure (no I/O, no clock): the caller passes "now" for the
timestamp check. Signatures are compared in constant time. Each refusal is a
:class:`WxCryptoError` subclass, so a callback endpoint can log which check
failed without logging the message. The known-answer vectors of
docs/wechat-oa/crypto-vectors.json are the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "DEFAULT_MAX_SKEW_S",
    "SUCCESS",
    "BadPadding",
    "BadSignature",
    "MalformedMessage",
    "Sealed",
    "StaleTimestamp",
    "WrongReceiveId",
    "WxCryptoError",
    "aes_key",
    "cdata",
    "check_timestamp",
    "decrypt",
    "encrypt",
    "msg_signature",
    "open_push",
    "push_envelope",
    "reply_envelope",
    "seal",
    "signature",
    "verify_msg_signature",
    "verify_signature",
    "verify_url",
    "verify_url_encrypted",
]

#: How far a push's timestamp may be from our clock. The platforms set no
#: limit (callbacks.md is silent); five minutes covers their three deliveries
#: of one push five seconds apart and ordinary clock drift, and stops a
#: recorded push from being replayed much later.
DEFAULT_MAX_SKEW_S = 300

#: The acknowledgement that needs no encryption even in safe mode (§4.4).
SUCCESS = "success"

BLOCK = 32
_RANDOM_BYTES = 16
_LENGTH = struct.Struct(">I")
_ENCODING_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")


class WxCryptoError(Exception):
    """A push or reply that failed one of the checks below."""


class BadSignature(WxCryptoError):
    """The signature (or msg_signature) does not match the token and the message."""


class StaleTimestamp(WxCryptoError):
    """The timestamp is not an integer, or further from now than the allowed skew."""


class WrongReceiveId(WxCryptoError):
    """The message decrypted, but was sealed for another AppID (or corp id)."""


class BadPadding(WxCryptoError):
    """The decrypted bytes do not end in PKCS#7 padding to 32-byte blocks."""


class MalformedMessage(WxCryptoError):
    """Not base64, not whole AES blocks, or a length field beyond the message."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a console's 43-character EncodingAESKey (§1, §4.3).

    Raises ``ValueError`` for anything else: a wrong key is a configuration
    error, found at start rather than at the first push.
    """
    if not _ENCODING_AES_KEY.fullmatch(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 characters of base64")
    return base64.b64decode(encoding_aes_key + "=")


def _sha1(parts: list[str]) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature(token: str, timestamp: str, nonce: str) -> str:
    """``signature``: sha1 hex of the sorted, joined token, timestamp and nonce (§2)."""
    return _sha1([token, timestamp, nonce])


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """``msg_signature``: as :func:`signature`, with the ``Encrypt`` text as a fourth part (§2)."""
    return _sha1([token, timestamp, nonce, encrypt])


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def check_timestamp(timestamp: str, now: float, max_skew: float = DEFAULT_MAX_SKEW_S) -> None:
    """Refuse a timestamp that is not Unix seconds within ``max_skew`` of ``now``."""
    if not timestamp.isascii() or not timestamp.isdigit():
        raise StaleTimestamp("the timestamp is not Unix seconds")
    if abs(now - int(timestamp)) > max_skew:
        raise StaleTimestamp(f"the timestamp is more than {max_skew:g} s from now")


def verify_signature(
    token: str,
    timestamp: str,
    nonce: str,
    given: str,
    *,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW_S,
) -> None:
    """Check a plain ``signature``, then the timestamp; raises on either."""
    if not _same(signature(token, timestamp, nonce), given):
        raise BadSignature("signature mismatch")
    check_timestamp(timestamp, now, max_skew)


def verify_msg_signature(
    token: str,
    timestamp: str,
    nonce: str,
    encrypt: str,
    given: str,
    *,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW_S,
) -> None:
    """Check a safe-mode ``msg_signature`` over ``encrypt``, then the timestamp."""
    if not _same(msg_signature(token, timestamp, nonce, encrypt), given):
        raise BadSignature("msg_signature mismatch")
    check_timestamp(timestamp, now, max_skew)


def verify_url(
    token: str,
    timestamp: str,
    nonce: str,
    given: str,
    echostr: str,
    *,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW_S,
) -> str:
    """An Official Account's server check (GET): the body to answer, ``echostr`` unchanged (§3).

    The Official Account's ``echostr`` is plain whatever the mode; WeCom's is
    encrypted (:func:`verify_url_encrypted`).
    """
    verify_signature(token, timestamp, nonce, given, now=now, max_skew=max_skew)
    return echostr


def verify_url_encrypted(
    token: str,
    key: bytes,
    receive_id: str,
    timestamp: str,
    nonce: str,
    given: str,
    echostr: str,
    *,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW_S,
) -> str:
    """WeCom's server check: ``echostr`` signed with ``msg_signature`` and encrypted (§3).

    Returns the decrypted ``echostr``, which is the body to answer.
    """
    return open_push(
        token, key, receive_id, timestamp, nonce, given, echostr, now=now, max_skew=max_skew
    )


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    if len(key) != 32:
        raise ValueError("the AES key is 32 bytes (see aes_key)")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, receive_id: str, xml: str, random16: bytes) -> str:
    """``Encrypt`` for ``xml`` sealed for ``receive_id``, with the given 16-byte random prefix.

    The prefix is a parameter so that the published vectors reproduce byte
    for byte; a sender passes ``os.urandom(16)`` (or 16 random letters, as
    Tencent's samples do).
    """
    if len(random16) != _RANDOM_BYTES:
        raise ValueError("the random prefix is 16 bytes")
    body = xml.encode()
    plain = random16 + _LENGTH.pack(len(body)) + body + receive_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(key: bytes, receive_id_expected: str, encrypt: str) -> str:
    """The message inside ``encrypt``, refused unless it was sealed for ``receive_id_expected``."""
    try:
        data = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("Encrypt is not base64") from None
    if not data or len(data) % 16:
        raise MalformedMessage("Encrypt is not a whole number of AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise BadPadding("no PKCS#7 padding to 32-byte blocks")
    plain = plain[:-pad]
    header = _RANDOM_BYTES + _LENGTH.size
    if len(plain) < header:
        raise MalformedMessage("shorter than the random prefix and the length")
    (length,) = _LENGTH.unpack_from(plain, _RANDOM_BYTES)
    if header + length > len(plain):
        raise MalformedMessage("the length field runs past the message")
    receive_id = plain[header + length :]
    if not hmac.compare_digest(receive_id, receive_id_expected.encode()):
        raise WrongReceiveId("sealed for another receive id")
    try:
        return plain[header : header + length].decode()
    except UnicodeDecodeError:
        raise MalformedMessage("the message is not UTF-8") from None


def open_push(
    token: str,
    key: bytes,
    receive_id: str,
    timestamp: str,
    nonce: str,
    given_msg_signature: str,
    encrypt_text: str,
    *,
    now: float,
    max_skew: float = DEFAULT_MAX_SKEW_S,
) -> str:
    """A safe-mode push in full (§4.2): ``msg_signature``, timestamp, then decryption."""
    verify_msg_signature(
        token, timestamp, nonce, encrypt_text, given_msg_signature, now=now, max_skew=max_skew
    )
    return decrypt(key, receive_id, encrypt_text)


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted message with what signs it: the parts of a push or of a reply."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


def seal(
    token: str,
    key: bytes,
    receive_id: str,
    xml: str,
    *,
    timestamp: str,
    nonce: str,
    random16: bytes,
) -> Sealed:
    """Encrypt ``xml`` and sign it with ``msg_signature`` (a push, or a passive reply)."""
    text = encrypt(key, receive_id, xml, random16)
    return Sealed(text, msg_signature(token, timestamp, nonce, text), timestamp, nonce)


def cdata(text: str) -> str:
    """``text`` as a CDATA section; a ``]]>`` inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_envelope(sealed: Sealed) -> str:
    """The XML of an encrypted passive reply (§4.4), laid out as the vectors are."""
    return (
        "<xml>\n"
        f"<Encrypt>{cdata(sealed.encrypt)}</Encrypt>\n"
        f"<MsgSignature>{cdata(sealed.msg_signature)}</MsgSignature>\n"
        f"<TimeStamp>{sealed.timestamp}</TimeStamp>\n"
        f"<Nonce>{cdata(sealed.nonce)}</Nonce>\n"
        "</xml>"
    )


def push_envelope(to_user: str, encrypt_text: str) -> str:
    """The body of a safe-mode push (§4.2): exactly ``ToUserName`` and ``Encrypt``."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<Encrypt>{cdata(encrypt_text)}</Encrypt></xml>"
    )
