"""A reply whose post fails while the database is away too (found by the chaos test, issue
15): the response_url answered 503 during a database cut, the reply could not be queued for a
later try, and it was lost with only an ERROR log. Its change is committed: it is late instead."""

from __future__ import annotations

import dataclasses
import threading

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.db.schedule_models import OutboxMessage
from bot.types import Conversation, Ephemeral, Outbound, Reply
from tests.slack_fake import SlackRig


class _Away:
    """The database, cut off: every session fails as a dead connection does."""

    def __call__(self) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection timeout expired"))

    begin = __call__


def _queued(rig: SlackRig) -> list[str]:
    with rig.runtime.core.sessions() as s:
        return list(s.scalars(select(OutboxMessage.subject).where(OutboxMessage.kind == "reply")))


def test_a_reply_that_cannot_be_queued_yet_is_queued_when_the_database_returns(
    rig: SlackRig,
) -> None:
    before = len(rig.fake.messages())
    rig.command("/settings show")  # first contact: the workspace and the member exist
    rig.fake.wait_messages(before + 1)
    user = rig.bot.user(rig.team, "U1", "u1")
    core = rig.bot.core
    rig.bot.queue_retry_seconds = 0.05
    rig.bot.core = dataclasses.replace(core, sessions=_Away())
    reply = Outbound(
        Ephemeral(user, Conversation("channel", "C1", "general")), Reply("Saved: Acme, applied.")
    )
    rig.bot.later(reply, "q-after-503", None)  # its response_url had answered 503
    assert _queued(rig) == []
    rig.bot.core = core  # the database is back
    done = threading.Event()
    for _ in range(400):
        if _queued(rig) == ["q-after-503"]:
            break
        done.wait(0.025)
    assert _queued(rig) == ["q-after-503"]
