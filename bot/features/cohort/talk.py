"""A place to talk about a drill: once the organizer turns it on (`/cohort talk on <track>`),
one drill of that track a day is posted in the cohort's channel as a discussion, where members
share how they would approach it (Discord: a public thread on the post, answers behind spoiler
tags; Slack: the post's own thread). Through the jobs and the outbox like the plan's posts:
once per cohort and local day, never on the cohort's off days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cohorts import (
    CohortInfo,
    all_cohorts,
    end_of_local_day,
    info_of,
    local_at,
    offdays,
    organized_cohort,
)
from bot.content import TRACKS, Content, Drill
from bot.dates import fmt_date
from bot.db.models import Cohort
from bot.errors import UserError
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.router import Ctx, command
from bot.types import Channel, Outbound, Reply

TALK_TIME = time(12, 0)  # midday in the cohort's zone: after the morning's own drills
KIND = "drill-talk"


def talk_drill(content: Content, track: str, day: date) -> Drill | None:
    """The day's drill of `track`: the same on every replica, a different one each day."""
    pool = sorted((d for d in content.drills.values() if d.track == track), key=lambda d: d.id)
    return pool[day.toordinal() % len(pool)] if pool else None


def talk_post(drill: Drill, day: date) -> Reply:
    return Reply(
        f"{drill.prompt}\n\nHow would you approach it? Share your approach in this post's "
        "thread, and read how the others would go about it.",
        title=f"Drill of the day, {fmt_date(day)}: {TRACKS[drill.track]}",
        footer="An organizer turns these off with /cohort talk off.",
    )


def _thread_name(drill: Drill, day: date) -> str:
    return f"{TRACKS[drill.track]}, {fmt_date(day)}"[:100]


def _talking(session: Session) -> list[tuple[CohortInfo, str]]:
    tracks = dict(
        session.execute(
            select(Cohort.id, Cohort.talk_track).where(Cohort.talk_track.is_not(None))
        ).all()
    )
    if not tracks:
        return []
    return [(c, str(tracks[c.id])) for c in all_cohorts(session) if c.id in tracks and c.channel]


def _key(c: CohortInfo, day: date) -> str:
    return make_key(f"c{c.id}", KIND, "talk", day)


@job(KIND, every=timedelta(minutes=15))
def drill_talk(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c, track in _talking(session):
        day = c.local_now(now).date()
        post_at = local_at(day, TALK_TIME, c.tz)
        if now < post_at or offdays(session, [c.id], {day}):
            continue
        if queued_keys(session, [_key(c, day)]):
            continue
        drill = talk_drill(env.content, track, day)
        if drill is None or c.channel is None:
            continue
        target = Channel(
            c.channel.conversation,
            c.channel.platform,
            c.channel.workspace_id,
            thread=_thread_name(drill, day),
        )
        out.append(
            Scheduled(
                Outbound(target, talk_post(drill, day)),
                workspace_id=c.workspace_id,
                kind=KIND,
                subject="talk",
                local_date=day,
                due_at=post_at,
                # A day's drill is that day's: not posted late, the next one comes tomorrow.
                expires_at=end_of_local_day(day, c.tz),
                target_key=f"c{c.id}",
            )
        )
    return out


@wakes(KIND)
def next_talk(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """Each cohort's next midday post; at once while today's is due and not queued yet (turned
    on, or an off day removed, after midday)."""
    instants: list[datetime] = []
    for c, _track in _talking(session):
        today = c.local_now(after).date()
        at = local_at(today, TALK_TIME, c.tz)
        due = at <= after and not queued_keys(session, [_key(c, today)])
        if due and not offdays(session, [c.id], {today}):
            instants.append(after + SOON)
            continue
        for days in range(3):
            at = local_at(today + timedelta(days=days), TALK_TIME, c.tz)
            if at > after:
                instants.append(at)
                break
    return min(instants, default=None)


@command("cohort talk")
def cohort_talk(ctx: Ctx) -> Reply:
    cohort = organized_cohort(ctx.session, ctx.member, ctx.conversation)
    if ctx.arg("state") == "off":
        was = cohort.talk_track
        cohort.talk_track = None
        return Reply(
            "The daily drill talk is off." if was else "The daily drill talk was already off."
        )
    track = ctx.arg("track") or cohort.talk_track
    if not track:
        raise UserError(
            f"Which drills? Add a track: one of {', '.join(TRACKS)}, e.g. "
            "/cohort talk on system-design."
        )
    if track not in TRACKS:
        raise UserError(f"There is no track {track!r}: one of {', '.join(TRACKS)}.")
    if talk_drill(ctx.content, track, ctx.now.date()) is None:
        raise UserError(f"There are no {TRACKS[track]} drills to post yet.")
    c = info_of(ctx.session, cohort)
    if c.channel is None:
        raise UserError("This cohort has no channel yet: run /cohort setup in it first.")
    cohort.talk_track = track
    where = f"#{c.channel.conversation.name}" if c.channel.conversation.name else "the channel"
    return Reply(
        f"The daily drill talk is on: each day at {TALK_TIME:%H:%M} ({c.tz.key}), except off "
        f"days, a {TRACKS[track]} drill is posted in {where} with a thread where members share "
        "how they would approach it. /cohort talk off stops it."
    )
