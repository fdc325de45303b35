"""The dispatcher under a platform's rate limit: a 429 holds back that recipient (not the
others; issue 15 item 7, more in test_outbox_faults.py) until its Retry-After ends, costs no
try, and loses or repeats nothing. Pacing
settings reach `serve`'s dispatcher, which alone paces (per platform, and per recipient by
each adapter's interval). Controlled clock; the only real time is pacing's, and
the milliseconds a drain takes."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from adapters.serve import spacing
from adapters.slack.deliver import SlackAdapter, make_client
from bot.app import App
from bot.config import load_settings
from bot.db.schedule_models import OutboxMessage
from bot.delivery import RateLimited
from bot.members import get_workspace
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import DM, Outbound, Reply, User

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _queue(app: App, per_platform: int) -> None:
    items = []
    with app.sessions.begin() as s:
        for platform in ("slack", "discord"):
            ws = get_workspace(s, platform, f"{platform}-1", NOW)
            items += [
                Scheduled(
                    Outbound(DM(User(platform, ws.external_id, f"U{i}", f"m{i}")), Reply(f"{i}")),
                    workspace_id=ws.id,
                    kind="limits",
                    subject=f"{platform}-{i}",
                    local_date=date(2026, 11, 23),
                    due_at=NOW,
                    target_key=f"{platform}-{i}",
                )
                for i in range(per_platform)
            ]
        enqueue(s, items, NOW)


class Platform:
    """Answers 429 (Retry-After 30 s) to the third Slack message, once."""

    def __init__(self) -> None:
        self.tries: list[str] = []
        self.accepted: Counter[str] = Counter()

    def send(self, o: Outbound) -> None:
        key = f"{o.platform}-{o.reply.text}"
        self.tries.append(key)
        if key == "slack-2" and self.tries.count(key) == 1:
            raise RateLimited(30.0)
        self.accepted[key] += 1


def test_a_429_holds_back_that_recipient_until_retry_after(app: App) -> None:
    _queue(app, 10)
    fake = Platform()
    dispatcher = Dispatcher(app.sessions, fake.send, name="d1")
    first = dispatcher.drain(NOW)
    # Slack's 429 was about one recipient: the other nine went on, and so did Discord.
    assert [k for k in fake.tries if k.startswith("slack")] == [f"slack-{i}" for i in range(10)]
    assert sum(1 for k in fake.accepted if k.startswith("discord")) == 10
    assert (first.sent, first.retried, first.deferred) == (19, 1, 0)
    with app.sessions() as s:
        held = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert len(held) == 1
    assert {r.attempts for r in held} == {0}  # neither the 429 nor the wait used a try
    assert all(
        NOW + timedelta(seconds=30) <= r.next_attempt_at < NOW + timedelta(seconds=31) for r in held
    )
    # Before the Retry-After ends nothing goes; after it, everything, once.
    assert dispatcher.drain(NOW + timedelta(seconds=29)).sent == 0
    assert dispatcher.drain(NOW + timedelta(seconds=31)).sent == 1
    assert sorted(fake.accepted) == sorted(
        [f"slack-{i}" for i in range(10)] + [f"discord-{i}" for i in range(10)]
    )
    assert set(fake.accepted.values()) == {1}


def test_a_retry_after_of_zero_still_waits_a_second(app: App) -> None:
    _queue(app, 3)
    tries: list[str] = []

    def send(o: Outbound) -> None:
        tries.append(f"{o.platform}-{o.reply.text}")
        if o.platform == "slack":
            raise RateLimited(0.0)

    # The drain's own clock stands still: however slow this machine, the second that a
    # Retry-After of 0 still waits never passes within the drain.
    report = Dispatcher(app.sessions, send, ticks=lambda: 0.0).drain(NOW)
    # One try per Slack recipient, not a loop of them; Discord unaffected.
    assert [t for t in tries if t.startswith("slack")] == ["slack-0", "slack-1", "slack-2"]
    assert (report.sent, report.retried, report.deferred) == (3, 3, 0)


def test_pacing_is_per_platform(app: App) -> None:
    _queue(app, 5)
    sent_at: dict[str, list[float]] = {"slack": [], "discord": []}

    def send(o: Outbound) -> None:
        sent_at[o.platform].append(time.monotonic())

    # 20/s for Slack means 50 ms between its sends; Discord is unpaced here.
    report = Dispatcher(app.sessions, send, rate={"slack": 20.0}).drain(NOW)
    assert report.sent == 10
    gaps = [b - a for a, b in zip(sent_at["slack"], sent_at["slack"][1:], strict=False)]
    assert min(gaps) >= 0.045
    assert len(sent_at["discord"]) == 5


def test_spacing_is_per_recipient_and_counts_from_the_last_send(app: App) -> None:
    with app.sessions.begin() as s:
        ws = get_workspace(s, "slack", "slack-1", NOW)
        items = [
            Scheduled(
                Outbound(DM(User("slack", ws.external_id, user, user)), Reply(text)),
                workspace_id=ws.id,
                kind="spacing",
                subject=text,
                local_date=date(2026, 11, 23),
                due_at=NOW + timedelta(milliseconds=n),  # U1's three first
            )
            for n, (user, text) in enumerate([("U1", "a"), ("U1", "b"), ("U1", "c"), ("U2", "d")])
        ]
        enqueue(s, items, NOW)
    began: dict[str, float] = {}
    ended: dict[str, float] = {}

    def send(o: Outbound) -> None:
        began[o.reply.text] = time.monotonic()
        ended[o.reply.text] = time.monotonic()

    # 0.3 s between two of U1's messages, counted from when the platform answered the first
    # (it measures arrivals); Discord's spacing does not touch Slack's recipients.
    spaced = {"slack": 0.3, "discord": 5.0}
    report = Dispatcher(app.sessions, send, spacing=spaced, patience=0.1).drain(NOW)
    assert report.sent == 4
    assert began["b"] - ended["a"] >= 0.29
    assert began["c"] - ended["b"] >= 0.29
    assert began["d"] < began["b"]  # another recipient goes beside U1's spacing, not behind


def test_serve_spaces_sends_by_each_adapters_interval() -> None:
    slack = SlackAdapter(make_client("xoxb-test"))
    assert slack.send_interval == 1.0  # Slack: about one post per second per channel
    assert spacing({"slack": slack}) == {"slack": 1.0}


def test_send_rates_come_from_settings() -> None:
    settings = load_settings(slack_send_rate=2.5, discord_send_rate=45)
    assert settings.send_rates == {"slack": 2.5, "discord": 45.0}
    # A lease of two minutes at 2.5/s: a claimed batch takes at most a quarter of it.
    d = Dispatcher(None, print, rate=settings.send_rates)  # type: ignore[arg-type]
    assert d.batch == 75
