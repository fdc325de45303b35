"""The core's text, said the Discord way, just before it is rendered.

The core writes commands as `/drill answer <your answer>`, one spelling for every platform.
On Discord a command with sub-commands is never run bare and organizer sub-commands live under
`/cohort-admin`, so each command named in a reply becomes Discord's real command: a clickable
mention (`</drill next:123>`) where Discord shows mentions (an embed's description and field
values) and the command's Discord name elsewhere (a footer shows no markdown). Ids come from
the commands registered with Discord; without them the plain `/drill next` is still right."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from adapters.discord.tree import discord_path
from bot import commands
from bot.types import InstantStyle, Reply, instants

# A command as the core writes it: after a space, a line start or an opening bracket or quote,
# never inside a word, a path or a link.
_COMMAND = re.compile(r"(?<![\w/<:.])/([a-z][a-z-]{0,31})(?: ([a-z][a-z0-9-]{0,99}))?")


def command_text(text: str, ids: Mapping[str, int], *, clickable: bool = True) -> str:
    def one(m: re.Match[str]) -> str:
        name, word = m.group(1), m.group(2)
        cmd = commands.find(name)
        if cmd is None:
            return m.group(0)
        sub: str | None = None
        rest = f" {word}" if word else ""
        if cmd.subcommands:
            if word and cmd.sub(word) is not None:
                sub, rest = word, ""
            elif not word and m.string.startswith(" <", m.end()):
                return m.group(0)  # `/settings <what> <value>`: the sub-command is the reader's
            elif cmd.default:
                sub = cmd.default
                rest = _as_option(cmd, cmd.default, word) if word else ""
            else:
                return m.group(0)  # a group Discord cannot run bare: left as the core wrote it
        top, sub = discord_path(name, sub)
        path = f"{top} {sub}" if sub else top
        found = ids.get(top)
        if clickable and found:
            return f"</{path}:{found}>{rest}"
        return f"/{path}{rest}"

    return _COMMAND.sub(one, text)


def _as_option(cmd: commands.Command, sub: str, word: str) -> str:
    """`/drill behavioral` on Discord is `/drill next` with track:behavioral."""
    leaf = cmd.sub(sub)
    opts = leaf.options if leaf is not None else ()
    fits = next((o for o in opts if word in o.choices), None)
    fits = fits or next((o for o in opts if o.takes_unmatched), None)
    return f" {fits.name}:{word}" if fits is not None else f" {word}"


def _timestamp(unix: int, style: InstantStyle, _plain: str) -> str:
    return f"<t:{unix}:{style}>"  # each reader's own zone and language; R counts down


def _rich(text: str, ids: Mapping[str, int]) -> str:
    return instants(command_text(text, ids), _timestamp)


def _flat(text: str, ids: Mapping[str, int]) -> str:
    return instants(command_text(text, ids, clickable=False))


def for_discord(reply: Reply, ids: Mapping[str, int]) -> Reply:
    """The reply with Discord's command names and timestamps where they render (an embed's
    description and field values), plain words elsewhere (titles, footers, field names)."""
    return replace(
        reply,
        text=_rich(reply.text, ids),
        lead=_rich(reply.lead, ids) if reply.lead is not None else None,
        fields=tuple(
            replace(f, name=_flat(f.name, ids), value=_rich(f.value, ids)) for f in reply.fields
        ),
        footer=_flat(reply.footer, ids) if reply.footer else None,
        title=_flat(reply.title, ids) if reply.title else None,
    )
