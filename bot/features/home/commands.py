"""The Slack App Home view: no commands, only its buttons."""

from __future__ import annotations

from bot.commandspec import Command

COMMANDS: tuple[Command, ...] = ()
