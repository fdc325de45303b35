"""Mock pairs get a room on Slack: a group DM (conversations.open with the pair's users) holds
the suggested drills and the check-in buttons; each pairing DM links to it as `<#G...>`; a
press there records for the pair; a retried or uncertain send posts nothing twice and opens
nothing again, on any replica. Over the fake Web API (real HTTP), on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.slack.deliver import SlackAdapter, make_client
from bot.app import App
from bot.db.schedule_models import MockMeeting, MockPair, OutboxMessage
from bot.outbox import Dispatcher
from bot.rooms import RoomBook
from bot.serialize import outbound_from_dict
from tests.conftest import START
from tests.helpers import slack_run
from tests.slack_fake import Call, SlackRig

pytestmark = pytest.mark.sqlite_only

CHANNEL = "C9"


def _paired(rig: SlackRig, app: App) -> tuple[int, list[Call]]:
    slack_run(rig, "/cohort setup", "UADMIN", CHANNEL)
    for user in ("U1", "U2"):
        slack_run(rig, "/cohort join", user, CHANNEL)
        slack_run(rig, "/mock join", user, CHANNEL)
    before = len(rig.fake.calls)
    slack_run(rig, "/cohort pair now", "UADMIN", CHANNEL)
    # Each member's DM in their waking hours (New York, Tokyo), and the room's post when both
    # are awake (00:00-01:00 UTC: 19:00 in New York, 09:00 in Tokyo): all due within the day.
    Dispatcher(app.sessions, rig.bot.adapter.deliver).drain(START + timedelta(hours=16, minutes=30))
    with app.sessions() as s:
        [pair] = s.scalars(select(MockPair)).all()
        pair_id = pair.id
    return pair_id, rig.fake.calls[before:]


def test_the_pair_room_is_a_group_dm_linked_from_each_dm(slack: SlackRig, app: App) -> None:
    rig = slack
    pair_id, calls = _paired(rig, app)
    opens = [c for c in calls if c.method == "conversations.open" and "," in c.body["users"]]
    assert opens and all(set(c.body["users"].split(",")) == {"U1", "U2"} for c in opens)
    [mpim] = list(rig.fake.mpim_members)  # the same group DM however often it was asked
    assert mpim.startswith("G") and rig.fake.mpim_members[mpim] == {"U1", "U2"}
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and (pair.room_kind, pair.room_id) == ("mpim", mpim)

    posts = [c for c in calls if c.method == "chat.postMessage" and c.ok]
    [room] = [c for c in posts if c.body["channel"] == mpim]
    ids = [
        e["action_id"] for b in room.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert ids == [f"mock.met|{pair_id}", f"mock.missed|{pair_id}"]
    assert "interview" in room.body["text"] and room.body["metadata"]["event_payload"]["key"]
    dms = [c for c in posts if c.body["channel"] in ("DU1", "DU2")]
    assert {c.body["channel"] for c in dms} == {"DU1", "DU2"}
    for dm in dms:
        assert f"<#{mpim}>" in dm.body["text"]
        assert f"<#{mpim}>" in str(dm.body["blocks"])
        assert not [b for b in dm.body["blocks"] if b["type"] == "actions"]

    # "We met", pressed in the group DM by U2, counts the pair, per member.
    assert rig.click(f"mock.met|{pair_id}", user="U2", channel=mpim).status == 200
    rig.fake.wait_for(
        lambda: any("Noted: you and" in (c.body.get("text") or "") for c in rig.fake.messages()),
        10,
        "the press's answer",
    )
    with app.sessions() as s:
        rows = s.scalars(select(MockMeeting).where(MockMeeting.pair_id == pair_id)).all()
        assert sorted((r.outcome, r.own) for r in rows) == [("met", False), ("met", True)]


def test_a_retried_room_post_is_neither_opened_nor_posted_twice(slack: SlackRig, app: App) -> None:
    rig = slack
    _paired(rig, app)
    with app.sessions() as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mock-room")).all()
        out = outbound_from_dict(row.payload)
    posted = len(rig.fake.delivered("chat.postMessage"))
    opened = len(rig.fake.all("conversations.open"))
    # Another replica, told the post may have gone out: it finds the room recorded and the
    # post in the group DM's history by its key.
    other = SlackAdapter(
        make_client("xoxb-test", rig.fake.api_url),
        channel_interval=0,
        rooms=RoomBook(app.sessions, app.clock.now),
    )
    from dataclasses import replace

    first = replace(out, key=row.dedupe_key)
    other.deliver(first)  # what the outbox row's first try would have posted
    again = replace(first, uncertain=True)
    other.deliver(again)
    assert len(rig.fake.delivered("chat.postMessage")) == posted + 1
    assert len(rig.fake.all("conversations.open")) == opened


def test_without_mpim_write_the_pair_is_written_to_by_dm(slack: SlackRig, app: App) -> None:
    rig = slack
    rig.fake.missing_scopes.add("mpim:write")
    pair_id, calls = _paired(rig, app)
    posts = [c for c in calls if c.method == "chat.postMessage" and c.ok]
    assert not [c for c in posts if c.body["channel"].startswith("G")]
    rooms = [c for c in posts if f"mock.met|{pair_id}" in str(c.body["blocks"])]
    assert {c.body["channel"] for c in rooms} == {"DU1", "DU2"}
    assert all("mpim:write" in str(c.body["blocks"]) for c in rooms)
    with app.sessions() as s:
        pair = s.get(MockPair, pair_id)
        assert pair is not None and pair.room_kind == "dms"
