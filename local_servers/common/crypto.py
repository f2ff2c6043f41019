"""The stand-ins' side of the callback crypto: sign and encrypt pushes, open passive replies.

One scheme for the WeChat Official Account and WeCom, written apart from the
bot's (the stand-ins import nothing from the product), from
docs/wechat-oa/callbacks.md §2 and §4.3 and docs/wecom/callbacks.md §2 and §5:
sha1 over the sorted parts; AES-256-CBC with IV = key[:16]; ``random16 |
uint32_be(len) | msg | receiveid`` padded PKCS#7 to 32-byte blocks, where the
receiveid is the Official Account's AppID or the WeCom corp's CorpID. Its
tests run it on the same published vectors as the bot's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["CryptoError", "aes_key", "decrypt", "encrypt", "same", "sign"]

_BLOCK = 32


class CryptoError(ValueError):
    """A text that does not decrypt to a message for this account or corp."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The AES key of a 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise ValueError("an EncodingAESKey is 43 characters of base64")
    return base64.b64decode(encoding_aes_key + "=", validate=True)


def sign(*parts: str) -> str:
    """``signature`` (token, timestamp, nonce) or ``msg_signature`` (and Encrypt)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(a.encode(), b.encode())


def _aes(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, receive_id: str, message: str, random16: bytes) -> str:
    """The ``Encrypt`` text of ``message`` for ``receive_id`` (AppID or CorpID)."""
    body = message.encode()
    plain = random16 + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = _BLOCK - len(plain) % _BLOCK
    encryptor = _aes(key).encryptor()
    sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
    return base64.b64encode(sealed).decode()


def decrypt(key: bytes, receive_id: str, text: str) -> str:
    """The message inside ``text``; :class:`CryptoError` unless it is well formed and for
    ``receive_id``."""
    try:
        sealed = base64.b64decode(text, validate=True)
        decryptor = _aes(key).decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()
    except ValueError as exc:
        raise CryptoError(f"not an AES message: {exc}") from None
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= _BLOCK:
        raise CryptoError("bad padding")
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20]) if len(plain) >= 20 else (-1,)
    if length < 0 or 20 + length > len(plain) or plain[20 + length :] != receive_id.encode():
        raise CryptoError("not a message for this account")
    return plain[20 : 20 + length].decode()
