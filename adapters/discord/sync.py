"""Deliberate command sync: Discord caps command creation per day, so we send the command
payload only when it changed since the last successful sync (a hash kept in a small file)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


async def _never(interaction: discord.Interaction[Any], command: str, opts: dict[str, str]) -> None:
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
) -> SyncResult:
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    populate(tree, _never, max_length=max_length)
    guild = discord.Object(guild_id) if guild_id else None
    if guild is not None:
        # A development server gets the global commands at once (global ones take up to an hour).
        tree.copy_global_to(guild=guild)
    payload = command_payload(tree, guild)
    digest = digest_of(payload)
    scope = f"guild {guild_id}" if guild_id else "global"
    async with client:
        await client.login(token)
        key = f"{client.application_id}:{scope}"
        state = _load(state_file)
        if not force and state.get(key) == digest:
            return SyncResult(False, scope, len(payload), digest)
        await tree.sync(guild=guild)
    state[key] = digest
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    return SyncResult(True, scope, len(payload), digest)
