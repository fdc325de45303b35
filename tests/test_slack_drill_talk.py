"""The daily drill discussion on Slack: a post in the cohort channel (its replies are the
message's own thread), once per local day, through the outbox and the fake Web API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.jobs import registered_jobs
from bot.outbox import Dispatcher
from bot.serialize import target_from_dict, target_to_dict
from bot.types import Channel, Conversation
from tests.helpers import slack_run
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only

CHANNEL = "C9"
MIDDAY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York, the admin's zone


def test_the_days_drill_is_posted_once_in_the_channel(slack: SlackRig, app: App) -> None:
    rig = slack
    first = len(rig.fake.messages())
    assert rig.command("/cohort setup", user="UADMIN", channel=CHANNEL).status == 200
    rig.fake.wait_messages(first + 2)  # the answer and the channel's announcement
    on = slack_run(rig, "/cohort talk on system-design", "UADMIN", CHANNEL)
    assert "drill talk is on" in on.body["text"]
    jobs = [j for j in registered_jobs() if j.name == "drill-talk"]
    before = len(rig.fake.delivered("chat.postMessage"))
    for at in (MIDDAY, MIDDAY + timedelta(hours=2)):
        app.jobs.run_at(at, jobs)
        Dispatcher(app.sessions, rig.bot.adapter.deliver).drain(at)
    [post] = rig.fake.delivered("chat.postMessage")[before:]
    assert post.body["channel"] == CHANNEL
    assert post.body["blocks"][0]["text"]["text"].startswith("Drill of the day")
    assert "thread" in post.body["text"]
    assert post.body["metadata"]["event_type"] == "cohortbot_outbox"


def test_a_discussion_post_keeps_its_thread_in_the_outbox() -> None:
    post = Channel(Conversation("channel", "C9", "cohort"), "slack", "T1", thread="Coding, Mon")
    assert target_from_dict(target_to_dict(post)) == post
    plain = Channel(Conversation("channel", "C9", "cohort"), "slack", "T1")
    assert "thread" not in target_to_dict(plain)  # rows queued before threads read the same
