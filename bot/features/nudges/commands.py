"""Pipeline nudges: scheduled, no commands of their own (their buttons live beside each rule)."""

from __future__ import annotations

from bot.commandspec import Command

COMMANDS: tuple[Command, ...] = ()
