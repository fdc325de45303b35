"""Mock pairs get a room on Discord: a private thread (type 12, not invitable) in the cohort's
channel, its members added, holding the drills and the check-in buttons; each pairing DM links
to it as `<#thread>`; a press there records for the pair. The thread is made once whatever
fails: a retry or a lost answer finds it instead of making another. Without the permission,
the pair hears by DM and is told why. Over the local fake's REST API, on SQLite."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.db.schedule_models import MockMeeting, MockPair, OutboxMessage
from bot.outbox import Dispatcher
from bot.serialize import outbound_from_dict
from tests.discord_fake import (
    BOT_ID,
    Bot,
    FakeDiscord,
    Person,
    Request,
    callback_of,
    click,
    dm_channel_id,
    slash,
    text_of,
)

pytestmark = pytest.mark.sqlite_only

ORG = Person(100, "alice", admin=True)
BOB = Person(101, "bob")
CAROL = Person(102, "carol")
CHANNEL = 777


def _paired(bot: Bot, app: App, clock: ManualClock) -> int:
    bot.send(slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}))
    for who in (BOB, CAROL):
        bot.send(slash(who, "cohort", "join"))
        bot.send(slash(who, "mock", "join"))
    bot.send(slash(ORG, "cohort", "pair", {"when": "now"}))
    # Each member's DM in their own waking hours: all due within the day.
    Dispatcher(app.sessions, bot.adapter.deliver).drain(clock.now() + timedelta(hours=14))
    with app.sessions() as s:
        [pair] = s.scalars(select(MockPair)).all()
        return pair.id


def _buttons(req: Request) -> list[str]:
    return [b["custom_id"] for row in req.message.get("components", []) for b in row["components"]]


def test_the_pair_room_is_a_private_thread_linked_from_each_dm(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    pair_id = _paired(bot, app, clock)
    [made] = fake.matching("POST", rf"^/channels/{CHANNEL}/threads$")
    assert made.json["type"] == 12 and made.json["invitable"] is False
    assert made.json["auto_archive_duration"] == 10080
    assert made.json["name"].startswith("Mock interview: ") and len(made.json["name"]) <= 100
    [thread] = fake.threads
    assert fake.thread_members[thread] == {BOT_ID, BOB.uid, CAROL.uid}
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and (pair.room_kind, pair.room_id) == ("thread", str(thread))

    [post] = fake.matching("POST", rf"^/channels/{thread}/messages$")
    assert _buttons(post) == [f"mock.met|{pair_id}", f"mock.missed|{pair_id}"]
    assert post.json["allowed_mentions"] == {"parse": []}
    assert "interview" in post.json["embeds"][0]["description"]
    for who in (BOB, CAROL):
        [dm] = fake.matching("POST", rf"^/channels/{dm_channel_id(who.uid)}/messages$")
        assert f"<#{thread}>" in dm.json["embeds"][0]["description"]
        assert not _buttons(dm)

    # Carol presses "We met" in the thread: the pair is counted, her row her own.
    message = fake.messages[int(post_id(fake, thread))]
    press: dict[str, Any] = click(CAROL, message, f"mock.met|{pair_id}", channel_id=thread)
    press["channel"] = dict(fake.threads[thread])  # the thread, as Discord describes it
    cb = callback_of(bot.send(press))
    assert "met" in text_of(cb)
    with app.sessions() as s:
        rows = s.scalars(select(MockMeeting).where(MockMeeting.pair_id == pair_id)).all()
        assert sorted((r.outcome, r.own) for r in rows) == [("met", False), ("met", True)]


def post_id(fake: FakeDiscord, channel: int) -> str:
    [msg] = fake.created(channel)
    return str(msg["id"])


def test_a_retried_room_post_makes_no_second_thread_nor_message(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    _paired(bot, app, clock)
    [thread] = fake.threads
    with app.sessions() as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mock-room")).all()
        sent = replace(outbound_from_dict(row.payload), key=row.dedupe_key)
    # The row tried again (its first answer, say, was lost), by this or another replica.
    bot.adapter.deliver(sent)
    bot.adapter.deliver(replace(sent, uncertain=True))
    assert len(fake.matching("POST", r"/threads$")) == 1
    assert len(fake.matching("POST", rf"^/channels/{thread}/messages$")) == 3
    assert len(fake.created(thread)) == 1  # the row's nonce: Discord returns the first


def test_a_lost_answer_to_the_thread_creation_finds_the_thread(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    # Discord makes the thread, and its answer never comes: the next try looks before making.
    fake.slow("POST", rf"^/channels/{CHANNEL}/threads$", 0.0, lose=True)
    pair_id = _paired(bot, app, clock)
    assert len(fake.matching("POST", r"/threads$")) == 1
    [thread] = fake.threads
    # Whatever tries next (the room's post again, or a pairing DM's link) looks first.
    later = clock.now() + timedelta(hours=15)
    Dispatcher(app.sessions, bot.adapter.deliver).drain(later)
    assert fake.matching("GET", r"^/guilds/555/threads/active$")
    assert len(fake.matching("POST", r"/threads$")) == 1  # found, not made again
    assert fake.thread_members[thread] == {BOT_ID, BOB.uid, CAROL.uid}
    assert len(fake.created(thread)) == 1
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and pair.room_id == str(thread)


def test_without_thread_permissions_the_pair_hears_by_dm(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    fake.no_threads_in.add(CHANNEL)
    pair_id = _paired(bot, app, clock)
    assert not fake.threads
    for who in (BOB, CAROL):
        msgs = fake.matching("POST", rf"^/channels/{dm_channel_id(who.uid)}/messages$")
        [room] = [m for m in msgs if _buttons(m)]
        assert _buttons(room) == [f"mock.met|{pair_id}", f"mock.missed|{pair_id}"]
        assert "Create Private Threads" in room.json["embeds"][0]["footer"]["text"]
        [link] = [m for m in msgs if not _buttons(m)]
        assert "a message of its own in your DMs" in link.json["embeds"][0]["description"]
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and pair.room_kind == "dms"


def test_without_send_messages_in_threads_the_pair_hears_by_dm(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    # The thread can be made, but nobody added to it nor anything posted there.
    fake.no_thread_posts_in.add(CHANNEL)
    pair_id = _paired(bot, app, clock)
    for who in (BOB, CAROL):
        msgs = fake.matching("POST", rf"^/channels/{dm_channel_id(who.uid)}/messages$")
        [room] = [m for m in msgs if _buttons(m)]
        assert "Send Messages in Threads" in room.json["embeds"][0]["footer"]["text"]
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and pair.room_kind == "dms"
