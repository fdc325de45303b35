"""Organizer tables: what each member lets their organizers see of their job hunt, and when
each organizer wants the weekly digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.drill_models import DailyDrill, Review
from bot.db.pipeline_models import StageMove
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


# The organizer's digest reads every member of a cohort at once, one grouped read per figure;
# these indexes hold everything each read needs (migrations 0013, 0015), so a 10,000-member
# cohort is answered from key ranges, without a table row per review, daily drill or move.
# Declared here, with the views that need them, rather than beside each table.
Index(
    "ix_drill_reviews_member_day",
    Review.member_id,
    Review.local_date,
    Review.rating,
    Review.track,
    Review.drill_id,
)
# The same reviews by day first (migration 0015): PostgreSQL's hash joins read the window of
# days from it rather than every review ever made. The member last, so that the probes of a
# (member, day) keep to the index above, in the members' order.
Index(
    "ix_drill_reviews_day_member",
    Review.local_date,
    Review.rating,
    Review.track,
    Review.drill_id,
    Review.member_id,
)
Index(
    "ix_drill_daily_member_day_due", DailyDrill.member_id, DailyDrill.local_date, DailyDrill.due_at
)
Index(
    "ix_pipeline_stage_moves_member_app",
    StageMove.member_id,
    StageMove.application_id,
    StageMove.to_stage,
)
