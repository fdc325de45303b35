"""The daily drill discussion on Discord: the post in the cohort channel, then a public thread
on it (POST /channels/{id}/messages/{message}/threads, a day's archive), the spoiler hint under
it; a retried send neither posts nor opens a thread twice. Over the local fake, on SQLite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from bot.db.schedule_models import OutboxMessage
from bot.jobs import registered_jobs
from bot.outbox import Dispatcher
from bot.serialize import outbound_from_dict
from tests.discord_fake import Bot, FakeDiscord, Person, callback_of, slash, text_of

pytestmark = pytest.mark.sqlite_only

ORG = Person(100, "alice", admin=True)
CHANNEL = 777
MIDDAY = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Berlin


def test_the_days_drill_is_posted_with_a_thread_for_its_discussion(
    bot: Bot, app: App, fake: FakeDiscord
) -> None:
    bot.send(slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}))
    cb = callback_of(bot.send(slash(ORG, "cohort", "talk", {"state": "on", "track": "behavioral"})))
    assert "drill talk is on" in text_of(cb)
    fake.clear()
    jobs = [j for j in registered_jobs() if j.name == "drill-talk"]
    app.jobs.run_at(MIDDAY, jobs)
    Dispatcher(app.sessions, bot.adapter.deliver).drain(MIDDAY)

    [post] = fake.matching("POST", rf"^/channels/{CHANNEL}/messages$")
    [embed] = post.json["embeds"]
    assert embed["title"].startswith("Drill of the day")
    assert "||like this||" in embed["footer"]["text"]
    *_setup, message = fake.created(CHANNEL)  # after the setup's announcement
    [opened] = fake.matching("POST", rf"^/channels/{CHANNEL}/messages/\d+/threads$")
    assert opened.path.endswith(f"/messages/{message['id']}/threads")
    assert opened.json["name"].startswith("Behavioural") and len(opened.json["name"]) <= 100
    assert opened.json["auto_archive_duration"] == 1440
    assert fake.threads[int(message["id"])]["type"] == 11  # public: the whole cohort talks

    # The row tried again (its answer lost): the same message, and no second thread.
    with app.sessions() as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "drill-talk")).all()
        sent = replace(outbound_from_dict(row.payload), key=row.dedupe_key)
    bot.adapter.deliver(sent)
    assert fake.created(CHANNEL)[-1] == message and len(fake.threads) == 1
    assert len(fake.created(CHANNEL)) == len(_setup) + 1
    assert len(fake.matching("POST", r"/threads$")) == 2  # the second told 160004, taken as made
