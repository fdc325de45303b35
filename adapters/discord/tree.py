"""An app_commands.CommandTree generated from bot.commands.TREE: never a hand-kept list.

Each top-level command with sub-commands becomes a Group; each leaf gets a callback whose
signature is built from its Options, so Discord shows typed options, choices and autocomplete.
Every callback ends in the same place: `on_command(interaction, command, options)` with
`options = {"sub": ..., **values}`, which is what Router.handle takes as structured input.

Where it is installed and used: a member's own commands (drills, pipeline, letters, offers,
settings, help) can be installed by the member themselves and used in the bot's DM, in group
DMs and in any server; the cohort's commands live only where the cohort's server installed the
app. Discord sets default_member_permissions per top-level command, so a command mixing
organizer and member sub-commands (`/cohort`) is split on Discord: the organizer ones become
`/cohort-admin ...` (Manage Server by default, which a server can re-grant per role), the member
ones stay under `/cohort`. The core still sees "cohort" with its sub-command either way."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot import commands
from bot.commands import Command, Option, Shortcut

NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICES_MAX = 25
OPTIONS_MAX = 25
SUBCOMMANDS_MAX = 25
COMMANDS_MAX = 100

# Top-level commands that only mean something inside a cohort's server.
COHORT_COMMANDS = frozenset({"cohort", "leaderboard", "mock"})
ADMIN_SUFFIX = "-admin"
MANAGE_SERVER = discord.Permissions(manage_guild=True)
PERSONAL_INSTALLS = app_commands.AppInstallationType(guild=True, user=True)
PERSONAL_CONTEXTS = app_commands.AppCommandContext(
    guild=True, dm_channel=True, private_channel=True
)
COHORT_INSTALLS = app_commands.AppInstallationType(guild=True, user=False)
COHORT_CONTEXTS = app_commands.AppCommandContext(
    guild=True, dm_channel=False, private_channel=False
)

OnCommand = Callable[[discord.Interaction[Any], str, dict[str, str]], Awaitable[None]]
# A message's context menu: the interaction, the core's shortcut name, the message it was on.
OnMessage = Callable[[discord.Interaction[Any], str, discord.Message], Awaitable[None]]
MESSAGE_MENUS_MAX = 5  # Discord's limit on message context-menu commands per scope
# A completer gets the interaction and what the member typed so far; returns suggestions.
Completer = Callable[[discord.Interaction[Any], str], Awaitable[list[str]]]

_TYPES: dict[str, type] = {"word": str, "text": str, "choice": str, "int": int}


# Discord's own ceiling for a string option's max_length.
STRING_OPTION_MAX = 6000


def _modern(base: dict[str, Any]) -> dict[str, Any]:
    """`contexts` replaces the deprecated `dm_permission`, which discord.py still sends."""
    base.pop("dm_permission", None)
    perms = base.get("default_member_permissions")
    if perms is not None:
        base["default_member_permissions"] = str(perms)  # Discord's type: a string bit set
    return base


class SlashCommand(app_commands.Command[Any, ..., Any]):
    def to_dict(self, tree: app_commands.CommandTree[Any]) -> dict[str, Any]:
        return _modern(super().to_dict(tree))


class SlashGroup(app_commands.Group):
    def to_dict(self, tree: app_commands.CommandTree[Any]) -> dict[str, Any]:
        return _modern(super().to_dict(tree))


class MessageMenu(app_commands.ContextMenu):
    def to_dict(self, tree: app_commands.CommandTree[Any]) -> dict[str, Any]:
        return _modern(super().to_dict(tree))


def message_menu(shortcut: Shortcut, on_message: OnMessage) -> MessageMenu:
    """A core shortcut on a message's menu as Discord's message context-menu command (type 3):
    a member's own, like their pipeline, so installable by them and usable anywhere."""

    async def callback(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await on_message(interaction, shortcut.name, message)

    if not 1 <= len(shortcut.label) <= NAME_MAX:
        raise ValueError(f"{shortcut.label!r} cannot be a Discord context-menu name")
    return MessageMenu(
        name=shortcut.label,
        callback=callback,
        allowed_installs=PERSONAL_INSTALLS,
        allowed_contexts=PERSONAL_CONTEXTS,
    )


def _annotation(opt: Option, default_max: int | None = None) -> Any:
    """The option's Python type with its limits, so the client stops the member at a limit
    with the text still in the box, instead of the core refusing it after it is sent: a
    string's longest value (the option's own, else the core's per-value setting), a whole
    number's range. An option with fixed choices needs neither."""
    kind = _TYPES[opt.type]
    if opt.choices and len(opt.choices) <= CHOICES_MAX:
        return kind
    if kind is str:
        longest = opt.max_length or default_max
        if longest:
            return app_commands.Range[str, None, min(longest, STRING_OPTION_MAX)]
        return str
    if opt.min_value is not None or opt.max_value is not None:
        return app_commands.Range[int, opt.min_value, opt.max_value]
    return kind


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
    max_length: int | None = None,
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
                annotation=_annotation(opt, max_length),
                default=inspect.Parameter.empty if opt.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = re.sub(r"\W", "_", f"{top.name}_{leaf.name}")

    fn: Any = callback
    if names:
        fn = app_commands.rename(**{py: _name(o.name) for py, o in names.items()})(fn)
        fn = app_commands.describe(**{py: _desc(o.help) for py, o in names.items()})(fn)
    # A word with choices (a pipeline stage) is a picker too; typed text also takes aliases.
    fixed = {
        py: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for py, o in names.items()
        if o.type in ("choice", "word") and 0 < len(o.choices) <= CHOICES_MAX
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

    return SlashCommand(
        name=_name(leaf.name),
        description=_desc(leaf.help),
        callback=fn,
    )


def _place(out: app_commands.Command[Any, ..., Any] | app_commands.Group, cmd: Command) -> None:
    if cmd.name in COHORT_COMMANDS:
        out.allowed_installs, out.allowed_contexts = COHORT_INSTALLS, COHORT_CONTEXTS
    else:
        out.allowed_installs, out.allowed_contexts = PERSONAL_INSTALLS, PERSONAL_CONTEXTS


def _group(name: str, help: str, perms: discord.Permissions | None) -> SlashGroup:
    return SlashGroup(name=_name(name), description=_desc(help), default_permissions=perms)


def discord_path(command: str, sub: str | None = None) -> tuple[str, str | None]:
    """Where the core's `/command sub` lives on Discord (organizer sub-commands of a mixed
    command are under `/command-admin`)."""
    cmd = commands.find(command)
    leaf = cmd.sub(sub) if cmd is not None and sub else None
    if cmd is not None and leaf is not None and _split(cmd) and leaf.admin:
        return command + ADMIN_SUFFIX, sub
    return command, sub


def _split(cmd: Command) -> bool:
    kinds = {c.admin for c in cmd.subcommands}
    return not cmd.admin and len(kinds) == 2


def to_app_commands(
    cmd: Command,
    on_command: OnCommand,
    completers: Mapping[str, Completer],
    max_length: int | None = None,
) -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """One top-level Discord command, or two when organizer and member sub-commands mix."""
    out: list[app_commands.Command[Any, ..., Any] | app_commands.Group] = []
    if not cmd.subcommands:
        leaf = leaf_command(cmd, cmd, on_command, completers, max_length)
        leaf.default_permissions = MANAGE_SERVER if cmd.admin else None
        out.append(leaf)
    else:
        if len(cmd.subcommands) > SUBCOMMANDS_MAX:
            raise ValueError(f"/{cmd.name}: more than {SUBCOMMANDS_MAX} sub-commands")
        admin = cmd.admin or all(c.admin for c in cmd.subcommands)
        if _split(cmd):
            member = _group(cmd.name, cmd.help, None)
            organizer = _group(cmd.name + ADMIN_SUFFIX, "Organizers: " + cmd.help, MANAGE_SERVER)
            for sub in cmd.subcommands:
                target = organizer if sub.admin else member
                target.add_command(leaf_command(cmd, sub, on_command, completers, max_length))
            out += [member, organizer]
        else:
            group = _group(cmd.name, cmd.help, MANAGE_SERVER if admin else None)
            for sub in cmd.subcommands:
                group.add_command(leaf_command(cmd, sub, on_command, completers, max_length))
            out.append(group)
    for one in out:
        _place(one, cmd)
    return out


def populate(
    tree: app_commands.CommandTree[Any],
    on_command: OnCommand,
    completers: Mapping[str, Completer] | None = None,
    source: tuple[Command, ...] | None = None,
    max_length: int | None = None,
    on_message: OnMessage | None = None,
) -> None:
    """Add every command of the core's tree (or `source`) to `tree`, replacing what was there.
    `max_length`: the core's longest value (settings.max_arg_length), shown on text options.
    The core's message shortcuts become message context-menu commands, served by `on_message`
    (none without it: a tree built from `source` alone)."""
    cmds = commands.TREE if source is None else source
    if len(cmds) > COMMANDS_MAX:
        raise ValueError(f"{len(cmds)} top-level commands; Discord allows {COMMANDS_MAX}")
    tree.clear_commands(guild=None)
    made = [
        c for cmd in cmds for c in to_app_commands(cmd, on_command, completers or {}, max_length)
    ]
    if len(made) > COMMANDS_MAX:
        raise ValueError(f"{len(made)} top-level commands; Discord allows {COMMANDS_MAX}")
    for one in made:
        tree.add_command(one)
    if on_message is None:
        return
    menus = [message_menu(s, on_message) for s in commands.SHORTCUTS if s.on == "message"]
    if len(menus) > MESSAGE_MENUS_MAX:
        raise ValueError(f"{len(menus)} message menus; Discord allows {MESSAGE_MENUS_MAX}")
    for menu in menus:
        tree.add_command(menu)


def payload(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    """What `tree.sync()` would send for the global commands, in a stable order."""
    cmds = tree.get_commands(guild=None)
    return sorted((c.to_dict(tree) for c in cmds), key=lambda d: d["name"])
