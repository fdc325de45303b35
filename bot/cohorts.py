"""Cohort queries shared by the scheduler's jobs and the organizer commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
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


# Read by most jobs' wake-ups at every tick: built once, as building a statement costs more
# than running one this small.
_ALL_COHORTS = select(Cohort, Workspace.platform, Workspace.external_id).join(
    Workspace, Workspace.id == Cohort.workspace_id
)
_OFFDAYS = select(CohortOffday.cohort_id, CohortOffday.day).where(
    CohortOffday.cohort_id.in_(bindparam("cohorts", expanding=True)),
    CohortOffday.day.in_(bindparam("days", expanding=True)),
)


def all_cohorts(session: Session) -> list[CohortInfo]:
    rows = session.execute(_ALL_COHORTS).all()
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


def cohorts_of_workspace(session: Session, workspace_id: int) -> list[Cohort]:
    return list(
        session.scalars(
            select(Cohort).where(Cohort.workspace_id == workspace_id).order_by(Cohort.id)
        )
    )


def cohort_of_channel(session: Session, workspace_id: int, channel_id: str) -> Cohort | None:
    """The cohort whose home this channel is (one per channel: a unique key)."""
    return session.scalar(
        select(Cohort).where(Cohort.workspace_id == workspace_id, Cohort.channel_id == channel_id)
    )


def sole_cohort(session: Session, workspace_id: int) -> Cohort | None:
    """The workspace's cohort when it runs exactly one: where a member goes without asking.
    With several, a member joins one by using the bot in its channel or by /cohort join."""
    found = session.scalars(
        select(Cohort).where(Cohort.workspace_id == workspace_id).order_by(Cohort.id).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def place(session: Session, member: Member, conversation: Conversation) -> None:
    """A member in no cohort who uses the bot in a cohort's channel joins that cohort. One
    already in a cohort stays there: moving is /cohort join, said out loud."""
    if member.cohort_id is not None or conversation.kind != "channel":
        return
    cohort = cohort_of_channel(session, member.workspace_id, conversation.id)
    if cohort is not None:
        member.cohort_id = cohort.id


def _channels(cohorts: list[Cohort]) -> str:
    return ", ".join(f"#{c.channel_name or c.name}" for c in cohorts)


def require_cohort(session: Session, member: Member) -> Cohort:
    """The member's cohort, or the one friendly refusal every cohort command gives. A member
    in no cohort of a workspace that runs exactly one joins it here."""
    if member.cohort_id is not None:
        cohort = session.get(Cohort, member.cohort_id)
        if cohort is not None:
            return cohort
    cohorts = cohorts_of_workspace(session, member.workspace_id)
    if len(cohorts) == 1:
        member.cohort_id = cohorts[0].id
        return cohorts[0]
    if cohorts:
        raise UserError(
            "You are not in a cohort yet. Type /cohort join in your cohort's channel "
            f"({_channels(cohorts)})."
        )
    raise UserError(
        "There is no cohort here yet. An organizer sets one up by typing "
        "/cohort setup in the cohort's channel."
    )


def organized_cohort(session: Session, member: Member, conversation: Conversation) -> Cohort:
    """The cohort an organizer's command changes: their own. Typed in another cohort's
    channel it is refused, since it would look like it changed that one."""
    cohort = require_cohort(session, member)
    if conversation.kind == "channel" and conversation.id != cohort.channel_id:
        other = cohort_of_channel(session, member.workspace_id, conversation.id)
        if other is not None:
            mine = f"#{cohort.channel_name or cohort.name}"
            raise UserError(
                f"#{other.channel_name or other.name} is another cohort's channel, and you "
                f"organize {mine}. Type it in {mine}, or /cohort join here first."
            )
    return cohort


def info_of(session: Session, cohort: Cohort) -> CohortInfo:
    ws = session.get(Workspace, cohort.workspace_id)
    assert ws is not None
    return _info(cohort, ws.platform, ws.external_id)


def offdays(session: Session, cohort_ids: list[int], days: set[date]) -> set[tuple[int, date]]:
    if not cohort_ids or not days:
        return set()
    rows = session.execute(_OFFDAYS, {"cohorts": list(cohort_ids), "days": sorted(days)}).all()
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


def waking_all(at: datetime, zones: Iterable[ZoneInfo]) -> datetime:
    """`at`, or the first instant after it inside every zone's waking hours: a message the
    whole pair sees at once (their room) wakes nobody. Zones too far apart to share waking
    hours get it at the first instant most of them are awake."""
    tzs = list(zones)

    def awake(t: datetime) -> int:
        return sum(1 for tz in tzs if waking(t, tz) == t)

    # The best instant is `at` or the start of someone's waking hours (the first moment all
    # are awake is the latest of their windows' starts), within the next two days.
    starts = {
        datetime.combine(at.astimezone(tz).date() + timedelta(days=d), NUDGE_WINDOW[0], tz)
        for d in range(3)
        for tz in tzs
    }
    candidates = sorted(t for t in {at, *starts} if at <= t <= at + timedelta(days=2))
    best = max(candidates, key=lambda t: (awake(t), -t.timestamp()))
    return best.astimezone(ZoneInfo("UTC"))
