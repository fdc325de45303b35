"""/cohort: organizer commands for the cohort's channel, zone, start date, schedule, off days,
the members' dashboard and a preview of what the scheduler will send."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, select, update

from bot.cohorts import cohort_of_channel, cohorts_of_workspace, organized_cohort
from bot.dates import fmt_date, parse_date
from bot.db.models import Cohort, Member
from bot.db.schedule_models import CohortOffday
from bot.errors import UserError
from bot.features.settings.handlers import parse_hhmm, resolve_zone
from bot.jobs import Job, JobEnv, registered_jobs
from bot.outbox import Scheduled, queued_keys
from bot.router import Ctx, command
from bot.types import Channel, Field, Outbound, Reply

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@command("cohort setup")
def cohort_setup(ctx: Ctx) -> list[Outbound]:
    """Set up the cohort whose home is this channel: a channel without one gets a new cohort
    (a workspace runs several, one per channel), and the organizer runs it from now on."""
    if ctx.conversation.kind != "channel":
        raise UserError("Run /cohort setup in the channel the cohort uses; I'll post there.")
    zone = resolve_zone(ctx.arg("zone")) if ctx.arg("zone") else ctx.member.settings.timezone
    start = parse_date(ctx.arg("start"), ctx.tz, ctx.now) if ctx.arg("start") else None
    ws_id = ctx.member.workspace_id
    cohort = cohort_of_channel(ctx.session, ws_id, ctx.conversation.id)
    # The workspace's other cohorts: with none, this one is everyone's (as before there
    # could be several), and running setup again in its channel changes nothing about that.
    others = [c for c in cohorts_of_workspace(ctx.session, ws_id) if c is not cohort]
    if cohort is not None and ctx.member.cohort_id not in (None, cohort.id):
        raise UserError(
            f"#{cohort.channel_name or cohort.name} is another cohort's home. To organize it, "
            "type /cohort join here first; to start a new cohort, run /cohort setup in a "
            "new channel."
        )
    if cohort is None:
        cohort = Cohort(
            workspace_id=ws_id,
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
    left = next((c for c in others if c.id == ctx.member.cohort_id), None)
    ctx.member.cohort_id = cohort.id  # the organizer runs the cohort they set up
    joined = 0
    if not others:
        # The workspace's only cohort: whoever used the bot before it existed is in it.
        joined = cast(
            CursorResult[Any],
            ctx.session.execute(
                update(Member)
                .where(Member.workspace_id == ws_id, Member.cohort_id.is_(None))
                .values(cohort_id=cohort.id)
            ),
        ).rowcount
    day = WEEKDAYS[cohort.leaderboard_weekday]
    announce = Reply(
        f"This channel is now the cohort's home. I'll post the leaderboard here every {day} at "
        f"{cohort.leaderboard_time} ({zone}) and a note when each stage of the plan begins "
        f"(the plan starts {fmt_date(cohort.start_date)}). Everyone's pipeline stays private. "
        + ("Type /cohort join here to be in this cohort. " if others else "")
        + "Type /cohortbot to see what I can do.",
        title="Cohortbot is set up",
    )
    added = (
        f"{joined} member(s) added to the cohort."
        if not others
        else ("Members join with /cohort join here (or by using me here, if in no cohort yet).")
    )
    moved = (
        f" You now organize this cohort instead of #{left.channel_name or left.name} "
        "(/cohort join there to go back)."
        if left is not None
        else ""
    )
    confirm = Reply(
        f"Done: #{cohort.channel_name}, {zone}, plan from {fmt_date(cohort.start_date)}; "
        f"{added}{moved}"
    )
    return [
        Outbound(Channel(ctx.conversation, ctx.user.platform, ctx.user.workspace_id), announce),
        ctx.private(confirm),
    ]


@command("cohort join")
def cohort_join(ctx: Ctx) -> Reply:
    """Join the cohort of this channel (or the workspace's only one): a member is in one
    cohort at a time, so joining another leaves the first."""
    ws_id = ctx.member.workspace_id
    target = (
        cohort_of_channel(ctx.session, ws_id, ctx.conversation.id)
        if ctx.conversation.kind == "channel"
        else None
    )
    if target is None:
        cohorts = cohorts_of_workspace(ctx.session, ws_id)
        if len(cohorts) == 1:
            target = cohorts[0]
        elif cohorts:
            names = ", ".join(f"#{c.channel_name or c.name}" for c in cohorts)
            raise UserError(f"Type /cohort join in the channel of the cohort to join: {names}.")
        else:
            raise UserError(
                "There is no cohort here yet. An organizer sets one up by typing "
                "/cohort setup in the cohort's channel."
            )
    name = f"#{target.channel_name or target.name}"
    # Using the bot in the channel may have placed a member in no cohort here already.
    before = ctx.session.get(Cohort, ctx.member.cohort_id) if ctx.member.cohort_id else None
    if before is target:
        before = None
    ctx.member.cohort_id = target.id
    text = f"You are in {name} now: its plan, leaderboard, schedule and mock pairs are yours." + (
        " As an organizer, /cohort commands now act on it." if ctx.member.is_admin else ""
    )
    if before is not None:
        text += (
            f" You left #{before.channel_name or before.name}; your drills, streak and "
            "pipeline come with you."
        )
    return Reply(text)


@command("cohort schedule")
def cohort_schedule(ctx: Ctx) -> Reply:
    cohort = organized_cohort(ctx.session, ctx.member, ctx.conversation)
    hhmm = parse_hhmm(ctx.arg("time"))
    cohort.leaderboard_weekday = WEEKDAYS.index(ctx.arg("weekday"))
    cohort.leaderboard_time = hhmm
    return Reply(
        f"The leaderboard will be posted every {ctx.arg('weekday')} at {hhmm} ({cohort.timezone})."
    )


@command("cohort offday")
def cohort_offday(ctx: Ctx) -> Reply:
    cohort = organized_cohort(ctx.session, ctx.member, ctx.conversation)
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
    """Run every job over the next week without queuing anything (a dry run), and summarise
    what would go out, day by day in the cohort's zone."""
    cohort = organized_cohort(ctx.session, ctx.member, ctx.conversation)
    tz = ZoneInfo(cohort.timezone)
    env = JobEnv(ctx.settings, ctx.content, dry_run=True)
    seen: dict[str, Scheduled] = {}
    end = ctx.now + timedelta(days=7)
    for j in registered_jobs():
        for t in _dry_run_instants(j, ctx, env, end):
            for s in j.fn(t, ctx.session, env):
                seen.setdefault(s.dedupe_key, s)
    # The jobs run for every cohort: an organizer sees their own cohort's messages only.
    mine = set(ctx.session.scalars(select(Member.id).where(Member.cohort_id == cohort.id)).all())
    seen = {
        k: v
        for k, v in seen.items()
        if v.target_key == f"c{cohort.id}" or (v.member_id is not None and v.member_id in mine)
    }
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


# The finest step of the dry run: a job looks back over what is still due, so running it at
# most an hour after a message's moment still finds the message.
PREVIEW_STEP = timedelta(hours=1)


def _dry_run_instants(j: Job, ctx: Ctx, env: JobEnv, end: datetime) -> Iterator[datetime]:
    """Now, then each moment the job declares it next has something to do (its @wakes), an
    hour apart at least, up to `end`: a week of daily drills at one time of day is 8 runs,
    not the 169 of every hour. Nothing is recorded in a dry run, so a wake-up may say
    "again at once"; the hour's step keeps that from crawling."""
    t = ctx.now
    while t <= end:
        yield t
        when = j.wake(t, ctx.session, env) if j.wake is not None else t
        if when is None:
            return
        t = max(when, t + PREVIEW_STEP)


LABELS = {
    "drill": "daily drill DM(s)",
    "leaderboard": "leaderboard post(s)",
    "plan": "plan stage post(s)",
    "mock": "mock pairing DM(s)",
    "mock-checkin": "mock check-in reminder(s)",
    "mock-pause": "question(s) to pause pairing",
}
