"""`cohortbot slack-manifest`: valid YAML/JSON, generated from the whole command tree."""

from __future__ import annotations

import json
import re

import yaml
from typer.testing import CliRunner

from adapters.slack.manifest import BOT_SCOPES, manifest
from bot import commands
from cohortbot.cli import app

runner = CliRunner()


def _check(data: dict) -> None:
    """The constraints Slack's manifest validator enforces on what we generate."""
    assert data["_metadata"]["major_version"] == 1
    assert 1 <= len(data["display_information"]["name"]) <= 35
    assert len(data["display_information"]["description"]) <= 140
    assert len(data["features"]["bot_user"]["display_name"]) <= 80
    cmds = data["features"]["slash_commands"]
    assert len(cmds) <= 50
    for c in cmds:
        assert re.fullmatch(r"/[a-z0-9_-]{1,31}", c["command"]), c["command"]
        assert 1 <= len(c["description"]) <= 100
        assert len(c.get("usage_hint", "")) <= 1000
        assert c["should_escape"] is False
    assert len({c["command"] for c in cmds}) == len(cmds)
    scopes = data["oauth_config"]["scopes"]["bot"]
    assert len(set(scopes)) == len(scopes)
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert "app_home_opened" in data["settings"]["event_subscriptions"]["bot_events"]


def test_cli_yaml_lists_every_command_in_the_tree() -> None:
    result = runner.invoke(app, ["slack-manifest", "--url", "https://bot.example.org/"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    _check(data)
    listed = [c["command"] for c in data["features"]["slash_commands"]]
    assert listed == [f"/{c.name}" for c in commands.TREE]
    url = "https://bot.example.org/slack/events"
    assert {c["url"] for c in data["features"]["slash_commands"]} == {url}
    assert data["settings"]["interactivity"]["request_url"] == url
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    assert data["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]


def test_cli_json_socket_mode_needs_no_url() -> None:
    result = runner.invoke(app, ["slack-manifest", "--socket-mode", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    _check(data)
    assert data["settings"]["socket_mode_enabled"] is True
    assert all("url" not in c for c in data["features"]["slash_commands"])
    assert "request_url" not in data["settings"]["interactivity"]


def test_bad_format_is_refused() -> None:
    result = runner.invoke(app, ["slack-manifest", "--format", "xml"])
    assert result.exit_code == 2


def test_usage_hints_come_from_the_tree() -> None:
    data = manifest("https://x.example")
    hints = {c["command"]: c.get("usage_hint", "") for c in data["features"]["slash_commands"]}
    settings = commands.find("settings")
    assert settings is not None
    for sub in settings.subcommands:
        assert sub.name in hints["/settings"]


def test_least_scopes() -> None:
    # Each scope is used by a call the adapter makes; of history, only the bot's own DMs
    # (message.im: a member typing a command there) and the pairs' group DMs (whether an
    # uncertain post went out), never channels'.
    assert set(BOT_SCOPES) == {
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "users:read",
        "files:write",
        "mpim:write",
        "mpim:history",
    }
    assert [s for s in BOT_SCOPES if "history" in s] == ["im:history", "mpim:history"]
    assert not any(s.endswith(":read.email") for s in BOT_SCOPES)
