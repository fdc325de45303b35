"""A mock pair's room: the neutral target the cohort feature sends to, and where each
platform's room was opened, shared by every replica.

Slack opens a group DM with the bot and the members, Discord a private thread in the cohort's
channel; the console and the memory workspace have none, and the pair is written to in each
member's DM (`has_rooms`). An adapter opens a room the first time something is sent there or
links to it, and records what it opened in `mock_pairs` (`room_kind`, `room_id`): every later
post, retry and replica reuses it. Opening one is a platform call outside any transaction, so
the adapter first takes a short claim on the row (`claim`): one sender at a time opens a room;
another waits and then finds it recorded. A claim that lapsed without a record (its sender
died, or the platform's answer was lost) says so (`Claim.retry`), and the next sender looks
for the room its predecessor may have made before making one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cohorts import CohortInfo, info_of
from bot.dates import fmt_date
from bot.db.models import Cohort, Member
from bot.db.schedule_models import MockPair
from bot.types import Room, User

# Platforms whose adapters render a `Room` as one shared place.
ROOM_PLATFORMS = frozenset({"slack", "discord"})
# How long a sender may take to open a room before another may try (platform calls are
# bounded well inside this: Slack 30 s, Discord 10 s).
CLAIM = timedelta(seconds=60)
NAME_LIMIT = 100  # Discord's thread names; Slack's group DMs have none shown


def has_rooms(platform: str) -> bool:
    return platform in ROOM_PLATFORMS


def pair_key(pair_id: int) -> str:
    return f"pair-{pair_id}"


def pair_of(key: str) -> int | None:
    head, _, tail = key.partition("-")
    return int(tail) if head == "pair" and tail.isdigit() else None


def room_name(names: list[str], week: date) -> str:
    """The room's title, within every platform's limit: the members' names are shortened
    first, the week always kept."""
    tail = f" · week of {fmt_date(week)}"
    head = "Mock interview: " + " & ".join(names)
    room = NAME_LIMIT - len(tail)
    if len(head) > room:
        head = head[: room - 1] + "…"
    return head + tail


def pair_room(c: CohortInfo, pair_id: int, week: date, users: list[User]) -> Room:
    return Room(
        pair_key(pair_id),
        tuple(users),
        c.channel,
        room_name([u.display_name for u in users], week),
    )


@dataclass(frozen=True)
class Opened:
    """Where a room is: `kind` "mpim" or "thread" with the platform's `id`, or "dms" (each
    member's DM, `note` saying why: a missing permission the organizer can grant)."""

    kind: str
    id: str = ""
    note: str = ""


@dataclass(frozen=True)
class Claim:
    opened: Opened | None  # recorded already: use it
    mine: bool  # this sender opens it now, and records or releases it
    retry: bool = False  # an earlier sender's claim lapsed: it may have made the room


class RoomBook:
    """The recorded rooms of every pair, read and written through short transactions."""

    def __init__(self, sessions: sessionmaker[Session], now: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.now = now

    def describe(self, key: str) -> Room | None:
        """The room `key` names, as the cohort feature would send to it (None: no such pair)."""
        pair_id = pair_of(key)
        if pair_id is None:
            return None
        with self.sessions() as s:
            pair = s.get(MockPair, pair_id)
            cohort = s.get(Cohort, pair.cohort_id) if pair is not None else None
            if pair is None or cohort is None:
                return None
            c = info_of(s, cohort)
            ids = [x for x in (pair.member_a, pair.member_b, pair.member_c) if x is not None]
            found = {m.id: m for m in s.scalars(select(Member).where(Member.id.in_(ids)))}
            users = [
                User(c.platform, c.workspace_external_id, m.platform_user_id, m.display_name)
                for mid in ids
                if (m := found.get(mid)) is not None
            ]
            return pair_room(c, pair.id, pair.week_start, users) if users else None

    def opened(self, key: str) -> Opened | None:
        pair_id = pair_of(key)
        if pair_id is None:
            return None
        with self.sessions() as s:
            pair = s.get(MockPair, pair_id)
            return _opened(pair) if pair is not None else None

    def claim(self, key: str) -> Claim:
        """Take the right to open room `key` for CLAIM, unless it is recorded (then use it) or
        another sender holds it (then wait: `mine` False and nothing opened)."""
        pair_id = pair_of(key)
        if pair_id is None:
            return Claim(None, False)
        now = self.now()
        with self.sessions.begin() as s:
            result = s.execute(
                update(MockPair)
                .where(
                    MockPair.id == pair_id,
                    MockPair.room_kind.is_(None),
                    (MockPair.room_claimed_until.is_(None)) | (MockPair.room_claimed_until < now),
                )
                .values(room_claimed_until=now + CLAIM, room_tries=MockPair.room_tries + 1)
                .execution_options(synchronize_session=False)
            )
            taken = int(getattr(result, "rowcount", 0) or 0)
            pair = s.get(MockPair, pair_id)
            if pair is None:
                return Claim(None, False)
            s.refresh(pair)
            if taken:
                return Claim(None, True, retry=pair.room_tries > 1)
            return Claim(_opened(pair), False)

    def record(self, key: str, opened: Opened) -> None:
        pair_id = pair_of(key)
        if pair_id is None:
            return
        with self.sessions.begin() as s:
            s.execute(
                update(MockPair)
                .where(MockPair.id == pair_id)
                .values(
                    room_kind=opened.kind,
                    room_id=opened.id or None,
                    room_note=opened.note[:300] or None,
                    room_claimed_until=None,
                )
                .execution_options(synchronize_session=False)
            )

    def release(self, key: str, *, certain: bool) -> None:
        """Give the claim back after a failure. `certain`: the platform surely made nothing,
        so the next sender need not look for it (the try is not counted)."""
        pair_id = pair_of(key)
        if pair_id is None:
            return
        values: dict[str, object] = {"room_claimed_until": None}
        if certain:
            values["room_tries"] = MockPair.room_tries - 1
        with self.sessions.begin() as s:
            s.execute(
                update(MockPair)
                .where(MockPair.id == pair_id, MockPair.room_kind.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _opened(pair: MockPair) -> Opened | None:
    if pair.room_kind is None:
        return None
    return Opened(pair.room_kind, pair.room_id or "", pair.room_note or "")
