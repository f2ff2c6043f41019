"""Configuration from the environment (and a ``.env`` file), per docs/DESIGN.md §5."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.protocol import Protocol, load_protocol


class Settings(BaseSettings):
    """Every setting the bot reads; names are the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_base_url: str | None = Field(default=None, alias="TELEGRAM_BASE_URL")
    database_url: str = Field(default="sqlite:///data/trial.db", alias="DATABASE_URL")
    trial_timezone: str = Field(default="Asia/Shanghai", alias="TRIAL_TIMEZONE")
    protocol_file: Path | None = Field(default=None, alias="PROTOCOL_FILE")
    # Read as text and checked by bot.cli.logs, so a bad value is one clear line, not a
    # validation traceback from every command (the offline ones never log).
    log_level: str | None = Field(default=None, alias="LOG_LEVEL")

    def protocol(self) -> Protocol:
        """The protocol file in force (the bundled one unless PROTOCOL_FILE is set)."""
        return load_protocol(self.protocol_file)
