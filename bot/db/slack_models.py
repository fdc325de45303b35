"""Slack installs to many workspaces (OAuth): one row per workspace with its bot token
encrypted, and the short-lived `state` values that tie an OAuth callback to its install page.

Nothing here names a member: uninstalling removes these rows and leaves members' own data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class SlackInstallation(Base):
    __tablename__ = "slack_installations"
    # "" rather than NULL for "no enterprise", so that the unique key holds on PostgreSQL too.
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    app_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str] = mapped_column(String(1000), default="")
    bot_token: Mapped[str] = mapped_column(Text)  # Fernet ciphertext, never the token itself
    installer_user_id: Mapped[str] = mapped_column(String(32))
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SlackOAuthState(Base):
    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
