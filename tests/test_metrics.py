"""GET /metrics over real HTTP from a running Runtime: commands and their latency, messages
sent and failed through the outbox, and the outbox's depth and oldest age. SQLite and
PostgreSQL. Counters are per process, so every check compares before and after."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.memory import MemoryWorkspace
from adapters.serve import Runtime
from bot import metrics
from bot.app import App
from bot.clock import ManualClock
from bot.db.models import Member
from bot.delivery import DeliveryError, Undeliverable
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import DM, Outbound, Reply, User


@pytest.fixture
def runtime(app: App) -> Iterator[Runtime]:
    # No platform: the HTTP server (and the scheduler with nothing to send) is all we need.
    rt = Runtime(app, app.settings, port=0, host="127.0.0.1")
    rt.start()
    yield rt
    rt.stop()


def scrape(rt: Runtime) -> tuple[str, dict[str, float]]:
    with urllib.request.urlopen(f"{rt.url}/metrics", timeout=5) as resp:
        assert resp.status == 200
        ctype = resp.headers["Content-Type"]
        body = resp.read().decode()
    assert ctype.startswith("text/plain; version=0.0.4")
    return body, parse(body)


def change(before: dict[str, float], after: dict[str, float]) -> Callable[[str], float]:
    """How much one sample moved between two scrapes (absent counts as 0)."""
    return lambda key: after.get(key, 0) - before.get(key, 0)


def parse(body: str) -> dict[str, float]:
    """Every sample as 'name{labels}' -> value; fails on any line that is not valid."""
    samples: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = re.fullmatch(r'([a-z_]+)(\{(?:[a-z_]+="[^"\\]*",?)*\})? (\S+)', line)
        assert m, f"not Prometheus text format: {line!r}"
        samples[m[1] + (m[2] or "")] = float(m[3])
    return samples


@pytest.mark.sqlite_only  # counters in the process; the outbox's figures run on both below
def test_commands_counted_with_latency_and_bounded_labels(
    app: App, runtime: Runtime, clock: ManualClock
) -> None:
    _, before = scrape(runtime)
    ws = MemoryWorkspace(app, clock)
    ws.command("alice", "/settings tz Europe/Berlin")
    ws.command("alice", "/settings tz Nowhere/Land")  # refused: still a command handled
    ws.command("alice", "/no-such-thing with private words")
    body, after = scrape(runtime)
    delta = change(before, after)

    assert delta('cohortbot_commands_total{command="settings tz"}') == 2
    assert delta('cohortbot_commands_total{command="unknown"}') == 1
    assert delta('cohortbot_command_duration_seconds_count{command="settings tz"}') == 2
    assert delta('cohortbot_command_duration_seconds_bucket{command="settings tz",le="+Inf"}') == 2
    assert after['cohortbot_command_duration_seconds_sum{command="settings tz"}'] > 0
    # Buckets are cumulative.
    buckets = [
        v
        for k, v in after.items()
        if k.startswith('cohortbot_command_duration_seconds_bucket{command="settings tz"')
    ]
    assert buckets == sorted(buckets)
    # What members type never becomes a label.
    assert "no-such-thing" not in body and "private" not in body
    assert "# TYPE cohortbot_command_duration_seconds histogram" in body


def test_outbox_sent_failed_depth_and_age(app: App, runtime: Runtime, clock: ManualClock) -> None:
    ws = MemoryWorkspace(app, clock)
    ws.command("alice", "/settings")
    ws.command("bob", "/settings")
    ws.command("carol", "/settings")
    with app.sessions() as s:
        members = {m.display_name: (m.id, m.workspace_id) for m in s.scalars(select(Member))}
    now = clock.now()
    items = [
        Scheduled(
            Outbound(DM(User("memory", "W1", name, name)), Reply(f"hello {name}")),
            workspace_id=members[name][1],
            kind="test",
            subject=name,
            local_date=now.date(),
            due_at=now - timedelta(minutes=minutes),
            member_id=members[name][0],
        )
        for name, minutes in (("alice", 5), ("bob", 3), ("carol", 1))
    ]
    # The runtime's own dispatcher has no adapter for these: stop it so it cannot touch them.
    runtime.stop_event.set()
    for thread in runtime._threads:
        if thread.name == "scheduler":
            thread.join(15)
    with app.sessions.begin() as s:
        enqueue(s, items, now)

    _, before = scrape(runtime)
    assert before["cohortbot_database_up"] == 1
    assert before["cohortbot_outbox_depth"] == 3
    assert before["cohortbot_outbox_oldest_age_seconds"] == pytest.approx(300, abs=1)

    def send(out: Outbound) -> None:
        text = out.reply.text
        if "bob" in text:
            raise Undeliverable("bob closed his DMs")
        if "carol" in text:
            raise DeliveryError("bad request", retryable=False)

    report = Dispatcher(app.sessions, send, name="t").drain(now)
    assert (report.sent, report.undeliverable, report.failed) == (1, 1, 1)
    _, after = scrape(runtime)
    delta = change(before, after)

    assert delta("cohortbot_messages_sent_total") == 1
    assert delta('cohortbot_messages_failed_total{reason="undeliverable"}') == 1
    assert delta('cohortbot_messages_failed_total{reason="failed"}') == 1
    assert after["cohortbot_outbox_depth"] == 0
    assert after["cohortbot_outbox_oldest_age_seconds"] == 0


@pytest.mark.sqlite_only
def test_metrics_answer_while_the_database_is_away(app: App) -> None:
    from bot.db.session import make_engine, make_sessionmaker

    dead = make_sessionmaker(make_engine("sqlite:////nonexistent-dir/x.db"))
    body = metrics.render(dead, app.clock.now())
    samples = parse(body)
    assert samples["cohortbot_database_up"] == 0
    assert "cohortbot_outbox_depth" not in samples


@pytest.mark.sqlite_only
def test_other_paths_are_404(runtime: Runtime) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{runtime.url}/metricsx", timeout=5)
    assert err.value.code == 404


def test_histogram_text() -> None:
    h = metrics.Histogram("x_seconds", "help", buckets=(0.1, 1.0))
    h.observe(0.05, command="a")
    h.observe(0.5, command="a")
    h.observe(5, command="a")
    assert h.render()[2:] == [
        'x_seconds_bucket{command="a",le="0.1"} 1',
        'x_seconds_bucket{command="a",le="1"} 2',
        'x_seconds_bucket{command="a",le="+Inf"} 3',
        'x_seconds_sum{command="a"} 5.55',
        'x_seconds_count{command="a"} 3',
    ]
