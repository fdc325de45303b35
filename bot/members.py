"""Finding (or, on first contact, creating) the workspace and member behind a platform user."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db.models import Cohort, Member, MemberSettings, Workspace
from bot.types import User


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
    ws = get_workspace(session, user.platform, user.workspace_id, now)
    member = session.scalar(
        select(Member).where(Member.workspace_id == ws.id, Member.platform_user_id == user.user_id)
    )
    if member is None:
        cohort = session.scalar(
            select(Cohort).where(Cohort.workspace_id == ws.id).order_by(Cohort.id).limit(1)
        )
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
        )
        session.add(member)
        session.flush()
        return member
    member.last_active_at = now
    if user.display_name and member.display_name != user.display_name[:100]:
        member.display_name = user.display_name[:100]
    if user.is_admin and not member.is_admin:
        member.is_admin = True
    if not member.settings.timezone_set and (zone := _valid_zone(user.timezone)):
        member.settings.timezone = zone
    return member
