"""SQLAlchemy 2 models. Every row that belongs to one member carries a `member_id` column,
which is what `/settings export` and `forget-me` rely on to find all of it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base
from bot.db.types import UTCDateTime


class Workspace(Base):
    """A Slack team, a Discord guild, or the console's pretend workspace."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cohort(Base):
    """One cohort of a workspace: a workspace may run several at once, one per channel."""

    __tablename__ = "cohorts"
    # An index, not a constraint: adding a constraint rebuilds the table on SQLite, and
    # dropping the old cohorts table would empty every member's cohort_id (ON DELETE SET NULL).
    __table_args__ = (
        Index("ux_cohorts_workspace_channel", "workspace_id", "channel_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    channel_name: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    start_date: Mapped[date | None] = mapped_column(Date)
    leaderboard_weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday
    leaderboard_time: Mapped[str] = mapped_column(String(5), default="09:00")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    talk_track: Mapped[str | None] = mapped_column(String(40))  # daily drill talk; None: off


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), index=True
    )
    platform_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    undeliverable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime())

    settings: Mapped[MemberSettings] = relationship(
        back_populates="member", uselist=False, cascade="all, delete-orphan", lazy="joined"
    )


class MemberSettings(Base):
    __tablename__ = "member_settings"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    timezone_set: Mapped[bool] = mapped_column(Boolean, default=False)
    drill_time: Mapped[str] = mapped_column(String(5))
    drill_days: Mapped[str] = mapped_column(String(40), default="mon,tue,wed,thu,fri")
    tracks: Mapped[str] = mapped_column(String(300), default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[date | None] = mapped_column(Date)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Daily drills start with the first drill time at or after this instant: a member who
    # joins, or moves their drill time, late in the day is not sent "good morning" at night.
    daily_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A pending "delete everything" confirmation: its button carries this stamp, and Cancel
    # (or a newer request) clears or replaces it, so a stale Yes button deletes nothing.
    forget_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Member] = relationship(back_populates="settings")


# Each area's tables live in its own module, which imports only `bot.db.base`; importing them
# here puts every table in Base.metadata, which Alembic, export and forget-me all read.
from bot.db import drill_models as drill_models  # noqa: E402
from bot.db import organizer_models as organizer_models  # noqa: E402
from bot.db import pipeline_models as pipeline_models  # noqa: E402
from bot.db import schedule_models as schedule_models  # noqa: E402
from bot.db import shared_models as shared_models  # noqa: E402
from bot.db import slack_models as slack_models  # noqa: E402

__all__ = ["Base", "Cohort", "Member", "MemberSettings", "Workspace"]
