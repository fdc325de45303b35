"""The core's settings, from the environment or `.env` (the README's table); a platform adapter
owns its own block (adapters/slack/settings.py) and loads it with `load_block`."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///cohortbot.db"


B = TypeVar("B", bound=BaseSettings)


class SettingsError(Exception):
    """A setting is wrong; the message is one line that names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COHORTBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: a SQLite file by default, PostgreSQL in production",
    )
    content_dirs: str = Field(
        "",
        description="Extra content directories (comma-separated), merged with the built-in banks",
    )
    default_timezone: str = Field("UTC", description="Zone for new members until they set theirs")
    default_drill_time: str = Field("09:00", description="Local time of the daily drill DM")
    stale_days: int = Field(10, ge=1, le=90, description="Days without movement before a follow-up")
    max_arg_length: int = Field(
        2000, ge=100, le=20000, description="Longest argument accepted from a member"
    )
    rate_limit_per_minute: int = Field(
        30,
        ge=0,
        le=10000,
        description="Commands and clicks a member may send per minute, per process; 0 is off",
    )
    slack_send_rate: float = Field(
        5.0,
        gt=0,
        le=1000,
        description="Scheduled messages sent to Slack per second, per process",
    )
    discord_send_rate: float = Field(
        40.0,
        gt=0,
        le=1000,
        description="Scheduled messages sent to Discord per second, per process",
    )
    outbox_retention_days: int = Field(
        60,
        ge=14,
        le=3650,
        description=(
            "Days a sent, failed or expired scheduled message is kept before it is pruned "
            "(at least 14: the daily drill looks back 10 days)"
        ),
    )
    export_dir: str = Field(
        "exports", description="Where the console saves files (exports, calendars, charts)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Logging threshold"
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or JSON")
    port: int = Field(3000, ge=1, le=65535, description="HTTP port of `cohortbot serve`")
    host: str = Field("0.0.0.0", description="Address `cohortbot serve` listens on")  # noqa: S104
    discord_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("DISCORD_TOKEN", "COHORTBOT_DISCORD_TOKEN"),
        description="Discord bot token; enables Discord",
    )

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("default_drill_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"{v!r} is not a time like 09:00")
        return v

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v

    @property
    def extra_content_dirs(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.content_dirs.split(",") if p.strip())

    @property
    def export_path(self) -> Path:
        return Path(self.export_dir)

    @property
    def has_discord(self) -> bool:
        return self.discord_token is not None

    @property
    def send_rates(self) -> dict[str, float]:
        """Messages per second the outbox paces each platform to."""
        return {"slack": self.slack_send_rate, "discord": self.discord_send_rate}


def _env_name(field_name: str, block: type[BaseSettings] = Settings) -> str:
    """The variable an operator sets for a field of a settings block (the core's, or an
    adapter's own, e.g. adapters/slack/settings.py)."""
    info = block.model_fields.get(field_name)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    prefix = str(block.model_config.get("env_prefix") or "")
    return f"{prefix}{field_name}".upper()


def load_block(block: type[B], **overrides: object) -> B:
    """Build a settings block or raise SettingsError with one line naming the bad setting."""
    try:
        return block.model_validate(overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across settings names them itself
            raise SettingsError(msg) from None
        name = _env_name(str(err["loc"][0]), block)
        raise SettingsError(f"Setting {name} is invalid: {msg}") from None


def load_settings(**overrides: object) -> Settings:
    """Build the core's settings or raise SettingsError with one line naming the bad one."""
    return load_block(Settings, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
