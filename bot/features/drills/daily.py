"""The daily drill DM: each member's next drill at their local drill time, on their days,
never when paused, on a cohort off day, or twice in a local day; DST-proof because the time
is computed in the member's zone every day. A drill the DM sent lately is not sent again for
COOL_OFF days, answered or not: a member who stops answering is not nagged with one prompt."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cohorts import end_of_local_day, local_at, offdays
from bot.content import TRACKS
from bot.db.bulk import rows_among
from bot.db.drill_models import PracticeState
from bot.db.models import Member, MemberSettings, Workspace
from bot.db.schedule_models import OutboxMessage
from bot.features.drills.handlers import drill_reply
from bot.features.drills.practice import Want, next_picks
from bot.jobs import JobEnv, job, wakes
from bot.outbox import Scheduled
from bot.types import DM, Outbound, Reply, User

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KIND = "drill"
# Days during which a drill the daily DM sent is not sent again, even while it is due: longer
# than a week of drill days, so no drill comes on two scheduled days in a row.
COOL_OFF = timedelta(days=10)


@job("daily-drill", every=timedelta(minutes=5))
def daily_drills(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    """Queue today's drill DM for every member whose local drill time has come."""
    rows = session.execute(
        select(
            Member.id,
            Member.workspace_id,
            Member.cohort_id,
            Member.platform_user_id,
            Member.display_name,
            Workspace.platform,
            Workspace.external_id,
            MemberSettings.timezone,
            MemberSettings.drill_time,
            MemberSettings.drill_days,
            MemberSettings.tracks,
            MemberSettings.paused,
            MemberSettings.paused_until,
            MemberSettings.daily_from,
        )
        .join(MemberSettings, MemberSettings.member_id == Member.id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.undeliverable.is_(False))
    ).all()
    zones: dict[str, datetime] = {}
    due = []
    for r in rows:
        local = zones.get(r.timezone)
        if local is None:
            local = zones[r.timezone] = now.astimezone(ZoneInfo(r.timezone))
        today = local.date()
        if DAY_KEYS[today.weekday()] not in r.drill_days.split(","):
            continue
        # paused_until is the last paused day; /settings shows the day after as the resume day.
        if r.paused and (r.paused_until is None or today <= r.paused_until):
            continue
        if f"{local:%H:%M}" < r.drill_time:
            continue
        # Joined, or moved the drill time, after today's drill time: tomorrow is the first.
        if r.daily_from is not None and (
            local_at(today, r.drill_time, ZoneInfo(r.timezone)) < r.daily_from
        ):
            continue
        due.append((r, today))
    if not due:
        return []
    days = {d for _, d in due}
    off = offdays(session, sorted({r.cohort_id for r, _ in due if r.cohort_id}), days)
    if off:
        due = [(r, d) for r, d in due if (r.cohort_id, d) not in off]
    # Members already served today (by an earlier tick, or another replica) cost nothing more:
    # most ticks find every due member served, so only today's rows are read for all of them.
    ids = [r.id for r, _ in due]
    queued: set[tuple[int, date]] = {
        (mid, day)
        for mid, day in rows_among(
            session,
            select(OutboxMessage.member_id, OutboxMessage.local_date).where(
                OutboxMessage.kind == KIND, OutboxMessage.local_date.in_(days)
            ),
            OutboxMessage.member_id,
            ids,
        )
    }
    due = [(r, d) for r, d in due if (r.id, d) not in queued]
    if not due:
        return []
    ids = [r.id for r, _ in due]
    offered: dict[int, int] = {
        mid: int(n)
        for mid, n in rows_among(
            session,
            select(OutboxMessage.member_id, func.count())
            .where(OutboxMessage.kind == KIND)
            .group_by(OutboxMessage.member_id),
            OutboxMessage.member_id,
            ids,
        )
    }
    # The drills of recent DMs: one left unanswered is not sent again for a while, and the
    # latest is never sent again the next day. A DM that was dropped (expired, paused) never
    # reached the member: it does not count.
    lately: dict[int, list[tuple[date, str, datetime]]] = {}
    for mid, day, subject, at in rows_among(
        session,
        select(
            OutboxMessage.member_id,
            OutboxMessage.local_date,
            OutboxMessage.subject,
            OutboxMessage.due_at,
        ).where(
            OutboxMessage.kind == KIND,
            OutboxMessage.local_date >= min(d for _, d in due) - COOL_OFF,
            OutboxMessage.status.in_(("sent", "pending")),
        ),
        OutboxMessage.member_id,
        ids,
    ):
        lately.setdefault(mid, []).append((day, subject, at))
    sent_lately: dict[int, tuple[tuple[str, datetime | None], ...]] = {}
    for mid, dms in lately.items():
        dms.sort()
        sent_lately[mid] = (*((s, at) for _, s, at in dms[:-1]), (dms[-1][1], None))
    recent: dict[int, str | None] = {
        mid: cur or prev
        for mid, cur, prev in rows_among(
            session,
            select(
                PracticeState.member_id,
                PracticeState.current_drill_id,
                PracticeState.last_drill_id,
            ),
            PracticeState.member_id,
            ids,
        )
    }
    wants = [
        Want(
            r.id,
            tuple(t for t in r.tracks.split(",") if t in TRACKS) or tuple(TRACKS),
            recent.get(r.id),
            offered.get(r.id, 0),
            sent_lately.get(r.id, ()),
        )
        for r, _ in due
    ]
    picks = next_picks(session, wants, now, env.content)
    out: list[Scheduled] = []
    replies: dict[tuple[str, bool], Reply] = {}
    # Members share a handful of zones and drill times: compute each instant once.
    instants: dict[tuple[str, date, str], tuple[datetime, datetime]] = {}
    for r, today in due:
        pick = picks.get(r.id)
        if pick is None:
            continue
        drill = pick.drill
        when = instants.get((r.timezone, today, r.drill_time))
        if when is None:
            tz = ZoneInfo(r.timezone)
            when = instants[(r.timezone, today, r.drill_time)] = (
                local_at(today, r.drill_time, tz),
                end_of_local_day(today, tz),
            )
        user = User(r.platform, r.external_id, r.platform_user_id, r.display_name)
        reply = replies.get((drill.id, pick.due))
        if reply is None:  # one reply per drill, shared by everyone who gets it today
            reply = replies[(drill.id, pick.due)] = drill_reply(
                drill, intro="Good morning: your daily drill.", due=pick.due
            )
        out.append(
            Scheduled(
                Outbound(DM(user), reply, {"drill_id": drill.id}),
                workspace_id=r.workspace_id,
                kind=KIND,
                subject=drill.id,
                local_date=today,
                due_at=when[0],
                member_id=r.id,
                expires_at=when[1],
            )
        )
    return out


def last_daily_drill(session: Session, member_id: int, since: datetime) -> str | None:
    """The drill of the latest daily DM, so that `/drill answer` can answer it."""
    return session.scalar(
        select(OutboxMessage.subject)
        .where(
            OutboxMessage.member_id == member_id,
            OutboxMessage.kind == KIND,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at >= since,
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(1)
    )


@wakes("daily-drill")
def next_drill_time(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The first local drill instant after `after`, over every member: a handful of distinct
    (zone, time, days) triples, whatever the number of members."""
    instants: list[datetime] = []
    for zone, hhmm, days in session.execute(
        select(MemberSettings.timezone, MemberSettings.drill_time, MemberSettings.drill_days)
        .join(Member, Member.id == MemberSettings.member_id)
        .where(Member.undeliverable.is_(False))
        .distinct()
    ):
        tz = ZoneInfo(zone)
        first = after.astimezone(tz).date()
        keys = days.split(",")
        for k in range(8):
            day = first + timedelta(days=k)
            if DAY_KEYS[day.weekday()] in keys and (at := local_at(day, hhmm, tz)) > after:
                instants.append(at)
                break
    return min(instants, default=None)


__all__ = ["daily_drills", "last_daily_drill", "next_drill_time"]
