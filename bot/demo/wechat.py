"""The demo's WeChat and WeCom: the local servers beside the bot, and people's phones.

The product never imports the local stand-ins of the chat platforms
(docs/DESIGN.md §2), and the demo is part of the product: it starts
``python -m local_servers.wechat`` (with the protocol file's templates) and
``python -m local_servers.wecom`` as child processes and plays the patient
on WeChat and the nurse on WeCom through their control interfaces over
HTTP, as a rehearsal on the site's own machine would. The patient opens the
link of each template message and answers on the page, a plain HTML form,
as the WeChat browser would submit it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp

from bot.demo.process import ROOT, START_TIMEOUT, DemoError
from core.reminder_templates import Wechat

JSON = dict[str, Any]
# The local server's own account (local_servers/wechat/server.py): only it ever sees these.
APP_ID = "wx0123456789abcdef"
APP_SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "localtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# The local WeCom server's application, given to it and to the bot.
CORP_ID = "ww0123456789abcdef"
AGENT_ID = "1000002"
WECOM_SECRET = "LocalWeComAppSecret0123456789abcdefghijklm"
WECOM_TOKEN = "localwecomtoken"
WECOM_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
# What a patient presses on a reminder's page, in this order of preference.
WANTED = ("yes", "started", "finished", "taken")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(api_url: str, wecom_url: str, web_port: int) -> dict[str, str]:
    """The bot's WeChat and WeCom settings against the local servers, its pages on this
    machine."""
    return {
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": AGENT_ID,
        "WECOM_SECRET": WECOM_SECRET,
        "WECOM_TOKEN": WECOM_TOKEN,
        "WECOM_ENCODING_AES_KEY": WECOM_AES_KEY,
        "WECOM_API_BASE_URL": wecom_url,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": api_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(web_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
    }


def template_args(wechat: Wechat) -> list[str]:
    """``--template ID=key1,key2`` for every template the protocol file's reminders use."""
    keys = {t.template_id: ",".join(t.fields) for t in wechat.templates.values()}
    return [arg for tid, k in sorted(keys.items()) for arg in ("--template", f"{tid}={k}")]


# --- the page, as a browser reads it --------------------------------------------------------


@dataclass
class Page:
    """A patient's page: its paragraphs, hidden fields and submit buttons (name, value, label)."""

    texts: list[str] = field(default_factory=list)
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)


class _PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._button: tuple[str, str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        got = {k: v or "" for k, v in attrs}
        if tag == "input" and got.get("type") == "hidden":
            self.page.hidden[got.get("name", "")] = got.get("value", "")
        elif tag == "button" and got.get("type") == "submit":
            self._button = (got.get("name", ""), got.get("value", ""))
            self._text = []
        elif tag in ("p", "h1") and self._button is None:
            self._text = []
        elif tag == "br" and self._text is not None:
            self._text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = "".join(self._text).strip()
        if tag == "button" and self._button is not None:
            self.page.buttons.append((*self._button, text))
            self._button, self._text = None, None
        elif tag in ("p", "h1") and self._button is None:
            if text:
                self.page.texts.append(text)
            self._text = None


def read_page(html: str) -> Page:
    reader = _PageReader()
    reader.feed(html)
    reader.close()
    return reader.page


# --- the local server and the phone ------------------------------------------------------


def wechat_args(wechat: Wechat, callback_url: str) -> list[str]:
    """``python -m local_servers.wechat``'s arguments: the account and its templates."""
    return [
        "--callback-url",
        callback_url,
        "--app-id",
        APP_ID,
        "--app-secret",
        APP_SECRET,
        "--token",
        TOKEN,
        "--aes-key",
        AES_KEY,
        *template_args(wechat),
    ]


def wecom_args(callback_url: str) -> list[str]:
    """``python -m local_servers.wecom``'s arguments: the corp and its application."""
    return [
        "--callback-url",
        callback_url,
        "--corp-id",
        CORP_ID,
        "--agent-id",
        AGENT_ID,
        "--secret",
        WECOM_SECRET,
        "--token",
        WECOM_TOKEN,
        "--aes-key",
        WECOM_AES_KEY,
    ]


class LocalServer:
    """``python -m <module>`` (a local server) on a free port, with ``args``."""

    def __init__(self, module: str, args: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.module = module
        self.args = args
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                "--port",
                str(self.port),
                *self.args,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/control/violations") as answer:
                        if answer.status == 200:
                            return
                if self.proc.returncode is not None or time.monotonic() > deadline:
                    raise DemoError(f"the local server {self.module} did not start")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class Phone:
    """WeChat or WeCom on people's phones: a local server's control interface, and the
    browser."""

    def __init__(self, server_url: str) -> None:
        self.control = f"{server_url}/control/"
        self.http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.http.close()

    async def call(self, verb: str, route: str, body: JSON | None = None, **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items() if v is not None}
        async with self.http.request(
            verb, self.control + route, json=body, params=params
        ) as response:
            answer = await response.json()
        if not answer.get("ok"):
            raise DemoError(f"the local server refused {route}: {answer.get('error')}")
        return answer["result"]

    async def newest_qr_code(self) -> JSON:
        codes: list[JSON] = await self.call("GET", "qrcodes")
        if not codes:
            raise DemoError("the bot made no QR code")
        return codes[-1]

    async def sent(self, openid: str, after: int, timeout: float) -> list[JSON]:
        """What the account sent ``openid`` after the first ``after`` messages."""
        found: list[JSON] = await self.call(
            "GET", "sent", touser=openid, after=after, timeout=timeout
        )
        return found

    async def violations(self) -> list[JSON]:
        found: list[JSON] = await self.call("GET", "violations")
        return found

    async def open(self, url: str) -> Page:
        async with self.http.get(url) as answer:
            if answer.status != 200:
                raise DemoError(f"the page {url} answered {answer.status}")
            return read_page(await answer.text())

    async def submit(self, url: str, page: Page, name: str, value: str) -> Page:
        form = {**page.hidden, name: value}
        async with self.http.post(url, data=form) as answer:
            return read_page(await answer.text())


def shown(sent: JSON) -> str:
    """A message of the account (or of the WeCom app) as its reader sees it."""
    body = sent["body"]
    if body.get("msgtype") == "template_card":
        card = body["template_card"]
        buttons = " ".join(f"[{b['text']}]" for b in card["button_list"])
        return "\n".join(
            part
            for part in (card["main_title"]["title"], card.get("sub_title_text", ""), buttons)
            if part
        )
    if body.get("msgtype") in ("image", "file"):
        return f"[{body['msgtype']}]"
    if sent["method"] == "sendTemplateMessage":
        values = " | ".join(str(item["value"]) for item in body["data"].values())
        return f"[template message] {values}\n[link] {body.get('url', '')}"
    if body.get("msgtype") == "msgmenu":
        menu = body["msgmenu"]
        options = " ".join(f"[{o['content']}]" for o in menu["list"])
        return f"{menu['head_content']}\n{options}"
    if body.get("msgtype") == "text":
        return str(body["text"]["content"])
    return f"[{body.get('msgtype')}]"
