"""What a command is: its options, sub-commands and help. Each feature package declares its own
commands with these in its `commands.py`; `bot/commands.py` joins them into the tree."""

from __future__ import annotations

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
    # Typed where the first positional option goes but fitting none of its choices, a word is
    # this option's value: `/drill prob-two-aces` names a drill where a track could go.
    takes_unmatched: bool = False
    # Free text (an answer, a note) is kept as typed: a lone quote in it is an apostrophe or
    # a quotation, not the start of a group, so it is never refused as unclosed.
    free: bool = False
    # Longest value accepted, where it differs from the setting max_arg_length (long answers).
    max_length: int | None = None
    # The range of a whole number, where the command has one (a score from 1 to 5): platforms
    # with typed options show it and stop the member at it.
    min_value: int | None = None
    max_value: int | None = None

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
    # Takes seconds, not a moment: a platform that must answer within a deadline (Slack's 3 s)
    # says at once that it is under way (router.WORKING), and the result follows.
    slow: bool = False

    def sub(self, name: str) -> Command | None:
        return next((c for c in self.subcommands if c.name == name), None)


@dataclass(frozen=True)
class Shortcut:
    """A way in that is not a typed command: from a message's menu (`on="message"`: Slack's
    message shortcut, Discord's message context menu), or from anywhere (`on="global"`: Slack's
    global shortcut; Discord has none). Its handler (`@shortcut(name)`) gets the message's text
    ("" for a global one) and answers, usually with a form."""

    name: str  # Slack's callback_id, and the router's name for it
    label: str  # what the menu shows: Slack's shortcut name (24), Discord's command name (32)
    help: str  # Slack's description
    on: Literal["message", "global"] = "message"


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


def option(name: str, help: str, **kw: object) -> Option:
    return Option(name, help, **kw)  # type: ignore[arg-type]
