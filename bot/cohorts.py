"""Cohort queries shared by the scheduler's jobs and the organizer commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Cohort, Member, Workspace
from bot.db.schedule_models import CohortOffday
from bot.errors import UserError
from bot.types import DM, Channel, Conversation, User

PLAN_POST_TIME = time(9, 0)
NUDGE_WINDOW = (time(9, 0), time(20, 0))  # a sensible local hour for a nudge


@dataclass(frozen=True)
class CohortInfo:
    id: int
    workspace_id: int
    platform: str
    workspace_external_id: str
    name: str
    channel_id: str | None
    channel_name: str | None
    tz: ZoneInfo
    start_date: date | None
    leaderboard_weekday: int
    leaderboard_time: str

    @property
    def channel(self) -> Channel | None:
        if not self.channel_id:
            return None
        return Channel(
            Conversation("channel", self.channel_id, self.channel_name),
            self.platform,
            self.workspace_external_id,
        )

    def local_now(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)


def all_cohorts(session: Session) -> list[CohortInfo]:
    rows = session.execute(
        select(Cohort, Workspace.platform, Workspace.external_id).join(
            Workspace, Workspace.id == Cohort.workspace_id
        )
    ).all()
    return [_info(c, p, e) for c, p, e in rows]


def _info(c: Cohort, platform: str, external: str) -> CohortInfo:
    return CohortInfo(
        c.id,
        c.workspace_id,
        platform,
        external,
        c.name,
        c.channel_id,
        c.channel_name,
        ZoneInfo(c.timezone),
        c.start_date,
        c.leaderboard_weekday,
        c.leaderboard_time,
    )


def cohort_of_workspace(session: Session, workspace_id: int) -> Cohort | None:
    return session.scalar(
        select(Cohort).where(Cohort.workspace_id == workspace_id).order_by(Cohort.id).limit(1)
    )


def require_cohort(session: Session, workspace_id: int) -> Cohort:
    """The workspace's cohort, or the one friendly refusal every cohort command gives."""
    cohort = cohort_of_workspace(session, workspace_id)
    if cohort is None:
        raise UserError(
            "There is no cohort here yet. An organizer sets one up by typing "
            "/cohort setup in the cohort's channel."
        )
    return cohort


def info_of(session: Session, cohort: Cohort) -> CohortInfo:
    ws = session.get(Workspace, cohort.workspace_id)
    assert ws is not None
    return _info(cohort, ws.platform, ws.external_id)


def offdays(session: Session, cohort_ids: list[int], days: set[date]) -> set[tuple[int, date]]:
    if not cohort_ids or not days:
        return set()
    rows = session.execute(
        select(CohortOffday.cohort_id, CohortOffday.day).where(
            CohortOffday.cohort_id.in_(cohort_ids), CohortOffday.day.in_(days)
        )
    ).all()
    return {(c, d) for c, d in rows}


def member_user(platform: str, workspace_external: str, m: Member) -> User:
    return User(platform, workspace_external, m.platform_user_id, m.display_name)


def dm(platform: str, workspace_external: str, user_id: str, name: str) -> DM:
    return DM(User(platform, workspace_external, user_id, name))


def local_at(day: date, hhmm: str | time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day (DST-aware)."""
    t = hhmm if isinstance(hhmm, time) else time(int(hhmm[:2]), int(hhmm[3:5]))
    return datetime.combine(day, t, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(
        ZoneInfo("UTC")
    )


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def waking(at: datetime, tz: ZoneInfo) -> datetime:
    """`at`, or the next instant in the member's waking hours (NUDGE_WINDOW, local) after it:
    scheduled DMs other than the member's own drill never arrive at night."""
    local = at.astimezone(tz)
    start, end = NUDGE_WINDOW
    if local.time() < start:
        local = datetime.combine(local.date(), start, tzinfo=tz)
    elif local.time() >= end:
        local = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))
