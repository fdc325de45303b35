"""Issue 15, item 7 (Slack side): one member's burst of DMs never delays another member's.

Slack takes about one post per second per channel, so the outbox spaces each channel's posts
by the adapter's interval; the spacing holds back that channel's own posts only, while other
members' messages go beside them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.serve import spacing
from adapters.slack.deliver import SlackAdapter, make_client
from bot.db.models import Workspace
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import DM, Outbound, Reply, User
from tests.slack_fake import SlackRig

# Slow: Slack's rate limit waited out. One database: what is measured is the outbox's spacing
# of one channel's posts against another's, the same rows on either (the outbox's SQL has its
# own tests on both, tests/test_outbox_*.py).
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

BURST = 12


@pytest.mark.slow
def test_a_burst_to_one_member_does_not_hold_back_another(rig: SlackRig) -> None:
    for user in ("U1", "U2"):
        before = len(rig.fake.messages())
        rig.command("/settings show", user=user)
        rig.fake.wait_messages(before + 1)
    rig.fake.channel_interval = 0.9  # Slack's per-channel pace, enforced with 429s
    core = rig.runtime.core
    now = core.clock.now()
    items = [(f"Burst {i}", "U1", i) for i in range(BURST)] + [("For U2", "U2", BURST)]
    with core.sessions.begin() as s:
        ws = s.scalar(select(Workspace.id).where(Workspace.external_id == rig.team))
        assert ws is not None
        enqueue(
            s,
            [
                Scheduled(
                    Outbound(DM(User("slack", rig.team, user, user)), Reply(text)),
                    ws,
                    kind="test",
                    subject=text,
                    local_date=now.date(),
                    # The burst first: U2's message is the last one due.
                    due_at=now + timedelta(milliseconds=n),
                )
                for text, user, n in items
            ],
            now,
        )
    adapter = SlackAdapter(make_client("xoxb-test", rig.fake.api_url), channel_interval=1.0)
    dispatcher = Dispatcher(core.sessions, adapter.deliver, spacing=spacing({"slack": adapter}))
    for k in range(BURST + 2):  # the ticks of `serve`, until all is out
        dispatcher.drain(now + timedelta(seconds=1 + 2 * k))
        if len(rig.fake.delivered("chat.postMessage")) >= len(items) + 0:
            break
    posts = [c for c in rig.fake.all("chat.postMessage") if c.at >= 0]
    sent = {c.body["text"]: c.at for c in posts if c.ok}
    first = min(sent.values())
    delay = sent["For U2"] - first
    refused = [c for c in posts if c.status == 429]
    print(f"U2's DM after {delay:.1f} s behind a burst of {BURST}; 429s: {len(refused)}")
    assert len(sent) == len(items)
    assert delay < 2.0
    assert not refused
