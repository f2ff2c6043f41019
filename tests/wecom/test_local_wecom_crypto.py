"""The stand-ins' crypto passes every WeCom vector both ways (docs/wecom/callbacks.md §8.5:
check the stand-in's crypto before trusting it), with the corp id as receiveid.

The ``wechatpy-*`` vectors are wechatpy's: The MIT License (MIT), Copyright (c) 2014-2020
messense (docs/wechat-oa/SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_servers.common import crypto
from local_servers.common.delivery import xml_fields

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "crypto-vectors.json").read_text(
        encoding="utf-8"
    )
)["vectors"]
WECOM = [v for v in VECTORS if "receiveid" in v]
SEALED = [v for v in WECOM if "encrypt" in v or "echostr" in v]


def test_every_wecom_vector_is_here() -> None:
    assert sorted(v["id"] for v in WECOM) == [
        "wechatpy-check-signature",
        "wechatpy-decrypt-message",
        "wechatpy-encrypt-reply",
        "wecom-official-sample-decrypt",
        "wecom-official-verifyurl",
    ]


def _parts(vector: dict[str, Any]) -> tuple[bytes, str, str, str, bytes]:
    key = crypto.aes_key(vector["encoding_aes_key"])
    text = vector.get("encrypt") or vector["echostr"]
    decrypted = vector.get("decrypted", {})
    message = decrypted.get("msg", vector.get("plaintext_msg"))
    prefix = (decrypted.get("random") or vector["random"]).encode()
    return key, vector["receiveid"], text, message, prefix


@pytest.mark.parametrize("vector", SEALED, ids=lambda v: v["id"])
def test_the_stand_in_decrypts_every_wecom_vector(vector: dict[str, Any]) -> None:
    key, corp_id, text, message, _ = _parts(vector)
    assert crypto.decrypt(key, corp_id, text) == message


@pytest.mark.parametrize("vector", SEALED, ids=lambda v: v["id"])
def test_the_stand_in_encrypts_every_wecom_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    key, corp_id, text, message, prefix = _parts(vector)
    assert crypto.encrypt(key, corp_id, message, prefix) == text


@pytest.mark.parametrize("vector", SEALED, ids=lambda v: v["id"])
def test_another_corp_id_does_not_open_a_vector(vector: dict[str, Any]) -> None:
    key, _, text, _, _ = _parts(vector)
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(key, "ww0000000000000000", text)


@pytest.mark.parametrize("vector", WECOM, ids=lambda v: v["id"])
def test_the_stand_in_signs_as_every_wecom_vector(vector: dict[str, Any]) -> None:
    text = vector.get("encrypt") or vector["echostr"]
    parts = (vector["token"], vector["timestamp"], vector["nonce"])
    assert crypto.sign(*parts, text) == vector["msg_signature"]
    negative = vector.get("negative", {})
    if "nonce" in negative:
        forged = crypto.sign(vector["token"], vector["timestamp"], negative["nonce"], text)
        assert forged != vector["msg_signature"]


def test_the_official_sample_pads_by_30_to_a_32_byte_block() -> None:
    (vector,) = [v for v in WECOM if v["id"] == "wecom-official-sample-decrypt"]
    key, corp_id, text, message, prefix = _parts(vector)
    assert vector["decrypted"]["pkcs7_pad"] == 30
    assert crypto.encrypt(key, corp_id, message, prefix) == text


@pytest.mark.parametrize(
    "vector", [v for v in WECOM if "post_body_xml" in v], ids=lambda v: v["id"]
)
def test_a_published_push_envelope_reads_as_the_stand_in_writes_it(
    vector: dict[str, Any],
) -> None:
    fields = xml_fields(vector["post_body_xml"])
    assert fields is not None
    assert fields["ToUserName"] == vector["receiveid"]
    assert fields["Encrypt"] == vector["encrypt"]


def test_the_official_verification_echostr_decrypts_to_the_number_to_answer() -> None:
    (vector,) = [v for v in WECOM if v["id"] == "wecom-official-verifyurl"]
    key = crypto.aes_key(vector["encoding_aes_key"])
    assert crypto.decrypt(key, vector["receiveid"], vector["echostr"]) == "1616140317555161061"
