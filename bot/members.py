"""Finding (or, on first contact, creating) the workspace and member behind a platform user."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from bot.cohorts import local_at, sole_cohort
from bot.config import Settings
from bot.db.models import Member, MemberSettings, Workspace
from bot.types import DM, Ephemeral, Outbound, Reply, User

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def get_workspace(session: Session, platform: str, external_id: str, now: datetime) -> Workspace:
    ws = session.scalar(
        select(Workspace).where(
            Workspace.platform == platform, Workspace.external_id == external_id
        )
    )
    if ws is None:
        ws = Workspace(platform=platform, external_id=external_id, created_at=now)
        session.add(ws)
        session.flush()
    return ws


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def get_member(session: Session, user: User, settings: Settings, now: datetime) -> Member:
    return find_member(session, user, settings, now)[0]


def find_member(
    session: Session, user: User, settings: Settings, now: datetime
) -> tuple[Member, bool]:
    """The member behind `user`, and whether they were created just now (first contact)."""
    ws = get_workspace(session, user.platform, user.workspace_id, now)
    member = session.scalar(
        select(Member).where(Member.workspace_id == ws.id, Member.platform_user_id == user.user_id)
    )
    if member is None:
        cohort = sole_cohort(session, ws.id)  # of several: the channel's, placed by the router
        zone = _valid_zone(user.timezone) or (cohort.timezone if cohort else None)
        member = Member(
            workspace_id=ws.id,
            cohort_id=cohort.id if cohort else None,
            platform_user_id=user.user_id,
            display_name=user.display_name[:100],
            is_admin=user.is_admin,
            created_at=now,
            last_active_at=now,
        )
        member.settings = MemberSettings(
            timezone=zone or settings.default_timezone,
            timezone_set=False,
            drill_time=settings.default_drill_time,
            drill_days="mon,tue,wed,thu,fri",
            tracks="",
            paused=False,
            public=False,
            updated_at=now,
            # The first daily drill is the next one due from now, not today's if its time
            # has passed: joining at 21:00 must not bring "good morning" at 21:05.
            daily_from=now,
        )
        session.add(member)
        session.flush()
        return member, True
    member.last_active_at = now
    if user.display_name and member.display_name != user.display_name[:100]:
        member.display_name = user.display_name[:100]
    if user.admin_checked and member.is_admin != user.is_admin:
        member.is_admin = user.is_admin  # demoted (or promoted) on the platform just now
    elif user.is_admin and not member.is_admin:
        member.is_admin = True
    _follow_zone(member, user, now)
    return member, False


def _follow_zone(member: Member, user: User, now: datetime) -> bool:
    """A member who never chose a zone follows the platform's; True when it moved."""
    if (
        not member.settings.timezone_set
        and (zone := _valid_zone(user.timezone))
        and zone != member.settings.timezone
    ):
        member.settings.timezone = zone
        # A new zone moves the drill time: start from the next one, not a missed one.
        member.settings.daily_from = now
        return True
    return False


def platform_zone_changed(session: Session, user: User, now: datetime) -> bool:
    """The platform says `user`'s zone changed (Slack's user_change): an existing member who
    never set one follows it now, not at their next command; nobody new is created."""
    member = session.scalar(
        select(Member)
        .join(Workspace, Member.workspace_id == Workspace.id)
        .where(
            Workspace.platform == user.platform,
            Workspace.external_id == user.workspace_id,
            Member.platform_user_id == user.user_id,
        )
    )
    return member is not None and _follow_zone(member, user, now)


def next_drill_at(s: MemberSettings, now: datetime) -> datetime | None:
    """When the next daily drill DM is due (UTC), or None while paused without an end date.
    Cohort off days are not looked up: this is for a one-line promise, not the scheduler."""
    tz = ZoneInfo(s.timezone)
    days = set(s.drill_days.split(","))
    today = now.astimezone(tz).date()
    start = max(now, s.daily_from) if s.daily_from else now
    for i in range(15):
        day = today + timedelta(days=i)
        if DAY_KEYS[day.weekday()] not in days:
            continue
        if s.paused and (s.paused_until is None or day <= s.paused_until):
            if s.paused_until is None:
                return None
            continue
        at = local_at(day, s.drill_time, tz)
        if at >= start:
            return at
    return None


def welcome(s: MemberSettings, now: datetime) -> str:
    """What a new member is told on first contact: when their first drill comes, and how to
    move it, so that the first DM is expected."""
    at = next_drill_at(s, now)
    if at is None:
        when = "Your daily drills are paused for now (/settings resume starts them)."
    else:
        local = at.astimezone(ZoneInfo(s.timezone))
        when = (
            f"Your first daily drill comes {local:%a} {local.day} {local:%b} at {local:%H:%M} "
            f"your time ({s.timezone})."
        )
    return f"Welcome! {when} Change it with /settings drill-time, /settings tz, /settings days."


def welcomed(
    result: Reply | list[Outbound] | None, member: Member, user: User, now: datetime
) -> Reply | list[Outbound] | None:
    """The reply to a member's very first interaction, with the welcome after it: the answer
    to what they asked comes first."""
    if inspect(member).deleted or inspect(member).detached:
        return result  # the handler removed the member again: nobody to welcome
    text = welcome(member.settings, now)
    if result is None:
        return Reply(text)
    if isinstance(result, Reply):
        return replace(result, text=f"{result.text}\n\n{text}")
    for i, o in enumerate(result):
        t = o.target
        if isinstance(t, DM | Ephemeral) and t.user.user_id == user.user_id:
            result = list(result)
            result[i] = replace(o, reply=replace(o.reply, text=f"{o.reply.text}\n\n{text}"))
            break
    return result
