"""State that replicas share so that N of them behave as one: the requests already taken on
(a platform's retry may reach another replica) and each member's command budget."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class SeenRequest(Base):
    """One platform request (a Slack event or trigger id, a Discord interaction id) that some
    replica took on; the first insert of a key wins, a later one is a retry. Rows past
    `expires_at` count as absent and are pruned."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MemberRate(Base):
    """A member's token bucket for commands (bot/ratelimit.py), updated in one statement.
    Times are seconds since the epoch on the caller's clock, so that the refill arithmetic is
    the same SQL on SQLite and PostgreSQL."""

    __tablename__ = "member_rates"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[float] = mapped_column(Float, index=True)
    allowed: Mapped[bool] = mapped_column(Boolean)  # whether the last update took a token


class LeaseRow(Base):
    """A role one replica holds at a time (the Discord gateway connection): who holds `name`
    and until when. The holder renews `expires_at` every few seconds; once it has passed, any
    replica may take the row over (bot/lease.py)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
