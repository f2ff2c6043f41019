"""The local WeChat server refuses what docs/wechat-oa/api.json refuses, with WeChat's codes.

Raw HTTP requests, as a client with bugs would make them: each refusal
carries the errcode WeChat gives, and the ones where the request broke the
spec are kept as violations. Then the control interface over HTTP and the
command that runs the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from local_servers.wechat import DEFAULT_APP_ID, DEFAULT_APP_SECRET, LocalWechat
from local_servers.wechat.client import ControlRequestError, WechatControl
from tests.support.wall_clock import FakeClock
from tests.wechat.conftest import KEYS, TEMPLATE, VALUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OPENID = "oPatient0000000000000000001"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
QR_CREATE = "/cgi-bin/qrcode/create"
MENU_CREATE = "/cgi-bin/menu/create"


class Raw:
    """Requests as they are written, with a valid token unless told otherwise."""

    def __init__(self, wechat: LocalWechat, http: aiohttp.ClientSession) -> None:
        self.wechat = wechat
        self.http = http
        self.token, _ = wechat.world.stable_token(force=False)

    async def post(
        self, path: str, body: Any, *, token: str | None = "", raw: bytes | None = None
    ) -> dict[str, Any]:
        query = {} if token is None else {"access_token": token or self.token}
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        async with self.http.post(self.wechat.url + path, params=query, data=data) as response:
            assert response.status == 200
            answer: dict[str, Any] = await response.json()
            return answer

    async def get(self, path: str, **query: str) -> dict[str, Any]:
        async with self.http.get(self.wechat.url + path, params=query) as response:
            answer: dict[str, Any] = await response.json()
            return answer


@pytest.fixture
def raw(wechat: LocalWechat, http: aiohttp.ClientSession) -> Raw:
    return Raw(wechat, http)


def template(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "touser": OPENID,
        "template_id": TEMPLATE,
        "data": {k: {"value": v} for k, v in VALUES.items()},
    }
    body.update(changes)
    return body


async def follower(wechat: LocalWechat, openid: str = OPENID) -> None:
    wechat.world.add_user(openid)
    await wechat.patients.follow(openid)


def codes(answer: dict[str, Any]) -> tuple[int, str]:
    return answer["errcode"], answer["errmsg"].split(" rid: ")[0]


async def test_a_valid_template_message_is_accepted(wechat: LocalWechat, raw: Raw) -> None:
    await follower(wechat)
    answer = await raw.post(TEMPLATE_SEND, template())
    assert answer == {"errcode": 0, "errmsg": "ok", "msgid": answer["msgid"]}
    assert wechat.violations == []


@pytest.mark.parametrize(
    ("token", "errcode"),
    [(None, 41001), ("not-a-token", 40001)],
)
async def test_a_missing_or_unknown_token(raw: Raw, token: str | None, errcode: int) -> None:
    answer = await raw.post(TEMPLATE_SEND, template(), token=token)
    assert answer["errcode"] == errcode


async def test_an_expired_token(wechat: LocalWechat, raw: Raw, server_clock: FakeClock) -> None:
    server_clock.advance(7200)
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 42001


async def test_a_forced_refresh_replaces_the_token_at_most_every_30_seconds(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    body = {
        "grant_type": "client_credential",
        "appid": DEFAULT_APP_ID,
        "secret": DEFAULT_APP_SECRET,
    }
    forced = await raw.post("/cgi-bin/stable_token", body | {"force_refresh": True}, token=None)
    assert forced["access_token"] != raw.token
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 40001
    again = await raw.post("/cgi-bin/stable_token", body | {"force_refresh": True}, token=None)
    assert again["access_token"] == forced["access_token"]
    server_clock.advance(30)
    third = await raw.post("/cgi-bin/stable_token", body | {"force_refresh": True}, token=None)
    assert third["access_token"] != forced["access_token"]


async def test_normal_mode_renews_five_minutes_before_expiry_and_the_old_token_lasts(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    await follower(wechat)
    body = {
        "grant_type": "client_credential",
        "appid": DEFAULT_APP_ID,
        "secret": DEFAULT_APP_SECRET,
    }
    server_clock.advance(7200 - 301)
    same = await raw.post("/cgi-bin/stable_token", body, token=None)
    assert (same["access_token"], same["expires_in"]) == (raw.token, 301)
    server_clock.advance(2)
    renewed = await raw.post("/cgi-bin/stable_token", body, token=None)
    assert (renewed["access_token"] != raw.token, renewed["expires_in"]) == (True, 7200)
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 0  # the old one, still valid
    server_clock.advance(299)
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 42001


async def test_get_access_token_issues_a_new_token_and_the_last_one_lasts_five_minutes(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    await follower(wechat)
    credentials = {"grant_type": "client_credential", "appid": DEFAULT_APP_ID}
    first = await raw.get("/cgi-bin/token", **credentials, secret=DEFAULT_APP_SECRET)
    second = await raw.get("/cgi-bin/token", **credentials, secret=DEFAULT_APP_SECRET)
    assert first["access_token"] != second["access_token"]
    assert second["expires_in"] == 7200
    raw.token = first["access_token"]
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 0
    server_clock.advance(300)
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 42001
    wrong = await raw.get("/cgi-bin/token", **credentials, secret="wrong")
    assert wrong["errcode"] == 40125


@pytest.mark.parametrize(
    ("change", "errcode", "violation"),
    [
        ({"appid": "wx0000000000000000"}, 40013, False),
        ({"secret": "wrong"}, 40125, False),
        ({"grant_type": "password"}, 40002, True),
        ({"force_refresh": "yes"}, 47001, True),
    ],
)
async def test_stable_token_refusals(
    wechat: LocalWechat, raw: Raw, change: dict[str, Any], errcode: int, violation: bool
) -> None:
    body = {
        "grant_type": "client_credential",
        "appid": DEFAULT_APP_ID,
        "secret": DEFAULT_APP_SECRET,
    }
    answer = await raw.post("/cgi-bin/stable_token", body | change, token=None)
    assert answer["errcode"] == errcode
    assert bool(wechat.violations) is violation


@pytest.mark.parametrize(
    ("body", "errcode", "errmsg"),
    [
        (template(topcolor="#FF0000"), 47001, "data format error hint: [topcolor]"),
        (
            {k: v for k, v in template().items() if k != "touser"},
            47001,
            "data format error hint: [touser]",
        ),
        (template(touser=12345), 47001, "data format error hint: [touser]"),
        (
            template(miniprogram={"pagepath": "index"}),
            47001,
            "data format error hint: [miniprogram.appid]",
        ),
        (template(template_id="X" * 43), 40037, "invalid template_id"),
        (
            template(data={**template()["data"], "thing1": {"value": "输" * 21}}),
            47003,
            "argument invalid! data.thing1.value invalid",
        ),
        (
            template(data={**template()["data"], "character_string3": {"value": "编号"}}),
            47003,
            "argument invalid! data.character_string3.value invalid",
        ),
        (
            template(data={k: v for k, v in template()["data"].items() if k != "time2"}),
            47003,
            "argument invalid! data.time2.value invalid",
        ),
        (
            template(data={**template()["data"], "thing9": {"value": "多余"}}),
            47003,
            "argument invalid! data.thing9.value invalid",
        ),
        (
            template(data={**template()["data"], "thing1": "输液"}),
            47001,
            "data format error hint: [data.thing1]",
        ),
    ],
    ids=[
        "unknown-field",
        "missing-touser",
        "touser-not-string",
        "miniprogram-without-appid",
        "unknown-template",
        "thing-over-20",
        "chinese-in-character-string",
        "missing-key",
        "extra-key",
        "value-not-object",
    ],
)
async def test_template_message_refusals(
    wechat: LocalWechat, raw: Raw, body: dict[str, Any], errcode: int, errmsg: str
) -> None:
    await follower(wechat)
    answer = await raw.post(TEMPLATE_SEND, body)
    assert codes(answer) == (errcode, errmsg)
    assert [v.errcode for v in wechat.violations] == [errcode]
    assert wechat.sent == []


async def test_a_template_message_to_an_unknown_openid_or_a_non_follower(
    wechat: LocalWechat, raw: Raw
) -> None:
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 40003
    wechat.world.add_user(OPENID)
    assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 43004
    assert wechat.violations == []


async def test_the_non_follower_code_is_configurable(server_clock: FakeClock) -> None:
    async with LocalWechat(templates={TEMPLATE: KEYS}, non_follower_errcode=40003) as wechat:
        wechat.world.add_user(OPENID)
        async with aiohttp.ClientSession() as http:
            assert (await Raw(wechat, http).post(TEMPLATE_SEND, template()))["errcode"] == 40003


async def test_unicode_escapes_in_the_body_are_refused(wechat: LocalWechat, raw: Raw) -> None:
    await follower(wechat)
    escaped = json.dumps(template(), ensure_ascii=True).encode()
    assert (await raw.post(TEMPLATE_SEND, None, raw=escaped))["errcode"] == 40033
    assert (await raw.post(TEMPLATE_SEND, None, raw=b"{not json"))["errcode"] == 47001
    backslash_u = template(url="https://example.org/a\\u0041")
    assert (await raw.post(TEMPLATE_SEND, backslash_u))["errcode"] == 0


async def test_unicode_escapes_may_be_allowed() -> None:
    async with LocalWechat(templates={TEMPLATE: KEYS}, reject_unicode_escapes=False) as wechat:
        await follower(wechat)
        escaped = json.dumps(template(), ensure_ascii=True).encode()
        async with aiohttp.ClientSession() as http:
            answer = await Raw(wechat, http).post(TEMPLATE_SEND, None, raw=escaped)
        assert answer["errcode"] == 0
        assert wechat.sent[0].body["data"]["thing1"] == {"value": "输液提醒"}


def text(content: str = "您好") -> dict[str, Any]:
    return {"touser": OPENID, "msgtype": "text", "text": {"content": content}}


async def test_the_window_after_a_message_is_5_messages_in_48_hours(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    await follower(wechat)
    await wechat.patients.write(OPENID, "你好")
    for _ in range(5):
        assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 0
    assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 45047
    await wechat.patients.write(OPENID, "还在吗")
    server_clock.advance(48 * 3600 + 1)
    raw.token, _ = wechat.world.stable_token(force=False)
    assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 45015
    assert wechat.violations == []


async def test_the_window_after_a_follow_is_3_messages_in_a_minute(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    await follower(wechat)
    for _ in range(3):
        assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 0
    assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 45047
    await wechat.patients.write(OPENID, "你好")  # a message replaces the budget
    server_clock.advance(61)
    assert (await raw.post(CUSTOM_SEND, text()))["errcode"] == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        (text(""), 44004),
        ({"touser": OPENID, "msgtype": "image"}, 40008),
        ({"touser": OPENID, "msgtype": "text"}, 47001),
        (text() | {"msgmenu": {"head_content": "", "list": [], "tail_content": ""}}, 47001),
        ({"touser": OPENID, "msgtype": "msgmenu", "msgmenu": {"list": []}}, 47001),
    ],
    ids=["empty-text", "image-not-carried", "no-text", "two-kinds", "menu-without-head"],
)
async def test_custom_message_refusals(
    wechat: LocalWechat, raw: Raw, body: dict[str, Any], errcode: int
) -> None:
    await follower(wechat)
    assert (await raw.post(CUSTOM_SEND, body))["errcode"] == errcode
    assert [v.errcode for v in wechat.violations] == [errcode]


async def test_a_menu_message_from_an_account_not_allowed_one() -> None:
    async with LocalWechat(msgmenu_allowed=False) as wechat, aiohttp.ClientSession() as http:
        await follower(wechat)
        menu = {"head_content": "?", "list": [{"id": "1", "content": "是"}], "tail_content": ""}
        answer = await Raw(wechat, http).post(
            CUSTOM_SEND, {"touser": OPENID, "msgtype": "msgmenu", "msgmenu": menu}
        )
    assert answer["errcode"] == 40200


def qr(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "expire_seconds": 600,
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "invite-1"}},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "errcode", "field"),
    [
        (qr(action_info={"scene": {"scene_str": "s" * 65}}), 47003, "action_info.scene.scene_str"),
        (qr(expire_seconds=2_592_001), 47003, "expire_seconds"),
        (qr(expire_seconds="600"), 47001, "expire_seconds"),
        (qr(action_name="QR_TEMP"), 47003, "action_name"),
        (qr(action_info={"scene": {"scene_id": 5}}), 47001, "action_info.scene.scene_str"),
        (
            qr(action_name="QR_LIMIT_SCENE", action_info={"scene": {"scene_id": 100_001}}),
            47003,
            "action_info.scene.scene_id",
        ),
    ],
)
async def test_qr_code_refusals(
    wechat: LocalWechat, raw: Raw, body: dict[str, Any], errcode: int, field: str
) -> None:
    answer = await raw.post(QR_CREATE, body)
    assert answer["errcode"] == errcode
    assert [v.field for v in wechat.violations] == [field]


async def test_a_qr_code_without_expire_seconds_lives_30_seconds(
    wechat: LocalWechat, raw: Raw, server_clock: FakeClock
) -> None:
    answer = await raw.post(QR_CREATE, {k: v for k, v in qr().items() if k != "expire_seconds"})
    assert answer["expire_seconds"] == 30
    server_clock.advance(30)
    with pytest.raises(Exception, match="expired"):
        await wechat.patients.scan(OPENID, ticket=answer["ticket"])


async def test_user_info_of_an_unknown_openid(raw: Raw) -> None:
    answer = await raw.get("/cgi-bin/user/info", access_token=raw.token, openid="nobody")
    assert answer["errcode"] == 40003
    answer = await raw.get("/cgi-bin/user/info", access_token=raw.token, openid="x", lang="fr")
    assert answer["errcode"] == 47003


@pytest.mark.parametrize(
    ("button", "errcode", "field"),
    [
        ([{"type": "click", "name": str(n), "key": str(n)} for n in range(4)], 47003, "button"),
        ([{"type": "click", "name": "日程"}], 47001, "button[0].key"),
        ([{"type": "view", "name": "联系"}], 47001, "button[0].url"),
        ([{"name": "日程", "key": "K"}], 47001, "button[0].type"),
        ([{"type": "scancode_push", "name": "扫码", "key": "K"}], 47003, "button[0].type"),
        (
            [
                {
                    "name": "更多",
                    "sub_button": [
                        {"type": "click", "name": str(n), "key": str(n)} for n in range(6)
                    ],
                }
            ],
            47003,
            "button[0].sub_button",
        ),
        (
            [{"name": "更多", "sub_button": [{"name": "x", "sub_button": []}]}],
            47001,
            "button[0].sub_button[0].sub_button",
        ),
    ],
    ids=[
        "four-buttons",
        "click-without-key",
        "view-without-url",
        "no-type",
        "type-not-carried",
        "six-below",
        "nested",
    ],
)
async def test_menu_refusals(
    wechat: LocalWechat, raw: Raw, button: list[Any], errcode: int, field: str
) -> None:
    answer = await raw.post(MENU_CREATE, {"button": button})
    assert answer["errcode"] == errcode
    assert [v.field for v in wechat.violations] == [field]
    assert wechat.world.menu == []


async def test_the_control_interface_plays_a_patient(wechat: LocalWechat, raw: Raw) -> None:
    qr_answer = await raw.post(QR_CREATE, qr())
    async with WechatControl(wechat.url) as control:
        # A phone reads the code: its ticket and the scene a scan will carry.
        (code,) = await control.qr_codes()
        assert (code["ticket"], code["scene"]) == (qr_answer["ticket"], "invite-1")
        push = await control.scan(OPENID, scene="invite-1")
        assert (push["kind"], push["openid"], push["acked"]) == ("subscribe", OPENID, False)
        assert "<EventKey><![CDATA[qrscene_invite-1]]></EventKey>" in push["xml"]
        assert f"<Ticket><![CDATA[{qr_answer['ticket']}]]></Ticket>" in push["xml"]
        push = await control.act("write", OPENID, content="我明天不能来")
        assert push["kind"] == "text"
        await raw.post(CUSTOM_SEND, text("收到"))
        assert [s["body"]["text"] for s in await control.sent(OPENID)] == [{"content": "收到"}]
        assert [p["kind"] for p in await control.pushes()] == ["subscribe", "text"]
        with pytest.raises(ControlRequestError, match="no WeChat user"):
            await control.act("write", "nobody", content="hi")
        with pytest.raises(ControlRequestError, match="no such QR code"):
            await control.scan(OPENID, scene="never-made")
        with pytest.raises(ControlRequestError, match="no button with key 'NOPE'"):
            await control.act("click", OPENID, key="NOPE")
        with pytest.raises(ControlRequestError, match="no option"):
            await control.act("choose", OPENID, label="是")
        with pytest.raises(ControlRequestError, match="receipt_failure_rate"):
            await control.settings(receipt_failure_rate=2)
        settings = await control.settings(deliveries=4, menu_option_fault="zero")
        assert (settings["deliveries"], settings["menu_option_fault"]) == (4, "zero")
        assert await control.violations() == []


async def test_faults_and_the_clock_over_http(wechat: LocalWechat, raw: Raw) -> None:
    await follower(wechat)
    async with WechatControl(wechat.url) as control:
        await control.call(
            "POST", "faults", {"method": "sendTemplateMessage", "kind": "errcode", "errcode": 45009}
        )
        assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 45009
        assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 0
        with pytest.raises(ControlRequestError, match="fault kind"):
            await control.call("POST", "faults", {"kind": "meltdown"})
        await control.call("POST", "clock", {"advance": 7200})
        assert (await raw.post(TEMPLATE_SEND, template()))["errcode"] == 42001
        requests = await control.call("GET", "requests")
        assert [r["errcode"] for r in requests] == [45009, 0, 42001]
        assert all("access_token" not in r["query"] for r in requests)


@pytest.mark.parametrize("command", [["local_servers.wechat"], ["bot", "local-wechat"]])
async def test_the_command_runs_a_server(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        "--port",
        "0",
        "--template",
        f"{TEMPLATE}={','.join(KEYS)}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert line.startswith("WECHAT_API_BASE_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        async with WechatControl(url) as control:
            user = await control.add_user(OPENID)
            assert user == {"openid": OPENID, "following": False}
            assert await control.violations() == []
    finally:
        process.terminate()
        await process.wait()
