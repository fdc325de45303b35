"""Pipeline tables: applications, stage history, interviews, offers and the member's offer
weights (issue 4). Every date the nudges need is a column here, stored as UTC."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base
from bot.db.types import UTCDateTime


class Application(Base):
    """One company (and role) in a member's job hunt."""

    __tablename__ = "pipeline_applications"
    __table_args__ = (
        UniqueConstraint("member_id", "company_key"),
        Index("ix_pipeline_applications_member_stage", "member_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    company: Mapped[str] = mapped_column(String(100))  # as typed (after clean())
    company_key: Mapped[str] = mapped_column(String(100))  # casefolded, for matching
    role: Mapped[str | None] = mapped_column(String(150))
    link: Mapped[str | None] = mapped_column(String(500))
    stage: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # first time >= applied
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the last move
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # entered a final stage

    moves: Mapped[list[StageMove]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="StageMove.id",
    )
    interviews: Mapped[list[Interview]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="Interview.at",
    )
    offer: Mapped[Offer | None] = relationship(
        back_populates="application", cascade="all, delete-orphan", uselist=False
    )


class StageMove(Base):
    """Every stage change, backwards ones included; `from_stage` is None for the first."""

    __tablename__ = "pipeline_stage_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pipeline_applications.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="moves")


class Interview(Base):
    __tablename__ = "pipeline_interviews"
    __table_args__ = (Index("ix_pipeline_interviews_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pipeline_applications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    thank_you_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    thank_you_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="interviews")


class Offer(Base):
    """At most one offer per application; numbers are as the member gave them."""

    __tablename__ = "pipeline_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("pipeline_applications.id", ondelete="CASCADE"), unique=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    base: Mapped[int | None] = mapped_column(Integer)
    bonus: Mapped[int | None] = mapped_column(Integer)
    equity: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(3))
    start_date: Mapped[date | None] = mapped_column(Date)
    # The member's own 1-5 scores on the four factors; None until rated.
    score_career: Mapped[int | None] = mapped_column(Integer)
    score_culture: Mapped[int | None] = mapped_column(Integer)
    score_strategy: Mapped[int | None] = mapped_column(Integer)
    score_manager: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="offer")


class OfferWeights(Base):
    """How much each factor counts for this member (0-5; equal until they say otherwise)."""

    __tablename__ = "pipeline_offer_weights"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    career: Mapped[int] = mapped_column(Integer, default=1)
    culture: Mapped[int] = mapped_column(Integer, default=1)
    strategy: Mapped[int] = mapped_column(Integer, default=1)
    manager: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
