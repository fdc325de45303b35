"""The daily drill DM: each member's next drill at their local drill time, on their days,
never when paused, on a cohort off day, or twice in a local day; DST-proof because the time
is computed in the member's zone every day. A drill the DM sent lately is not sent again for
COOL_OFF days, answered or not: a member who stops answering is not nagged with one prompt.

Each day's drill is recorded in `drill_daily` (one row per member and local day), in the
transaction that queues the DM: that record, not the outbox, is what the next days read, and
its key is what keeps the day's drill one when two replicas tick together and pick apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, func, or_, select
from sqlalchemy.orm import Session

from bot.cohorts import end_of_local_day, local_at, offdays
from bot.content import TRACKS
from bot.db.bulk import Among, insert_new
from bot.db.drill_models import DailyDrill, PracticeState
from bot.db.models import Member, MemberSettings, Workspace
from bot.db.schedule_models import OutboxMessage
from bot.features.drills.handlers import drill_reply
from bot.features.drills.practice import Pick, Want, next_picks
from bot.jobs import JobEnv, job, wakes
from bot.outbox import Scheduled
from bot.types import DM, Outbound, Reply, User

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KIND = "drill"
# Days during which a drill the daily DM sent is not sent again, even while it is due: longer
# than a week of drill days, so no drill comes on two scheduled days in a row.
COOL_OFF = timedelta(days=10)
# Outbox states of a daily DM that reached the member, or still may.
REACHED = ("sent", "pending")

# (member row, the member's local date): a member whose drill time has come today.
Due = tuple[Row[*tuple[Any, ...]], date]

# The job's reads, built once: it runs at every drill time, and building these statements
# cost more than running them.
_MEMBERS = (
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
)
_RECORDED = Among(
    select(DailyDrill.member_id, DailyDrill.local_date, DailyDrill.drill_id).where(
        DailyDrill.local_date.in_(bindparam("days", expanding=True))
    ),
    DailyDrill.member_id,
)
_OFFERED = Among(
    select(DailyDrill.member_id, func.count()).group_by(DailyDrill.member_id),
    DailyDrill.member_id,
)
_CURRENT = Among(
    select(PracticeState.member_id, PracticeState.current_drill_id, PracticeState.last_drill_id),
    PracticeState.member_id,
)
_SENT_SINCE = Among(
    select(DailyDrill.member_id, DailyDrill.local_date, DailyDrill.drill_id, DailyDrill.due_at)
    .outerjoin(OutboxMessage, OutboxMessage.dedupe_key == DailyDrill.outbox_key)
    .where(
        DailyDrill.local_date >= bindparam("since"),
        or_(OutboxMessage.status.is_(None), OutboxMessage.status.in_(REACHED)),
    ),
    DailyDrill.member_id,
)
_DRILL_TIMES = (
    select(MemberSettings.timezone, MemberSettings.drill_time, MemberSettings.drill_days)
    .join(Member, Member.id == MemberSettings.member_id)
    .where(Member.undeliverable.is_(False))
    .distinct()
)


@job("daily-drill", every=timedelta(minutes=5))
def daily_drills(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    """Queue today's drill DM for every member whose local drill time has come."""
    due = _at_drill_time(session, now)
    due = _not_off_day(session, due)
    due = _not_served_yet(session, due)
    if not due:
        return []
    picks = next_picks(session, _wants(session, due), now, env.content)
    out = _messages(due, picks)
    if env.dry_run:  # /cohort preview: what would go out, with nothing recorded
        return out
    return _record(session, out, now)


def _at_drill_time(session: Session, now: datetime) -> list[Due]:
    """Members whose drill time has come today in their zone, on one of their drill days,
    not paused, and not joined (or rescheduled) after today's drill time."""
    rows = session.execute(_MEMBERS).all()
    zones: dict[str, datetime] = {}
    due: list[Due] = []
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
    return due


def _not_off_day(session: Session, due: list[Due]) -> list[Due]:
    if not due:
        return due
    cohorts = sorted({r.cohort_id for r, _ in due if r.cohort_id})
    off = offdays(session, cohorts, {d for _, d in due})
    return [(r, d) for r, d in due if (r.cohort_id, d) not in off] if off else due


def _not_served_yet(session: Session, due: list[Due]) -> list[Due]:
    """Members already served today (by an earlier tick, or another replica) cost nothing
    more: most ticks find every due member served, so only today's records are read."""
    if not due:
        return due
    served = set(_recorded(session, [(r.id, d) for r, d in due]))
    return [(r, d) for r, d in due if (r.id, d) not in served]


def _recorded(session: Session, days: Sequence[tuple[int, date]]) -> dict[tuple[int, date], str]:
    """The drill recorded for each (member, local day) of `days` that has one."""
    wanted = set(days)
    found = _RECORDED.rows(
        session, sorted({m for m, _ in wanted}), {"days": list({d for _, d in wanted})}
    )
    return {(m, d): drill for m, d, drill in found if (m, d) in wanted}


def _wants(session: Session, due: list[Due]) -> list[Want]:
    """What choosing each member's drill needs: their tracks, the drill last in front of
    them, how many daily drills they were offered, and the drills of their recent DMs."""
    ids = [r.id for r, _ in due]
    offered: dict[int, int] = {mid: int(n) for mid, n in _OFFERED.rows(session, ids)}
    sent_lately = _sent_lately(session, ids, min(d for _, d in due) - COOL_OFF)
    recent: dict[int, str | None] = {
        mid: cur or prev for mid, cur, prev in _CURRENT.rows(session, ids)
    }
    return [
        Want(
            r.id,
            tuple(t for t in r.tracks.split(",") if t in TRACKS) or tuple(TRACKS),
            recent.get(r.id),
            offered.get(r.id, 0),
            sent_lately.get(r.id, ()),
        )
        for r, _ in due
    ]


def _sent_lately(
    session: Session, ids: list[int], since: date
) -> dict[int, tuple[tuple[str, datetime | None], ...]]:
    """The drills of each member's daily DMs since `since`, oldest first, with the drill time
    each came at; the latest with None: it is never sent again the next day, answered or not.
    A DM that was dropped (expired, paused, DMs closed) never reached the member: it does not
    count. That is the outbox's to say; a row pruned after the retention period was sent."""
    lately: dict[int, list[tuple[date, str, datetime]]] = {}
    for mid, day, drill, at in _SENT_SINCE.rows(session, ids, {"since": since}):
        lately.setdefault(mid, []).append((day, drill, at))
    out: dict[int, tuple[tuple[str, datetime | None], ...]] = {}
    for mid, dms in lately.items():
        dms.sort()
        out[mid] = (*((s, at) for _, s, at in dms[:-1]), (dms[-1][1], None))
    return out


def _messages(due: list[Due], picks: dict[int, Pick]) -> list[Scheduled]:
    """One DM per member with a pick, at their drill time, useful until their day ends."""
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
                Outbound(DM(user), reply),
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


def _record(session: Session, out: list[Scheduled], now: datetime) -> list[Scheduled]:
    """Record each member's drill of the day; keep only the DMs whose record stands. A run
    that lost a day to another (a replica that ticked at the same moment, with a pick of
    its own) leaves that member's DM to it: the insert-or-skip on (member, day), in the
    transaction that queues the DM, decides, whatever the timing."""
    rows = [
        {
            "member_id": s.member_id,
            "local_date": s.local_date,
            "drill_id": s.subject,
            "due_at": s.due_at,
            "outbox_key": s.dedupe_key,
            "created_at": now,
        }
        for s in out
    ]
    table = DailyDrill.metadata.tables[DailyDrill.__tablename__]
    added = insert_new(session, table, rows, key=("member_id", "local_date"))
    if added == len(rows):
        return out
    won = _recorded(session, [(s.member_id or 0, s.local_date) for s in out])
    return [s for s in out if won.get((s.member_id or 0, s.local_date)) == s.subject]


@wakes("daily-drill")
def next_drill_time(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The first local drill instant after `after`, over every member: a handful of distinct
    (zone, time, days) triples, whatever the number of members."""
    instants: list[datetime] = []
    for zone, hhmm, days in session.execute(_DRILL_TIMES):
        tz = ZoneInfo(zone)
        first = after.astimezone(tz).date()
        keys = days.split(",")
        for k in range(8):
            day = first + timedelta(days=k)
            if DAY_KEYS[day.weekday()] in keys and (at := local_at(day, hhmm, tz)) > after:
                instants.append(at)
                break
    return min(instants, default=None)


__all__ = ["daily_drills", "next_drill_time"]
