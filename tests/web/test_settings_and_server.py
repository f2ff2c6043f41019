"""The web server's settings and life cycle: a half-configured channel stops the bot."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.runner import NotConfigured, check_settings
from bot.settings import Settings
from bot.web.server import WebRoute, WebServer, build_web_app

# The EncodingAESKey of Tencent's published example (docs/wechat-oa/crypto-vectors.json).
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT = {
    "WECHAT_APP_ID": "wx5823bf96d3bd56c7",
    "WECHAT_APP_SECRET": "secret",
    "WECHAT_TOKEN": "QDG6eK",
    "WECHAT_ENCODING_AES_KEY": AES_KEY,
    "PUBLIC_BASE_URL": "https://trial.example.cn/",
}


def settings(**env: str) -> Settings:
    return Settings.model_validate(env)


def test_wechat_is_off_without_credentials() -> None:
    assert settings().wechat() is None


def test_wechat_on_with_all_four_and_the_public_address() -> None:
    wechat = settings(**WECHAT).wechat()
    assert wechat is not None
    assert wechat.public_base_url == "https://trial.example.cn"
    assert wechat.api_base_url == "https://api.weixin.qq.com"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"WECHAT_TOKEN": ""}, "WECHAT_TOKEN not set"),
        ({"WECHAT_APP_SECRET": "", "WECHAT_TOKEN": ""}, "WECHAT_APP_SECRET, WECHAT_TOKEN"),
        ({"WECHAT_ENCODING_AES_KEY": AES_KEY[:-1]}, "WECHAT_ENCODING_AES_KEY must be"),
        ({"WECHAT_TOKEN": "has spaces"}, "WECHAT_TOKEN must be"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL is not set"),
        ({"PUBLIC_BASE_URL": "trial.example.cn"}, "PUBLIC_BASE_URL must be an http(s) URL"),
        ({"WECHAT_API_BASE_URL": "ftp://x"}, "WECHAT_API_BASE_URL must be an http(s) URL"),
    ],
)
def test_a_wrong_or_missing_wechat_setting_stops_the_bot_naming_it(
    change: dict[str, str], named: str
) -> None:
    with pytest.raises(NotConfigured, match=named.replace("(", r"\(").replace(")", r"\)")):
        check_settings(settings(**{**WECHAT, **change}))


async def test_the_server_answers_its_routes_and_stops(unused_tcp_port: int) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    server = WebServer([WebRoute("GET", "/hello", hello)], "127.0.0.1", unused_tcp_port)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{unused_tcp_port}/hello") as response:
                assert (response.status, await response.text()) == (200, "hello")
            async with session.get(f"http://127.0.0.1:{unused_tcp_port}/other") as response:
                assert response.status == 404
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{unused_tcp_port}/hello")


def test_two_handlers_for_one_path_is_a_wiring_error() -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(ValueError, match="two handlers for GET /r"):
        build_web_app([WebRoute("GET", "/r", page), WebRoute("get", "/r", page)])


def test_the_token_secrets_and_keys_are_never_printed() -> None:
    """Settings and the channels' settings print, log and dump with the secrets masked;
    the code that needs a value still gets it."""
    token = "123456:" + "T" * 35
    wecom = {
        "WECOM_CORP_ID": "ww1234567890abcdef",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "wecom-app-secret-value",
        "WECOM_TOKEN": "WecomToken7",
        "WECOM_ENCODING_AES_KEY": "B" * 43,
    }
    page_secret = "p" * 40
    password_url = "postgresql+psycopg://trial:db-password-9@db.example/trial"
    every = settings(
        **{**WECHAT, "WECHAT_APP_SECRET": "wechat-app-secret-value"},
        **wecom,
        TELEGRAM_BOT_TOKEN=token,
        PAGE_SECRET=page_secret,
        DATABASE_URL=password_url,
    )
    secrets = [
        token,
        "wechat-app-secret-value",
        WECHAT["WECHAT_TOKEN"],
        AES_KEY,
        wecom["WECOM_SECRET"],
        wecom["WECOM_TOKEN"],
        wecom["WECOM_ENCODING_AES_KEY"],
        page_secret,
    ]
    wechat, wecom_app = every.wechat(), every.wecom()
    printed = "\n".join(
        [repr(every), str(every), every.model_dump_json(), repr(wechat), repr(wecom_app)]
    )
    assert not [s for s in secrets if s in printed]
    assert "db-password-9" not in repr(every)
    # Used where they are needed.
    assert every.bot_token() == token
    assert wechat is not None and wechat.app_secret == "wechat-app-secret-value"
    assert wecom_app is not None and wecom_app.secret == wecom["WECOM_SECRET"]
    assert every.page_key() == page_secret.encode()
