"""Discord adapter (discord.py): app commands from the core's tree, Embeds + persistent Views."""

from adapters.discord.adapter import CohortClient, DiscordAdapter
from adapters.discord.runner import DiscordRunner, start_discord

__all__ = ["CohortClient", "DiscordAdapter", "DiscordRunner", "start_discord"]
