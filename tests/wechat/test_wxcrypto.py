"""Callback signatures and AES messages, on every published vector of docs/wechat-oa/crypto-vectors.json.

Each vector is run both ways: what it publishes decrypts (or verifies), and
encrypting again with its own random prefix gives its ciphertext byte for
byte. The ``wechatpy-*`` vectors come from wechatpy's tests: The MIT License
(MIT), Copyright (c) 2014-2020 messense (docs/wechat-oa/SOURCE.md).
"""

from __future__ import annotations

import base64
import hmac
import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import wxcrypto
from bot.channels.wxcrypto import (
    BadPadding,
    BadSignature,
    MalformedMessage,
    StaleTimestamp,
    WrongReceiveId,
)

VECTORS_FILE = Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "crypto-vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
BY_ID = {v["id"]: v for v in VECTORS}
ENCRYPTED = [v for v in VECTORS if "encoding_aes_key" in v]
SIGNED = [v for v in VECTORS if "msg_signature" in v]
PLAIN_SIGNED = [v for v in VECTORS if "signature" in v]


def receive_id(vector: dict[str, Any]) -> str:
    return str(vector.get("appid") or vector["receiveid"])


def ciphertext(vector: dict[str, Any]) -> str:
    return str(vector.get("encrypt") or vector["echostr"])


def message(vector: dict[str, Any]) -> str:
    return str(vector["decrypted"]["msg"] if "decrypted" in vector else vector["plaintext_msg"])


def random_prefix(vector: dict[str, Any]) -> bytes:
    return str(
        vector["decrypted"]["random"] if "decrypted" in vector else vector["random"]
    ).encode()


def key(vector: dict[str, Any]) -> bytes:
    return wxcrypto.aes_key(vector["encoding_aes_key"])


def test_all_nine_vectors_are_exercised() -> None:
    assert len(VECTORS) == 9
    ids = {v["id"] for v in ENCRYPTED + SIGNED + PLAIN_SIGNED}
    assert ids == set(BY_ID)


@pytest.mark.parametrize("vector", ENCRYPTED, ids=lambda v: v["id"])
def test_a_published_ciphertext_decrypts_to_its_message(vector: dict[str, Any]) -> None:
    assert wxcrypto.decrypt(key(vector), receive_id(vector), ciphertext(vector)) == message(vector)


@pytest.mark.parametrize("vector", ENCRYPTED, ids=lambda v: v["id"])
def test_encrypting_with_the_published_prefix_gives_the_published_ciphertext(
    vector: dict[str, Any],
) -> None:
    again = wxcrypto.encrypt(
        key(vector), receive_id(vector), message(vector), random_prefix(vector)
    )
    assert again == ciphertext(vector)


@pytest.mark.parametrize(
    "vector", [v for v in ENCRYPTED if "pkcs7_pad" in v.get("decrypted", {})], ids=lambda v: v["id"]
)
def test_padding_is_to_32_byte_blocks(vector: dict[str, Any]) -> None:
    """The WeCom sample pads by 30: an AES-style 16-byte padding could not produce it."""
    plain = 16 + 4 + len(message(vector).encode()) + len(receive_id(vector))
    assert 32 - plain % 32 == vector["decrypted"]["pkcs7_pad"]


@pytest.mark.parametrize("vector", SIGNED, ids=lambda v: v["id"])
def test_msg_signature_matches_and_the_push_opens(vector: dict[str, Any]) -> None:
    token, ts, nonce = vector["token"], vector["timestamp"], vector["nonce"]
    assert wxcrypto.msg_signature(token, ts, nonce, ciphertext(vector)) == vector["msg_signature"]
    if "msg_signature_input_sorted" in vector:
        assert (
            sorted([token, ts, nonce, ciphertext(vector)]) == vector["msg_signature_input_sorted"]
        )
    opened = wxcrypto.open_push(
        token,
        key(vector),
        receive_id(vector),
        ts,
        nonce,
        vector["msg_signature"],
        ciphertext(vector),
        now=int(ts),
    )
    assert opened == message(vector)


@pytest.mark.parametrize("vector", PLAIN_SIGNED, ids=lambda v: v["id"])
def test_the_plain_signature_matches_and_verifies(vector: dict[str, Any]) -> None:
    token, ts, nonce = vector["token"], vector["timestamp"], vector["nonce"]
    assert wxcrypto.signature(token, ts, nonce) == vector["signature"]
    wxcrypto.verify_signature(token, ts, nonce, vector["signature"], now=int(ts))


def test_the_official_sample_sorts_and_joins_as_published() -> None:
    vector = BY_ID["oa-official-plain-signature"]
    parts = [vector["token"], vector["timestamp"], vector["nonce"]]
    assert sorted(parts) == vector["sorted"]
    assert "".join(sorted(parts)) == vector["concatenated"]


def test_the_negative_vectors_are_refused() -> None:
    plain = BY_ID["wechatpy-plain-signature"]
    with pytest.raises(BadSignature):
        wxcrypto.verify_signature(
            plain["token"],
            plain["timestamp"],
            plain["nonce"],
            plain["negative"]["signature"],
            now=int(plain["timestamp"]),
        )
    check = BY_ID["wechatpy-check-signature"]
    with pytest.raises(BadSignature):
        wxcrypto.verify_url_encrypted(
            check["token"],
            key(check),
            receive_id(check),
            check["timestamp"],
            check["negative"]["nonce"],
            check["msg_signature"],
            check["echostr"],
            now=int(check["timestamp"]),
        )


@pytest.mark.parametrize("vector_id", ["wecom-official-verifyurl", "wechatpy-check-signature"])
def test_wecom_url_verification_answers_the_decrypted_echostr(vector_id: str) -> None:
    vector = BY_ID[vector_id]
    answer = wxcrypto.verify_url_encrypted(
        vector["token"],
        key(vector),
        receive_id(vector),
        vector["timestamp"],
        vector["nonce"],
        vector["msg_signature"],
        vector["echostr"],
        now=int(vector["timestamp"]),
    )
    assert answer == vector["decrypted"]["msg"]


def test_official_account_url_verification_echoes_the_plain_echostr() -> None:
    vector = BY_ID["oa-official-plain-signature"]
    token, ts, nonce = vector["token"], vector["timestamp"], vector["nonce"]
    echoed = wxcrypto.verify_url(token, ts, nonce, vector["signature"], "8712361", now=int(ts))
    assert echoed == "8712361"
    with pytest.raises(BadSignature):
        wxcrypto.verify_url(token, ts, nonce, "0" * 40, "8712361", now=int(ts))


def test_the_reply_envelope_is_byte_for_byte_wechatpys() -> None:
    vector = BY_ID["wechatpy-encrypt-reply"]
    sealed = wxcrypto.seal(
        vector["token"],
        key(vector),
        receive_id(vector),
        vector["plaintext_msg"],
        timestamp=vector["timestamp"],
        nonce=vector["nonce"],
        random16=random_prefix(vector),
    )
    assert sealed.msg_signature == vector["msg_signature"]
    assert wxcrypto.reply_envelope(sealed) == vector["expected_reply_xml"]


def test_the_official_reply_example_seals_to_its_published_values() -> None:
    vector = BY_ID["oa-official-safe-mode-reply"]
    sealed = wxcrypto.seal(
        vector["token"],
        key(vector),
        receive_id(vector),
        vector["plaintext_msg"],
        timestamp=vector["timestamp"],
        nonce=vector["nonce"],
        random16=random_prefix(vector),
    )
    published = vector["reply_json_published"]
    assert (sealed.encrypt, sealed.msg_signature) == (
        published["Encrypt"],
        published["MsgSignature"],
    )
    assert len(base64.b64decode(sealed.encrypt)) == vector["ciphertext_bytes"]


def test_the_push_envelope_is_the_published_post_body() -> None:
    vector = BY_ID["wecom-official-sample-decrypt"]
    assert wxcrypto.push_envelope(receive_id(vector), vector["encrypt"]) == vector["post_body_xml"]


# --- round trip ---------------------------------------------------------------------------

RECEIVE_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=32)


@given(
    raw_key=st.binary(min_size=32, max_size=32),
    receiver=RECEIVE_IDS,
    text=st.text(),
    prefix=st.binary(min_size=16, max_size=16),
)
def test_any_message_survives_encryption_for_its_receiver(
    raw_key: bytes, receiver: str, text: str, prefix: bytes
) -> None:
    sealed = wxcrypto.encrypt(raw_key, receiver, text, prefix)
    assert len(base64.b64decode(sealed)) % 32 == 0
    assert wxcrypto.decrypt(raw_key, receiver, sealed) == text


@given(raw_key=st.binary(min_size=32, max_size=32))
def test_an_encoding_aes_key_is_its_key_in_base64_without_the_last_character(
    raw_key: bytes,
) -> None:
    encoding = base64.b64encode(raw_key).decode()
    assert encoding.endswith("=") and len(encoding) == 44
    assert wxcrypto.aes_key(encoding[:-1]) == raw_key


# --- refusals ------------------------------------------------------------------------------

SAMPLE = BY_ID["wechatpy-decrypt-message"]


def _raw_cipher(raw: bytes, aes: bytes) -> str:
    encryptor = Cipher(algorithms.AES(aes), modes.CBC(aes[:16])).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def _flip_pad_byte(text: str, value: int) -> str:
    """The ciphertext with its last plaintext byte (the pad length) set to ``value``.

    In CBC, changing a byte of the second-to-last block changes the same byte
    of the last plaintext block.
    """
    data = bytearray(base64.b64decode(text))
    original_pad = SAMPLE["decrypted"]["pkcs7_pad"]
    data[-17] ^= original_pad ^ value
    return base64.b64encode(bytes(data)).decode()


def test_a_message_for_another_receiver_is_refused() -> None:
    with pytest.raises(WrongReceiveId):
        wxcrypto.decrypt(key(SAMPLE), "wx0000000000000000", SAMPLE["encrypt"])


@pytest.mark.parametrize("pad", [0, 33, 64, 255])
def test_a_pad_length_outside_1_to_32_is_refused(pad: int) -> None:
    with pytest.raises(BadPadding):
        wxcrypto.decrypt(key(SAMPLE), receive_id(SAMPLE), _flip_pad_byte(SAMPLE["encrypt"], pad))


def test_pad_bytes_that_disagree_are_refused() -> None:
    aes = key(SAMPLE)
    body = b"0123456789abcdef" + struct.pack(">I", 3) + b"abc" + receive_id(SAMPLE).encode()
    pad = 32 - len(body) % 32
    crafted = body + bytes([pad - 1]) * (pad - 1) + bytes([pad])
    with pytest.raises(BadPadding):
        wxcrypto.decrypt(aes, receive_id(SAMPLE), _raw_cipher(crafted, aes))


def test_a_length_field_beyond_the_message_is_refused() -> None:
    aes = key(SAMPLE)
    body = b"0123456789abcdef" + struct.pack(">I", 999) + b"abc"
    pad = 32 - len(body) % 32
    with pytest.raises(MalformedMessage):
        wxcrypto.decrypt(aes, "abc", _raw_cipher(body + bytes([pad]) * pad, aes))


@pytest.mark.parametrize("text", ["not base64!", "", base64.b64encode(b"fifteen bytes..").decode()])
def test_text_that_is_not_whole_aes_blocks_in_base64_is_refused(text: str) -> None:
    with pytest.raises(MalformedMessage):
        wxcrypto.decrypt(key(SAMPLE), receive_id(SAMPLE), text)


def _open(
    now: float, max_skew: float = wxcrypto.DEFAULT_MAX_SKEW_S, nonce: str | None = None
) -> str:
    return wxcrypto.open_push(
        SAMPLE["token"],
        key(SAMPLE),
        receive_id(SAMPLE),
        SAMPLE["timestamp"],
        nonce or SAMPLE["nonce"],
        SAMPLE["msg_signature"],
        SAMPLE["encrypt"],
        now=now,
        max_skew=max_skew,
    )


def test_a_push_older_or_newer_than_the_allowed_skew_is_refused() -> None:
    sent = int(SAMPLE["timestamp"])
    assert _open(sent + 300) == SAMPLE["decrypted"]["msg"]
    assert _open(sent - 300) == SAMPLE["decrypted"]["msg"]
    for now in (sent + 301, sent - 301):
        with pytest.raises(StaleTimestamp):
            _open(now)


def test_the_allowed_skew_is_configurable() -> None:
    sent = int(SAMPLE["timestamp"])
    assert _open(sent + 3600, max_skew=3600) == SAMPLE["decrypted"]["msg"]
    with pytest.raises(StaleTimestamp):
        _open(sent + 11, max_skew=10)


def test_a_timestamp_that_is_not_unix_seconds_is_refused() -> None:
    with pytest.raises(StaleTimestamp):
        wxcrypto.check_timestamp("1411525903.5", now=1411525903)
    with pytest.raises(StaleTimestamp):
        wxcrypto.check_timestamp("-1", now=0)


def test_a_forged_push_is_refused_for_its_signature_before_its_age() -> None:
    with pytest.raises(BadSignature):
        _open(int(SAMPLE["timestamp"]) + 10**6, nonce="1")


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    _open(int(SAMPLE["timestamp"]))
    given_signature = SAMPLE["msg_signature"].encode()
    assert (given_signature, given_signature) in compared
    assert (receive_id(SAMPLE).encode(), receive_id(SAMPLE).encode()) in compared


@pytest.mark.parametrize("bad", ["A" * 42, "A" * 44, "A" * 42 + "!"])
def test_an_encoding_aes_key_that_is_not_43_base64_characters_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="43 characters"):
        wxcrypto.aes_key(bad)


def test_the_random_prefix_is_16_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        wxcrypto.encrypt(key(SAMPLE), "wx", "<xml/>", b"short")


def test_cdata_keeps_a_closing_marker_inside_the_text() -> None:
    text = "a ]]> b <c> & d"
    element = ET.fromstring(f"<Content>{wxcrypto.cdata(text)}</Content>")
    assert element.text == text
