"""An app_commands.CommandTree generated from bot.commands.TREE: never a hand-kept list.

Each top-level command with sub-commands becomes a Group; each leaf gets a callback whose
signature is built from its Options, so Discord shows typed options, choices and autocomplete.
Every callback ends in the same place: `on_command(interaction, command, options)` with
`options = {"sub": ..., **values}`, which is what Router.handle takes as structured input."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot import commands
from bot.commands import Command, Option

NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICES_MAX = 25
OPTIONS_MAX = 25
SUBCOMMANDS_MAX = 25
COMMANDS_MAX = 100

OnCommand = Callable[[discord.Interaction[Any], str, dict[str, str]], Awaitable[None]]
# A completer gets the interaction and what the member typed so far; returns suggestions.
Completer = Callable[[discord.Interaction[Any], str], Awaitable[list[str]]]

_TYPES: dict[str, type] = {"word": str, "text": str, "choice": str, "int": int}


# Discord's own ceiling for a string option's max_length.
STRING_OPTION_MAX = 6000


def _annotation(opt: Option) -> Any:
    """The option's Python type; a string with its own limit (a long answer) tells Discord, so
    the client stops the member at the limit with the text still in the box, instead of the
    core refusing it after it is sent."""
    if opt.max_length and _TYPES[opt.type] is str:
        return app_commands.Range[str, None, min(opt.max_length, STRING_OPTION_MAX)]
    return _TYPES[opt.type]


def _desc(text: str) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def _name(name: str) -> str:
    out = name.strip().lower().replace(" ", "-")
    if not re.fullmatch(r"[-_\w]{1,32}", out):
        raise ValueError(f"{name!r} cannot be a Discord command or option name")
    return out


def _param(opt: Option, index: int) -> str:
    """A Python identifier for the option; the Discord-facing name comes from rename()."""
    return f"o{index}_" + re.sub(r"\W", "_", opt.name)


def _choices_completer(values: tuple[str, ...]) -> Completer:
    async def complete(_interaction: discord.Interaction[Any], current: str) -> list[str]:
        low = current.lower()
        return [v for v in values if low in v.lower()]

    return complete


def _wrap_completer(fn: Completer) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        found = await fn(interaction, current or "")
        return [app_commands.Choice(name=v[:100], value=v[:100]) for v in found[:CHOICES_MAX]]

    return autocomplete


def leaf_command(
    top: Command,
    leaf: Command,
    on_command: OnCommand,
    completers: Mapping[str, Completer],
) -> app_commands.Command[Any, ..., Any]:
    if len(leaf.options) > OPTIONS_MAX:
        raise ValueError(f"/{top.name} {leaf.name}: more than {OPTIONS_MAX} options")
    sub = leaf.name if leaf is not top else None
    names = {_param(o, i): o for i, o in enumerate(leaf.options)}

    async def callback(interaction: discord.Interaction[Any], **kwargs: Any) -> None:
        values: dict[str, str] = {"sub": sub} if sub else {}
        for py, value in kwargs.items():
            if value is not None:
                values[names[py].name] = str(getattr(value, "value", value))
        await on_command(interaction, top.name, values)

    # Required options first: Discord refuses an optional option before a required one.
    ordered = sorted(names.items(), key=lambda kv: not kv[1].required)
    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for py, opt in ordered:
        params.append(
            inspect.Parameter(
                py,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(opt),
                default=inspect.Parameter.empty if opt.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = re.sub(r"\W", "_", f"{top.name}_{leaf.name}")

    fn: Any = callback
    if names:
        fn = app_commands.rename(**{py: _name(o.name) for py, o in names.items()})(fn)
        fn = app_commands.describe(**{py: _desc(o.help) for py, o in names.items()})(fn)
    fixed = {
        py: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for py, o in names.items()
        if o.type == "choice" and 0 < len(o.choices) <= CHOICES_MAX
    }
    if fixed:
        fn = app_commands.choices(**fixed)(fn)
    auto: dict[str, Any] = {}
    for py, o in names.items():
        if o.type == "choice" and len(o.choices) > CHOICES_MAX:
            auto[py] = _wrap_completer(_choices_completer(o.choices))
        elif o.autocomplete and py not in fixed:
            kind = o.autocomplete

            async def complete(
                interaction: discord.Interaction[Any], current: str, _kind: str = kind
            ) -> list[str]:
                found = completers.get(_kind)
                return await found(interaction, current) if found else []

            auto[py] = _wrap_completer(complete)
    if auto:
        fn = app_commands.autocomplete(**auto)(fn)

    return app_commands.Command(
        name=_name(leaf.name),
        description=_desc(leaf.help),
        callback=fn,
    )


def _admin_permissions(cmd: Command) -> discord.Permissions | None:
    """Hide organizer-only commands from members by default; the core checks again anyway."""
    leaves = cmd.subcommands or (cmd,)
    if all(c.admin for c in leaves) or cmd.admin:
        return discord.Permissions(manage_guild=True)
    return None


def to_app_command(
    cmd: Command, on_command: OnCommand, completers: Mapping[str, Completer]
) -> app_commands.Command[Any, ..., Any] | app_commands.Group:
    perms = _admin_permissions(cmd)
    if not cmd.subcommands:
        out = leaf_command(cmd, cmd, on_command, completers)
        if perms is not None:
            out.default_permissions = perms
        return out
    if len(cmd.subcommands) > SUBCOMMANDS_MAX:
        raise ValueError(f"/{cmd.name}: more than {SUBCOMMANDS_MAX} sub-commands")
    group = app_commands.Group(
        name=_name(cmd.name), description=_desc(cmd.help), default_permissions=perms
    )
    for sub in cmd.subcommands:
        group.add_command(leaf_command(cmd, sub, on_command, completers))
    return group


def populate(
    tree: app_commands.CommandTree[Any],
    on_command: OnCommand,
    completers: Mapping[str, Completer] | None = None,
    source: tuple[Command, ...] | None = None,
) -> None:
    """Add every command of the core's tree (or `source`) to `tree`, replacing what was there."""
    cmds = commands.TREE if source is None else source
    if len(cmds) > COMMANDS_MAX:
        raise ValueError(f"{len(cmds)} top-level commands; Discord allows {COMMANDS_MAX}")
    tree.clear_commands(guild=None)
    for cmd in cmds:
        tree.add_command(to_app_command(cmd, on_command, completers or {}))


def payload(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    """What `tree.sync()` would send for the global commands, in a stable order."""
    cmds = tree.get_commands(guild=None)
    return sorted((c.to_dict(tree) for c in cmds), key=lambda d: d["name"])
