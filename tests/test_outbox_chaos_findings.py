"""What the chaos test (tests/chaos/) found in the outbox, each reproduced here on its own
(issue 15): two replicas claiming one row at the same moment, a send whose outcome was never
recorded sent again blindly, claims that never reached the platform counted as tries, and
members throttled for good holding the whole workspace back."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.db.schedule_models import OutboxMessage
from bot.delivery import DeliveryError, RateLimited
from bot.members import get_workspace
from bot.outbox import LEASE, Dispatcher, Scheduled, enqueue
from bot.types import DM, Outbound, Reply, User

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _queue(app: App, names: list[str], due: datetime = NOW) -> None:
    with app.sessions.begin() as s:
        ws = get_workspace(s, "slack", "slack-1", NOW)
        items = [
            Scheduled(
                Outbound(DM(User("slack", ws.external_id, f"U-{who}", who)), Reply(who)),
                workspace_id=ws.id,
                kind="chaos",
                subject=who,
                local_date=date(2026, 11, 23),
                due_at=due,
                target_key=who,
            )
            for who in names
        ]
        enqueue(s, items, NOW)


def _rows(app: App) -> dict[str, OutboxMessage]:
    with app.sessions() as s:
        return {r.subject: r for r in s.scalars(select(OutboxMessage))}


def test_replicas_claiming_together_never_take_the_same_row(app: App) -> None:
    """On PostgreSQL a claim's row lock re-checks only the outer condition: a row another
    replica claimed (and committed) while this claim's snapshot still showed it free was
    taken again, and both sent it (two copies within 0.1 s in the chaos run)."""
    _queue(app, [f"m{i}" for i in range(240)])
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def replica(n: int) -> None:
        d = Dispatcher(app.sessions, lambda o: None, name=f"r{n}", batch=4)
        start.wait()
        while True:
            with app.sessions.begin() as s:
                got = d._claim(s, NOW)
            if not got:
                return
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    twice = {i: n for i, n in Counter(claimed).items() if n > 1}
    assert twice == {}
    assert len(claimed) == 240


def test_a_send_whose_outcome_was_not_recorded_is_looked_up_before_it_goes_again(
    app: App,
) -> None:
    """The platform took the message, then the database went away before the row was
    marked sent (or the replica was SIGKILLed in between): the next sender must treat it as
    perhaps delivered (Slack looks it up; Discord's nonce matches), not send it blindly."""
    _queue(app, ["ann", "ben"])
    a = Dispatcher(app.sessions, lambda o: None, name="a")
    sessions = a.sessions
    got: list[Outbound] = []

    class Partitioned:
        def __call__(self) -> None:
            raise OperationalError("UPDATE outbox", {}, Exception("the database went away"))

        begin = __call__

    partitioned = Partitioned()

    def send_then_lose_the_database(o: Outbound) -> None:
        got.append(o)
        a.sessions = partitioned  # type: ignore[assignment]

    a.send = send_then_lose_the_database
    with contextlib.suppress(OperationalError):  # the drain meets the outage too
        a.drain(NOW)
    assert [o.reply.text for o in got] == ["ann"]
    a.sessions = sessions

    b_got: list[Outbound] = []
    b = Dispatcher(app.sessions, b_got.append, name="b")
    assert b.drain(NOW + LEASE + timedelta(seconds=1)).sent == 2
    uncertain = {o.reply.text: o.uncertain for o in b_got}
    # ann went out once already as far as anyone knows; ben never reached the platform.
    assert uncertain == {"ann": True, "ben": False}
    rows = _rows(app)
    assert rows["ben"].attempts == 1  # a claim that never sent is not a try


def test_claims_of_a_dead_replica_that_never_sent_count_no_try(app: App) -> None:
    """A SIGKILLed replica's claimed rows were counted as tries: after two crashes one 5xx
    backed a member's drill off for two minutes (30 s doubled per try)."""
    _queue(app, ["ann"])
    for n in range(2):  # claimed by replicas that die before sending
        with app.sessions.begin() as s:
            assert Dispatcher(app.sessions, lambda o: None, name=f"dead{n}")._claim(
                s, NOW + (LEASE + timedelta(seconds=1)) * n
            )
    later = NOW + (LEASE + timedelta(seconds=1)) * 2
    seen: list[Outbound] = []
    assert Dispatcher(app.sessions, seen.append, name="alive").drain(later).sent == 1
    assert _rows(app)["ann"].attempts == 1
    assert not seen[0].uncertain  # nothing was sent: no look-up needed


def test_members_throttled_for_good_do_not_hold_the_workspace(app: App) -> None:
    """Three members whose DMs answer 429 every time (Retry-After 10 s) were taken, at each
    of their retries, for the workspace's own limit: every other member waited 10 s too."""
    throttled = ["t0", "t1", "t2"]
    _queue(app, throttled)

    def send(o: Outbound) -> None:
        if o.reply.text in throttled:
            raise RateLimited(10.0)

    # Their first 429s together may well be the workspace's limit: that is the rule.
    Dispatcher(app.sessions, send, name="r1").drain(NOW)
    _queue(app, [f"h{i}" for i in range(5)], due=NOW + timedelta(seconds=10.5))
    # Another replica meets them again, now due with the others: the same members told 429
    # again is their trouble, not the workspace's.
    report = Dispatcher(app.sessions, send, name="r2").drain(NOW + timedelta(seconds=11))
    assert report.sent == 5
    assert report.retried == 3
    assert {r.status for k, r in _rows(app).items() if k.startswith("h")} == {"sent"}


@pytest.mark.parametrize("fresh", [3])
def test_fresh_429s_of_several_members_still_hold_the_workspace(app: App, fresh: int) -> None:
    """The rule the previous test narrows: members never limited before, told 429 together,
    are the workspace's limit, and the workspace waits as a whole."""
    _queue(app, [f"s{i}" for i in range(8)])
    tries: list[str] = []

    def send(o: Outbound) -> None:
        tries.append(o.reply.text)
        raise RateLimited(30.0)

    Dispatcher(app.sessions, send).drain(NOW)
    assert len(tries) == fresh


def test_a_drill_told_5xx_three_times_is_still_sent_within_two_minutes(app: App) -> None:
    """A transient 5xx backed a message off 30 s, doubling: three in a row (about one row in
    2,500 under the chaos test's fault rates) made a drill 3.5 minutes late."""
    _queue(app, ["ann"])
    failures = [DeliveryError("Slack answered 503", retryable=True)] * 3

    def send(o: Outbound) -> None:
        if failures:
            raise failures.pop()

    d = Dispatcher(app.sessions, send, name="r1")
    at = NOW
    for _ in range(4):
        d.drain(at)
        row = _rows(app)["ann"]
        if row.status == "sent":
            break
        at = row.next_attempt_at
    assert _rows(app)["ann"].status == "sent"
    assert at - NOW <= timedelta(minutes=2)
