"""The local WeChat server's own crypto passes the published vectors too (docs/wechat-oa/callbacks.md
§6: check the stand-in's crypto before trusting it). The ``wechatpy-*`` vectors are wechatpy's:
The MIT License (MIT), Copyright (c) 2014-2020 messense (docs/wechat-oa/SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_servers.common import crypto

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "crypto-vectors.json").read_text(
        encoding="utf-8"
    )
)["vectors"]


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "encoding_aes_key" in v], ids=lambda v: v["id"]
)
def test_the_stand_in_decrypts_and_encrypts_every_vector(vector: dict[str, Any]) -> None:
    key = crypto.aes_key(vector["encoding_aes_key"])
    app_id = vector.get("appid") or vector["receiveid"]
    text = vector.get("encrypt") or vector["echostr"]
    decrypted = vector.get("decrypted", {})
    message = decrypted.get("msg", vector.get("plaintext_msg"))
    prefix = (decrypted.get("random") or vector["random"]).encode()
    assert crypto.decrypt(key, app_id, text) == message
    assert crypto.encrypt(key, app_id, message, prefix) == text
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(key, "wx0000000000000000", text)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_the_stand_in_signs_as_every_vector(vector: dict[str, Any]) -> None:
    parts = (vector["token"], vector["timestamp"], vector["nonce"])
    if "signature" in vector:
        assert crypto.sign(*parts) == vector["signature"]
    if "msg_signature" in vector:
        text = vector.get("encrypt") or vector["echostr"]
        assert crypto.sign(*parts, text) == vector["msg_signature"]
