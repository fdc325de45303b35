"""Mock pairs get a room: on a platform with rooms (Slack, Discord) the core sends the pair's
drills, check-in buttons and reminders once to a `Room` target, and each member's pairing DM
links to it; the console keeps writing to each member's DM (tests/test_mock_checkins.py)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.app import App
from bot.clock import ManualClock
from bot.dates import fmt_date
from bot.db.models import Member
from bot.db.schedule_models import MockMeeting, MockPair
from bot.rooms import NAME_LIMIT, Opened, RoomBook, pair_key, room_name
from bot.serialize import target_from_dict, target_to_dict
from bot.types import Channel, Conversation, Room, User, room_keys, room_links
from tests.scheduling import dms_to, only_jobs

BERLIN = "Europe/Berlin"
PEOPLE = ("bob", "carol", "dan", "eve")
WEEK1 = date(2026, 11, 23)


@pytest.fixture
def room_ws(app: App, clock: ManualClock) -> MemoryWorkspace:
    # The memory workspace speaking as Slack: the core sends rooms, which it records as sent.
    w = MemoryWorkspace(
        app, clock, platform="slack", jump=not os.environ.get("COHORTBOT_TEST_TICK")
    )
    w.user("alice", admin=True)
    return w


def _start(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    for name in PEOPLE:
        ws.command(name, "/mock join", where=ws.dm(name))
    only_jobs(ws, "mock-pairing", "mock-checkins")


def _pairs(ws: MemoryWorkspace) -> dict[str, tuple[int, set[str]]]:
    with ws.app.sessions() as s:
        names: dict[int, str] = dict(s.execute(select(Member.id, Member.display_name)).all())
        return {
            pair_key(p.id): (p.id, {names[m] for m in (p.member_a, p.member_b, p.member_c) if m})
            for p in s.scalars(select(MockPair).where(MockPair.week_start == WEEK1))
        }


def _rooms(out: list[Delivery]) -> list[Delivery]:
    return [d for d in out if isinstance(d.outbound.target, Room)]


def test_the_pair_hears_in_its_room_and_each_dm_links_to_it(room_ws: MemoryWorkspace) -> None:
    ws = room_ws
    _start(ws)
    out = ws.advance(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    pairs = _pairs(ws)
    rooms = _rooms(out)
    assert len(rooms) == 2
    for d in rooms:
        room = d.outbound.target
        assert isinstance(room, Room)
        pid, names = pairs[room.key]
        assert {u.display_name for u in room.users} == names
        assert room.channel is not None and room.channel.conversation.id == "C-cohort"
        assert room.name == room_name(sorted(names, key=room.name.index), WEEK1)
        assert {(b.action, b.value) for b in d.reply.buttons} == {
            ("mock.met", str(pid)),
            ("mock.missed", str(pid)),
        }
        assert all(n in d.text for n in names) and "interview" in d.text
    for name in PEOPLE:
        [dm] = dms_to(out, name)
        key = next(k for k, (_, names) in pairs.items() if name in names)
        assert room_keys(dm.text) == [key]
        assert not dm.reply.buttons  # the buttons are the room's
        assert "room: a message of its own in your DMs" in room_links(dm.text)
        partner = next(n for n in pairs[key][1] if n != name)
        assert partner in dm.text

    # A press in the room records for the pair, per member, as from a DM.
    [first] = [d for d in rooms if "bob" in d.text]
    room = first.outbound.target
    assert isinstance(room, Room)
    pid, names = pairs[room.key]
    here = Conversation("channel", "G0ROOM", None)
    presser = sorted(names)[0]
    met = next(b for b in first.reply.buttons if b.action == "mock.met")
    [ack] = ws.press(presser, met, where=here)
    assert "met" in ack.text and ack.seen_by(presser)
    with ws.app.sessions() as s:
        said = {
            (r.member_id, r.outcome, r.own)
            for r in s.scalars(select(MockMeeting).where(MockMeeting.pair_id == pid))
        }
    assert len(said) == 2 and {o for _, o, _ in said} == {"met"}

    # Wednesday: the reminder goes to the silent pair's room, once, and to no DM.
    out = ws.advance(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    [reminder] = _rooms(out)
    target = reminder.outbound.target
    assert isinstance(target, Room) and target.key != room.key
    assert not [d for name in PEOPLE for d in dms_to(out, name)]
    assert "did you meet" in (reminder.reply.title or "")

    # Pairing again this week makes no second room message nor DM.
    again = ws.command("alice", "/cohort pair now")
    assert not _rooms(again) and "paired already" in again[0].text


def test_the_room_target_round_trips_and_its_name_fits() -> None:
    users = tuple(User("discord", "G1", f"{i}", "x" * 80) for i in range(3))
    name = room_name([u.display_name for u in users], WEEK1)
    assert len(name) == NAME_LIMIT and name.startswith("Mock interview: xxx")
    assert name.endswith(f"week of {fmt_date(WEEK1)}")
    room = Room("pair-7", users, Channel(Conversation("channel", "C1", "c"), "discord", "G1"), name)
    assert target_from_dict(target_to_dict(room)) == room


def test_a_room_is_opened_by_one_sender_at_a_time(app: App, clock: ManualClock) -> None:
    ws = MemoryWorkspace(app, clock, platform="discord")
    ws.user("alice", admin=True)
    _start(ws)
    ws.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    key = next(iter(_pairs(ws)))
    book, other = RoomBook(app.sessions, clock.now), RoomBook(app.sessions, clock.now)
    described = book.describe(key)
    assert described is not None and described.key == key and len(described.users) == 2
    first = book.claim(key)
    assert first.mine and not first.retry and first.opened is None
    assert not other.claim(key).mine  # another replica waits
    book.release(key, certain=True)
    again = other.claim(key)
    assert again.mine and not again.retry  # nothing was made: no need to look
    clock.advance(timedelta(minutes=2))  # that sender died: its claim lapses
    lapsed = book.claim(key)
    assert lapsed.mine and lapsed.retry  # it may have made the room: look first
    book.record(key, Opened("thread", "123"))
    assert other.claim(key).opened == Opened("thread", "123")
    assert other.opened(key) == Opened("thread", "123")


def test_a_room_post_waits_until_everyone_in_it_is_awake(room_ws: MemoryWorkspace) -> None:
    # Everyone in a group DM or thread is notified at once: Monday 09:00 in Berlin is midnight
    # in Los Angeles, so the room's post (and each DM) waits for their morning.
    ws = room_ws
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    zones = {"bob": BERLIN, "carol": "America/Los_Angeles"}
    for name, zone in zones.items():
        ws.command(name, f"/settings tz {zone}", where=ws.dm(name))
        ws.command(name, "/mock join", where=ws.dm(name))
    only_jobs(ws, "mock-pairing", "mock-checkins")
    out = ws.advance(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))  # past Wednesday's reminder
    rooms = _rooms(out)
    assert rooms, "the pair got no room"
    for d in rooms:
        for zone in zones.values():
            local = d.at.astimezone(ZoneInfo(zone)).time()
            assert time(9, 0) <= local < time(20, 0), (d.reply.title, zone, local)
    for name, zone in zones.items():
        for dm in dms_to(out, name):
            assert time(9, 0) <= dm.at.astimezone(ZoneInfo(zone)).time() < time(20, 0)
