"""The local WeCom server's control interface over HTTP, as a rehearsal in another process
drives it, and the command that runs the server."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path

import aiohttp
import pytest

from local_servers.wecom import DEFAULT_AGENT_ID, LocalWecom
from local_servers.wecom.client import ControlRequestError, WecomControl
from local_servers.wecom.staff import TINY_PNG
from tests.wecom.conftest import DOCTOR, NURSE, SEND, UPDATE, Raw, Receiver, card, text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TASK = "ae-P01-0001"


async def test_the_control_interface_plays_a_member(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    async with WecomControl(wecom.url) as control:
        assert await control.add_member("coordinator-zhao", "赵协调员") == {
            "userid": "coordinator-zhao",
            "visible": True,
        }
        with pytest.raises(ControlRequestError, match="exists"):
            await control.add_member(NURSE)
        push = await control.text(NURSE, "/status")
        assert (push["kind"], push["userid"], push["acked"]) == ("text", NURSE, True)
        assert "<Content><![CDATA[/status]]></Content>" in push["xml"]
        assert sorted(push["query"]) == ["msg_signature", "nonce", "timestamp"]
        assert (await control.enter(NURSE))["kind"] == "enter_agent"
        assert (await control.menu(NURSE, "status"))["kind"] == "click"
        picture = await control.image(NURSE, TINY_PNG, "wound.png")
        assert picture["kind"] == "image"
        (media,) = await control.media()
        assert (media["filename"], media["size"]) == ("wound.png", len(TINY_PNG))
        media_url = f"{wecom.url}/control/media/{media['media_id']}"
        async with aiohttp.ClientSession() as http, http.get(media_url) as answer:
            assert await answer.read() == TINY_PNG
        assert [p["kind"] for p in await control.pushes(after=1)] == [
            "enter_agent",
            "click",
            "image",
        ]

        await raw.post(SEND, text("收到"))
        await raw.post(SEND, card())
        sent = await control.sent(NURSE)
        assert [s["msgtype"] for s in sent] == ["text", "template_card"]
        assert await control.sent(DOCTOR) == []
        click = await control.click(NURSE, TASK, index=0)
        assert click["kind"] == "template_card_event"
        code = click["xml"].split("<ResponseCode><![CDATA[")[1].split("]]>")[0]
        body = {
            "userids": [NURSE],
            "agentid": DEFAULT_AGENT_ID,
            "response_code": code,
            "button": {"replace_name": "已确认 Confirmed"},
        }
        assert (await raw.post(UPDATE, body))["errcode"] == 0
        cards = await control.cards()
        assert cards[TASK]["states"] == {NURSE: {"replace_name": "已确认 Confirmed", "card": None}}
        with pytest.raises(ControlRequestError, match="greyed out"):
            await control.click(NURSE, TASK, index=0)
        with pytest.raises(ControlRequestError, match="not sent to dr-wang"):
            await control.click(DOCTOR, TASK, index=0)
        with pytest.raises(ControlRequestError, match="no card with task_id"):
            await control.click(NURSE, "never-sent", index=0)

        await control.unsubscribe(DOCTOR)
        assert {m["userid"]: m["visible"] for m in await control.members()}[DOCTOR] is False
        with pytest.raises(ControlRequestError, match="visible range already"):
            await control.subscribe(NURSE)
        assert (await control.subscribe(DOCTOR))["kind"] == "subscribe"
        with pytest.raises(ControlRequestError, match="no WeCom member"):
            await control.text("ghost", "hi")
        with pytest.raises(ControlRequestError, match="missing 'content'"):
            await control.call("POST", "text", {"userid": NURSE})
        assert await control.violations() == []
        assert await control.warnings() == []


async def test_settings_verification_and_push_faults_over_http(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    async with WecomControl(wecom.url) as control:
        settings = await control.settings(deliveries=4, rate_limit_errcode=45009)
        assert (settings["deliveries"], settings["rate_limit_errcode"]) == (4, 45009)
        assert settings["response_code_lifetime_s"] == 72 * 3600
        with pytest.raises(ControlRequestError, match="positive"):
            await control.settings(response_code_lifetime_s=0)
        verification = await control.verify()
        assert verification["ok"] is True
        assert verification["body"] == verification["expected"]
        assert await control.push_fault("bad_signature") == ["bad_signature"]
        with pytest.raises(ControlRequestError, match="push fault must be one of"):
            await control.push_fault("garbled")
        push = await control.text(NURSE, "forged")
        assert (push["fault"], push["acked"], len(push["attempts"])) == ("bad_signature", False, 4)
        await control.push_fault("duplicate", count=2)
        await control.call("DELETE", "push_faults")
        assert (await control.text(NURSE, "clean"))["fault"] is None
        await control.settings(callback_url=None)
        assert (await control.verify())["ok"] is False


async def test_api_faults_tokens_and_the_clock_over_http(wecom: LocalWecom, raw: Raw) -> None:
    async with WecomControl(wecom.url) as control:
        await control.fault("errcode", "sendText", errcode=-1)
        assert (await raw.post(SEND, text()))["errcode"] == -1
        assert (await raw.post(SEND, text()))["errcode"] == 0
        with pytest.raises(ControlRequestError, match="fault kind"):
            await control.fault("meltdown")
        with pytest.raises(ControlRequestError, match="no method sendVoice"):
            await control.fault("errcode", "sendVoice")
        await control.invalidate_tokens()
        assert (await raw.post(SEND, text()))["errcode"] == 40014
        raw.refresh()
        now = await control.advance(7200)
        assert now == wecom.world.now()
        assert (await raw.post(SEND, text()))["errcode"] == 42001
        requests = await control.requests()
        assert [r["errcode"] for r in requests] == [-1, 0, 40014, 42001]
        assert all("access_token" not in r["query"] for r in requests)
        assert requests[1]["body"]["text"] == {"content": "您好"}
        assert await control.violations() == []


async def test_an_upload_is_logged_without_its_bytes(wecom: LocalWecom, raw: Raw) -> None:
    await raw.upload("image", TINY_PNG, "plot.png")
    (request,) = wecom.requests
    assert request.body == {
        "media": {"filename": "plot.png", "content_type": "image/png", "size": len(TINY_PNG)}
    }
    assert base64.b64encode(TINY_PNG).decode() not in str(request.to_json())


@pytest.mark.parametrize("command", [["local_servers.wecom"], ["bot", "local-wecom"]])
async def test_the_command_runs_a_server(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        "--port",
        "0",
        "--member",
        NURSE,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines = [
            (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
            for _ in range(6)
        ]
        settings = dict(line.split("=", 1) for line in lines)
        assert list(settings) == [
            "WECOM_API_BASE_URL",
            "WECOM_CORP_ID",
            "WECOM_AGENT_ID",
            "WECOM_SECRET",
            "WECOM_TOKEN",
            "WECOM_ENCODING_AES_KEY",
        ]
        url = settings["WECOM_API_BASE_URL"]
        assert url.startswith("http://127.0.0.1:")
        async with WecomControl(url) as control:
            assert await control.members() == [{"userid": NURSE, "visible": True}]
            assert await control.violations() == []
        async with aiohttp.ClientSession() as http:
            query = {"corpid": settings["WECOM_CORP_ID"], "corpsecret": settings["WECOM_SECRET"]}
            async with http.get(f"{url}/cgi-bin/gettoken", params=query) as answer:
                assert (await answer.json())["errcode"] == 0
    finally:
        process.terminate()
        await process.wait()


async def test_a_callback_url_is_checked_before_it_is_saved(
    wecom: LocalWecom, receiver: Receiver
) -> None:
    url = wecom.pusher.callback_url
    assert url is not None
    await wecom.register_callback(None)
    async with WecomControl(wecom.url) as control:
        assert (await control.settings(callback_url=url))["callback_url"] == url
        assert [v.ok for v in wecom.pusher.verifications] == [True]
        receiver.token = "not-the-apps-token"
        with pytest.raises(ControlRequestError, match=r"the URL check of .* failed"):
            await control.settings(callback_url=url + "?moved")
        assert wecom.pusher.callback_url == url
        saved = await control.settings(callback_url=url + "?moved", verify_callback=False)
        assert saved["callback_url"] == url + "?moved"
