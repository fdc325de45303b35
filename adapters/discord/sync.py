"""Deliberate command sync: Discord caps command creation per day, so we send the command
payload only when it changed since the last successful sync (a hash kept in a small file).
Before sending, it reads what Discord has and says what will change (added, changed, removed);
a sync to one server warns about global twins (Discord shows a command registered both
globally and on the server twice there); `clear` removes a scope's commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from adapters.discord.tree import populate


@dataclass(frozen=True)
class SyncResult:
    synced: bool
    scope: str  # "global" or "guild 123"
    count: int
    digest: str
    plan: list[str] = field(default_factory=list)  # "+ name", "~ name", "- name"
    twins: list[str] = field(default_factory=list)  # on the server and global as well


def plan_of(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[str]:
    """What sending `ours` changes on Discord, which has `theirs`, one line per command."""
    have = {str(c["name"]): c for c in theirs}
    want = {str(c["name"]): c for c in ours}
    out = [f"+ {n}" for n in sorted(want) if n not in have]
    out += [
        f"~ {n}"
        for n in sorted(want)
        if n in have and any(_norm(want[n].get(k)) != _norm(have[n].get(k)) for k in want[n])
    ]
    out += [f"- {n}" for n in sorted(have) if n not in want]
    return out


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


async def _registered(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None
) -> list[dict[str, Any]]:
    route = (
        tree.client.http.get_guild_commands(tree.client.application_id or 0, guild.id)
        if guild is not None
        else tree.client.http.get_global_commands(tree.client.application_id or 0)
    )
    return list(await route)


async def _never(interaction: discord.Interaction[Any], command: str, opts: dict[str, str]) -> None:
    raise RuntimeError("the sync client does not serve commands")


async def _never_message(
    interaction: discord.Interaction[Any], shortcut: str, message: discord.Message
) -> None:
    raise RuntimeError("the sync client does not serve commands")


def command_payload(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None
) -> list[dict[str, Any]]:
    cmds = tree.get_commands(guild=guild)
    return sorted((c.to_dict(tree) for c in cmds), key=lambda d: str(d["name"]))


def digest_of(payload: list[dict[str, Any]]) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def sync_commands(
    token: str,
    guild_id: int | None,
    state_file: Path,
    *,
    force: bool = False,
    max_length: int | None = None,
    clear: bool = False,
    dry_run: bool = False,
    show: Callable[[str], None] = lambda _line: None,
) -> SyncResult:
    """Sync (or with `clear`, remove) the commands of one scope. `show` hears the plan before
    anything is sent; `dry_run` stops there."""
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    populate(tree, _never, max_length=max_length, on_message=_never_message)
    guild = discord.Object(guild_id) if guild_id else None
    if guild is not None:
        # A development server gets the global commands at once (global ones take up to an hour).
        tree.copy_global_to(guild=guild)
    if clear:
        tree.clear_commands(guild=guild)
    payload = command_payload(tree, guild)
    digest = digest_of(payload)
    scope = f"guild {guild_id}" if guild_id else "global"
    async with client:
        await client.login(token)
        key = f"{client.application_id}:{scope}"
        state = _load(state_file)
        twins: list[str] = []
        if guild is not None and not clear:
            globals_ = {str(c["name"]) for c in await _registered(tree, None)}
            twins = sorted(globals_ & {str(c["name"]) for c in payload})
            if twins:
                show(
                    f"Warning: {len(twins)} of these commands are also registered globally, so "
                    f"this server will show them twice ({', '.join(twins[:5])}"
                    f"{', ...' if len(twins) > 5 else ''}). Remove the global ones with "
                    "`cohortbot discord sync --clear`, or sync globally only."
                )
        if not force and not clear and state.get(key) == digest:
            return SyncResult(False, scope, len(payload), digest, [], twins)
        plan = plan_of(payload, await _registered(tree, guild))
        for line in plan or ["(no change on Discord's side)"]:
            show(line)
        if dry_run or (not plan and not force):
            if not plan and not dry_run:
                state[key] = digest  # Discord already has exactly this
                _save(state_file, state)
            return SyncResult(False, scope, len(payload), digest, plan, twins)
        await tree.sync(guild=guild)
    if clear:
        state.pop(key, None)
    else:
        state[key] = digest
    _save(state_file, state)
    return SyncResult(True, scope, len(payload), digest, plan, twins)


def _save(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
