"""Autocomplete: `company` options list the member's own companies; `drill` options, drill ids.

Autocomplete fires on every keystroke, so it only reads: an unknown user (or server) gets no
suggestions and no rows, unlike a command, which creates the member on first contact. The
member is found the way commands find them (guild = workspace, the Discord user id), so one
member's suggestions can never list another member's companies."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import discord
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.discord.tree import Completer
from bot.content import Content
from bot.db.models import Member, Workspace
from bot.db.pipeline_models import Application
from bot.features.drills.handlers import drill_ids_like
from bot.features.pipeline.queries import ACTIVE_STAGES, company_key

PLATFORM = "discord"


def _member_id(session: Session, guild_id: int | None, user_id: str) -> int | None:
    query = (
        select(Member.id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Workspace.platform == PLATFORM, Member.platform_user_id == user_id)
    )
    if guild_id is not None:
        query = query.where(Workspace.external_id == str(guild_id))
    else:
        # In a DM the member's cohort is the server they were last active in (as for commands).
        query = query.order_by(Member.last_active_at.desc()).limit(1)
    return session.scalar(query)


# Discord takes an autocomplete answer within 3 s of the keystroke; this leaves room for the
# answer's own trip.
COMPLETE_BUDGET = 2.0
REMEMBERED = 10_000  # members whose last company list is kept (a few hundred bytes each)

Row = tuple[str, str, str]  # company, stage, company_key


def company_rows(sessions: sessionmaker[Session], guild_id: int | None, user_id: str) -> list[Row]:
    with sessions() as session:
        mid = _member_id(session, guild_id, user_id)
        if mid is None:
            return []
        # Three columns, not whole applications with their history: this runs per keystroke.
        rows = session.execute(
            select(Application.company, Application.stage, Application.company_key).where(
                Application.member_id == mid
            )
        ).all()
    return [(r.company, r.stage, r.company_key) for r in rows]


def matching(rows: list[Row], typed: str) -> list[str]:
    """The companies whose name starts with `typed` (any case), those still in play first."""
    key = company_key(typed)
    found = [r for r in rows if r[2].startswith(key)]
    found.sort(key=lambda r: (r[1] not in ACTIVE_STAGES, r[2]))
    return [r[0] for r in found]


def company_names(
    sessions: sessionmaker[Session], guild_id: int | None, user_id: str, typed: str
) -> list[str]:
    """The member's companies matching `typed`; [] for someone the bot has never seen."""
    return matching(company_rows(sessions, guild_id, user_id), typed)


def company_completer(
    sessions: sessionmaker[Session], budget: float = COMPLETE_BUDGET
) -> Completer:
    """Answers within `budget` whatever the database does: when the read is late, from the
    member's companies as last read (the late read still lands, for the next keystroke), or
    nothing; an answer Discord would refuse (10062) helps no one."""
    last: OrderedDict[tuple[int | None, str], list[Row]] = OrderedDict()

    def read(key: tuple[int | None, str]) -> list[Row]:
        rows = company_rows(sessions, *key)
        last[key] = rows
        last.move_to_end(key)
        while len(last) > REMEMBERED:
            last.popitem(last=False)
        return rows

    async def complete(interaction: discord.Interaction[Any], current: str) -> list[str]:
        # Where a member uses their own install outside the cohort's server, their home one.
        guild = interaction.guild_id if interaction.is_guild_integration() else None
        key = (guild, str(interaction.user.id))
        # The database is synchronous: keep the event loop free for other interactions.
        task = asyncio.ensure_future(asyncio.to_thread(read, key))
        task.add_done_callback(_consumed)
        try:
            rows = await asyncio.wait_for(asyncio.shield(task), budget)
        except TimeoutError:
            rows = last.get(key, [])
        return matching(rows, current)

    return complete


def _consumed(task: asyncio.Future[Any]) -> None:
    """A late read's error is logged where it happened; no "never retrieved" warning."""
    if not task.cancelled():
        task.exception()


def drill_completer(content: Content) -> Completer:
    """Drill ids for `/drill next drill:`, matched on the id and the prompt's words: content
    is in memory, so this answers well inside Discord's autocomplete window."""

    async def complete(_interaction: discord.Interaction[Any], current: str) -> list[str]:
        return drill_ids_like(content, current)

    return complete
