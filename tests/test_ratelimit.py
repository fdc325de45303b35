"""A flood of commands from one member is slowed politely; everyone else carries on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from adapters.memory import MemoryWorkspace
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.ratelimit import SLOW_DOWN, RateLimiter
from bot.types import User
from tests.conftest import START, snapshot


def test_flood_is_slowed_without_hurting_others(
    ws: MemoryWorkspace, clock: ManualClock, db: tuple[str, Engine]
) -> None:
    assert ws.app.settings.rate_limit_per_minute == 30
    slowed: list[int] = []
    for i in range(50):  # 50 commands in 10 simulated seconds: one every 200 ms
        before = snapshot(db[1])
        [d] = ws.command("mallory", f"/settings days {'weekdays' if i % 2 else 'everyday'}")
        if d.text == SLOW_DOWN:
            slowed.append(i)
            assert snapshot(db[1]) == before  # refused before any work: nothing written
            assert d.seen_by("mallory") and not d.seen_by("bob")
        if i % 5 == 0:  # meanwhile others, at a human pace, all go through
            name = "bob" if i % 10 else "carol"
            [other] = ws.command(name, f"/settings drill-time 07:{i:02d}")
            assert other.text != SLOW_DOWN
            assert f"07:{i:02d}" in other.text
            assert other.seen_by(name)
        clock.advance(timedelta(milliseconds=200))
    # A full bucket of 30, plus one token every 2 s over the 9.8 s from first to last:
    # 34 served, 16 slowed; the first refusal once the burst and its refills are spent.
    assert len(slowed) == 16, slowed
    assert slowed[0] == 33
    replies = [ws.command("mallory", "/settings show")[0].text for _ in range(2)]
    assert replies[-1] == SLOW_DOWN  # still flooding: still slowed
    clock.advance(timedelta(minutes=1))
    for _ in range(30):  # after a quiet minute the whole burst is back
        [d] = ws.command("mallory", "/settings show")
        assert d.text != SLOW_DOWN


def test_button_presses_count_too(ws: MemoryWorkspace, clock: ManualClock) -> None:
    for _ in range(30):
        ws.press_id("mallory", "no-such-button|x")
    [d] = ws.press_id("mallory", "no-such-button|x")
    assert d.text == SLOW_DOWN
    [d] = ws.command("mallory", "/settings show")
    assert d.text == SLOW_DOWN
    clock.advance(timedelta(seconds=2))  # one token back
    [d] = ws.command("mallory", "/settings show")
    assert d.text != SLOW_DOWN


def test_zero_turns_it_off(db: tuple[str, Engine]) -> None:
    settings: Settings = load_settings(database_url=db[0], rate_limit_per_minute=0)
    clock = ManualClock(START)
    w = MemoryWorkspace(build_app(settings, clock, engine=db[1], upgrade=False), clock)
    for _ in range(80):
        [d] = w.command("mallory", "/ask topics")
        assert d.text != SLOW_DOWN


def test_bucket_is_per_member_and_per_workspace() -> None:
    limiter = RateLimiter(2)
    now = START
    a = User("slack", "T1", "U1", "a")
    same_id_other_ws = User("slack", "T2", "U1", "a")
    assert limiter.allow(a, now) and limiter.allow(a, now)
    assert not limiter.allow(a, now)
    assert limiter.allow(same_id_other_ws, now)
    assert limiter.allow(User("console", "c", "U1", "a"), now)  # the console is never limited
    assert limiter.allow(a, now + timedelta(seconds=30))  # 2 a minute: one back after 30 s
    assert not limiter.allow(a, now + timedelta(seconds=30))
    # A clock stepping backwards neither refills nor breaks the bucket.
    assert not limiter.allow(a, now)
