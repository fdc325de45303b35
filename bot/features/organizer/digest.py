"""The weekly digest each organizer gets by DM, at the time they choose (Monday 09:00 in their
zone unless they say otherwise), about the week that ended: who needs attention and why, how
many are on track, engagement, weak spots, the funnel of those who share, what comes next."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cohorts import CohortInfo, all_cohorts, dm, local_at, week_start
from bot.content import Content
from bot.dates import fmt_date, fmt_when
from bot.db.models import Member, MemberSettings
from bot.db.organizer_models import DigestTime
from bot.features.organizer import chart
from bot.features.organizer.scope import organizer_cohort
from bot.features.organizer.status import FUNNEL, GROUP_TITLES, MemberWeek, Snapshot, snapshot
from bot.features.settings.handlers import parse_hhmm
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.router import Ctx, action, command
from bot.text import clip, plural
from bot.types import Attachment, Button, Field, Outbound, Reply

KIND = "digest"
STILL_USEFUL = timedelta(hours=12)
DEFAULT_WEEKDAY, DEFAULT_TIME = 0, "09:00"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHOWN = 12  # names listed under "needs attention"; the rest are one /cohort members away
FIELD_LIMIT = 1000  # under Discord's 1,024 per field value, Slack's 2,000 per field


@dataclass(frozen=True)
class Organizer:
    member_id: int
    user_id: str
    name: str
    tz: ZoneInfo
    weekday: int
    time: str


def organizers(session: Session, cohort_id: int) -> list[Organizer]:
    rows = session.execute(
        select(
            Member.id,
            Member.platform_user_id,
            Member.display_name,
            MemberSettings.timezone,
            DigestTime.weekday,
            DigestTime.time,
        )
        .join(MemberSettings, MemberSettings.member_id == Member.id)
        .outerjoin(DigestTime, DigestTime.member_id == Member.id)
        .where(Member.cohort_id == cohort_id, Member.is_admin.is_(True))
        .order_by(Member.id)
    ).all()
    return [
        Organizer(
            mid,
            uid,
            name,
            ZoneInfo(tz),
            DEFAULT_WEEKDAY if wd is None else wd,
            t or DEFAULT_TIME,
        )
        for mid, uid, name, tz, wd, t in rows
    ]


def post_day(o: Organizer, now: datetime, weeks: int = 0) -> date:
    return week_start(now.astimezone(o.tz).date()) + timedelta(days=o.weekday + 7 * weeks)


def _percent(done: int, sent: int) -> str:
    return f"{round(100 * done / sent)}%" if sent else "n/a"


def _lines(lines: list[str], more: str = "", most: int = 50, total: int | None = None) -> str:
    """At most `most` lines within FIELD_LIMIT characters, then how many more and where:
    `total` lines in all when `lines` holds only the first of them."""
    out: list[str] = []
    used = 0
    for line in lines[:most]:
        line = clip(line, 240)
        if used + len(line) + 60 > FIELD_LIMIT:
            break
        out.append(line)
        used += len(line) + 1
    total = len(lines) if total is None else total
    if len(out) < total:
        out.append(f"and {total - len(out)} more" + (f": {more}" if more else ""))
    return "\n".join(out)


def _attention_line(m: MemberWeek) -> str:
    return f"{clip(m.name, 40)}: {'; '.join(m.reasons)}"


def _mock_line(snap: Snapshot) -> str:
    m = snap.mock
    if m is None or not m.pairs:
        return "Mock pairs: none made that week."
    return (
        f"Mock pairs met: {m.met} of {m.pairs} ({_percent(m.met, m.pairs)}); "
        f"{m.not_met} couldn't, {m.silent} said nothing."
    )


def render(snap: Snapshot) -> Reply:
    c, members = snap.cohort, snap.members
    attention = snap.group("attention")
    on_track = snap.group("on-track")
    inactive = snap.group("inactive")
    needs = (
        _lines(
            [_attention_line(m) for m in attention[:SHOWN]],
            "/cohort members attention",
            SHOWN,
            total=len(attention),
        )
        or "Nobody: every active member drilled and nothing is overdue."
    )

    sent = sum(m.scheduled for m in members)
    done = sum(m.answered for m in members)
    trend = " > ".join(_percent(a, n) for _, a, n in snap.weekly_rate)
    streaks = [m.streak for m in members if not m.paused]
    median = statistics.median(streaks) if streaks else 0
    overdue = sum(m.overdue for m in members)
    behind = sum(1 for m in members if m.overdue)
    engagement = (
        f"Daily drills done: {done} of {sent} ({_percent(done, sent)}); four weeks: {trend}.\n"
        f"Drills done in all: {sum(m.drills for m in members)}; median streak "
        f"{plural(int(median), 'day')}.\n"
        f"FSRS reviews overdue: {overdue}, for {plural(behind, 'member')}.\n" + _mock_line(snap)
    )
    weak: list[str] = [f"Again/Hard ratings: {snap.hard_total}"]
    if snap.hard_tracks:
        weak.append(
            "Tracks rated Again/Hard most: " + ", ".join(f"{t} ({n})" for t, n in snap.hard_tracks)
        )
    if snap.hard_drills:
        weak.append(
            "Drills rated Again/Hard most: " + ", ".join(f"{d} ({n})" for d, n in snap.hard_drills)
        )
    if snap.missing_parts:
        weak.append(
            f"Parts most often missing (in {plural(snap.answers_read, 'written answer')}): "
            + ", ".join(f"{p} ({n})" for p, n in snap.missing_parts)
        )
    if len(weak) > 1:
        weak.append("Next workshop: start with the first of each.")
    weak_text = "\n".join(weak)

    f = snap.funnel
    if f is not None and f.sharing:
        funnel_text = (
            " > ".join(f"{s} {f.reached[s]}" for s in FUNNEL)
            + "\nThis week: "
            + (", ".join(f"{n} to {s}" for s, n in f.moved.items() if n) or "no moves")
            + f"\nStale (in play, no move in 14+ days): {f.stale}"
        )
        pipe_title = f"Pipeline ({plural(f.sharing, 'member')} share)"
    else:
        funnel_text = "Nobody shares their pipeline."
        pipe_title = "Pipeline"

    coming: list[str] = []
    if snap.next_stage is not None:
        s = snap.next_stage
        coming.append(f"Next stage: {s.stage.name}, from {fmt_date(s.start)}")
    elif snap.stage_now is not None:
        coming.append(f"Last stage now: {snap.stage_now.stage.name}")
    in_all = len(coming) + snap.coming_total
    coming.extend(f"{fmt_when(d.at, c.tz)}: {clip(d.member, 40)}, {d.what}" for d in snap.coming)
    coming_text = (
        _lines(coming, "/cohort member <name>", total=in_all)
        or "Nothing shared for the coming week."
    )

    period = f"{fmt_date(snap.first)} to {fmt_date(snap.last)}"
    fields = (
        Field(f"{GROUP_TITLES['attention']} ({len(attention)})", needs, inline=False),
        Field(GROUP_TITLES["on-track"], str(len(on_track))),
        Field(GROUP_TITLES["inactive"], f"{len(inactive)} (paused or DMs closed)"),
        Field("Engagement", engagement, inline=False),
        Field("Weak spots", weak_text, inline=False),
        Field(pipe_title, funnel_text, inline=False),
        Field("Coming up", coming_text, inline=False),
    )
    text = "\n\n".join(
        [
            f"Your cohort's week, {period}: {len(members)} members, {len(attention)} need "
            f"attention, {len(on_track)} on track, {len(inactive)} inactive.",
            *(f"{x.name}:\n{x.value}" for x in fields),
        ]
    )
    png = chart.digest_chart(
        snap.per_day, [(s, f.reached[s]) for s in FUNNEL] if f is not None else []
    )
    return Reply(
        text,
        title=f"Weekly digest: {clip(c.name, 60)}, {period}",
        fields=fields,
        lead=f"{len(members)} members; the week of {period}.",
        buttons=(
            Button("organizer.ontrack", str(c.id), f"Who is on track ({len(on_track)})"),
            Button("organizer.members", "attention:1", "Needs attention", "primary"),
        ),
        image=Attachment(f"digest-{snap.first.isoformat()}.png", png, "image/png"),
        footer="Pipeline figures count only members who share (/settings share); company "
        "names only from those who share details; pay never.",
    )


def build(session: Session, c: CohortInfo, now: datetime, content: Content, day: date) -> Reply:
    """The digest posted on local `day`: the seven days that ended before it."""
    snap = snapshot(session, c, now, day - timedelta(days=7), day - timedelta(days=1), content)
    return render(snap)


@job("organizer-digest", every=timedelta(minutes=15))
def digests(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c in all_cohorts(session):
        built: dict[date, Reply] = {}  # organizers of one cohort posting the same day share it
        for o in organizers(session, c.id):
            day = post_day(o, now)
            at = local_at(day, o.time, o.tz)
            if not (at <= now < at + STILL_USEFUL):
                continue
            if queued_keys(session, [make_key(f"m{o.member_id}", KIND, f"c{c.id}", day)]):
                continue
            reply = built.get(day)
            if reply is None:
                reply = (
                    Reply("(digest)", title="Weekly digest")
                    if env.dry_run
                    else build(session, c, now, env.content, day)
                )
                built[day] = reply
            out.append(
                Scheduled(
                    Outbound(dm(c.platform, c.workspace_external_id, o.user_id, o.name), reply),
                    workspace_id=c.workspace_id,
                    kind=KIND,
                    subject=f"c{c.id}",
                    local_date=day,
                    due_at=at,
                    member_id=o.member_id,
                    expires_at=at + STILL_USEFUL,
                )
            )
    return out


@wakes("organizer-digest")
def next_digest(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The next digest instant after `after` over every organizer, or at once for one whose
    window is open and that is not queued yet."""
    instants: list[datetime] = []
    for c in all_cohorts(session):
        for o in organizers(session, c.id):
            for week in (-1, 0, 1, 2):
                day = post_day(o, after, week)
                at = local_at(day, o.time, o.tz)
                key = make_key(f"m{o.member_id}", KIND, f"c{c.id}", day)
                if at <= after < at + STILL_USEFUL and not queued_keys(session, [key]):
                    instants.append(after + SOON)
                    break
                if at > after:
                    instants.append(at)
                    break
    return min(instants, default=None)


@command("cohort digest")
def cohort_digest(ctx: Ctx) -> Reply:
    organizer_cohort(ctx)
    hhmm = parse_hhmm(ctx.arg("time"))
    weekday = WEEKDAYS.index(ctx.arg("weekday"))
    row = ctx.session.get(DigestTime, ctx.member.id)
    if row is None:
        ctx.session.add(
            DigestTime(member_id=ctx.member.id, weekday=weekday, time=hhmm, updated_at=ctx.now)
        )
    else:
        row.weekday, row.time, row.updated_at = weekday, hhmm, ctx.now
    return Reply(
        f"Your weekly digest will come every {ctx.arg('weekday')} at {hhmm} "
        f"({ctx.member.settings.timezone}), about the seven days before it."
    )


@action("organizer.ontrack")
def on_track_names(ctx: Ctx, value: str) -> Reply:
    c = organizer_cohort(ctx, value)
    today = c.local_now(ctx.now).date()
    snap = snapshot(
        ctx.session, c, ctx.now, today - timedelta(days=6), today, ctx.content, full=False
    )
    names = [m.name for m in snap.group("on-track")]
    return Reply(
        ", ".join(names) if names else "Nobody is on track right now.",
        title=f"On track now ({len(names)})",
        footer="Drilled in the last 7 days, answering their daily drills, nothing overdue.",
    )


__all__ = ["build", "digests", "next_digest", "organizers", "render"]
