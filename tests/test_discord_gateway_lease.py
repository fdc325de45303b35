"""Only one replica holds the Discord gateway connection (issue 15): Discord sends every event
to every session of a shard, so two connected replicas would both receive each interaction.
The others stay logged in for REST and take the gateway over once the holder's lease ends.

Two DiscordRunners (as two replicas) share one database, against the REST fake and the small
gateway of tests/test_serve_platforms.py, which counts the sessions it holds open."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import discord.gateway
import pytest
import yarl
from sqlalchemy.exc import OperationalError

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.runner import DiscordRunner
from bot.app import App
from bot.clock import ManualClock
from bot.lease import Lease
from tests.discord_fake import FakeDiscord, discord_at
from tests.test_serve_platforms import Gateway

# Slow: two gateway replicas handing over.
pytestmark = pytest.mark.slow

TTL = timedelta(seconds=3)


@pytest.fixture
def gateway(fake: FakeDiscord) -> Iterator[Gateway]:
    gw = Gateway().start()
    old = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gw.url)
    try:
        with discord_at(fake):
            yield gw
    finally:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old
        gw.stop()


def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def replica(app: App, clock: ManualClock, name: str, leases: dict[str, Lease]) -> DiscordRunner:
    def make(application_id: int) -> Lease:
        lease = Lease(app.sessions, f"discord-gateway:{application_id}", name, clock.now, ttl=TTL)
        leases[name] = lease
        return lease

    runner = DiscordRunner(DiscordAdapter(app), lease=make, renew_every=0.1)
    runner.start("test-token")
    return runner


def states(*runners: DiscordRunner) -> list[str]:
    return sorted(r.state() for r in runners)


def test_one_replica_connects_and_a_clean_stop_hands_over_at_once(
    app: App, clock: ManualClock, gateway: Gateway
) -> None:
    leases: dict[str, Lease] = {}
    a = replica(app, clock, "a", leases)
    b = replica(app, clock, "b", leases)
    try:
        until(lambda: states(a, b) == ["connected", "standby"])
        # Several renewals later, still exactly one session.
        first = leases["a"].holder_now()
        renewed = a.gateway_changes + b.gateway_changes
        time.sleep(0.5)  # five renewal periods: nothing should change in them
        assert len(gateway.sockets) == 1 and gateway.identified == 1
        assert leases["a"].holder_now() == first
        assert a.gateway_changes + b.gateway_changes == renewed
        holder, standby = (a, b) if first == "a" else (b, a)

        # A clean stop releases the lease: the standby takes over although, on the test's
        # clock (which stands still here), the lease has not expired.
        holder.stop()
        until(lambda: standby.state() == "connected")
        assert len(gateway.sockets) == 1 and gateway.identified == 2
    finally:
        a.stop()
        b.stop()


def test_a_holder_cut_off_from_the_database_lets_go_and_the_other_takes_over(
    app: App, clock: ManualClock, gateway: Gateway
) -> None:
    leases: dict[str, Lease] = {}
    a = replica(app, clock, "a", leases)
    until(lambda: a.state() == "connected")
    b = replica(app, clock, "b", leases)
    try:
        until(lambda: b.state() == "standby")

        def unreachable() -> None:
            raise OperationalError("UPDATE leases", {}, Exception("partitioned"))

        leases["a"].sessions = unreachable  # type: ignore[assignment]
        cut_at = time.monotonic()
        # a keeps the gateway until its lease would run out, then closes its session; only
        # after that does the row expire (the test's clock moves past it) and b connect.
        until(lambda: a.state() != "connected", timeout=TTL.total_seconds() + 2)
        assert time.monotonic() - cut_at >= (TTL - leases["a"].skew).total_seconds() - 0.3
        until(lambda: len(gateway.sockets) == 0)
        assert b.state() == "standby"
        clock.advance(TTL)
        until(lambda: b.state() == "connected")
        assert len(gateway.sockets) == 1 and a.state() == "standby"
    finally:
        a.stop()
        b.stop()
