"""The cohort's plan: ten stages dated from the cohort's start date, and a post in the
cohort channel on the morning each stage begins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.cohorts import PLAN_POST_TIME, all_cohorts, info_of, local_at, require_cohort
from bot.content import Content, PlanStage
from bot.dates import fmt_date
from bot.errors import UserError
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.router import Ctx, command
from bot.types import Outbound, Reply, instant

# A stage post missed while the bot was down is still worth posting for a couple of days.
STILL_USEFUL = timedelta(days=2)


@dataclass(frozen=True)
class DatedStage:
    number: int
    stage: PlanStage
    start: date
    end: date  # inclusive


def dated_plan(content: Content, start: date) -> list[DatedStage]:
    out: list[DatedStage] = []
    day = start
    for i, stage in enumerate(content.plan, 1):
        out.append(DatedStage(i, stage, day, day + timedelta(days=stage.days - 1)))
        day += timedelta(days=stage.days)
    return out


def stage_on(content: Content, start: date, today: date) -> DatedStage | None:
    return next((s for s in dated_plan(content, start) if s.start <= today <= s.end), None)


def stage_post(s: DatedStage, total: int, tz: ZoneInfo | None = None) -> Reply:
    actions = "\n".join(f"- {a}" for a in s.stage.actions)
    # Where the platform can, the end is a countdown in each reader's own zone.
    ends = ""
    if tz is not None:
        end = local_at(s.end + timedelta(days=1), "00:00", tz)
        ends = f" It ends {instant(end, f'after {fmt_date(s.end)}', 'R')}."
    return Reply(
        f"{s.stage.purpose}\n\nThis stage: {fmt_date(s.start)} to {fmt_date(s.end)}.{ends}\n"
        f"{actions}",
        title=f"Stage {s.number} of {total} begins: {s.stage.name}",
        footer="Type /cohort plan for the whole plan.",
    )


@job("plan-posts", every=timedelta(minutes=15))
def plan_posts(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c in all_cohorts(session):
        if c.start_date is None or c.channel is None:
            continue
        local = c.local_now(now)
        stages = dated_plan(env.content, c.start_date)
        for s in stages:
            post_at = local_at(s.start, PLAN_POST_TIME, c.tz)
            if post_at <= now < post_at + STILL_USEFUL and local.date() <= s.end:
                if queued_keys(session, [make_key(f"c{c.id}", "plan", s.stage.id, s.start)]):
                    continue
                out.append(
                    Scheduled(
                        Outbound(c.channel, stage_post(s, len(stages), c.tz)),
                        workspace_id=c.workspace_id,
                        kind="plan",
                        subject=s.stage.id,
                        local_date=s.start,
                        due_at=post_at,
                        expires_at=post_at + STILL_USEFUL,
                        target_key=f"c{c.id}",
                    )
                )
    return out


@wakes("plan-posts")
def next_stage_post(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The next stage's post, or at once for one whose window is open and that is not queued
    yet (a cohort set up, or its start date moved, after the post's time)."""
    instants = []
    for c in all_cohorts(session):
        if c.start_date is None or c.channel is None:
            continue
        for s in dated_plan(env.content, c.start_date):
            at = local_at(s.start, PLAN_POST_TIME, c.tz)
            if at > after:
                instants.append(at)
            elif after < at + STILL_USEFUL and not queued_keys(
                session, [make_key(f"c{c.id}", "plan", s.stage.id, s.start)]
            ):
                instants.append(after + SOON)
    return min(instants, default=None)


@command("cohort plan")
def cohort_plan(ctx: Ctx) -> Reply:
    cohort = require_cohort(ctx.session, ctx.member)
    if cohort.start_date is None:
        raise UserError(
            "This cohort has no start date yet. An organizer can set one with "
            "/cohort setup <zone> <start date>."
        )
    c = info_of(ctx.session, cohort)
    today = c.local_now(ctx.now).date()
    lines = []
    for s in dated_plan(ctx.content, cohort.start_date):
        mark = "-> " if s.start <= today <= s.end else "   "
        lines.append(
            f"{mark}{s.number}. {s.stage.name}: {fmt_date(s.start)} to "
            f"{fmt_date(s.end)} ({s.stage.days} days)"
        )
    now_stage = stage_on(ctx.content, cohort.start_date, today)
    head = (
        f"Now: stage {now_stage.number}, {now_stage.stage.name}. {now_stage.stage.purpose}"
        if now_stage
        else "The plan has not started yet, or it is over."
    )
    return Reply(head + "\n\n" + "\n".join(lines), title="The cohort's plan")
