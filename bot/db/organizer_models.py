"""Organizer tables: what each member lets their organizers see of their job hunt, and when
each organizer wants the weekly digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

SHARE_LEVELS = ("none", "counts", "details")
DEFAULT_SHARE = "counts"


class PipelineSharing(Base):
    """A member's consent for organizer views. No row means the default, `counts`: a member
    who never chose is shown stage totals and dates, never a company name."""

    __tablename__ = "organizer_sharing"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigestTime(Base):
    """When an organizer's weekly digest comes, in their own zone. No row: Monday 09:00."""

    __tablename__ = "organizer_digest_times"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # 0 is Monday
    time: Mapped[str] = mapped_column(String(5))  # HH:MM
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
