"""The Discord adapter's own settings: where Discord is, and how replicas share its gateway.

Read only when Discord is enabled (DISCORD_TOKEN), from the environment or `.env`, beside the
core's settings (bot/config.py), which know nothing of Discord's endpoints."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DiscordSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISCORD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    api_base_url: str | None = Field(
        None,
        description="Override of Discord's REST API base, with its version "
        "(e.g. http://127.0.0.1:9102/api/v10; tests, proxies)",
    )
    gateway_url: str | None = Field(
        None, description="Override of Discord's gateway URL (e.g. ws://127.0.0.1:9103/)"
    )
    gateway_lease_seconds: float = Field(
        10.0,
        ge=3.0,
        le=300.0,
        description="How long the replica holding the gateway connection keeps it without "
        "renewing: a dead holder is replaced within about this long",
    )


def load_discord_settings() -> DiscordSettings:
    """From the environment and `.env` (every field has a default)."""
    return DiscordSettings.model_validate({})
