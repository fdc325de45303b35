"""The Slack app manifest, generated from the command tree: creating the app is a paste."""

from __future__ import annotations

import json
from typing import Any

import yaml

from bot import commands

# Least privilege: slash commands, posting where invited, opening DMs, reading a member's
# zone (users.info), uploading exports, calendars and charts, and reading what a member
# writes in the bot's own DM (im:history, for message.im: commands typed without a slash),
# and a group DM with each mock pair (mpim:write: conversations.open with their users;
# mpim:history: after a post whose answer was lost, the room's history says whether it went
# out, so that it is neither lost nor sent twice).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "files:write",
    "mpim:write",
    "mpim:history",
)
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked", "message.im", "user_change")

NAME = "Cohortbot"
DESCRIPTION = "Interview drills, a private job-hunt pipeline with nudges, and a cohort board."
COMMAND_DESCRIPTION_LIMIT = 100
USAGE_HINT_LIMIT = 1000
PLACEHOLDER_URL = "https://your-cohortbot-host.example"


def _usage_hint(cmd: commands.Command) -> str:
    if cmd.subcommands:
        hint = f"[{' | '.join(s.name for s in cmd.subcommands)}] ..."
    else:
        hint = commands.usage(cmd.name).removeprefix(f"/{cmd.name}").strip()
    return hint[:USAGE_HINT_LIMIT]


def slash_commands(events_url: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cmd in commands.TREE:
        help_text = cmd.help
        if len(help_text) > COMMAND_DESCRIPTION_LIMIT:
            help_text = help_text[: COMMAND_DESCRIPTION_LIMIT - 1] + "…"
        entry: dict[str, Any] = {
            "command": f"/{cmd.name}",
            "description": help_text,
            "should_escape": False,
        }
        if events_url:
            entry["url"] = events_url
        if hint := _usage_hint(cmd):
            entry["usage_hint"] = hint
        out.append(entry)
    return out


SHORTCUT_NAME_LIMIT = 24
SHORTCUT_DESCRIPTION_LIMIT = 150


def shortcuts() -> list[dict[str, Any]]:
    """The core's shortcuts: a message's menu ("message") and the composer's ("global"). They
    need only the `commands` scope and interactivity, which the slash commands have already."""
    out: list[dict[str, Any]] = []
    for s in commands.SHORTCUTS:
        if len(s.label) > SHORTCUT_NAME_LIMIT:
            raise ValueError(f"shortcut name {s.label!r} is longer than Slack allows")
        out.append(
            {
                "name": s.label,
                "type": s.on,
                "callback_id": s.name,
                "description": s.help[:SHORTCUT_DESCRIPTION_LIMIT],
            }
        )
    return out


def manifest(base_url: str | None = None, *, socket_mode: bool = False) -> dict[str, Any]:
    """`base_url` is where `cohortbot serve` is reachable (https://bot.example.org); Socket
    Mode needs no public URL at all. Without either, a placeholder host marks what to edit."""
    if not socket_mode:
        base_url = base_url or PLACEHOLDER_URL
    events_url = None if socket_mode or not base_url else base_url.rstrip("/") + "/slack/events"
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": False,
    }
    if events_url:
        settings["event_subscriptions"]["request_url"] = events_url
        settings["interactivity"]["request_url"] = events_url
    oauth: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if base_url and not socket_mode:
        oauth["redirect_urls"] = [base_url.rstrip("/") + "/slack/oauth_redirect"]
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": NAME, "description": DESCRIPTION},
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": NAME, "always_online": True},
            "shortcuts": shortcuts(),
            "slash_commands": slash_commands(events_url),
        },
        "oauth_config": oauth,
        "settings": settings,
    }


def render_manifest(data: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    dumped: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return dumped
