"""The weekly leaderboard: points, drills and streaks for everyone; pipeline counts only for
members who opted in (/settings public on); never a company name or a number about pay."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cohorts import CohortInfo, all_cohorts, info_of, local_at, require_cohort, week_start
from bot.dates import fmt_date
from bot.db.bulk import rows_among
from bot.db.drill_models import PracticeState, Review
from bot.db.models import Member, MemberSettings
from bot.db.pipeline_models import Application, Interview, Offer
from bot.features.cohort.chart import leaderboard_chart
from bot.features.drills.practice import StreakOf, alive_states, freezes_text
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.router import Ctx, command
from bot.text import plural
from bot.types import Attachment, Field, Outbound, Reply, instant

TOP = 15
STILL_USEFUL = timedelta(hours=12)


@dataclass(frozen=True)
class Row:
    name: str
    points: int
    drills: int
    streak: int
    pipeline: tuple[int, int, int] | None  # only when the member opted in
    freezes: int = 0


def pipeline_counts(session: Session, member_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """(applications, interviews, offers) per member: three grouped queries."""
    if not member_ids:
        return {}

    def per_member(model: type[Application | Interview | Offer], *where: Any) -> dict[int, int]:
        stmt = select(model.member_id, func.count()).where(*where).group_by(model.member_id)
        return dict(rows_among(session, stmt, model.member_id, member_ids))

    apps = per_member(Application, Application.stage != "wishlist")
    ivs = per_member(Interview)
    offers = per_member(Offer)
    return {m: (apps.get(m, 0), ivs.get(m, 0), offers.get(m, 0)) for m in member_ids}


@dataclass(frozen=True)
class Period:
    """The local days a leaderboard covers, first and last included."""

    first: date
    last: date

    @property
    def title(self) -> str:
        if self.first.weekday() == 0 and self.last < self.first + timedelta(days=7):
            return f"week of {fmt_date(self.first)}"
        return f"{fmt_date(self.first)} to {fmt_date(self.last)}"


def week_so_far(today: date) -> Period:
    """What /leaderboard shows on demand: this week, Monday to today."""
    return Period(week_start(today), today)


def ended_before(day: date) -> Period:
    """What a scheduled post covers: the seven whole days that ended before its day, so that
    Monday's default post shows last week instead of a week that has just begun."""
    return Period(day - timedelta(days=7), day - timedelta(days=1))


def build(session: Session, c: CohortInfo, now: datetime, period: Period | None = None) -> Reply:
    today = c.local_now(now).date()
    period = period or week_so_far(today)
    start, today = period.first, period.last
    members = session.execute(
        select(
            Member.id,
            Member.display_name,
            MemberSettings.public,
            MemberSettings.timezone,
            MemberSettings.drill_days,
            MemberSettings.paused,
            MemberSettings.paused_until,
        )
        .join(MemberSettings, MemberSettings.member_id == Member.id)
        .where(Member.cohort_id == c.id)
    ).all()
    week = {
        mid: (int(n), int(p or 0))
        for mid, n, p in session.execute(
            select(Review.member_id, func.count(), func.sum(Review.points))
            .join(Member, Member.id == Review.member_id)
            .where(
                Member.cohort_id == c.id,
                Review.local_date >= start,
                Review.local_date <= today,
            )
            .group_by(Review.member_id)
        ).all()
    }
    states = {
        mid: (streak, last, freezes)
        for mid, streak, last, freezes in session.execute(
            select(
                PracticeState.member_id,
                PracticeState.streak,
                PracticeState.last_active_date,
                PracticeState.freezes,
            )
            .join(Member, Member.id == PracticeState.member_id)
            .where(Member.cohort_id == c.id)
        ).all()
    }
    public = [m.id for m in members if m.public]
    pipe = pipeline_counts(session, public)
    # A streak counts each member's own drill days, in their own zone, as of the post.
    alive = alive_states(
        session,
        c.id,
        [
            StreakOf(
                m.id,
                *states.get(m.id, (0, None, 0))[:2],
                now.astimezone(ZoneInfo(m.timezone)).date(),
                m.drill_days,
                m.paused,
                m.paused_until,
                states.get(m.id, (0, None, 0))[2],
            )
            for m in members
        ],
    )
    rows: list[Row] = []
    for m in members:
        n, pts = week.get(m.id, (0, 0))
        a = alive[m.id]
        rows.append(Row(m.display_name, pts, n, a.streak, pipe.get(m.id), a.freezes))
    rows.sort(key=lambda r: (-r.points, -r.drills, -r.streak, r.name.lower()))
    per_day_rows = dict(
        session.execute(
            select(Review.local_date, func.count())
            .join(Member, Member.id == Review.member_id)
            .where(
                Member.cohort_id == c.id,
                Review.local_date >= today - timedelta(days=6),
                Review.local_date <= today,
            )
            .group_by(Review.local_date)
        ).all()
    )
    per_day = [(today - timedelta(days=6 - i), 0) for i in range(7)]
    per_day = [(d, int(per_day_rows.get(d, 0))) for d, _ in per_day]
    funnel = (
        sum(p[0] for p in pipe.values()),
        sum(p[1] for p in pipe.values()),
        sum(p[2] for p in pipe.values()),
    )
    active = [r for r in rows if r.drills]
    lines = [
        f"{i}. {r.name}: {r.points} points, {plural(r.drills, 'drill')}, streak {r.streak}"
        + freezes_text(r.freezes)
        for i, r in enumerate(active[:TOP], 1)
    ]
    if not lines:
        lines.append(
            "No drills yet this week: type /drill to open the scoreboard."
            if period.last == c.local_now(now).date()
            else "No drills in these seven days: type /drill to open the next scoreboard."
        )
    total_drills = sum(r.drills for r in rows)
    summary = (
        f"The cohort: {plural(total_drills, 'drill')} by {plural(len(active), 'member')}, "
        f"{sum(r.points for r in rows)} points; longest streak "
        f"{plural(max((r.streak for r in rows), default=0), 'day')}."
    )
    shared = [r for r in rows if r.pipeline is not None]
    pipe_lines = [
        f"{r.name}: {plural(r.pipeline[0], 'application')}, "
        f"{plural(r.pipeline[1], 'interview')}, {plural(r.pipeline[2], 'offer')}"
        for r in shared
        if r.pipeline is not None
    ]
    fields = [Field("The cohort", summary, inline=False)]
    if pipe_lines:
        fields.append(Field("Job hunt (shared by choice)", "\n".join(pipe_lines), inline=False))
    text = "\n".join(lines) + "\n\n" + summary
    if pipe_lines:
        text += "\n\nJob hunt, for those who share it:\n" + "\n".join(pipe_lines)
    png = leaderboard_chart(per_day, funnel)
    return Reply(
        text,
        title=f"Leaderboard: {period.title}",
        image=Attachment(f"leaderboard-{start.isoformat()}.png", png, "image/png"),
        footer="Pipeline counts appear only for members who chose /settings public on. "
        "A streak freeze (one per 7 drill days in a row) keeps a streak over a missed day.",
    )


def with_next_board(reply: Reply, c: CohortInfo, day: date) -> Reply:
    """The channel's board says when the next one comes: in each reader's zone and as a
    countdown where the platform can (bot.types.instant), the cohort's own time elsewhere."""
    nxt = day + timedelta(days=7)
    at = local_at(nxt, c.leaderboard_time, c.tz)
    plain = f"{fmt_date(nxt)} at {c.leaderboard_time} ({c.tz.key})"
    when = f"{instant(at, plain)} ({instant(at, 'in 7 days', 'R')})"
    return replace(reply, text=f"{reply.text}\n\nNext board: {when}.")


@job("leaderboard", every=timedelta(minutes=15))
def leaderboard_posts(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c in all_cohorts(session):
        if c.channel is None:
            continue
        today = c.local_now(now).date()
        day = week_start(today) + timedelta(days=c.leaderboard_weekday)
        post_at = local_at(day, c.leaderboard_time, c.tz)
        if not (post_at <= now < post_at + STILL_USEFUL):
            continue
        if queued_keys(session, [make_key(f"c{c.id}", "leaderboard", "weekly", day)]):
            continue  # building the chart is the expensive part: only once
        reply = (
            Reply("(leaderboard)", title="Leaderboard")
            if env.dry_run
            else with_next_board(build(session, c, now, ended_before(day)), c, day)
        )
        out.append(
            Scheduled(
                Outbound(c.channel, reply),
                workspace_id=c.workspace_id,
                kind="leaderboard",
                subject="weekly",
                local_date=day,
                due_at=post_at,
                expires_at=post_at + STILL_USEFUL,
                target_key=f"c{c.id}",
            )
        )
    return out


@wakes("leaderboard")
def next_post(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The first weekly post instant after `after` over every cohort with a channel, or at
    once for a post whose window is open and that is not queued yet (a cohort set up late
    on its posting day)."""
    instants = []
    for c in all_cohorts(session):
        if c.channel is None:
            continue
        monday = week_start(c.local_now(after).date())
        for week in (-7, 0, 7, 14):
            day = monday + timedelta(days=c.leaderboard_weekday + week)
            at = local_at(day, c.leaderboard_time, c.tz)
            key = make_key(f"c{c.id}", "leaderboard", "weekly", day)
            if at <= after < at + STILL_USEFUL and not queued_keys(session, [key]):
                instants.append(after + SOON)
                break
            if at > after:
                instants.append(at)
                break
    return min(instants, default=None)


@command("leaderboard")
def leaderboard_command(ctx: Ctx) -> Reply:
    cohort = require_cohort(ctx.session, ctx.member)
    return build(ctx.session, info_of(ctx.session, cohort), ctx.now)


__all__ = ["build", "pipeline_counts"]
