"""/cohort: organizer commands for the cohort's channel, zone, start date, schedule, off days,
the members' dashboard and a preview of what the scheduler will send."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, update

from bot.cohorts import cohort_of_workspace, require_cohort
from bot.dates import fmt_date, parse_date
from bot.db.models import Cohort, Member
from bot.db.schedule_models import CohortOffday
from bot.errors import UserError
from bot.features.settings.handlers import parse_hhmm, resolve_zone
from bot.jobs import JobEnv, registered_jobs
from bot.outbox import Scheduled, queued_keys
from bot.router import Ctx, command
from bot.types import Channel, Field, Outbound, Reply

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@command("cohort setup")
def cohort_setup(ctx: Ctx) -> list[Outbound]:
    if ctx.conversation.kind != "channel":
        raise UserError("Run /cohort setup in the channel the cohort uses; I'll post there.")
    zone = resolve_zone(ctx.arg("zone")) if ctx.arg("zone") else ctx.member.settings.timezone
    start = parse_date(ctx.arg("start"), ctx.tz, ctx.now) if ctx.arg("start") else None
    cohort = cohort_of_workspace(ctx.session, ctx.member.workspace_id)
    if cohort is None:
        cohort = Cohort(
            workspace_id=ctx.member.workspace_id,
            name="cohort",
            created_at=ctx.now,
            leaderboard_weekday=0,
            leaderboard_time="09:00",
        )
        ctx.session.add(cohort)
    cohort.channel_id = ctx.conversation.id
    cohort.channel_name = ctx.conversation.name
    cohort.name = ctx.conversation.name or "cohort"
    cohort.timezone = zone
    if start is not None:
        cohort.start_date = start
    elif cohort.start_date is None:
        cohort.start_date = ctx.now.astimezone(ZoneInfo(zone)).date()
    ctx.session.flush()
    joined = cast(
        CursorResult[Any],
        ctx.session.execute(
            update(Member)
            .where(Member.workspace_id == ctx.member.workspace_id, Member.cohort_id.is_(None))
            .values(cohort_id=cohort.id)
        ),
    ).rowcount
    day = WEEKDAYS[cohort.leaderboard_weekday]
    announce = Reply(
        f"This channel is now the cohort's home. I'll post the leaderboard here every {day} at "
        f"{cohort.leaderboard_time} ({zone}) and a note when each stage of the plan begins "
        f"(the plan starts {fmt_date(cohort.start_date)}). Everyone's pipeline stays private. "
        "Type /cohortbot to see what I can do.",
        title="Cohortbot is set up",
    )
    confirm = Reply(
        f"Done: #{cohort.channel_name}, {zone}, plan from {fmt_date(cohort.start_date)}; "
        f"{joined} member(s) added to the cohort."
    )
    return [
        Outbound(Channel(ctx.conversation, ctx.user.platform, ctx.user.workspace_id), announce),
        ctx.private(confirm),
    ]


@command("cohort schedule")
def cohort_schedule(ctx: Ctx) -> Reply:
    cohort = require_cohort(ctx.session, ctx.member.workspace_id)
    hhmm = parse_hhmm(ctx.arg("time"))
    cohort.leaderboard_weekday = WEEKDAYS.index(ctx.arg("weekday"))
    cohort.leaderboard_time = hhmm
    return Reply(
        f"The leaderboard will be posted every {ctx.arg('weekday')} at {hhmm} ({cohort.timezone})."
    )


@command("cohort offday")
def cohort_offday(ctx: Ctx) -> Reply:
    cohort = require_cohort(ctx.session, ctx.member.workspace_id)
    tz = ZoneInfo(cohort.timezone)
    day = parse_date(ctx.arg("date"), tz, ctx.now)
    existing = ctx.session.get(CohortOffday, (cohort.id, day))
    if ctx.arg("change") == "add":
        if day < ctx.now.astimezone(tz).date():
            raise UserError(f"{fmt_date(day)} is in the past; nothing was changed.")
        if existing is None:
            ctx.session.add(CohortOffday(cohort_id=cohort.id, day=day))
        return Reply(f"{fmt_date(day)} is an off day: no daily drills go out.")
    if existing is None:
        raise UserError(f"{fmt_date(day)} was not an off day.")
    ctx.session.delete(existing)
    return Reply(f"{fmt_date(day)} is a normal day again.")


@command("cohort preview")
def cohort_preview(ctx: Ctx) -> Reply:
    """Run every job at hourly steps over the next week without queuing anything (a dry run),
    and summarise what would go out, day by day in the cohort's zone."""
    cohort = require_cohort(ctx.session, ctx.member.workspace_id)
    tz = ZoneInfo(cohort.timezone)
    env = JobEnv(ctx.settings, ctx.content, dry_run=True)
    seen: dict[str, Scheduled] = {}
    t = ctx.now
    while t <= ctx.now + timedelta(days=7):
        for j in registered_jobs():
            for s in j.fn(t, ctx.session, env):
                seen.setdefault(s.dedupe_key, s)
        t += timedelta(hours=1)
    if seen:  # what is already in the outbox is not news
        queued = queued_keys(ctx.session, seen)
        seen = {k: v for k, v in seen.items() if k not in queued}
    per_day: dict[str, Counter[str]] = {}
    for s in sorted(seen.values(), key=lambda s: s.due_at):
        day = f"{s.due_at.astimezone(tz):%a %d %b}"
        per_day.setdefault(day, Counter())[s.kind] += 1
    lines = [
        f"{day}: " + ", ".join(f"{n} {LABELS.get(kind, kind)}" for kind, n in sorted(c.items()))
        for day, c in per_day.items()
    ]
    return Reply(
        "\n".join(lines) or "Nothing is scheduled in the next 7 days.",
        title="The next 7 days",
        fields=(Field("Messages in all", str(len(seen))),),
        footer="Nudges that depend on what members record later are not known yet.",
    )


LABELS = {
    "drill": "daily drill DM(s)",
    "leaderboard": "leaderboard post(s)",
    "plan": "plan stage post(s)",
    "mock": "mock pairing DM(s)",
}
