"""Autocomplete: `company` options list the member's own companies; `drill` options, drill ids.

Autocomplete fires on every keystroke, so it only reads: an unknown user (or server) gets no
suggestions and no rows, unlike a command, which creates the member on first contact. The
member is found the way commands find them (guild = workspace, the Discord user id), so one
member's suggestions can never list another member's companies."""

from __future__ import annotations

import asyncio
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


def company_names(
    sessions: sessionmaker[Session], guild_id: int | None, user_id: str, typed: str
) -> list[str]:
    """The member's companies whose name starts with `typed` (any case), those still in play
    first; [] for someone the bot has never seen."""
    key = company_key(typed)
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
    found = [r for r in rows if r.company_key.startswith(key)]
    found.sort(key=lambda r: (r.stage not in ACTIVE_STAGES, r.company_key))
    return [r.company for r in found]


def company_completer(sessions: sessionmaker[Session]) -> Completer:
    async def complete(interaction: discord.Interaction[Any], current: str) -> list[str]:
        # The database is synchronous: keep the event loop free for other interactions.
        return await asyncio.to_thread(
            company_names, sessions, interaction.guild_id, str(interaction.user.id), current
        )

    return complete


def drill_completer(content: Content) -> Completer:
    """Drill ids for `/drill next drill:`, matched on the id and the prompt's words: content
    is in memory, so this answers well inside Discord's autocomplete window."""

    async def complete(_interaction: discord.Interaction[Any], current: str) -> list[str]:
        return drill_ids_like(content, current)

    return complete
