"""An ephemeral sent through the outbox whose answer was lost (found by the chaos test, issue
15): Slack had shown it, the next try found no history to look in (Slack keeps none of
ephemerals) and showed it again. As on the interactive path, it is taken as arrived."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import Workspace
from bot.db.schedule_models import OutboxMessage
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import DM, Conversation, Ephemeral, Outbound, Reply, User
from tests.slack_fake import SlackRig


def test_an_ephemeral_whose_answer_was_lost_is_not_shown_twice(rig: SlackRig) -> None:
    before = len(rig.fake.messages())
    rig.command("/settings show")  # first contact: the workspace exists
    rig.fake.wait_messages(before + 1)
    core = rig.runtime.core
    now = core.clock.now()
    with core.sessions.begin() as s:
        ws = s.scalar(select(Workspace.id).where(Workspace.external_id == rig.team))
        assert ws is not None
        target = Ephemeral(User("slack", rig.team, "U1", "u1"), Conversation("channel", "C1"))
        reply = Outbound(target, Reply("Saved: Acme, applied."), key="q7")
        item = Scheduled(reply, ws, "reply", "q7", now.date(), now, target_key="slack:U1")
        enqueue(s, [item], now)
    rig.fake.fault("chat.postEphemeral", "lost")  # shown, then the answer is lost
    for after in (0, 70, 140):
        Dispatcher(core.sessions, rig.bot.adapter.deliver).drain(now + timedelta(seconds=after))
    shown = [
        c
        for c in rig.fake.delivered("chat.postEphemeral")
        if c.body.get("text") == reply.reply.text
    ]
    assert len(shown) == 1
    with core.sessions() as s:
        assert s.scalars(select(OutboxMessage.status)).all() == ["sent"]


def test_a_send_that_nothing_went_wrong_with_is_not_looked_up(rig: SlackRig) -> None:
    """Only a post that may already be in Slack is looked up (history calls are scarce: once
    a minute for apps outside the Marketplace), not one merely being sent."""
    before = len(rig.fake.messages())
    rig.command("/settings show")
    rig.fake.wait_messages(before + 1)
    core = rig.runtime.core
    now = core.clock.now()
    with core.sessions.begin() as s:
        ws = s.scalar(select(Workspace.id).where(Workspace.external_id == rig.team))
        assert ws is not None
        items = [
            Scheduled(
                Outbound(DM(User("slack", rig.team, f"U{i}", f"u{i}")), Reply(f"drill {i}")),
                ws, "drill", f"d{i}", now.date(), now, member_id=None, target_key=f"U{i}",
            )
            for i in range(1, 4)
        ]  # fmt: skip
        enqueue(s, items, now)
    assert Dispatcher(core.sessions, rig.bot.adapter.deliver).drain(now).sent == 3
    assert rig.fake.all("conversations.history") == []
