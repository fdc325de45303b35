"""SlackAdapter.deliver, the outbox's way to send scheduled messages: real HTTP to the fake,
Slack's failures turned into RateLimited / Undeliverable / DeliveryError."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.serve import spacing
from adapters.slack.deliver import SlackAdapter, make_client
from bot.app import App
from bot.delivery import DeliveryError, RateLimited, Undeliverable, UnsupportedTarget
from bot.members import get_workspace
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import (
    DM,
    Attachment,
    Channel,
    Conversation,
    Ephemeral,
    InPlace,
    Outbound,
    Reply,
    User,
)
from tests.slack_fake import SECRET, FakeSlack, post, sign

ALICE = User("slack", "T1", "U1", "alice")
COHORT = Conversation("channel", "C9", "cohort")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack().start()
    yield f
    f.stop()


def adapter(fake: FakeSlack, interval: float = 0.0) -> SlackAdapter:
    return SlackAdapter(make_client("xoxb-test", fake.api_url), channel_interval=interval)


def test_channel_post(fake: FakeSlack) -> None:
    adapter(fake).deliver(
        Outbound(Channel(COHORT, "slack", "T1"), Reply("Leaderboard <!here>", title="Week 3"))
    )
    [msg] = fake.delivered("chat.postMessage")
    assert msg.body["channel"] == "C9"
    assert msg.body["text"] == "Week 3: Leaderboard &lt;!here&gt;"
    assert msg.body["link_names"] is False
    assert msg.headers["Authorization"] == "Bearer xoxb-test"


def test_dm_opens_the_conversation_once(fake: FakeSlack) -> None:
    a = adapter(fake)
    a.deliver(Outbound(DM(ALICE), Reply("Your daily drill")))
    a.deliver(Outbound(DM(ALICE), Reply("And another")))
    assert len(fake.delivered("conversations.open")) == 1
    assert [m.body["channel"] for m in fake.delivered("chat.postMessage")] == ["DU1", "DU1"]


def test_channel_chart_is_uploaded_with_files_upload_v2(fake: FakeSlack) -> None:
    chart = Attachment("board.png", b"\x89PNG fake", "image/png")
    adapter(fake).deliver(Outbound(Channel(COHORT, "slack", "T1"), Reply("This week", image=chart)))
    assert [c.method for c in fake.delivered()] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    [upload] = fake.delivered("upload")
    assert upload.raw == b"\x89PNG fake"
    [done] = fake.delivered("files.completeUploadExternal")
    assert done.body["channel_id"] == "C9"


def test_ephemeral_without_response_url_uses_post_ephemeral(fake: FakeSlack) -> None:
    adapter(fake).deliver(Outbound(Ephemeral(ALICE, COHORT), Reply("Only for you")))
    [msg] = fake.delivered("chat.postEphemeral")
    assert (msg.body["channel"], msg.body["user"]) == ("C9", "U1")


def test_in_place_without_a_message_is_refused_loudly(fake: FakeSlack) -> None:
    with pytest.raises(UnsupportedTarget):
        adapter(fake).deliver(Outbound(InPlace(ALICE, COHORT), Reply("x")))


@pytest.mark.slow
def test_one_429_is_waited_out_and_sent_once(fake: FakeSlack) -> None:
    fake.rate_limit = {"chat.postMessage": 1}
    adapter(fake).deliver(
        Outbound(Channel(COHORT, "slack", "T1"), Reply("Plan: applications week"))
    )
    attempts = fake.all("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert len(fake.delivered("chat.postMessage")) == 1


@pytest.mark.slow
def test_persistent_429_raises_rate_limited_and_sends_nothing(fake: FakeSlack) -> None:
    fake.rate_limit = {"chat.postMessage": 10}
    with pytest.raises(RateLimited) as err:
        adapter(fake).deliver(Outbound(Channel(COHORT, "slack", "T1"), Reply("x")))
    assert err.value.retry_after == 1.0
    assert not fake.delivered("chat.postMessage")


@pytest.mark.parametrize("error", ["cannot_dm_bot", "user_not_found", "account_inactive"])
def test_member_who_cannot_get_dms_is_undeliverable(fake: FakeSlack, error: str) -> None:
    fake.errors = {"conversations.open": error}
    with pytest.raises(Undeliverable):
        adapter(fake).deliver(Outbound(DM(ALICE), Reply("x")))


def test_other_errors_are_delivery_errors(fake: FakeSlack) -> None:
    fake.errors = {"chat.postMessage": "not_in_channel"}
    with pytest.raises(DeliveryError) as err:
        adapter(fake).deliver(Outbound(Channel(COHORT, "slack", "T1"), Reply("x")))
    assert not isinstance(err.value, Undeliverable)
    assert err.value.retryable is False
    fake.errors = {"chat.postMessage": "internal_error"}
    with pytest.raises(DeliveryError) as err:
        adapter(fake).deliver(Outbound(Channel(COHORT, "slack", "T1"), Reply("x")))
    assert err.value.retryable is True


def test_unreachable_slack_is_retryable() -> None:
    a = SlackAdapter(make_client("xoxb-test", "http://127.0.0.1:9/api/", timeout=2))
    with pytest.raises(DeliveryError) as err:
        a.deliver(Outbound(Channel(COHORT, "slack", "T1"), Reply("x")))
    assert err.value.retryable is True


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_posts_to_one_channel_are_paced(fake: FakeSlack, app: App) -> None:
    """The outbox spaces a channel's posts by the adapter's interval (it alone paces; the
    adapter never sleeps), and holds back no other channel meanwhile."""
    a = adapter(fake, interval=0.4)
    now = app.clock.now()
    posts = [(COHORT, f"post {i}") for i in range(3)]
    posts.append((Conversation("channel", "C8"), "elsewhere"))
    with app.sessions.begin() as s:
        ws = get_workspace(s, "slack", "T1", now).id
        items = [
            Scheduled(
                Outbound(Channel(conv, "slack", "T1"), Reply(text)),
                ws,
                kind="test",
                subject=text,
                local_date=now.date(),
                due_at=now + timedelta(milliseconds=n),  # in this order
            )
            for n, (conv, text) in enumerate(posts)
        ]
        enqueue(s, items, now)
    dispatcher = Dispatcher(app.sessions, a.deliver, spacing=spacing({"slack": a}), patience=0.1)
    report = dispatcher.drain(now)
    assert report.sent == 4
    at = {m.body["text"]: m.at for m in fake.delivered("chat.postMessage")}
    assert at["post 1"] - at["post 0"] >= 0.35
    assert at["post 2"] - at["post 1"] >= 0.35
    # Another channel goes beside it (once the drain's patience, 0.1 s, is over), not behind.
    assert at["elsewhere"] < at["post 2"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_cohortbot_serve_answers_a_signed_command(fake: FakeSlack, tmp_path: Path) -> None:
    """The real `cohortbot serve` process, end to end on a fresh SQLite file."""
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_BASE_URL": fake.api_url,
        "COHORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "COHORTBOT_HOST": "127.0.0.1",
    }
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("DISCORD_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cohortbot.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise AssertionError(f"serve did not come up: {out}") from None
                time.sleep(0.1)
        body = (
            "team_id=T1&channel_id=C1&channel_name=cohort&user_id=U1&user_name=alice"
            f"&command=%2Fsettings&text=tz+Europe%2FLisbon&trigger_id=t1"
            f"&response_url={fake.response_url('serve')}"
        )
        ans = post(f"http://127.0.0.1:{port}/slack/events", body, secret=SECRET)
        assert ans.status == 200
        [msg] = fake.wait_messages(1, timeout=20)
        assert msg.path == "/respond/serve"
        assert "Europe/Lisbon" in msg.body["text"]
        bad = post(
            f"http://127.0.0.1:{port}/slack/events",
            body,
            secret=SECRET,
            signature=sign("x", body, 1),
        )
        assert bad.status == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
