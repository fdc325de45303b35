"""Requests already taken on, shared by every replica through the database.

Slack retries a request it did not see acknowledged (to whichever replica the load balancer
picks), and every replica connected to Discord's gateway as the same shard receives the same
interaction: without a shared record each replica would apply it. The first replica to insert
a request's key takes it on; any other attempt within `ttl` is a repeat.

An in-process set answers repeats this replica has already seen without a round trip; on SQLite
(one process by construction) it is the whole record, so the ack path never waits for SQLite's
single writer. A front that acks before its work asks `first_here` before the ack and
`first_everywhere` in the work after it, so that the ack path makes no round trip at all.
When the database does not answer within `BUDGET` seconds, the request is taken on (the
in-process set still catches this replica's own repeats): the command itself then meets the
same database and is refused as a whole, so nothing is applied twice."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.session import deadline
from bot.db.shared_models import SeenRequest

log = logging.getLogger("cohortbot.seen")

BUDGET = 0.5  # seconds: this runs before Slack's 3-second ack and Discord's 3-second reply
# After the database failed to answer, skip it for this long: during an outage each request
# would otherwise spend BUDGET here before its ack, and learn nothing new.
BACK_OFF = 5.0
PRUNE_EVERY = timedelta(minutes=10)  # per replica; expired rows are harmless meanwhile


class SeenRequests:
    """`first_time(key)`: True exactly once per key within `ttl`, across replicas."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        ttl: timedelta = timedelta(hours=1),
        local_size: int = 20_000,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.ttl = ttl
        self.local_size = local_size
        self._local: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()
        self._pruned_at: datetime | None = None
        self._skip_until = 0.0  # time.monotonic(): not the clock, which tests may freeze
        bind = sessions.kw.get("bind")
        self.shared = bind is not None and bind.dialect.name == "postgresql"

    def first_time(self, key: str) -> bool:
        return self.first_here(key) and self.first_everywhere(key)

    def first_here(self, key: str) -> bool:
        """True the first time this replica sees `key` (no round trip): a caller that acks
        before its work asks this before the ack and `first_everywhere` after it."""
        now = self.clock()
        with self._lock:
            while self._local and (
                len(self._local) > self.local_size
                or next(iter(self._local.values())) <= now - self.ttl
            ):
                self._local.popitem(last=False)
            if key in self._local:
                return False
            self._local[key] = now
            return True

    def first_everywhere(self, key: str) -> bool:
        """True when no other replica has taken `key` on: the shared record, which a request
        this replica has already counted with `first_here` then claims for good. Its budget
        stays short after the ack too: during a database outage the member's "try again"
        comes after this budget and the work's own (within Slack's 3 s)."""
        if not self.shared or time.monotonic() < self._skip_until:
            return True
        try:
            with deadline(BUDGET):
                return self._claim(key[:200], self.clock())
        except SQLAlchemyError as exc:
            self._skip_until = time.monotonic() + BACK_OFF
            log.warning("shared request record unavailable: %s", type(exc).__name__)
            return True

    def _claim(self, key: str, now: datetime) -> bool:
        with self.sessions() as session:
            stmt = postgresql.insert(SeenRequest).values(key=key, expires_at=now + self.ttl)
            # A key whose record has expired is free again (that is a new request, not a retry).
            upsert = stmt.on_conflict_do_update(
                index_elements=[SeenRequest.key],
                set_={"expires_at": stmt.excluded.expires_at},
                where=SeenRequest.expires_at <= now,
            ).returning(SeenRequest.key)
            taken = session.execute(upsert).first() is not None
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                session.execute(delete(SeenRequest).where(SeenRequest.expires_at <= now))
            session.commit()
            return taken
