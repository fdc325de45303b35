"""Drill tables: one FSRS card per member and drill, a log of every review, and the member's
practice state (what was served last, points and streaks)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class Card(Base):
    """FSRS scheduling state of one drill for one member."""

    __tablename__ = "drill_cards"
    __table_args__ = (
        UniqueConstraint("member_id", "drill_id"),
        Index("ix_drill_cards_member_due", "member_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    drill_id: Mapped[str] = mapped_column(String(64))
    track: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    fsrs: Mapped[dict[str, object]] = mapped_column(JSON)  # fsrs.Card.to_dict()
    last_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Review(Base):
    """One rated attempt at a drill."""

    __tablename__ = "drill_reviews"
    __table_args__ = (Index("ix_drill_reviews_member_at", "member_id", "reviewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    drill_id: Mapped[str] = mapped_column(String(64))
    track: Mapped[str] = mapped_column(String(32))
    rating: Mapped[int] = mapped_column(Integer)  # fsrs.Rating: 1 again .. 4 easy
    written: Mapped[bool] = mapped_column(Boolean)  # an answer was written, not revealed
    correct: Mapped[bool | None] = mapped_column(Boolean)  # exact-answer drills only
    points: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)  # the member's own words, shown only to them
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    local_date: Mapped[date] = mapped_column(Date)  # the member's calendar day, for streaks
    due_after: Mapped[datetime] = mapped_column(UTCDateTime())


class PracticeState(Base):
    """The drill in front of the member now, their points and streaks."""

    __tablename__ = "drill_practice"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    current_drill_id: Mapped[str | None] = mapped_column(String(64))
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pending_answer: Mapped[str | None] = mapped_column(Text)  # written, awaiting a rating
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    last_drill_id: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_active_date: Mapped[date | None] = mapped_column(Date)
    # Streak freezes held as of `last_active_date`, and drill days in a row since the last
    # one was earned or used (practice.py: one per 7, at most 2; a missed day spends one).
    freezes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    freeze_run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ask_seen: Mapped[list[str]] = mapped_column(JSON, default=list)


class DailyDrill(Base):
    """The drill each member's daily DM carried, one per member and local day. The key is
    what makes the day's drill one: two replicas ticking together, each with its own pick,
    both try to insert here, in the transaction that queues the DM, and only one can."""

    __tablename__ = "drill_daily"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    drill_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the member's drill time that day
    # The outbox row that carries it: whether the DM reached the member (sent, or dropped
    # when it expired, the member paused or closed their DMs) is the outbox's to say.
    outbox_key: Mapped[str] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
