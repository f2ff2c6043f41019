"""Configuration from the environment (and a ``.env`` file), per docs/DESIGN.md §5."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.protocol import Protocol, load_protocol

# Long enough that guessing it is out of the question (about 190 bits as base64).
_PAGE_SECRET_LENGTH = 32


class SettingError(ValueError):
    """A setting is missing or malformed; the message names it and what was expected."""


@dataclass(frozen=True, slots=True)
class WeChatSettings:
    """The WeChat Official Account's credentials and addresses (docs/wechat-oa/callbacks.md)."""

    app_id: str
    app_secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    api_base_url: str
    public_base_url: str


@dataclass(frozen=True, slots=True)
class WecomSettings:
    """The WeCom self-built application's ids, secret and callback keys (docs/wecom/callbacks.md
    §1): the staff channel in mainland China."""

    corp_id: str
    agent_id: int
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    api_base_url: str


def _wechat_token(token: str, name: str = "WECHAT_TOKEN", console: str = "WeChat's") -> str:
    # The consoles allow 3-32 letters and digits for the callback token.
    if not (3 <= len(token) <= 32 and token.isascii() and token.isalnum()):
        raise SettingError(f"{name} must be 3 to 32 letters or digits (as in {console} console)")
    return token


def _aes_key(key: str, name: str = "WECHAT_ENCODING_AES_KEY", console: str = "WeChat's") -> str:
    # 43 characters of base64 that decode (with one "=") to the 32-byte AES key.
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(key) != 43 or len(raw) != 32:
        raise SettingError(f"{name} must be the 43-character EncodingAESKey from {console} console")
    return key


def _agent_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**31):
        raise SettingError(
            f"WECOM_AGENT_ID must be the application's AgentId, a number such as 1000002, "
            f"not {value!r}"
        )
    return int(value)


def _http_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise SettingError(f"{name} must be an http(s) URL, not {url!r}")
    return url


def reveal(secret: SecretStr | None) -> str | None:
    """A secret's value, for the one place that uses it (never for a message or a log)."""
    return None if secret is None else secret.get_secret_value()


class Settings(BaseSettings):
    """Every setting the bot reads; names are the environment variables.

    The token, secrets and keys are ``SecretStr``: printed, logged or shown in
    a traceback they read ``**********``; :func:`reveal` gives the value to
    the code that needs it. The database URL is left out of ``repr`` (it may
    hold a password).
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_base_url: str | None = Field(default=None, alias="TELEGRAM_BASE_URL")
    database_url: str = Field(default="sqlite:///data/trial.db", alias="DATABASE_URL", repr=False)
    trial_timezone: str = Field(default="Asia/Shanghai", alias="TRIAL_TIMEZONE")
    protocol_file: Path | None = Field(default=None, alias="PROTOCOL_FILE")
    # Read as text and checked by bot.cli.logs, so a bad value is one clear line, not a
    # validation traceback from every command (the offline ones never log).
    log_level: str | None = Field(default=None, alias="LOG_LEVEL")

    # WeChat Official Account (patients in mainland China): on when all four are set.
    wechat_app_id: str | None = Field(default=None, alias="WECHAT_APP_ID")
    wechat_app_secret: SecretStr | None = Field(default=None, alias="WECHAT_APP_SECRET")
    wechat_token: SecretStr | None = Field(default=None, alias="WECHAT_TOKEN")
    wechat_encoding_aes_key: SecretStr | None = Field(default=None, alias="WECHAT_ENCODING_AES_KEY")
    wechat_api_base_url: str = Field(
        default="https://api.weixin.qq.com", alias="WECHAT_API_BASE_URL"
    )
    # WeCom self-built application (staff in mainland China): on when all five are set.
    wecom_corp_id: str | None = Field(default=None, alias="WECOM_CORP_ID")
    wecom_agent_id: str | None = Field(default=None, alias="WECOM_AGENT_ID")
    wecom_secret: SecretStr | None = Field(default=None, alias="WECOM_SECRET")
    wecom_token: SecretStr | None = Field(default=None, alias="WECOM_TOKEN")
    wecom_encoding_aes_key: SecretStr | None = Field(default=None, alias="WECOM_ENCODING_AES_KEY")
    wecom_api_base_url: str = Field(
        default="https://qyapi.weixin.qq.com", alias="WECOM_API_BASE_URL"
    )
    # The bot's own HTTP server (WeChat's callback, the patients' pages) and the HTTPS
    # origin the outside world reaches it at (WeChat's console, links in messages).
    web_host: str = Field(default="127.0.0.1", alias="WEB_HOST")
    web_port: int = Field(default=8080, alias="WEB_PORT")
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    # Signs the links to patients' pages; derived from WECHAT_APP_SECRET when unset.
    page_secret: SecretStr | None = Field(default=None, alias="PAGE_SECRET")
    # Signs the audit chain's head (bot/audit_key.py); kept out of the database on purpose.
    audit_key: SecretStr | None = Field(default=None, alias="AUDIT_KEY")
    # Scheduled backups (bot/backups.py): on when BACKUP_DIR is set. BACKUP_EVERY is a
    # wall-clock time in the trial's time zone (daily) or an interval such as 6h or 30m.
    backup_dir: Path | None = Field(default=None, alias="BACKUP_DIR")
    backup_every: str = Field(default="03:00", alias="BACKUP_EVERY")
    backup_keep: int = Field(default=14, alias="BACKUP_KEEP")

    def wechat(self) -> WeChatSettings | None:
        """The WeChat channel's settings, or None when it is off.

        Off when none of the four credentials is set; some but not all, or a value of
        the wrong form, is a :class:`SettingError` naming it (the bot does not start).
        """
        given = {
            "WECHAT_APP_ID": self.wechat_app_id,
            "WECHAT_APP_SECRET": self.wechat_app_secret,
            "WECHAT_TOKEN": self.wechat_token,
            "WECHAT_ENCODING_AES_KEY": self.wechat_encoding_aes_key,
        }
        missing = [name for name, value in given.items() if not value]
        if len(missing) == len(given):
            return None
        if missing:
            raise SettingError(
                f"WeChat is half configured: {', '.join(missing)} not set "
                "(set all four of WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_TOKEN and "
                "WECHAT_ENCODING_AES_KEY, or none)"
            )
        return WeChatSettings(
            app_id=str(self.wechat_app_id),
            app_secret=str(reveal(self.wechat_app_secret)),
            token=_wechat_token(str(reveal(self.wechat_token))),
            encoding_aes_key=_aes_key(str(reveal(self.wechat_encoding_aes_key))),
            api_base_url=_http_url("WECHAT_API_BASE_URL", self.wechat_api_base_url),
            public_base_url=self.public_url(required_by="WeChat"),
        )

    def wecom(self) -> WecomSettings | None:
        """The WeCom channel's settings, or None when it is off (none of the five set); some
        but not all, or a value of the wrong form, is a :class:`SettingError` naming it."""
        given = {
            "WECOM_CORP_ID": self.wecom_corp_id,
            "WECOM_AGENT_ID": self.wecom_agent_id,
            "WECOM_SECRET": self.wecom_secret,
            "WECOM_TOKEN": self.wecom_token,
            "WECOM_ENCODING_AES_KEY": self.wecom_encoding_aes_key,
        }
        missing = [name for name, value in given.items() if not value]
        if len(missing) == len(given):
            return None
        if missing:
            raise SettingError(
                f"WeCom is half configured: {', '.join(missing)} not set (set all five of "
                f"{', '.join(given)}, or none)"
            )
        return WecomSettings(
            corp_id=str(self.wecom_corp_id),
            agent_id=_agent_id(str(self.wecom_agent_id)),
            secret=str(reveal(self.wecom_secret)),
            token=_wechat_token(str(reveal(self.wecom_token)), "WECOM_TOKEN", "WeCom's"),
            encoding_aes_key=_aes_key(
                str(reveal(self.wecom_encoding_aes_key)), "WECOM_ENCODING_AES_KEY", "WeCom's"
            ),
            api_base_url=_http_url("WECOM_API_BASE_URL", self.wecom_api_base_url),
        )

    def bot_token(self) -> str | None:
        """TELEGRAM_BOT_TOKEN's value (None or empty: not set)."""
        return reveal(self.telegram_bot_token)

    def public_url(self, required_by: str) -> str:
        """PUBLIC_BASE_URL without a trailing slash; refused when missing or not HTTP(S)."""
        if not self.public_base_url:
            raise SettingError(
                f"PUBLIC_BASE_URL is not set: {required_by} needs the HTTPS address the bot's "
                "web server is reached at, e.g. https://trial.example-hospital.cn"
            )
        return _http_url("PUBLIC_BASE_URL", self.public_base_url).rstrip("/")

    def page_key(self) -> bytes:
        """The key that signs links to patients' pages (bot/web/page_tokens.py).

        PAGE_SECRET when set (at least 32 characters), else derived from
        WECHAT_APP_SECRET so that a WeChat site types no second secret; with
        neither, a :class:`SettingError` naming PAGE_SECRET.
        """
        page_secret = reveal(self.page_secret)
        if page_secret:
            if len(page_secret) < _PAGE_SECRET_LENGTH:
                raise SettingError(
                    f"PAGE_SECRET must be at least {_PAGE_SECRET_LENGTH} characters, e.g. the "
                    'output of python -c "import secrets; print(secrets.token_urlsafe(32))"'
                )
            return page_secret.encode("utf-8")
        app_secret = reveal(self.wechat_app_secret)
        if app_secret:
            return derived_secret(app_secret)
        raise SettingError(
            "PAGE_SECRET is not set: the patients' pages (on because PUBLIC_BASE_URL is set) "
            "need it to sign their links, unless WECHAT_APP_SECRET is set to derive it from"
        )

    def protocol(self) -> Protocol:
        """The protocol file in force (the bundled one unless PROTOCOL_FILE is set)."""
        return load_protocol(self.protocol_file)


# Names the derivation so a WeChat app secret never doubles as a page key as is.
_DERIVATION_LABEL = b"trial-bot patient page tokens v1"


def derived_secret(app_secret: str) -> bytes:
    """The page secret made from WeChat's app secret when PAGE_SECRET is not set."""
    return hmac.new(app_secret.encode("utf-8"), _DERIVATION_LABEL, sha256).digest()
