"""A per-member token bucket, so that one member's flood cannot slow the bot for the others.

It lives in the process: with several replicas each one keeps its own buckets, so a member
spread across N replicas gets up to N times the rate. That is enough to stop a runaway
script or a stuck key; it is not a quota. Time comes from the caller (the router's clock),
so tests move a ManualClock instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import datetime

from bot.types import User

SLOW_DOWN = (
    "Easy there: that's a lot of commands in a short time. Nothing was done this time; "
    "give it a few seconds and try again."
)

# The console is one person at a terminal on a simulated clock that only moves when told:
# a limit there would lock them out until they move the clock, and protects no one.
EXEMPT_PLATFORMS = frozenset({"console"})

# Buckets idle long enough to be full again carry no information; past this many, drop them.
_PRUNE_AT = 10_000


class RateLimiter:
    """`per_minute` actions a minute per member, with bursts of up to `per_minute`.

    A bucket holds at most `per_minute` tokens and refills at `per_minute / 60` a second;
    each action takes one. `per_minute <= 0` turns the limit off."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[Hashable, tuple[float, datetime]] = {}
        self._lock = threading.Lock()  # serve answers requests on several threads

    def allow(self, user: User, now: datetime) -> bool:
        """Take a token for this member at `now`; False when their bucket is empty."""
        if self.capacity <= 0 or user.platform in EXEMPT_PLATFORMS:
            return True
        key = (user.platform, user.workspace_id, user.user_id)
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            # A clock that moved backwards (a test, an NTP step) refills nothing.
            elapsed = max((now - last).total_seconds(), 0.0)
            tokens = min(self.capacity, tokens + elapsed * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, max(now, last))
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
            return allowed

    def _prune(self, now: datetime) -> None:
        full_after = self.capacity / self.rate if self.rate else 0.0
        self._buckets = {
            k: (t, last)
            for k, (t, last) in self._buckets.items()
            if (now - last).total_seconds() < full_after
        }
