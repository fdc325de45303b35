"""Issue 17, `cohortbot discord sync` says what it will change before changing it, warns about
commands a server would show twice, and `--clear` removes a scope's commands. Over real HTTP to
the fake, which keeps what was registered as Discord does."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from tests.discord_fake import APP_ID, FakeDiscord

GLOBAL = rf"^/applications/{APP_ID}/commands$"


def _run(tmp_path: Path, *args: str) -> str:
    env = {"DISCORD_TOKEN": "t", "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json")}
    result = CliRunner().invoke(discord_app, ["sync", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_sync_shows_the_plan_first_and_a_dry_run_sends_nothing(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    out = _run(tmp_path, "--dry-run")
    assert "+ drill" in out and "+ cohort-admin" in out and "Dry run (global)" in out
    assert not fake.matching("PUT", GLOBAL)

    out = _run(tmp_path)
    lines = out.splitlines()
    assert lines.index("+ drill") < lines.index(next(x for x in lines if x.startswith("Synced")))
    assert len(fake.matching("PUT", GLOBAL)) == 1

    # Someone registered an old command and changed one by hand: the next sync says so.
    with fake.lock:
        registered = fake.commands["global"]
        registered.append({**registered[0], "name": "oldcmd", "id": "1"})
        drill = next(c for c in registered if c["name"] == "drill")
        drill["description"] = "edited in the portal"
    out = _run(tmp_path, "--force", "--dry-run")
    assert "- oldcmd" in out and "~ drill" in out and "+ " not in out
    assert len(fake.matching("PUT", GLOBAL)) == 1
    out = _run(tmp_path, "--force")
    assert "- oldcmd" in out and "Synced" in out
    assert "oldcmd" not in {c["name"] for c in fake.commands["global"]}


def test_guild_sync_warns_about_global_twins_and_clear_removes_them(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    _run(tmp_path)  # global
    out = _run(tmp_path, "--guild", "4321")
    assert "also registered globally" in out and "--clear" in out
    assert fake.commands["4321"]  # synced anyway: the warning says how to fix it

    out = _run(tmp_path, "--clear")
    assert "- drill" in out and "Removed" in out
    [*_, last] = fake.matching("PUT", GLOBAL)
    assert last.json == []
    assert fake.commands["global"] == []
    out = _run(tmp_path, "--guild", "4321", "--force")
    assert "also registered globally" not in out
