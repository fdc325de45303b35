"""Every parser of member input runs in linear time: 10 kB of hostile arguments to every command
answer at once (issue 15, item 1: one `/pipeline offer` with 1,998 spaces froze a replica for
60 s). Measured as the CPU time of the thread that handles the command, which other work on a
shared machine does not inflate; the worst case is what is asserted and reported."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from adapters.memory import MemoryWorkspace
from bot import commands
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.ratelimit import SLOW_DOWN

# Slow: every command with hostile text, timed.
pytestmark = pytest.mark.slow

LIMIT_SECONDS = 0.1
# Just under the per-value limit (parsed), just under the long-answer limit (parsed by the
# commands that take an answer), and 10 kB (refused by length before any parsing).
SIZES = (1_990, 3_990, 10_000)
REPEATS = 3  # the least of up to three tries


def hostile(size: int) -> dict[str, str]:
    """Shapes that make backtracking regexes and quadratic scanners slow: long runs of what an
    optional group accepts, followed by what makes the match fail at the very end."""
    return {
        "spaces then x": " " * (size - 1) + "x",
        "digits then x": "1" * (size - 1) + "x",
        "digit space runs": "1 " * (size // 2 - 1) + "x",
        "separators": "1,2." * (size // 4 - 1) + "k$",
        "open quotes": '"' * size,
        "quote pairs": '"a" ' * (size // 4),
        "nested words": "next " * (size // 5),
        "dashes": "-" * size,
        "colons": "12:" * (size // 3),
        "unicode": "ß" * size,
    }


def _leaves() -> list[str]:
    out = []
    for cmd in commands.TREE:
        out.extend(f"{cmd.name} {s.name}" for s in cmd.subcommands) if cmd.subcommands else None
        if not cmd.subcommands:
            out.append(cmd.name)
    return out


def _lines(path: str) -> list[tuple[str, str]]:
    """The hostile text in every position a parser reads: the whole argument text, and the
    last option after plausible earlier ones (company name, keyword options)."""
    out = []
    for size in SIZES:
        for label, text in hostile(size).items():
            out.append((f"{size} {label}", f"/{path} {text}"))
            out.append((f"{size} {label} after a company", f"/{path} Acme base {text}"))
    return out


@pytest.fixture(scope="module")
def unthrottled(tmp_path_factory: pytest.TempPathFactory) -> MemoryWorkspace:
    """A workspace whose per-member limit never answers "slow down": every line is parsed.
    Parsing does not depend on the database, so one SQLite file serves every command."""
    where = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{where / 'hostile.db'}"
    settings = load_settings(
        database_url=url, export_dir=str(where / "exports"), rate_limit_per_minute=10_000
    )
    clock = ManualClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    return MemoryWorkspace(build_app(settings, clock), clock)


@pytest.mark.parametrize("path", _leaves())
def test_every_command_answers_hostile_text_at_once(
    unthrottled: MemoryWorkspace, path: str
) -> None:
    ws = unthrottled
    ws.command("ada", "/pipeline add Acme engineer")
    ws.command("ada", "/pipeline offer Acme base 100000 deadline next friday")
    ws.command("ada", f"/{path} acme", admin=True)  # lazy imports (dates, charts) paid here
    worst = (0.0, "")
    for label, line in _lines(path):
        spent = float("inf")
        for _ in range(REPEATS):  # again only when over: a pause is not the parser's cost
            if spent < LIMIT_SECONDS:
                break
            started = time.thread_time()
            seen = ws.command("ada", line, admin=True)
            spent = min(spent, time.thread_time() - started)
            assert not any(SLOW_DOWN in d.text for d in seen), "throttled: nothing was parsed"
        worst = max(worst, (spent, label))
    assert worst[0] < LIMIT_SECONDS, f"/{path} with {worst[1]}: {worst[0] * 1000:.0f} ms"
