"""The command tree, joined from the blocks each feature package declares next to its handlers
(`bot/features/<package>/commands.py`). Help, the console, the Slack manifest and the Discord
command tree are all generated from it, and the text parser below reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module

from bot import features
from bot.commandspec import Command, Option, OptionType, ParsedCommand, Shortcut, UsageError
from bot.content import TRACK_SPELLINGS
from bot.text import clip

__all__ = [
    "SHORTCUTS",
    "TREE",
    "Command",
    "Option",
    "OptionType",
    "ParsedCommand",
    "Shortcut",
    "UsageError",
]


def _tree() -> tuple[Command, ...]:
    blocks: list[Command] = []
    for package in features.PACKAGES:
        module = import_module(f"bot.features.{package}.commands")
        blocks.extend(module.COMMANDS)
    return tuple(blocks)


# Every package's block, in the order help shows them (bot.features.PACKAGES).
TREE: tuple[Command, ...] = _tree()


def _shortcuts() -> tuple[Shortcut, ...]:
    found: list[Shortcut] = []
    for package in features.PACKAGES:
        module = import_module(f"bot.features.{package}.commands")
        found.extend(getattr(module, "SHORTCUTS", ()))
    return tuple(found)


# The shortcuts each package declares beside its commands (a `SHORTCUTS` tuple, if any).
SHORTCUTS: tuple[Shortcut, ...] = _shortcuts()


def find(name: str) -> Command | None:
    return next((c for c in TREE if c.name == name), None)


def known(name: str) -> Command:
    """The command named `name`, or the usage error that says it does not exist (the name
    clipped: it may be anything a member typed)."""
    cmd = find(name)
    if cmd is None:
        raise UsageError(f"I don't know the command /{clip(name, 40)}.", None)
    return cmd


def is_slow(command: str, args: str) -> bool:
    """Does this invocation run a command declared `slow`? (False when it does not parse: the
    refusal is quick.)"""
    try:
        return parse(command, args).command.slow
    except UsageError:
        return False


def all_paths() -> list[str]:
    """Every leaf command path, e.g. ``settings tz``."""
    out: list[str] = []
    for cmd in TREE:
        if cmd.subcommands:
            out.extend(f"{cmd.name} {s.name}" for s in cmd.subcommands)
        else:
            out.append(cmd.name)
    return out


def usage(path: str) -> str:
    parts = path.split()
    cmd = find(parts[0])
    if cmd is None:
        return f"/{path}"
    if len(parts) > 1 and (sub := cmd.sub(parts[1])):
        opts = " ".join(o.usage() for o in sub.options)
        return f"/{cmd.name} {sub.name} {opts}".rstrip()
    if cmd.subcommands:
        return f"/{cmd.name} <{'|'.join(s.name for s in cmd.subcommands)}>"
    return f"/{cmd.name} {' '.join(o.usage() for o in cmd.options)}".rstrip()


# Straight and typographic quotes: phones and Slack's composer turn "Acme" into “Acme”.
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}


@dataclass(frozen=True)
class Token:
    value: str  # quotes removed, \" and \\ unescaped inside quotes
    start: int
    end: int
    quoted: bool = False
    closed: bool = True  # False: a quote opened here runs to the end of the text


def _tokens(text: str) -> list[Token]:
    """Words, or quoted groups ("Acme Corp", "Acme \\"Quoted\\" Inc"); one pass, linear in the
    text. A quote that never closes becomes one token, marked, running to the end: whether
    that is an error depends on the option it lands in (see `_bind`)."""
    out: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        start = pos
        close = _QUOTES.get(text[pos])
        if close is None:
            while pos < n and not text[pos].isspace():
                pos += 1
            out.append(Token(text[start:pos], start, pos))
            continue
        pos += 1
        chars: list[str] = []
        while pos < n and text[pos] != close:
            if text[pos] == "\\" and pos + 1 < n and text[pos + 1] in (close, "\\"):
                pos += 1
            chars.append(text[pos])
            pos += 1
        if pos >= n:
            out.append(Token(text[start + 1 :], start, n, quoted=True, closed=False))
            break
        pos += 1  # the closing quote
        out.append(Token("".join(chars), start, pos, quoted=True))
    return out


def _unclosed(tok: Token, path: str) -> UsageError:
    shown = tok.value if len(tok.value) <= 30 else tok.value[:29] + "…"
    return UsageError(
        f'The quote before {shown!r} is never closed. Close it (e.g. "Acme Corp"), or '
        'write a quote inside quotes as \\". Nothing was saved.',
        path,
    )


def parse(command: str, args: str) -> ParsedCommand:
    """Read a text invocation against the tree; raise UsageError with what is wrong."""
    cmd = known(command)
    toks = _tokens(args)
    leaf, path, rest = cmd, cmd.name, args
    if cmd.subcommands:
        if toks:
            sub = cmd.sub(toks[0].value.lower()) if not toks[0].quoted else None
            default = cmd.sub(cmd.default) if cmd.default else None
            if sub is not None:
                leaf, rest = sub, (args[toks[1].start :] if len(toks) > 1 else "")
            elif default is not None and default.options:
                leaf = default  # `/drill behavioral` means `/drill next behavioral`
            else:
                raise UsageError(
                    f"/{cmd.name} has no sub-command {toks[0].value[:40]!r}.", cmd.name
                )
        elif cmd.default and (default := cmd.sub(cmd.default)):
            leaf, rest = default, ""
        else:
            raise UsageError(f"/{cmd.name} needs a sub-command.", cmd.name)
        path = f"{cmd.name} {leaf.name}"
    rest = rest.strip()
    options = _bind(leaf, path, rest, _tokens(rest))
    return ParsedCommand(path, leaf, options)


def _span(opt: Option, path: str, args: str, toks: list[Token]) -> str:
    """The value of an option that took `toks`: one quoted group as written inside its quotes;
    several words as typed, spacing and all."""
    for tok in toks:
        if not tok.closed and not opt.free:
            raise _unclosed(tok, path)
    if len(toks) == 1 and toks[0].closed:
        return toks[0].value
    return args[toks[0].start : toks[-1].end]


def _bind(leaf: Command, path: str, args: str, toks: list[Token]) -> dict[str, str]:
    positional = [o for o in leaf.options if not o.keyword]
    keywords = {o.name: o for o in leaf.options if o.keyword}

    def is_keyword(tok: Token) -> bool:
        # A quoted word is always a value: `stage "stage"` names a stage called stage.
        return not tok.quoted and tok.value.lower() in keywords

    values: dict[str, str] = {}
    i = 0
    for opt in positional:
        if i >= len(toks) or is_keyword(toks[i]):
            break
        if opt.type == "text":
            end = next((j for j in range(i, len(toks)) if is_keyword(toks[j])), len(toks))
            values[opt.name] = _span(opt, path, args, toks[i:end])
            i = end
        else:
            value = _span(opt, path, args, toks[i : i + 1])
            catch = next((k for k in keywords.values() if k.takes_unmatched), None)
            if catch is not None and opt.type == "choice" and not _fits(opt, value):
                values[catch.name] = value
            else:
                values[opt.name] = value
            i += 1
    while i < len(toks):
        if not is_keyword(toks[i]):
            if not toks[i].closed:
                raise _unclosed(toks[i], path)
            raise UsageError(f"I didn't expect {toks[i].value[:40]!r} here.", path)
        name = toks[i].value.lower()
        end = next((j for j in range(i + 1, len(toks)) if is_keyword(toks[j])), len(toks))
        if end == i + 1:
            raise UsageError(f"{name} needs a value.", path)
        values[name] = _span(keywords[name], path, args, toks[i + 1 : end])
        i = end
    return check_options(leaf, path, values)


def _fits(opt: Option, value: str) -> bool:
    return TRACK_SPELLINGS.get(value.lower(), value.lower()) in opt.choices


def check_options(leaf: Command, path: str, values: dict[str, str]) -> dict[str, str]:
    """Required options present, choices respected, ints numeric: for text and structured input."""
    known = {o.name for o in leaf.options}
    for name in values:
        if name not in known:
            raise UsageError(f"unknown option {name!r}.", path)
    for opt in leaf.options:
        v = values.get(opt.name)
        if v is None or v == "":
            if opt.required:
                raise UsageError(f"missing <{opt.name}>: {opt.help}.", path)
            values.pop(opt.name, None)
            continue
        if opt.type == "choice":
            choice = TRACK_SPELLINGS.get(v.lower(), v.lower())
            if choice not in opt.choices:
                raise UsageError(
                    f"{opt.name} must be one of {', '.join(opt.choices)} (not {v[:40]!r}).", path
                )
            values[opt.name] = choice
        if opt.type == "int" and not re.fullmatch(r"-?\d{1,12}", v):
            raise UsageError(f"{opt.name} must be a whole number (not {v[:40]!r}).", path)
    return values
