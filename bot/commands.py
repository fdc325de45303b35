"""The command tree, declared once. Help, the console, the Slack manifest and the Discord
command tree are all generated from it, and the text parser below reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.content import QUESTION_TOPICS, TRACK_SPELLINGS, TRACKS
from bot.types import ANSWER_LIMIT

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


# The tree offers exactly what the content knows, in the same order.
_TRACK_IDS = tuple(TRACKS)
_TOPIC_IDS = tuple(QUESTION_TOPICS)

DRILL_COMMANDS: tuple[Command, ...] = (
    Command(
        "drill",
        "Practise: the next drill, your answer, hints, your stats",
        default="next",
        subcommands=(
            Command(
                "next",
                "The next drill: reviews that are due first, then new ones",
                options=(
                    _o(
                        "track",
                        "only this track",
                        type="choice",
                        choices=_TRACK_IDS,
                        required=False,
                    ),
                    _o(
                        "drill",
                        "this drill, by its id (the one a workshop names, or one to retry)",
                        keyword=True,
                        required=False,
                        autocomplete="drill",
                        takes_unmatched=True,
                    ),
                ),
                examples=("/drill", "/drill behavioral", "/drill prob-two-aces"),
            ),
            Command(
                "answer",
                "Answer the drill in front of you and get feedback",
                options=(
                    _o(
                        "text",
                        "your answer (long ones: the Answer button's form)",
                        type="text",
                        required=False,
                        free=True,
                        max_length=ANSWER_LIMIT,
                    ),
                ),
                examples=("/drill answer In my last role we were...",),
            ),
            Command("hint", "A hint for the drill in front of you"),
            Command("framework", "The answer structure that fits the drill in front of you"),
            Command("skip", "Skip to the model answer (fewer points than writing one)"),
            Command(
                "rate",
                "Rate how it went, which schedules the next review",
                options=(
                    _o(
                        "rating",
                        "again, hard, good or easy",
                        type="choice",
                        choices=("again", "hard", "good", "easy"),
                    ),
                ),
            ),
            Command("stats", "Your drills this week and in all, streaks, what is due"),
        ),
    ),
    Command(
        "ask",
        "Questions to ask your interviewer, by topic",
        default="questions",
        subcommands=(
            Command(
                "questions",
                "Three questions on a topic, or a mix",
                options=(
                    _o(
                        "topic",
                        "a topic (see /ask topics)",
                        type="choice",
                        choices=_TOPIC_IDS,
                        required=False,
                    ),
                ),
                examples=("/ask", "/ask culture"),
            ),
            Command("topics", "The topics there are questions for"),
        ),
    ),
)

_COMPANY = _o(
    "company", "a company in your pipeline (a unique prefix will do)", autocomplete="company"
)
# Kept in step with bot.content.LETTER_KINDS (a test checks); commands.py loads no content.
LETTER_KIND_CHOICES = (
    "thank-you",
    "alternatives",
    "extension",
    "exploding",
    "confirm",
    "follow-up",
    "feedback",
    "salary-expectations",
    "where-else",
    "decline",
    "motivation",
)
_SCORE_HELP = "your score from 1 (poor) to 5 (great)"
_WEIGHT_HELP = "how much it counts for you, 0 to 5"

PIPELINE_COMMANDS: tuple[Command, ...] = (
    Command(
        "pipeline",
        "Your applications, privately: stages, interviews, offers, deadlines, notes, files",
        default="list",
        subcommands=(
            Command(
                "add",
                "Add a company (with no company, a form opens)",
                options=(
                    _o("company", "the company's name", required=False),
                    _o("role", "the role you applied for", type="text", required=False),
                    _o("stage", "where it stands (default: applied)", required=False, keyword=True),
                    _o("link", "the job posting's address", required=False, keyword=True),
                ),
                examples=('/pipeline add Acme "ML Engineer" stage screen',),
            ),
            Command("list", "Every application, grouped by stage, with the next date that matters"),
            Command(
                "show",
                "Everything about one application, with its stage history",
                options=(_o("company", _COMPANY.help, type="text", autocomplete="company"),),
            ),
            Command(
                "move",
                "Move an application to a stage (backwards too; every move is kept)",
                options=(_COMPANY, _o("stage", "the new stage, e.g. screen, onsite, offer")),
                examples=("/pipeline move acme onsite",),
            ),
            Command(
                "interview",
                "Record an interview: when, and optionally what kind",
                options=(
                    _COMPANY,
                    _o("when", "a date in plain words, e.g. next friday 2pm", type="text"),
                    _o("kind", "phone, technical, onsite, ...", required=False, keyword=True),
                ),
                examples=("/pipeline interview acme next tuesday 14:00 kind technical",),
            ),
            Command(
                "reschedule",
                "Move an interview to a new time, or correct one recorded wrongly",
                options=(
                    _COMPANY,
                    _o("when", "the new date and time, e.g. thursday 15:00", type="text"),
                    _o(
                        "kind",
                        "which interview, when there are several",
                        required=False,
                        keyword=True,
                    ),
                ),
                details=(
                    "With several interviews at the company, buttons ask which one. "
                    "A date without a time keeps the interview's time of day."
                ),
                examples=("/pipeline reschedule acme thursday 15:00",),
            ),
            Command(
                "cancel-interview",
                "Remove an interview that was cancelled or recorded by mistake",
                options=(
                    _COMPANY,
                    _o(
                        "kind",
                        "which interview, when there are several",
                        required=False,
                        keyword=True,
                    ),
                ),
                examples=("/pipeline cancel-interview acme",),
            ),
            Command(
                "offer",
                "Record an offer, with its deadline and numbers if you have them",
                options=(
                    _COMPANY,
                    _o(
                        "deadline",
                        "when they need your answer",
                        type="text",
                        required=False,
                        keyword=True,
                    ),
                    _o("base", "base salary per year, e.g. 120k", required=False, keyword=True),
                    _o("bonus", "yearly bonus, e.g. 15k", required=False, keyword=True),
                    _o(
                        "equity",
                        "equity as they described it",
                        type="text",
                        required=False,
                        keyword=True,
                    ),
                    _o("currency", "e.g. EUR, USD, GBP", required=False, keyword=True),
                    _o("start", "the start date", type="text", required=False, keyword=True),
                ),
                examples=("/pipeline offer acme deadline dec 4 5pm base 120k currency EUR",),
            ),
            Command(
                "deadline",
                "Set or change an offer's deadline",
                options=(_COMPANY, _o("when", "the deadline in plain words", type="text")),
                examples=("/pipeline deadline acme friday 17:00",),
            ),
            Command(
                "note",
                "Keep a note on an application (replaces the previous one)",
                options=(_COMPANY, _o("text", "the note", type="text", free=True)),
            ),
            Command(
                "remove", "Delete an application and its history (asks first)", options=(_COMPANY,)
            ),
            Command("export", "A CSV file of your pipeline with every stage move and date"),
            Command("calendar", "An .ics calendar file of your interviews and offer deadlines"),
        ),
    ),
    Command(
        "letter",
        "A letter for the moment, filled in from your pipeline, with when and how to send it",
        options=(
            _o("kind", "which letter", type="choice", choices=LETTER_KIND_CHOICES),
            _o("company", _COMPANY.help, type="text", required=False, autocomplete="company"),
        ),
        examples=("/letter alternatives", "/letter thank-you acme"),
    ),
    Command(
        "offer",
        "Compare your offers side by side; rate them on what matters beyond pay",
        default="compare",
        subcommands=(
            Command("compare", "Every offer side by side, with scores and deadlines"),
            Command(
                "rate",
                "Score an offer 1-5 on career fit, culture, strategy and manager (a form opens)",
                options=(
                    _COMPANY,
                    _o("career", _SCORE_HELP, type="int", required=False, keyword=True),
                    _o("culture", _SCORE_HELP, type="int", required=False, keyword=True),
                    _o("strategy", _SCORE_HELP, type="int", required=False, keyword=True),
                    _o("manager", _SCORE_HELP, type="int", required=False, keyword=True),
                ),
                examples=("/offer rate acme career 4 culture 3 strategy 5 manager 4",),
            ),
            Command(
                "weights",
                "How much each factor counts for you (0-5; equal by default)",
                options=(
                    _o("career", _WEIGHT_HELP, type="int", required=False, keyword=True),
                    _o("culture", _WEIGHT_HELP, type="int", required=False, keyword=True),
                    _o("strategy", _WEIGHT_HELP, type="int", required=False, keyword=True),
                    _o("manager", _WEIGHT_HELP, type="int", required=False, keyword=True),
                ),
                examples=("/offer weights career 3 manager 2",),
            ),
        ),
    ),
)

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

COHORT_COMMANDS: tuple[Command, ...] = (
    Command(
        "leaderboard",
        "The cohort's leaderboard this week, shown only to you",
    ),
    Command(
        "mock",
        "Mock-interview pairing: join, leave, or see your partner",
        default="status",
        subcommands=(
            Command("join", "Be paired for a mock interview each week"),
            Command("leave", "Stop being paired"),
            Command("status", "Whether you are in, and this week's partner"),
        ),
    ),
    Command(
        "cohort",
        "Organizers: set up the cohort and its schedule, see members and what is coming",
        default="plan",
        subcommands=(
            Command(
                "setup",
                "Make this channel the cohort's, with its time zone and start date",
                options=(
                    _o("zone", "the cohort's IANA time zone", required=False, autocomplete="zone"),
                    _o("start", "the start date of the plan", type="text", required=False),
                ),
                admin=True,
                examples=("/cohort setup Europe/Berlin 2026-12-01",),
            ),
            Command(
                "schedule",
                "When the leaderboard is posted (weekly)",
                options=(
                    _o("what", "what to schedule", type="choice", choices=("leaderboard",)),
                    _o("weekday", "day of the week", type="choice", choices=_WEEKDAYS),
                    _o("time", "local time HH:MM"),
                ),
                admin=True,
                examples=("/cohort schedule leaderboard fri 16:00",),
            ),
            Command(
                "offday",
                "Add or remove a day without daily drills",
                options=(
                    _o("change", "add or remove", type="choice", choices=("add", "remove")),
                    _o("date", "the day, e.g. dec 24", type="text"),
                ),
                admin=True,
                examples=("/cohort offday add dec 24",),
            ),
            Command("plan", "The cohort's plan, stage by stage, with dates"),
            Command("members", "A dashboard of the cohort's members", admin=True),
            Command(
                "pair",
                "Pair the mock-interview volunteers now",
                options=(_o("when", "now", type="choice", choices=("now",)),),
                admin=True,
            ),
            Command("preview", "What the scheduler will send in the next 7 days", admin=True),
        ),
    ),
)

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
    cmd = find(command)
    if cmd is None:
        raise UsageError(f"I don't know the command /{command}.", None)
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
