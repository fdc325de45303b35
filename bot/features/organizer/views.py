"""Live organizer views: the member list grouped by status, one member's detail, and the
Organizer section of the home view. All read-only, all for the organizer's own cohort."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import pages as paging
from bot.cohorts import CohortInfo, info_of
from bot.content import Content
from bot.dates import fmt_date, fmt_when
from bot.db.drill_models import Review
from bot.db.models import Cohort, Member
from bot.db.pipeline_models import Application, Interview, Offer
from bot.errors import UserError
from bot.features.drills.practice import RATING_LABELS
from bot.features.organizer.scope import organizer_cohort
from bot.features.organizer.status import (
    GROUP_TITLES,
    GROUPS,
    Group,
    MemberWeek,
    Snapshot,
    snapshot,
)
from bot.features.pipeline.queries import ACTIVE_STAGES, STAGES
from bot.features.settings.handlers import SHARE_MEANS
from bot.router import Ctx, action, command
from bot.text import clip, plural
from bot.types import Button, Field, Outbound, Reply

PAGE = 20
HISTORY = 10  # recent reviews shown in a member's detail
SHARE_SHORT = {"none": "shares nothing", "counts": "shares counts", "details": "shares details"}


def live(session: Session, c: CohortInfo, now: datetime, content: Content) -> Snapshot:
    """Statuses as of now, over the last seven days."""
    today = c.local_now(now).date()
    return snapshot(session, c, now, today - timedelta(days=6), today, content, full=False)


def _line(m: MemberWeek) -> str:
    if m.reasons:
        return f"{m.name}: {'; '.join(m.reasons)}"
    last = f"last drill {fmt_date(m.last_drill)}" if m.last_drill else "no drill yet"
    if m.group == "inactive":
        why = "paused" if m.paused else "DMs closed"
        return f"{m.name}: {why}, {last}"
    return f"{m.name}: {plural(m.drills, 'drill')} in 7 days, streak {m.streak}, {last}"


def members_page(snap: Snapshot, show: str, page: int) -> Reply:
    groups: tuple[Group, ...] = GROUPS if show == "all" else (show,)  # type: ignore[assignment]
    rows = [(g, m) for g in groups for m in snap.group(g)]
    lines_of = [f"- {_line(m)}" for _, m in rows]
    # At most PAGE members a page, fewer when their lines are long (reasons, long names), so
    # a page fits every platform (bot/pages.py).
    split = paging.split([len(line) + 40 for line in lines_of], PAGE)
    pages = len(split)
    page = paging.clamp(page, pages)
    shown = [rows[i] for i in split[page - 1]]
    lines: list[str] = []
    current: Group | None = None
    for g, m in shown:
        if g != current:
            total = len(snap.group(g))
            lines.append(f"{GROUP_TITLES[g]} ({total}):")
            current = g
        lines.append(f"- {_line(m)}")
    counts = ", ".join(f"{GROUP_TITLES[g].lower()} {len(snap.group(g))}" for g in GROUPS)
    if not lines:
        lines.append("Nobody in this group." if show != "all" else "No members yet.")
    buttons: list[Button] = []
    if page > 1:
        buttons.append(Button("organizer.members", f"{show}:{page - 1}", "Previous"))
    if page < pages:
        buttons.append(Button("organizer.members", f"{show}:{page + 1}", "Next", "primary"))
    for g in GROUPS:
        if g != show:
            buttons.append(Button("organizer.members", f"{g}:1", GROUP_TITLES[g]))
    name = snap.cohort.channel_name or snap.cohort.name
    return Reply(
        "\n".join(lines),
        title=f"Members of #{clip(name, 60)} ({len(snap.members)}): page {page} of {pages}",
        buttons=tuple(buttons[:5]),
        footer=f"{counts.capitalize()}. /cohort member <name> for one member's detail.",
    )


@command("cohort members")
def cohort_members(ctx: Ctx) -> Reply:
    c = organizer_cohort(ctx)
    page = int(ctx.arg("page", "1"))
    return members_page(live(ctx.session, c, ctx.now, ctx.content), ctx.arg("show", "all"), page)


@action("organizer.members")
def members_button(ctx: Ctx, value: str) -> list[Outbound]:
    c = organizer_cohort(ctx)
    show, _, page = value.partition(":")
    if show not in ("all", *GROUPS):
        show = "all"
    snap = live(ctx.session, c, ctx.now, ctx.content)
    # Another page or group of the same list: the pressed message shows it instead.
    return [ctx.turn(members_page(snap, show, int(page) if page.isdigit() else 1))]


# A Slack mention (<@U123|name>) or a Discord one (<@123>, <@!123>) names the member's id.
_MENTION = re.compile(r"^<@!?([^>|\s]+)(?:\|[^>]*)?>$")


def _find(session: Session, c: CohortInfo, text: str) -> Member:
    text = text.strip()
    in_cohort = (Member.cohort_id == c.id, Member.is_admin.is_(False))
    if m := _MENTION.match(text):
        found = session.scalar(select(Member).where(*in_cohort, Member.platform_user_id == m[1]))
        if found is not None:
            return found
    name = text.lstrip("@").casefold()
    exact = session.scalars(
        select(Member).where(*in_cohort, func.lower(Member.display_name) == name)
    ).all()
    if len(exact) == 1:
        return exact[0]
    like = session.scalars(
        select(Member)
        .where(*in_cohort, func.lower(Member.display_name).startswith(name, autoescape=True))
        .order_by(Member.display_name)
        .limit(6)
    ).all()
    if len(like) == 1:
        return like[0]
    if like:
        names = ", ".join(x.display_name for x in like[:5])
        raise UserError(f"Several members match {clip(text, 40)!r}: {names}. Which one?")
    raise UserError(f"No member of this cohort is called {clip(text, 40)!r}.")


def _pipeline(session: Session, member_id: int, share: str, c: CohortInfo, now: datetime) -> str:
    """What the member shares: nothing; stage totals and dates; or companies and stages.
    Never a figure about pay: no offer column but the deadline is read."""
    if share == "none":
        return "Not shared."
    apps = session.execute(
        select(Application.company, Application.stage, Application.stage_changed_at)
        .where(Application.member_id == member_id)
        .order_by(Application.stage_changed_at.desc())
    ).all()
    dates = session.execute(
        select(Interview.at, Interview.kind, Application.company)
        .join(Application, Application.id == Interview.application_id)
        .where(Interview.member_id == member_id, Interview.at >= now)
        .order_by(Interview.at)
        .limit(5)
    ).all()
    deadlines = session.execute(
        select(Offer.deadline, Application.company)
        .join(Application, Application.id == Offer.application_id)
        .where(Offer.member_id == member_id, Application.stage == "offer", Offer.deadline >= now)
        .order_by(Offer.deadline)
    ).all()
    per_stage = {s: sum(1 for a in apps if a.stage == s) for s in STAGES}
    lines = [", ".join(f"{s} {n}" for s, n in per_stage.items() if n) or "No applications yet."]
    if apps:
        lines.append(f"Last move: {fmt_when(apps[0].stage_changed_at, c.tz, with_time=False)}")
    details = share == "details"
    for at, kind, company in dates:
        what = kind or "interview"
        lines.append(f"{fmt_when(at, c.tz)}: {what}" + (f" with {company}" if details else ""))
    for due, company in deadlines:
        if due is None:
            continue
        whose = f"{company}'s offer" if details else "an offer"
        lines.append(f"{fmt_when(due, c.tz)}: {whose} is due")
    if details:
        active = [a for a in apps if a.stage in ACTIVE_STAGES]
        lines.extend(f"- {clip(a.company, 60)}: {a.stage}" for a in active[:15])
        if len(active) > 15:
            lines.append(f"and {len(active) - 15} more")
    return "\n".join(lines)


def member_detail(ctx: Ctx, c: CohortInfo, m: Member) -> Reply:
    snap = live(ctx.session, c, ctx.now, ctx.content)
    week = next((x for x in snap.members if x.id == m.id), None)
    if week is None:
        raise UserError(f"{m.display_name} is not a member of this cohort.")
    today = c.local_now(ctx.now).date()
    since = today - timedelta(days=27)
    per_week: dict[date, int] = {since + timedelta(days=7 * i): 0 for i in range(4)}
    for d, n in ctx.session.execute(
        select(Review.local_date, func.count())
        .where(Review.member_id == m.id, Review.local_date >= since)
        .group_by(Review.local_date)
    ).all():
        per_week[since + timedelta(days=7 * ((d - since).days // 7))] += int(n)
    recent = ctx.session.execute(
        select(Review.local_date, Review.drill_id, Review.rating)
        .where(Review.member_id == m.id)
        .order_by(Review.reviewed_at.desc())
        .limit(HISTORY)
    ).all()
    status = "; ".join(week.reasons) if week.reasons else GROUP_TITLES[week.group].lower()
    history = (
        "\n".join(
            f"{fmt_date(d)}: {drill} ({RATING_LABELS.get(r, str(r))})" for d, drill, r in recent
        )
        or "No drills yet."
    )
    weeks = ", ".join(f"{d:%d %b} {n}" for d, n in per_week.items())
    rate = f"{week.answered} of {week.scheduled}" if week.scheduled else "none sent"
    fields = (
        Field("Status", status, inline=False),
        Field("Shares", SHARE_MEANS[week.share].replace("your ", "their "), inline=False),
        Field("Streak", plural(week.streak, "day")),
        Field("Daily drills answered (7 days)", rate),
        Field("Reviews overdue", str(week.overdue)),
        Field("Drills per week (last 4)", weeks, inline=False),
        Field("Recent drills", history, inline=False),
        Field(
            "Pipeline", _pipeline(ctx.session, m.id, week.share, c, ctx.now) or "-", inline=False
        ),
    )
    text = "\n".join(f"{f.name}: {f.value}" for f in fields)
    return Reply(
        text,
        title=f"{clip(m.display_name, 80)} ({SHARE_SHORT[week.share]})",
        fields=fields,
        lead="",
        footer="What they share is their choice (/settings share); pay is never shown.",
    )


@command("cohort member")
def cohort_member(ctx: Ctx) -> Reply:
    c = organizer_cohort(ctx)
    return member_detail(ctx, c, _find(ctx.session, c, ctx.arg("name")))


def organizer_section(
    session: Session, member: Member, now: datetime, content: Content
) -> tuple[Field, ...]:
    """The Organizer part of an organizer's home: the groups at a glance. Nothing for anyone
    else, and nothing when they organize no cohort yet."""
    if not member.is_admin or member.cohort_id is None:
        return ()
    cohort = session.get(Cohort, member.cohort_id)
    if cohort is None:
        return ()
    snap = live(session, info_of(session, cohort), now, content)
    attention = snap.group("attention")
    names = ", ".join(m.name for m in attention[:8])
    if len(attention) > 8:
        names += f" and {len(attention) - 8} more"
    return (
        Field(
            f"Organizer: {clip(cohort.channel_name or cohort.name, 60)}",
            f"Needs attention {len(attention)}"
            + (f" ({names})" if names else "")
            + f"; on track {len(snap.group('on-track'))}; "
            f"inactive {len(snap.group('inactive'))}. /cohort members for the list.",
            inline=False,
        ),
    )


__all__ = ["cohort_member", "cohort_members", "members_page", "organizer_section"]
