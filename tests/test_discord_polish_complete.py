"""Issue 17, autocomplete inside Discord's window: with the database slow, company suggestions
come within the budget from what was last read, not at 5.5 s when Discord refuses them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from adapters.discord.complete import company_completer
from bot.app import App
from tests.discord_fake import Bot, Person, callback_of, slash

pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")


class SlowDatabase:
    """The app's own sessions, held at the door while `gate` is closed (a database stuck on a
    lock or a slow disk), released by the test."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.gate = threading.Event()
        self.gate.set()

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        self.gate.wait(30)
        with self.app.sessions() as s:
            yield s


def _suggest(bot: Bot, typed: str) -> tuple[list[str], float, Any]:
    payload = slash(BOB, "pipeline", "move", {"company": typed}, focused="company")
    start = time.monotonic()
    bot.runner.feed(payload)
    bot.fake.wait_for("POST", rf"/interactions/{payload['id']}/.*/callback", timeout=10)
    took = time.monotonic() - start
    [cb] = bot.fake.matching("POST", rf"/interactions/{payload['id']}/")
    return [c["name"] for c in cb.json["data"]["choices"]], took, cb


def test_a_slow_database_still_gets_an_answer_in_time(bot: Bot, app: App) -> None:
    for name in ("Acme", "Acorn", "Globex"):
        callback_of(bot.send(slash(BOB, "pipeline", "add", {"company": name})))
    slow = SlowDatabase(app)
    bot.adapter.completers["company"] = company_completer(slow, budget=0.5)  # type: ignore[arg-type]

    assert _suggest(bot, "ac")[0] == ["Acme", "Acorn"]  # a normal read, remembered

    slow.gate.clear()
    try:
        names, took, cb = _suggest(bot, "aco")
        assert cb.status == 200 and took < 3.0  # inside Discord's window
        assert names == ["Acorn"]  # from the last read, filtered by what is typed now
    finally:
        slow.gate.set()


def test_nothing_read_yet_and_the_database_stuck_answers_empty_in_time(bot: Bot, app: App) -> None:
    callback_of(bot.send(slash(BOB, "pipeline", "add", {"company": "Acme"})))
    slow = SlowDatabase(app)
    slow.gate.clear()
    bot.adapter.completers["company"] = company_completer(slow, budget=0.5)  # type: ignore[arg-type]
    try:
        names, took, cb = _suggest(bot, "a")
        assert cb.status == 200 and took < 3.0 and names == []
    finally:
        slow.gate.set()
