"""A per-member token bucket, so that one member's flood cannot slow the bot for the others.

With a session factory on PostgreSQL the bucket lives in the database (`member_rates`), so N
replicas give a member the same rate as one: each check is one upsert that refills and takes a
token atomically. The process keeps its own bucket as well, as a fast path: tokens taken here
are a subset of those taken everywhere, so an empty local bucket means an empty shared one and
a flood is refused without a round trip. When the database does not answer within `BUDGET`
seconds the local bucket decides (the command then meets the same database and is refused
as a whole anyway). SQLite is one process by construction and keeps the in-process bucket.

Time comes from the caller (the router's clock), so tests move a ManualClock instead of
sleeping.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Hashable
from datetime import datetime

from sqlalchemy import Float, case, delete, literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.session import deadline
from bot.db.shared_models import MemberRate
from bot.types import User

log = logging.getLogger("cohortbot.ratelimit")

SLOW_DOWN = (
    "Easy there: that's a lot of commands in a short time. Nothing was done this time; "
    "give it a few seconds and try again."
)

# The console is one person at a terminal on a simulated clock that only moves when told:
# a limit there would lock them out until they move the clock, and protects no one.
EXEMPT_PLATFORMS = frozenset({"console"})

# Buckets idle long enough to be full again carry no information; past this many, drop them.
_PRUNE_AT = 10_000
BUDGET = 0.5  # seconds for the shared check: it runs before the command's own work
BACK_OFF = 5.0  # after the database failed to answer, the local bucket decides this long
_PRUNE_SHARED_EVERY = 600.0  # seconds between this replica's sweeps of full shared buckets


class RateLimiter:
    """`per_minute` actions a minute per member, with bursts of up to `per_minute`.

    A bucket holds at most `per_minute` tokens and refills at `per_minute / 60` a second;
    each action takes one. `per_minute <= 0` turns the limit off."""

    def __init__(self, per_minute: int, sessions: sessionmaker[Session] | None = None) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[Hashable, tuple[float, datetime]] = {}
        self._lock = threading.Lock()  # serve answers requests on several threads
        self.sessions = sessions if sessions is not None and _is_postgres(sessions) else None
        self._swept_at: float | None = None
        self._skip_until = 0.0  # time.monotonic(): not the caller's clock, which may be frozen

    def allow(self, user: User, now: datetime) -> bool:
        """Take a token for this member at `now`; False when their bucket is empty."""
        if self.capacity <= 0 or user.platform in EXEMPT_PLATFORMS:
            return True
        key = (user.platform, user.workspace_id, user.user_id)
        if self.sessions is None:
            return self._local(key, now, take=True)
        if not self._local(key, now, take=False):
            return False
        if time.monotonic() < self._skip_until:
            return self._local(key, now, take=True)
        try:
            with deadline(BUDGET):
                allowed = self._shared(key, now)
        except SQLAlchemyError as exc:
            self._skip_until = time.monotonic() + BACK_OFF
            log.warning("shared rate limit unavailable: %s", type(exc).__name__)
            return self._local(key, now, take=True)
        if allowed:
            self._local(key, now, take=True)
        return allowed

    def _local(self, key: Hashable, now: datetime, *, take: bool) -> bool:
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            # A clock that moved backwards (a test, an NTP step) refills nothing.
            elapsed = max((now - last).total_seconds(), 0.0)
            tokens = min(self.capacity, tokens + elapsed * self.rate)
            allowed = tokens >= 1.0
            if not take:
                return allowed
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, max(now, last))
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
            return allowed

    def _shared(self, key: tuple[str, str, str], now: datetime) -> bool:
        assert self.sessions is not None
        at = now.timestamp()
        cap = self.capacity
        now_s = literal(at, Float)
        elapsed = case((now_s > MemberRate.refilled_at, now_s - MemberRate.refilled_at), else_=0.0)
        grown = MemberRate.tokens + elapsed * self.rate
        refilled = case((grown > cap, cap), else_=grown)
        stmt = postgresql.insert(MemberRate).values(
            key=_digest(key), tokens=cap - 1.0, refilled_at=at, allowed=True
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[MemberRate.key],
            set_={
                "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
                "refilled_at": case(
                    (now_s > MemberRate.refilled_at, now_s), else_=MemberRate.refilled_at
                ),
                "allowed": refilled >= 1.0,
            },
        ).returning(MemberRate.allowed)
        with self.sessions() as session:
            allowed = bool(session.execute(upsert).scalar_one())
            if self._swept_at is None or at - self._swept_at >= _PRUNE_SHARED_EVERY:
                self._swept_at = at
                full_after = cap / self.rate
                session.execute(delete(MemberRate).where(MemberRate.refilled_at < at - full_after))
            session.commit()
        return allowed

    def _prune(self, now: datetime) -> None:
        full_after = self.capacity / self.rate if self.rate else 0.0
        self._buckets = {
            k: (t, last)
            for k, (t, last) in self._buckets.items()
            if (now - last).total_seconds() < full_after
        }


def _digest(key: tuple[str, str, str]) -> str:
    # Only the bucket is shared, not who it belongs to: a row names no member.
    return hashlib.sha256("\0".join(key).encode()).hexdigest()[:40]


def _is_postgres(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name == "postgresql"
