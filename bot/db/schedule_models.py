"""Scheduler tables: the outbox (the source of truth for what is to be sent), nudge state,
cohort off days, and mock-interview pairing."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class OutboxMessage(Base):
    """One message to send. `dedupe_key` (target, kind, subject, local date) is unique, so
    enqueuing the same thing twice, from one process or several, is a no-op. `recipient`
    (a member's DMs, or a channel) is the dispatcher's lane: one send in flight per recipient,
    in order, and a 429 holds back that recipient's rows only."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_status", "recipient", "status"),
        Index("ix_outbox_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(250), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    local_date: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    recipient: Mapped[str] = mapped_column(String(200), server_default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NudgeState(Base):
    """What a member did with one nudge: done, or snoozed until a time."""

    __tablename__ = "nudge_states"
    __table_args__ = (UniqueConstraint("member_id", "kind", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NudgeStop(Base):
    """A kind of nudge the member asked to stop."""

    __tablename__ = "nudge_stops"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CohortOffday(Base):
    __tablename__ = "cohort_offdays"

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class MockOptIn(Base):
    __tablename__ = "mock_optins"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MockPair(Base):
    """One pairing of a week: two members, or three when the count is odd."""

    __tablename__ = "mock_pairs"
    __table_args__ = (Index("ix_mock_pairs_cohort_week", "cohort_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)
    member_a: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    member_b: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    member_c: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The pair's room on its platform (bot/rooms.py): "mpim", "thread", or "dms" (written to
    # one by one, `room_note` saying why); one sender at a time opens it, until the claim ends.
    room_kind: Mapped[str | None] = mapped_column(String(16))
    room_id: Mapped[str | None] = mapped_column(String(64))
    room_note: Mapped[str | None] = mapped_column(String(300))
    room_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    room_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class MockMeeting(Base):
    """Whether a mock pair met, per member: what the "we met" / "we couldn't" buttons record
    and the organizer's digest counts (a pair met when any of its rows says `met`). A press
    sets the presser's row (`own`) and the partners' rows they have not set themselves; no
    row for a member means nobody in the pair said anything."""

    __tablename__ = "mock_meetings"
    __table_args__ = (
        UniqueConstraint("pair_id", "member_id"),
        Index("ix_mock_meetings_cohort_week", "cohort_id", "week_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("mock_pairs.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(8))  # MEETING_OUTCOMES
    own: Mapped[bool] = mapped_column(Boolean)  # pressed by this member, not a partner
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


MEETING_OUTCOMES = ("met", "not_met")
