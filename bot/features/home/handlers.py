"""The member's home: their pipeline board, what is coming up, and their practice, at a glance.

Slack shows it as the App Home tab (per user, so it may hold private data); any platform can
ask for it through the `home.show` action. Read-only: building it writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import Content
from bot.dates import fmt_when
from bot.db.drill_models import Card, PracticeState
from bot.db.models import Member
from bot.db.pipeline_models import Application
from bot.features.drills.practice import current_streak, streak_skips
from bot.features.organizer.views import organizer_section
from bot.features.pipeline.handlers import ADD_FORM
from bot.features.pipeline.queries import ACTIVE_STAGES, STAGES, applications
from bot.members import next_drill_at
from bot.router import Ctx, action
from bot.text import clip, plural
from bot.types import Button, Field, Reply

UPCOMING = 5  # dates shown; the rest are one /pipeline list away
NAMES_PER_STAGE = 8


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    what: str


def _board(apps: list[Application]) -> list[Field]:
    """One field per stage that has applications: the count and the companies."""
    fields: list[Field] = []
    for stage in STAGES:
        names = [a.company for a in apps if a.stage == stage]
        if not names:
            continue
        shown = ", ".join(names[:NAMES_PER_STAGE])
        if len(names) > NAMES_PER_STAGE:
            shown += f" and {len(names) - NAMES_PER_STAGE} more"
        fields.append(Field(f"{stage} ({len(names)})", clip(shown, 1900)))
    return fields


def home(session: Session, member: Member, now: datetime, content: Content) -> Reply:
    """The member's dashboard: board by stage, next dates, due drills, streak and points."""
    tz = ZoneInfo(member.settings.timezone)
    apps = applications(session, member.id)
    active = [a for a in apps if a.stage in ACTIVE_STAGES]

    upcoming: list[Upcoming] = []
    for a in active:
        for i in a.interviews:
            if i.at >= now:
                upcoming.append(Upcoming(i.at, f"{i.kind or 'interview'} with {a.company}"))
        if a.stage == "offer" and a.offer and a.offer.deadline and a.offer.deadline >= now:
            upcoming.append(Upcoming(a.offer.deadline, f"answer {a.company}'s offer"))
    upcoming.sort(key=lambda u: u.at)

    # Cards of drills an organizer has since removed from content can't be served: not due.
    due_ids = session.scalars(
        select(Card.drill_id).where(Card.member_id == member.id, Card.due_at <= now)
    ).all()
    due = sum(1 for d in due_ids if d in content.drills)
    # Has the member practised at all? Any card says so; no need to count them.
    practised = bool(due_ids) or (
        session.scalar(select(Card.id).where(Card.member_id == member.id).limit(1)) is not None
    )
    state = session.get(PracticeState, member.id)
    today = now.astimezone(tz).date()
    last = state.last_active_date if state else None
    skip = streak_skips(session, member.cohort_id, member.settings, last, today)
    streak = current_streak(state, today, member.settings.drill_days, skip)
    points = state.points if state else 0

    fields: list[Field] = []
    lines: list[str] = []
    if apps:
        board = _board(apps)
        fields.extend(board)
        lines.append(f"Pipeline: {len(active)} active of {plural(len(apps), 'application')}.")
        lines.extend(f"- {f.name}: {f.value}" for f in board)
    else:
        lines.append("Your pipeline is empty: add your first application to start the board.")
        fields.append(Field("Pipeline", "empty for now", inline=False))

    if upcoming:
        dates = "\n".join(f"{fmt_when(u.at, tz)}: {u.what}" for u in upcoming[:UPCOMING])
        if len(upcoming) > UPCOMING:
            dates += f"\n(and {len(upcoming) - UPCOMING} more: /pipeline list)"
    else:
        dates = "Nothing scheduled."
    fields.append(Field("Coming up", dates, inline=False))
    lines.append("Coming up:\n" + dates)

    if due:
        drills = f"{plural(due, 'drill')} due for review"
    elif practised:
        drills = "No reviews due: a new drill is ready"
    else:
        drills = "Your first drill is ready"
    practice = f"streak {plural(streak, 'day')}, {plural(points, 'point')}"
    # Say when the next daily DM comes: opening Home never sends one, so the member knows.
    at = next_drill_at(member.settings, now)
    daily = f"next {fmt_when(at, tz)}" if at else "paused"
    fields.extend(
        [
            Field("Drills", drills),
            Field("Daily drill", daily),
            Field("Streak", plural(streak, "day")),
            Field("Points", str(points)),
        ]
    )
    lines.append(f"Practice: {drills.lower()}; {practice}; daily drill {daily}.")
    # Organizers only: their cohort at a glance (Slack shows Home per user, so it may).
    for f in organizer_section(session, member, now, content):
        fields.append(f)
        lines.append(f"{f.name}: {f.value}")

    return Reply(
        "\n".join(lines),
        title=f"Hi {clip(member.display_name, 60)}",
        fields=tuple(fields),
        buttons=(
            Button("drill.next", "", "Start a drill", "primary"),
            Button("home.add", "", "Add an application"),
        ),
        footer=f"Only you can see this. Times in {tz.key}; change with /settings tz.",
    )


@action("home.show")
def home_show(ctx: Ctx, value: str) -> Reply:
    return home(ctx.session, ctx.member, ctx.now, ctx.content)


@action("home.add")
def home_add(ctx: Ctx, value: str) -> Reply:
    """Opens the add form where the platform has modals; the text says how to type it."""
    return Reply(
        "Which company? Fill in the form, or type /pipeline add <company> [role] "
        '[stage <stage>], e.g. /pipeline add Acme "ML Engineer".',
        title="Add an application",
        form=ADD_FORM,
    )
