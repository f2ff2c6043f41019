"""The local WeCom server refuses what docs/wecom/api.json refuses, with WeCom's codes.

Raw HTTP requests, as a client with bugs would make them: each refusal
carries the errcode api.json gives, and the ones where the request broke the
spec are kept as violations; the world's refusals (an expired token, a member
outside the app's visible range, a used response code) are not.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from local_servers.wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET, LocalWecom
from local_servers.wecom.staff import TINY_PNG
from tests.support.wall_clock import FakeClock
from tests.wecom.conftest import DOCTOR, NURSE, SEND, UPLOAD, Raw, errcode, text

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def violations(wecom: LocalWecom) -> list[tuple[int, str | None]]:
    return [(v.errcode, v.field) for v in wecom.violations]


# --- the token ------------------------------------------------------------------------------


async def test_gettoken_gives_the_same_token_until_it_expires(
    wecom: LocalWecom, raw: Raw, clock: FakeClock
) -> None:
    credentials = {"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}
    first = await raw.get("/cgi-bin/gettoken", **credentials)
    assert first["errcode"] == 0
    assert first["access_token"] == raw.token
    assert len(first["access_token"].encode()) <= 512
    clock.advance(7000)
    again = await raw.get("/cgi-bin/gettoken", **credentials)
    assert (again["access_token"], again["expires_in"]) == (raw.token, 200)
    clock.advance(200)
    renewed = await raw.get("/cgi-bin/gettoken", **credentials)
    assert (renewed["access_token"] != raw.token, renewed["expires_in"]) == (True, 7200)
    assert errcode(await raw.post(SEND, text())) == 42001
    assert wecom.violations == []


@pytest.mark.parametrize(
    ("query", "code", "violation"),
    [
        ({"corpid": "ww9999999999999999", "corpsecret": DEFAULT_SECRET}, 40013, False),
        ({"corpid": DEFAULT_CORP_ID, "corpsecret": "wrong"}, 40001, False),
        ({"corpsecret": DEFAULT_SECRET}, 41002, True),
        ({"corpid": DEFAULT_CORP_ID}, 41004, True),
        ({"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET, "debug": "1"}, 40058, True),
    ],
    ids=["other-corp", "wrong-secret", "no-corpid", "no-secret", "unknown-parameter"],
)
async def test_gettoken_refusals(
    wecom: LocalWecom, raw: Raw, query: dict[str, str], code: int, violation: bool
) -> None:
    assert errcode(await raw.get("/cgi-bin/gettoken", **query)) == code
    assert bool(wecom.violations) is violation


@pytest.mark.parametrize(
    ("token", "code"), [(None, 41001), ("not-a-token", 40014)], ids=["missing", "unknown"]
)
async def test_a_missing_or_unknown_token(
    wecom: LocalWecom, raw: Raw, token: str | None, code: int
) -> None:
    assert errcode(await raw.post(SEND, text(), token=token)) == code
    assert wecom.sent == []


async def test_a_token_invalidated_early_is_40014(wecom: LocalWecom, raw: Raw) -> None:
    wecom.world.invalidate_tokens()
    assert errcode(await raw.post(SEND, text())) == 40014
    raw.refresh()
    assert errcode(await raw.post(SEND, text())) == 0


# --- message/send: text and markdown ------------------------------------------------------


async def test_a_text_message_is_delivered(wecom: LocalWecom, raw: Raw) -> None:
    answer = await raw.post(SEND, text("AE recorded: P01 肺部感染 G3"))
    assert answer == {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": answer["msgid"]}
    assert isinstance(answer["msgid"], str)
    (sent,) = wecom.methods.sent_to(NURSE)
    assert (sent.delivered, sent.body["text"]["content"]) == (
        [NURSE],
        "AE recorded: P01 肺部感染 G3",
    )
    assert wecom.violations == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (text(title="x"), 40058, "title"),
        ({k: v for k, v in text().items() if k != "agentid"}, 41011, "agentid"),
        (text(agentid="1000002"), 40056, "agentid"),
        ({k: v for k, v in text().items() if k != "msgtype"}, 40008, "msgtype"),
        (text(msgtype="voice"), 40008, "msgtype"),
        (text(""), 44004, "text.content"),
        ({k: v for k, v in text().items() if k != "text"}, 40058, "text"),
        (text(text="您好"), 40058, "text"),
        (text(text={}), 44004, "text.content"),
        (text("输" * 683), 45002, "text.content"),
        (text(touser=""), 82001, None),
        (text(touser="@all"), 40058, "touser"),
        (text(touser="|".join(f"u{n}" for n in range(1001))), 40032, "touser"),
        (text(touser="x" * 65), 40058, "touser"),
        (text(touser="李护士"), 40003, "touser"),
        (text(enable_duplicate_check=2), 40058, "enable_duplicate_check"),
        (text(duplicate_check_interval=14401), 40058, "duplicate_check_interval"),
        (text(safe=3), 40058, "safe"),
    ],
    ids=[
        "unknown-field",
        "no-agentid",
        "agentid-a-string",
        "no-msgtype",
        "msgtype-not-carried",
        "empty-content",
        "no-text",
        "text-not-an-object",
        "no-content",
        "over-2048-bytes",
        "no-recipient",
        "at-all",
        "over-1000-users",
        "userid-over-64-bytes",
        "userid-characters",
        "duplicate-check-not-0-or-1",
        "interval-over-4-hours",
        "safe-out-of-range",
    ],
)
async def test_text_refusals(
    wecom: LocalWecom, raw: Raw, body: dict[str, Any], code: int, field: str | None
) -> None:
    assert errcode(await raw.post(SEND, body)) == code
    assert violations(wecom) == [(code, field)]
    assert wecom.sent == []


async def test_exactly_2048_bytes_of_text_are_sent(wecom: LocalWecom, raw: Raw) -> None:
    assert errcode(await raw.post(SEND, text("输" * 682 + "ab"))) == 0
    assert wecom.violations == []


async def test_over_long_text_may_be_truncated_instead(clock: FakeClock, http: Any) -> None:
    async with LocalWecom(clock=clock, truncate_long_text=True) as wecom:
        wecom.world.add_member(NURSE)
        answer = await Raw(wecom, http).post(SEND, text("输" * 700))
        assert errcode(answer) == 0
        assert wecom.sent[0].body["text"]["content"] == "输" * 682
        assert wecom.violations == []


async def test_unicode_escapes_and_broken_json(wecom: LocalWecom, raw: Raw) -> None:
    escaped = json.dumps(text(), ensure_ascii=True).encode()
    assert errcode(await raw.post(SEND, raw=escaped)) == 40033
    broken = await raw.post(SEND, raw=b"{not json")
    assert errcode(broken) == 40058
    assert broken["errmsg"].endswith("Warning: wrong json format.")
    assert "more info at https://open.work.weixin.qq.com/devtool/query?e=40058" in broken["errmsg"]
    assert [v.method for v in wecom.violations] == ["sendText", "sendMessage"]


async def test_another_apps_agentid_is_301002(wecom: LocalWecom, raw: Raw) -> None:
    assert errcode(await raw.post(SEND, text(agentid=1000003))) == 301002
    assert wecom.violations == []


async def test_unknown_and_invisible_members_come_back_as_invaliduser(
    wecom: LocalWecom, raw: Raw
) -> None:
    wecom.world.member(DOCTOR).visible = False
    answer = await raw.post(SEND, text(touser=f"NURSE-LI|{DOCTOR}|Ghost"))
    assert (errcode(answer), answer["invaliduser"]) == (0, "dr-wang|ghost")
    assert wecom.sent[0].delivered == [NURSE]
    assert errcode(await raw.post(SEND, text(touser=f"{DOCTOR}|ghost"))) == 81013
    assert wecom.violations == []


async def test_markdown(wecom: LocalWecom, raw: Raw) -> None:
    body = {
        "touser": NURSE,
        "msgtype": "markdown",
        "agentid": DEFAULT_AGENT_ID,
        "markdown": {"content": '**Status**\n> enrolled: <font color="info">12</font>'},
    }
    assert errcode(await raw.post(SEND, body)) == 0
    body["markdown"] = {"content": "x" * 2049}
    assert errcode(await raw.post(SEND, body)) == 45002
    body["markdown"] = {"content": "x", "safe": 1}
    assert errcode(await raw.post(SEND, body)) == 40058
    assert violations(wecom) == [(45002, "markdown.content"), (40058, "markdown.safe")]


async def test_a_duplicate_within_the_interval_is_not_delivered_again(
    wecom: LocalWecom, raw: Raw, clock: FakeClock
) -> None:
    body = text(enable_duplicate_check=1, duplicate_check_interval=600)
    assert errcode(await raw.post(SEND, body)) == 0
    assert errcode(await raw.post(SEND, body)) == 0
    clock.advance(600)
    assert errcode(await raw.post(SEND, body)) == 0
    assert [s.duplicate for s in wecom.sent] == [False, True, False]
    assert len(wecom.methods.sent_to(NURSE)) == 2


# --- the app-message limits ---------------------------------------------------------------


async def test_30_messages_a_minute_per_member_then_the_rest_are_dropped(
    wecom: LocalWecom, raw: Raw, clock: FakeClock
) -> None:
    for _ in range(30):
        assert errcode(await raw.post(SEND, text())) == 0
    over = await raw.post(SEND, text(touser=f"{NURSE}|{DOCTOR}"))
    # api.json: excess messages are dropped; the stand-in answers 0 by default.
    assert errcode(over) == 0
    assert (wecom.sent[-1].delivered, wecom.sent[-1].dropped) == ([DOCTOR], [NURSE])
    assert len(wecom.methods.sent_to(NURSE)) == 30
    clock.advance(59)
    await raw.post(SEND, text())
    assert wecom.sent[-1].dropped == [NURSE]
    clock.advance(1)
    await raw.post(SEND, text())
    assert wecom.sent[-1].delivered == [NURSE]
    assert wecom.violations == []


async def test_1000_messages_an_hour_per_member(wecom: LocalWecom, clock: FakeClock) -> None:
    send = wecom.methods.handlers["sendText"]
    for number in range(1000):
        if number and number % 30 == 0:
            clock.advance(60)
        await send({}, text())
    clock.advance(60)
    await send({}, text())
    assert wecom.sent[-1].dropped == [NURSE]
    first = wecom.sent[0].sent_at
    clock.now = first + 3600
    await send({}, text())
    assert wecom.sent[-1].delivered == [NURSE]


async def test_the_limits_may_answer_45009_instead(clock: FakeClock, http: Any) -> None:
    async with LocalWecom(clock=clock, rate_limit_errcode=45009) as wecom:
        wecom.world.add_member(NURSE)
        raw = Raw(wecom, http)
        for _ in range(30):
            await raw.post(SEND, text())
        assert errcode(await raw.post(SEND, text())) == 45009
        assert len(wecom.sent) == 30
        assert wecom.violations == []


# --- media --------------------------------------------------------------------------------


async def test_an_uploaded_image_is_kept_and_sent(wecom: LocalWecom, raw: Raw) -> None:
    answer = await raw.upload("image", TINY_PNG, "plot.png")
    assert (answer["errcode"], answer["type"]) == (0, "image")
    assert isinstance(answer["created_at"], str)
    media = wecom.world.media[answer["media_id"]]
    assert (media.data, media.type, media.filename) == (TINY_PNG, "image", "plot.png")
    body = {
        "touser": NURSE,
        "msgtype": "image",
        "agentid": DEFAULT_AGENT_ID,
        "image": {"media_id": answer["media_id"]},
    }
    assert errcode(await raw.post(SEND, body)) == 0
    assert wecom.sent[0].media is not None
    assert wecom.sent[0].media["filename"] == "plot.png"
    assert wecom.violations == []


async def test_a_file_keeps_its_name(wecom: LocalWecom, raw: Raw) -> None:
    workbook = b"PK\x03\x04 not really a workbook"
    answer = await raw.upload(
        "file", workbook, "export.xlsx", "application/vnd.openxmlformats-officedocument"
    )
    body = {
        "touser": NURSE,
        "msgtype": "file",
        "agentid": DEFAULT_AGENT_ID,
        "file": {"media_id": answer["media_id"]},
    }
    assert errcode(await raw.post(SEND, body)) == 0
    assert wecom.world.media[answer["media_id"]].data == workbook
    assert wecom.sent[0].media == wecom.world.media[answer["media_id"]].to_json()
    # A file is not an image.
    body["msgtype"], body["image"] = "image", body.pop("file")
    assert errcode(await raw.post(SEND, body)) == 40007
    assert violations(wecom) == [(40007, "image.media_id")]


@pytest.mark.parametrize(
    ("kind", "data", "code"),
    [
        ("image", b"\x89PNG", 44001),
        ("image", b"GIF89a-not-allowed", 40004),
        ("image", b"\xff\xd8\xff" + bytes(10 * MIB), 40009),
        ("file", bytes(20 * MIB + 1), 40006),
        ("voice", b"RIFF-not-amr", 40004),
        ("document", TINY_PNG, 40005),
    ],
    ids=["five-bytes", "gif", "image-over-10-mib", "file-over-20-mib", "voice-not-amr", "type"],
)
async def test_upload_refusals(
    wecom: LocalWecom, raw: Raw, kind: str, data: bytes, code: int
) -> None:
    assert errcode(await raw.upload(kind, data)) == code
    assert [v.errcode for v in wecom.violations] == [code]
    assert wecom.world.media == {}


async def test_an_upload_needs_its_media_part(wecom: LocalWecom, raw: Raw) -> None:
    assert errcode(await raw.upload("image", TINY_PNG, field_name="file")) == 40058
    query = f"?access_token={raw.token}&type=image"
    assert errcode(await raw.post(UPLOAD + query, token=None, raw=b"plain")) == 44001
    assert [v.errcode for v in wecom.violations] == [40058, 44001]


async def test_media_ids_unknown_or_older_than_three_days(
    wecom: LocalWecom, raw: Raw, clock: FakeClock
) -> None:
    body = {"touser": NURSE, "msgtype": "image", "agentid": DEFAULT_AGENT_ID, "image": {}}
    assert errcode(await raw.post(SEND, body)) == 41006
    body["image"] = {"media_id": "never-uploaded"}
    assert errcode(await raw.post(SEND, body)) == 40007
    assert violations(wecom) == [(41006, "image.media_id"), (40007, "image.media_id")]
    body["image"] = {"media_id": (await raw.upload("image", TINY_PNG))["media_id"]}
    clock.advance(3 * 24 * 3600)
    raw.refresh()
    assert errcode(await raw.post(SEND, body)) == 40007
    assert len(wecom.violations) == 2


# --- members and recall -------------------------------------------------------------------


async def test_get_user(wecom: LocalWecom, raw: Raw) -> None:
    answer = await raw.get("/cgi-bin/user/get", access_token=raw.token, userid="Nurse-Li")
    assert (answer["errcode"], answer["userid"], answer["name"]) == (0, NURSE, "李护士")
    assert not {"mobile", "email", "avatar", "gender"} & set(answer)
    unknown = await raw.get("/cgi-bin/user/get", access_token=raw.token, userid="ghost")
    assert errcode(unknown) == 60111
    wecom.world.member(DOCTOR).visible = False
    hidden = await raw.get("/cgi-bin/user/get", access_token=raw.token, userid=DOCTOR)
    assert errcode(hidden) == 60011
    assert wecom.violations == []
    bad = await raw.get("/cgi-bin/user/get", access_token=raw.token, userid="李")
    assert errcode(bad) == 40003
    assert violations(wecom) == [(40003, "userid")]


async def test_recall_within_24_hours(wecom: LocalWecom, raw: Raw, clock: FakeClock) -> None:
    first = (await raw.post(SEND, text()))["msgid"]
    second = (await raw.post(SEND, text()))["msgid"]
    assert errcode(await raw.post("/cgi-bin/message/recall", {"msgid": first})) == 0
    assert wecom.sent[0].recalled_at == clock.now
    clock.advance(24 * 3600 + 1)
    raw.refresh()
    assert errcode(await raw.post("/cgi-bin/message/recall", {"msgid": second})) == 42052
    assert wecom.violations == []
    assert errcode(await raw.post("/cgi-bin/message/recall", {"msgid": "never"})) == 40058
    assert violations(wecom) == [(40058, "msgid")]


# --- faults -------------------------------------------------------------------------------


async def test_injected_faults(wecom: LocalWecom, raw: Raw) -> None:
    wecom.inject_fault("sendText", "errcode", errcode=-1)
    assert errcode(await raw.post(SEND, text())) == -1
    assert errcode(await raw.post(SEND, text())) == 0
    wecom.inject_fault("sendText", "http_500")
    async with raw.http.post(
        wecom.url + SEND, params={"access_token": raw.token}, json=text()
    ) as response:
        assert response.status == 500
    wecom.inject_fault(None, "drop")
    with pytest.raises(Exception, match=r"(?i)disconnect|closed|reset"):
        await raw.post(SEND, text())
    assert [r.errcode for r in wecom.requests] == [-1, 0, -1, -1]
    assert all("access_token" not in r.query for r in wecom.requests)


async def test_a_slow_answer_comes_after_the_call_took_effect(wecom: LocalWecom, raw: Raw) -> None:
    wecom.inject_fault("sendText", "slow", delay=60.0)
    timeout = 0.3
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(raw.post(SEND, text()), timeout)
    assert wecom.methods.sent_to(NURSE)[0].body["text"]["content"] == "您好"
