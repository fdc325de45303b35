"""One chaos-test replica: `cohortbot serve`, started through the same CLI entry point.

The only addition: `cohortbot serve` has no setting for Discord's API base URL (Slack has
SLACK_API_BASE_URL), nor for its gateway, so CHAOS_DISCORD_API and CHAOS_DISCORD_GATEWAY point
discord.py's REST base and its default gateway at the fakes before the CLI runs.

    python -m tests.chaos.replica --port 3101
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    api = os.environ.get("CHAOS_DISCORD_API")
    if api:
        import discord.http

        discord.http.Route.BASE = api
    gateway = os.environ.get("CHAOS_DISCORD_GATEWAY")
    if gateway:
        import discord.gateway
        import yarl

        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    from cohortbot.cli import main as cli

    sys.argv = ["cohortbot", "serve", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
