"""The organizer's view: its commands are sub-commands of /cohort (in cohort/commands.py)."""

from __future__ import annotations

from bot.commandspec import Command

COMMANDS: tuple[Command, ...] = ()
