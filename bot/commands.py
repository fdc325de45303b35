"""The command tree, declared once. Help, the console, the Slack manifest and the Discord
command tree are all generated from it, and the text parser below reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

OptionType = Literal["word", "text", "choice", "int"]


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    type: OptionType = "word"
    required: bool = True
    choices: tuple[str, ...] = ()
    keyword: bool = False  # given as `name value...` after the positional options
    autocomplete: str | None = None  # "zone", "company": adapters that can, suggest values

    def usage(self) -> str:
        shown = "|".join(self.choices) if self.type == "choice" and self.choices else self.name
        inner = f"{self.name} <{shown}>" if self.keyword else f"<{shown}>"
        if self.type == "text" and not self.keyword:
            inner = f"<{self.name}...>"
        return inner if self.required else f"[{inner}]"


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...] = ()
    subcommands: tuple[Command, ...] = ()
    default: str | None = None  # sub-command run when none is given
    admin: bool = False
    details: str = ""
    examples: tuple[str, ...] = ()

    def sub(self, name: str) -> Command | None:
        return next((c for c in self.subcommands if c.name == name), None)


@dataclass(frozen=True)
class ParsedCommand:
    path: str  # "settings tz"
    command: Command  # the leaf
    options: dict[str, str] = field(default_factory=dict)


class UsageError(Exception):
    """Bad or missing arguments: answered with the problem and the command's usage."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _o(name: str, help: str, **kw: object) -> Option:
    return Option(name, help, **kw)  # type: ignore[arg-type]


# Each area declares its commands in its own block; TREE joins them in the order help shows.
CORE_COMMANDS: tuple[Command, ...] = (
    Command(
        "cohortbot",
        "Help: every command, or the details of one",
        options=(_o("command", "a command to explain", required=False),),
        examples=("/cohortbot", "/cohortbot settings"),
    ),
    Command(
        "settings",
        "Your time zone, drill time and days, tracks, pause, privacy and your data",
        default="show",
        subcommands=(
            Command("show", "Show your settings"),
            Command(
                "tz",
                "Set your time zone (IANA name, e.g. Europe/Berlin)",
                options=(_o("zone", "an IANA time zone", autocomplete="zone"),),
                examples=("/settings tz America/New_York",),
            ),
            Command(
                "drill-time",
                "When your daily drill arrives, in your time (HH:MM)",
                options=(_o("time", "a local time, 24-hour HH:MM"),),
                examples=("/settings drill-time 08:30",),
            ),
            Command(
                "days",
                "Which days the daily drill comes: mon,tue,... or weekdays or everyday",
                options=(_o("days", "mon,tue,wed,thu,fri,sat,sun | weekdays | everyday"),),
                examples=("/settings days mon,wed,fri", "/settings days weekdays"),
            ),
            Command(
                "tracks",
                "Which drill tracks you practise (comma list, or all)",
                options=(_o("tracks", "comma-separated track ids, or all", type="text"),),
                examples=("/settings tracks behavioral,system-design",),
            ),
            Command(
                "pause",
                "Pause the daily drill, for good or until a date",
                options=(_o("until", "a date, e.g. until dec 5", type="text", required=False),),
                examples=("/settings pause", "/settings pause until 2026-12-05"),
            ),
            Command("resume", "Resume the daily drill"),
            Command(
                "public",
                "Show your pipeline counts on the leaderboard (off by default)",
                options=(_o("state", "on or off", type="choice", choices=("on", "off")),),
            ),
            Command("export", "All your data, as a JSON file only you receive"),
            Command("forget-me", "Delete everything the bot keeps about you (asks first)"),
        ),
    ),
)


DRILL_COMMANDS: tuple[Command, ...] = ()

PIPELINE_COMMANDS: tuple[Command, ...] = ()

COHORT_COMMANDS: tuple[Command, ...] = ()

TREE: tuple[Command, ...] = (
    *CORE_COMMANDS[:1],
    *DRILL_COMMANDS,
    *PIPELINE_COMMANDS,
    *COHORT_COMMANDS,
    *CORE_COMMANDS[1:],
)


def find(name: str) -> Command | None:
    return next((c for c in TREE if c.name == name), None)


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


_TOKEN = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(value, start, end) for each token; quotes group words ("Acme Corp")."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        if m.group(0).strip() == "":
            break
        value = next(g for g in m.groups() if g is not None)
        out.append((value, m.start() + len(m.group(0)) - len(m.group(0).lstrip()), m.end()))
        pos = m.end()
    return out


def _unquote(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return t


def parse(command: str, args: str) -> ParsedCommand:
    """Read a text invocation against the tree; raise UsageError with what is wrong."""
    cmd = find(command)
    if cmd is None:
        raise UsageError(f"I don't know the command /{command}.", None)
    toks = _tokens(args)
    leaf, path, rest = cmd, cmd.name, args
    if cmd.subcommands:
        if toks:
            sub = cmd.sub(toks[0][0].lower())
            default = cmd.sub(cmd.default) if cmd.default else None
            if sub is not None:
                leaf, rest = sub, (args[toks[1][1] :] if len(toks) > 1 else "")
            elif default is not None and default.options:
                leaf = default  # `/drill behavioral` means `/drill next behavioral`
            else:
                raise UsageError(f"/{cmd.name} has no sub-command {toks[0][0][:40]!r}.", cmd.name)
        elif cmd.default and (default := cmd.sub(cmd.default)):
            leaf, rest = default, ""
        else:
            raise UsageError(f"/{cmd.name} needs a sub-command.", cmd.name)
        path = f"{cmd.name} {leaf.name}"
    rest = rest.strip()
    options = _bind(leaf, path, rest, _tokens(rest))
    return ParsedCommand(path, leaf, options)


def _bind(leaf: Command, path: str, args: str, toks: list[tuple[str, int, int]]) -> dict[str, str]:
    positional = [o for o in leaf.options if not o.keyword]
    keywords = {o.name: o for o in leaf.options if o.keyword}
    values: dict[str, str] = {}
    i = 0
    for opt in positional:
        if i >= len(toks) or toks[i][0].lower() in keywords:
            break
        if opt.type == "text":
            end = next(
                (j for j in range(i, len(toks)) if toks[j][0].lower() in keywords), len(toks)
            )
            raw = args[toks[i][1] : toks[end - 1][2]] if end > i else ""
            values[opt.name] = _unquote(raw)
            i = end
        else:
            values[opt.name] = toks[i][0]
            i += 1
    while i < len(toks):
        name = toks[i][0].lower()
        if name not in keywords:
            raise UsageError(f"I didn't expect {toks[i][0][:40]!r} here.", path)
        end = next(
            (j for j in range(i + 1, len(toks)) if toks[j][0].lower() in keywords), len(toks)
        )
        if end == i + 1:
            raise UsageError(f"{name} needs a value.", path)
        values[name] = _unquote(args[toks[i + 1][1] : toks[end - 1][2]])
        i = end
    return check_options(leaf, path, values)


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
        if opt.type == "choice" and v.lower() not in opt.choices:
            raise UsageError(
                f"{opt.name} must be one of {', '.join(opt.choices)} (not {v[:40]!r}).", path
            )
        if opt.type == "choice":
            values[opt.name] = v.lower()
        if opt.type == "int" and not re.fullmatch(r"-?\d{1,12}", v):
            raise UsageError(f"{opt.name} must be a whole number (not {v[:40]!r}).", path)
    return values
