"""`cohortbot discord sync`: sends the commands only when they changed, over real HTTP to
the local fake of Discord's API."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from bot import commands
from tests.discord_fake import APP_ID, FakeDiscord

# On Discord, organizer sub-commands of /cohort are their own command, /cohort-admin.
# Slash commands, and the message shortcuts as context-menu commands.
MENUS = {s.label for s in commands.SHORTCUTS if s.on == "message"}
NAMES = {c.name for c in commands.TREE} | {"cohort-admin"} | MENUS


def _run(*args: str, env: dict[str, str]) -> str:
    result = CliRunner().invoke(discord_app, ["sync", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_sync_skips_when_unchanged(fake: FakeDiscord, tmp_path: Path) -> None:
    state = tmp_path / "sync.json"
    env = {"DISCORD_TOKEN": "t", "COHORTBOT_DISCORD_SYNC_STATE": str(state)}
    out = _run(env=env)
    assert f"Synced {len(NAMES)} commands (global)" in out
    [put] = fake.matching("PUT", rf"^/applications/{APP_ID}/commands$")
    assert sorted(c["name"] for c in put.json) == sorted(NAMES)

    out = _run(env=env)
    assert "unchanged" in out
    assert len(fake.matching("PUT", r"/commands$")) == 1  # nothing sent the second time

    _run("--force", env=env)
    assert len(fake.matching("PUT", r"/commands$")) == 2


def test_sync_to_a_development_guild(fake: FakeDiscord, tmp_path: Path) -> None:
    env = {
        "DISCORD_TOKEN": "t",
        "DISCORD_GUILD_ID": "4321",
        "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json"),
    }
    assert "(guild 4321)" in _run(env=env)
    [put] = fake.matching("PUT", rf"^/applications/{APP_ID}/guilds/4321/commands$")
    assert {c["name"] for c in put.json} == NAMES
    assert "unchanged" in _run(env=env)
    assert not fake.matching("PUT", rf"^/applications/{APP_ID}/commands$")


def test_sync_needs_a_token(fake: FakeDiscord, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        discord_app, ["sync", "--state-file", str(tmp_path / "s")], env={"DISCORD_TOKEN": ""}
    )
    assert result.exit_code == 2
    assert "DISCORD_TOKEN" in result.output
    assert fake.requests == []
