"""The help command: every command, or the details of one."""

from __future__ import annotations

from bot.commandspec import Command, option

COMMANDS: tuple[Command, ...] = (
    Command(
        "cohortbot",
        "Help: every command, or the details of one",
        options=(option("command", "a command to explain", required=False),),
        examples=("/cohortbot", "/cohortbot settings"),
    ),
)
