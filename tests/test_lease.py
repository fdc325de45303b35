"""One holder at a time for a named lease (bot/lease.py), on SQLite and PostgreSQL: the Discord
gateway connection uses it so that only one replica receives each interaction (issue 15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.clock import ManualClock
from bot.lease import Lease

TTL = timedelta(seconds=10)


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def lease(app: App, clock: ManualClock, ticks: Ticks, holder: str) -> Lease:
    return Lease(app.sessions, "discord-gateway:1", holder, clock.now, ttl=TTL, ticks=ticks)


def test_one_holder_until_it_stops_renewing_then_another_takes_over(
    app: App, clock: ManualClock
) -> None:
    ticks = Ticks()
    a, b = lease(app, clock, ticks, "a"), lease(app, clock, ticks, "b")
    assert a.acquire() and a.held()
    assert not b.acquire() and not b.held()
    assert a.holder_now() == "a"

    # a renews within its lease: b never gets it.
    for _ in range(5):
        clock.advance(timedelta(seconds=3))
        ticks.t += 3
        assert a.acquire()
        assert not b.acquire()

    # a stops renewing (dead, or cut off from the database): it lets go by its own clock a
    # little before the row expires, and b takes the row only once it has expired.
    clock.advance(timedelta(seconds=9))
    ticks.t += 9
    assert not a.held()
    assert not b.acquire()
    clock.advance(timedelta(seconds=1))
    ticks.t += 1
    assert b.acquire() and b.held()
    assert not a.acquire() and not a.held()
    assert b.holder_now() == "b"


def test_release_hands_over_at_once(app: App, clock: ManualClock) -> None:
    ticks = Ticks()
    a, b = lease(app, clock, ticks, "a"), lease(app, clock, ticks, "b")
    assert a.acquire()
    a.release()
    assert not a.held()
    assert b.acquire()
    a.release()  # not a's any more: b keeps it
    assert b.holder_now() == "b"


def test_a_failed_renewal_keeps_the_lease_only_until_it_would_expire(
    app: App, clock: ManualClock, db: tuple[str, Engine]
) -> None:
    ticks = Ticks()
    a = lease(app, clock, ticks, "a")
    assert a.acquire()
    db[1].dispose()

    def unreachable() -> None:
        raise OperationalError("SELECT 1", {}, Exception("partitioned"))

    sessions = a.sessions
    a.sessions = unreachable  # type: ignore[assignment]
    ticks.t += 5
    with pytest.raises(OperationalError):
        a.acquire()
    assert a.held()  # 5 s into a 10 s lease
    ticks.t += 4
    assert not a.held()  # past the lease less the skew allowance: another may hold it now
    a.sessions = sessions
    assert a.acquire()  # nobody took it meanwhile: still a's
