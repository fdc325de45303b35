"""/cohortbot: every command with one line, or the details of one command."""

from __future__ import annotations

from bot import commands
from bot.router import Ctx, command
from bot.types import Reply


def overview() -> Reply:
    lines = [f"/{c.name}: {c.help}" for c in commands.TREE]
    return Reply(
        "Here is what I can do:\n"
        + "\n".join(lines)
        + "\n\nType /cohortbot <command> for details.",
        title="Cohortbot",
    )


def details(cmd: commands.Command) -> Reply:
    text = [f"/{cmd.name}: {cmd.help}"]
    if cmd.subcommands:
        text.append(
            "\n".join(
                f"{commands.usage(f'{cmd.name} {s.name}')}: {s.help}" for s in cmd.subcommands
            )
        )
    else:
        text.append(f"Usage: {commands.usage(cmd.name)}")
    if cmd.details:
        text.append(cmd.details)
    examples = list(cmd.examples) + [e for s in cmd.subcommands for e in s.examples]
    if examples:
        text.append("Examples: " + ", ".join(examples[:6]))
    if cmd.admin:
        text.append("For organizers only.")
    return Reply("\n".join(text), title=f"/{cmd.name}")


@command("cohortbot")
def help_command(ctx: Ctx) -> Reply:
    name = ctx.arg("command").lstrip("/").lower()
    if not name:
        return overview()
    cmd = commands.find(name)
    if cmd is None:
        known = ", ".join(c.name for c in commands.TREE)
        return Reply(f"There is no command called /{name[:40]}. The commands are: {known}.")
    return details(cmd)
