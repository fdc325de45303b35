"""The Slack adapter's own settings: its tokens and secrets, where Slack is, and the key that
encrypts the tokens OAuth installs store.

From the environment or `.env`, under the names Slack's own tools use (SLACK_BOT_TOKEN ...), each
also accepted with the COHORTBOT_ prefix; the core's settings (bot/config.py) know nothing of
Slack. `cohortbot doctor` asks `doctor_check` here how they look."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import load_block
from bot.doctor import Check


def _names(name: str) -> AliasChoices:
    return AliasChoices(name, f"COHORTBOT_{name}")


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    bot_token: SecretStr | None = Field(
        None,
        validation_alias=_names("SLACK_BOT_TOKEN"),
        description="Slack bot token (xoxb-...); enables Slack",
    )
    signing_secret: SecretStr | None = Field(
        None,
        validation_alias=_names("SLACK_SIGNING_SECRET"),
        description="Slack signing secret, to verify requests",
    )
    app_token: SecretStr | None = Field(
        None,
        validation_alias=_names("SLACK_APP_TOKEN"),
        description="Slack app-level token (xapp-...); selects Socket Mode",
    )
    api_base_url: str | None = Field(
        None,
        validation_alias=_names("SLACK_API_BASE_URL"),
        description="Override of Slack's Web API base URL (tests, proxies)",
    )
    client_id: str | None = Field(
        None,
        validation_alias=_names("SLACK_CLIENT_ID"),
        description="Slack app client id; with the secret, turns on installs to many workspaces",
    )
    client_secret: SecretStr | None = Field(
        None,
        validation_alias=_names("SLACK_CLIENT_SECRET"),
        description="Slack app client secret, for the OAuth install flow",
    )
    secret_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("COHORTBOT_SECRET_KEY"),
        description="Key that encrypts stored Slack bot tokens (OAuth installs)",
    )

    @field_validator("secret_key")
    @classmethod
    def _fernet(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            from cryptography.fernet import Fernet

            for key in v.get_secret_value().split(","):
                try:
                    Fernet(key.strip())
                except ValueError as exc:
                    raise ValueError(
                        "not a Fernet key (32 url-safe base64 bytes); make one with "
                        '`python -c "from cryptography.fernet import Fernet; '
                        'print(Fernet.generate_key().decode())"`'
                    ) from exc
        return v

    @model_validator(mode="after")
    def _oauth_needs_key(self) -> SlackSettings:
        if self.oauth and self.secret_key is None:
            raise ValueError(
                "Setting COHORTBOT_SECRET_KEY is required when SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET are set: it encrypts the stored bot tokens"
            )
        return self

    @property
    def oauth(self) -> bool:
        """Installs to many workspaces (OAuth) instead of one bot token."""
        return bool(self.client_id and self.client_secret)

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None or self.app_token is not None or self.oauth

    def cannot_serve(self) -> str | None:
        """Why `serve` cannot run Slack with these (one line), or None."""
        if self.bot_token is None and not self.oauth:
            return (
                "Slack needs SLACK_BOT_TOKEN (xoxb-...), or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET for OAuth installs."
            )
        if self.app_token is None and self.signing_secret is None:
            return (
                "Slack over HTTP needs SLACK_SIGNING_SECRET to verify requests "
                "(or set SLACK_APP_TOKEN for Socket Mode)."
            )
        return None


def load_slack_settings(**overrides: object) -> SlackSettings:
    """From the environment and `.env`; SettingsError with one line naming a bad one."""
    return load_block(SlackSettings, **overrides)


def doctor_check() -> Check | None:
    """Slack's line in `cohortbot doctor` (None: Slack is not configured)."""
    from bot.config import SettingsError

    try:
        s = load_slack_settings()
    except SettingsError as exc:
        return Check("slack", "fail", str(exc), "correct it in the environment or in .env")
    if not s.enabled:
        return None
    return check(s)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def check(s: SlackSettings) -> Check:
    bot_token, signing, app_token = (
        _secret(s.bot_token),
        _secret(s.signing_secret),
        _secret(s.app_token),
    )
    if not bot_token and s.oauth:
        # Installs to many workspaces: each one's token is stored at install, none is set.
        if not signing:
            return _no_signing_secret()
        return Check(
            "slack", "ok", "client id, secret and signing secret set (installs at /slack/install)"
        )
    if not bot_token:
        return Check(
            "slack",
            "fail",
            "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not",
            "copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions",
        )
    if not bot_token.startswith("xoxb-"):
        kind = "a user token" if bot_token.startswith("xoxp-") else "not a bot token"
        return Check(
            "slack",
            "fail",
            f"SLACK_BOT_TOKEN is {kind} (it should start with xoxb-)",
            "use the Bot User OAuth Token from OAuth & Permissions",
        )
    if app_token:
        if not app_token.startswith("xapp-"):
            return Check(
                "slack",
                "fail",
                "SLACK_APP_TOKEN should start with xapp-",
                "create an app-level token with connections:write under Basic Information",
            )
        return Check("slack", "ok", "bot token and app-level token set (Socket Mode)")
    if not signing:
        return _no_signing_secret()
    return Check("slack", "ok", "bot token and signing secret set (HTTP at /slack/events)")


def _no_signing_secret() -> Check:
    return Check(
        "slack",
        "fail",
        "SLACK_SIGNING_SECRET is not set, so requests over HTTP cannot be verified",
        "copy the Signing Secret from Basic Information, or set SLACK_APP_TOKEN for Socket Mode",
    )
