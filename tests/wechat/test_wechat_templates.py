"""Template values are checked against their field types before a reminder is sent, and
WeChat's error codes are read into what the sender must do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.wechat.outcomes import Outcome, WechatApiError, error_field, outcome_of
from core.template_fields import (
    RULES,
    TemplateValueError,
    check_template_data,
    field_type,
)

API = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "api.json").read_text("utf-8")
)


def test_the_limits_are_api_jsons() -> None:
    types = API["template_field_types"]
    for name, entry in types.items():
        if name.startswith("_") or "first" in name:
            continue
        for kind in name.split(" / "):
            limit = entry["max_chars"]
            expected = limit if isinstance(limit, int) else None
            assert RULES[kind].max_chars == expected, kind
    listed = {k for name in types if not name.startswith("_") for k in name.split(" / ")}
    assert set(RULES) <= listed


@pytest.mark.parametrize(
    ("key", "kind"),
    [("thing1", "thing"), ("character_string12", "character_string"), ("time2", "time")],
)
def test_a_key_names_its_type(key: str, kind: str) -> None:
    assert field_type(key) == kind


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thing1", "输液提醒：第 3 次贝利尤单抗输液"[:20]),
        ("thing1", "a" * 20),
        ("character_string3", "NCT05863936-017"),
        ("number4", "12.5"),
        ("letter5", "ABC"),
        ("symbol6", "+-*"),
        ("time2", "15:01"),
        ("time2", "2026年12月5日 09:00"),
        ("time2", "2026年12月5日 09:00~2026年12月5日 11:00"),
        ("date3", "2026年12月5日"),
        ("date3", "2026年12月5日 09:00"),
        ("amount7", "¥100.00"),
        ("phone_number8", "+86-025-83106666"),
        ("car_number9", "苏A12345"),
        ("name10", "王小明"),
        ("name10", "Wang Xiaoming"),
        ("phrase11", "待输液"),
        ("const1", "固定值"),
    ],
)
def test_values_their_type_allows_pass(key: str, value: str) -> None:
    check_template_data({key: value})


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("thing1", "a" * 21, "more than 20 characters"),
        ("thing1", "", "empty"),
        ("character_string3", "编号017", "not digits, letters or symbols"),
        ("character_string3", "A" * 33, "more than 32 characters"),
        ("number4", "12a", "not a number"),
        ("letter5", "AB1", "not letters only"),
        ("symbol6", "a!", "not symbols only"),
        ("symbol6", "!!!!!!", "more than 5 characters"),
        ("time2", "9 a.m.", "not a 24-hour time"),
        ("time2", "25:00", "not a 24-hour time"),
        ("date3", "2026-12-05", "not a date"),
        ("phone_number8", "call 110", "not digits and symbols"),
        ("phone_number8", "1" * 18, "more than 17 characters"),
        ("name10", "王" * 11, "more than 10 characters"),
        ("name10", "W" * 21, "more than 20 characters"),
        ("phrase11", "待输液OK", "not Chinese characters only"),
        ("phrase11", "请按时来输液", "more than 5 characters"),
    ],
)
def test_values_their_type_refuses_name_the_key(key: str, value: str, reason: str) -> None:
    with pytest.raises(TemplateValueError) as caught:
        check_template_data({"thing20": "ok", key: value})
    assert caught.value.field == f"data.{key}.value"
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize("key", ["first", "remark", "keyword1", "colour1", "thing"])
def test_keys_without_a_field_type_are_refused(key: str) -> None:
    with pytest.raises(TemplateValueError, match="names no template field type"):
        check_template_data({key: "text"})


def test_a_template_message_needs_values() -> None:
    with pytest.raises(TemplateValueError):
        check_template_data({})


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [
        (-1, Outcome.RETRY_LATER),
        (45009, Outcome.RETRY_LATER),
        (45011, Outcome.RETRY_LATER),
        (43004, Outcome.UNREACHABLE),
        (43101, Outcome.UNREACHABLE),
        (40003, Outcome.UNREACHABLE),
        (45015, Outcome.OUTSIDE_WINDOW),
        (45047, Outcome.OUTSIDE_WINDOW),
        (40001, Outcome.MISCONFIGURED),
        (42001, Outcome.MISCONFIGURED),
        (40164, Outcome.MISCONFIGURED),
        (48001, Outcome.MISCONFIGURED),
        (47003, Outcome.REJECTED),
        (40037, Outcome.REJECTED),
        (47001, Outcome.REJECTED),
        (40200, Outcome.REJECTED),
        (99999, Outcome.REJECTED),
    ],
)
def test_each_errcode_has_its_outcome(errcode: int, outcome: Outcome) -> None:
    assert outcome_of(errcode) is outcome


def test_every_errcode_of_api_json_has_a_deliberate_outcome() -> None:
    """A code the table does not name falls to REJECTED; these are the ones that should."""
    rejected = {str(code) for code in (0, 40008, 40033, 40037, 40200, 44004, 45002, 47001, 47003)}
    for code in API["errors"]:
        if code not in rejected:
            assert outcome_of(int(code)) is not Outcome.REJECTED, code


@pytest.mark.parametrize(
    ("errcode", "errmsg", "field"),
    [
        (
            47003,
            "argument invalid! data.thing1.value invalid rid: 66ac5b50-0e6d76ba",
            "data.thing1.value",
        ),
        (47001, "data format error hint: [button[0].key] rid: 1", "button[0].key"),
        (40037, "invalid template_id rid: 65eac940-1a79c8dc-1be683b5", "template_id"),
        (40003, "invalid openid rid: 6385c6c1-0fcadca1-22c1fc91", "touser"),
        (-1, "system error rid: 61076919-303049b3-32283a08", None),
    ],
)
def test_a_refusal_names_the_field(errcode: int, errmsg: str, field: str | None) -> None:
    assert error_field(errcode, errmsg) == field
    error = WechatApiError.from_answer("sendTemplateMessage", errcode, errmsg)
    assert (error.errcode, error.field, error.outcome) == (errcode, field, outcome_of(errcode))
