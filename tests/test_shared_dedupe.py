"""Two replicas on one PostgreSQL database behave as one (issue 15, item 8): a Slack request
retried to the other replica, an event delivered to both, a Discord interaction that both
gateway sessions receive, each is applied once; and a member's command budget is one budget,
not one per replica."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from sqlalchemy import event, text

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.runner import DiscordRunner
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db import migrate
from bot.db.session import make_engine
from bot.ratelimit import SLOW_DOWN
from tests.conftest import PG_URL, START, pg_engine, private_schema
from tests.discord_fake import FakeDiscord, Person, discord_at, slash
from tests.slack_fake import FakeSlack, SlackRig
from tests.slack_fixtures import served_slack

# Slow: two replicas on PostgreSQL.
pytestmark = pytest.mark.slow


@dataclass
class Pair:
    a: App
    b: App
    fake: FakeSlack
    rig_a: SlackRig
    rig_b: SlackRig


@pytest.fixture
def pair() -> Iterator[Pair]:
    """Two apps, each with its own engine and its own served Slack front, on one schema."""
    with private_schema("dup") as schema, ExitStack() as stack:
        direct = pg_engine(schema)
        migrate.upgrade(direct)
        direct.dispose()
        settings = load_settings(database_url=PG_URL, rate_limit_per_minute=4)
        apps = []
        for _ in range(2):
            engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
            stack.callback(engine.dispose)
            apps.append(build_app(settings, ManualClock(START), engine=engine, upgrade=False))
        fake = FakeSlack().start()
        stack.callback(fake.stop)
        token = SecretStr("xoxb-test")
        rig_a = stack.enter_context(served_slack(apps[0], fake, bot_token=token))
        rig_b = stack.enter_context(served_slack(apps[1], fake, bot_token=token))
        yield Pair(apps[0], apps[1], fake, rig_a, rig_b)


def test_a_slack_retry_to_the_other_replica_is_applied_once(pair: Pair) -> None:
    pair.rig_a.command("/pipeline add Acme")
    pair.fake.wait_messages(1)
    line = "/pipeline interview Acme 2026-11-25 14:00 technical"
    first = pair.rig_a.command(line, trigger_id="trig-retried")
    retry = pair.rig_b.command(line, trigger_id="trig-retried", headers={"X-Slack-Retry-Num": "1"})
    assert first.status == retry.status == 200
    pair.fake.wait_messages(2)
    pair.rig_a.command("/settings show")  # a later request: everything before it is done
    pair.fake.wait_messages(3)
    answers = [m for m in pair.fake.messages() if "Acme" in m.text() and "14:00" in m.text()]
    assert len(answers) == 1, [m.text()[:80] for m in answers]
    with pair.a.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pipeline_interviews")).scalar() == 1


def test_the_ack_makes_no_database_round_trip(pair: Pair) -> None:
    # The shared record of requests taken on is claimed by the work after the ack: before, its
    # round trip was most of the ack's cost, and a slow database held every ack behind it.
    threads: list[str] = []

    def record(*_: object) -> None:
        threads.append(threading.current_thread().name)

    event.listen(pair.a.engine, "before_cursor_execute", record)
    try:
        pair.rig_a.command("/settings show", trigger_id="trig-ack")
        pair.fake.wait_messages(1)
    finally:
        event.remove(pair.a.engine, "before_cursor_execute", record)
    assert threads, "the work after the ack uses the database"
    assert not [name for name in threads if name.startswith("http")], threads
    with pair.a.engine.connect() as conn:  # and the request is on the shared record
        keys = conn.execute(text("SELECT key FROM seen_requests")).scalars().all()
    assert "trigger:trig-ack" in keys


def test_an_event_delivered_to_both_replicas_is_processed_once(pair: Pair) -> None:
    event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    pair.rig_a.event(event, event_id="EvTwice")
    pair.rig_b.event(event, event_id="EvTwice")
    pair.fake.wait_for(lambda: len(pair.fake.delivered("views.publish")) >= 1, what="home")
    pair.rig_b.event({**event, "user": "U2"}, event_id="EvOther")
    pair.fake.wait_for(lambda: len(pair.fake.delivered("views.publish")) >= 2, what="home 2")
    published = [str(c.body.get("user_id")) for c in pair.fake.delivered("views.publish")]
    assert sorted(published) == ["U1", "U2"]


def test_member_budget_is_shared_by_replicas(pair: Pair) -> None:
    # 4 a minute, on a frozen clock: six commands, three to each replica, leave two refused.
    # (Each request its own trigger id: the rigs count theirs separately, and the same id on
    # both replicas would rightly be taken for a retry.)
    for i in range(6):
        rig = pair.rig_a if i % 2 else pair.rig_b
        rig.command("/settings show", user="UFLOOD", channel=f"C{i}", trigger_id=f"flood-{i}")
    msgs = pair.fake.wait_messages(6)
    slowed = [m for m in msgs if SLOW_DOWN in m.text()]
    assert len(slowed) == 2
    # Another member is not touched by it, on either replica.
    pair.rig_a.command("/settings show", user="UCALM", trigger_id="calm-a")
    pair.rig_b.command("/settings show", user="UCALM", trigger_id="calm-b")
    calm = pair.fake.wait_messages(8)[6:]
    assert not [m for m in calm if SLOW_DOWN in m.text()]


def test_a_discord_interaction_both_sessions_receive_is_answered_once(pair: Pair) -> None:
    fake = FakeDiscord().start()
    runners: list[DiscordRunner] = []
    try:
        with discord_at(fake):
            for app in (pair.a, pair.b):
                runner = DiscordRunner(DiscordAdapter(app))
                runner.start("test-token", connect=False, wait=10)
                runners.append(runner)
            payload = slash(Person(4242, "dana"), "settings", "show")
            for runner in runners:
                runner.feed(payload)
            for runner in runners:
                assert runner.adapter.wait_finished(int(payload["id"]), 15)
        callbacks = fake.matching("POST", rf"/interactions/{payload['id']}/")
        assert len(callbacks) == 1
    finally:
        for runner in runners:
            runner.stop()
        fake.stop()


def test_a_shortcut_opens_its_modal_before_the_shared_record_is_asked(pair: Pair) -> None:
    # A trigger_id opens a view within 3 s: the claim's round trip (and its budget, with the
    # database slow) came before the work that opens it. A shortcut changes nothing, and Slack
    # opens one view per trigger, so it is not claimed; a copy on the other replica is quiet.
    views_before: list[int] = []  # for each statement on the shared record: views opened

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "seen_requests" in statement:
            views_before.append(len(pair.fake.delivered("views.open")))

    post = {"user": "U9", "text": "Senior Data Engineer at Acme Corp"}
    event.listen(pair.a.engine, "before_cursor_execute", record)
    try:
        pair.rig_a.message_shortcut("add_to_pipeline", post, trigger_id="trig-shortcut")
        pair.fake.wait_for(lambda: len(pair.fake.delivered("views.open")) == 1, what="a modal")
        assert 0 not in views_before, views_before
        pair.rig_b.message_shortcut("add_to_pipeline", post, trigger_id="trig-shortcut")
        pair.fake.wait_for(lambda: len(pair.fake.all("views.open")) == 2, what="the copy's try")
        pair.rig_a.command("/settings show")  # a later request: everything before it is done
        pair.fake.wait_messages(1)
    finally:
        event.remove(pair.a.engine, "before_cursor_execute", record)
    assert 0 not in views_before, views_before
    [opened] = pair.fake.delivered("views.open")  # the copy's was refused: exchanged_trigger_id
    assert opened.body["trigger_id"] == "trig-shortcut"
    [settings] = pair.fake.messages()  # the copy sent no text in place of the form
    assert "Time zone" in settings.text()
