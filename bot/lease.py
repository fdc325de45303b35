"""A named role that one replica holds at a time, through the database.

Discord sends every gateway event to every session of the same shard, so N replicas that each
connect would each receive every interaction. The replica holding the lease is the only one
that connects; the others send over REST as usual and try to take the lease every few seconds.

The holder renews the row's expiry every `renew_every`; a replica that dies stops renewing,
and one `ttl` later another takes it over. A holder that cannot renew (the database is away)
counts itself the holder only until one `ttl` after its last successful renewal began, by its
own monotonic clock: by then any other replica may have taken the row, so it lets go first.
Clocks of replicas that differ by more than `skew` can still overlap briefly; the shared
request record (bot/seen.py) makes the overlap harmless."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.db.session import deadline
from bot.db.shared_models import LeaseRow

log = logging.getLogger("cohortbot.lease")

BUDGET = 1.0  # seconds of database per attempt: an attempt must not outlast a renewal period


class Lease:
    """`acquire()` takes or renews the lease (True: held, confirmed by the database);
    `held()` says, without a round trip, whether this holder may still act on it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        holder: str,
        clock: Callable[[], datetime],
        *,
        ttl: timedelta = timedelta(seconds=10),
        skew: timedelta = timedelta(seconds=1),
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= skew:
            raise ValueError("a lease must last longer than the clock skew it allows for")
        self.sessions = sessions
        self.name = name[:100]
        self.holder = holder[:100]
        self.clock = clock
        self.ttl = ttl
        self.skew = skew
        self._ticks = ticks
        self._valid_until = float("-inf")  # ticks() until which this holder may act

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; renew it if ours. A
        database error propagates; `held()` then still answers from the last renewal."""
        started = self._ticks()
        now = self.clock()
        with deadline(BUDGET), self.sessions() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = insert(LeaseRow).values(
                name=self.name, holder=self.holder, expires_at=now + self.ttl
            )
            upsert = stmt.on_conflict_do_update(
                index_elements=[LeaseRow.name],
                set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
                where=(LeaseRow.holder == self.holder) | (LeaseRow.expires_at <= now),
            ).returning(LeaseRow.holder)
            ours = session.execute(upsert).first() is not None
            session.commit()
        was = self.held()
        # Counted from before the round trip: the row may have been written at its start.
        self._valid_until = started + (self.ttl - self.skew).total_seconds() if ours else -1.0
        if ours != was:
            log.info("lease %s %s", self.name, "taken" if ours else "lost")
        return ours

    def held(self) -> bool:
        return self._ticks() < self._valid_until

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so another replica need not wait out
        the expiry."""
        self._valid_until = float("-inf")
        with deadline(BUDGET), self.sessions.begin() as session:
            session.execute(
                delete(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
            )

    def holder_now(self) -> str | None:
        """Who holds the lease now, if anyone (for health pages and tests)."""
        with deadline(BUDGET), self.sessions() as session:
            row = session.execute(
                select(LeaseRow.holder, LeaseRow.expires_at).where(LeaseRow.name == self.name)
            ).first()
        if row is None or row.expires_at <= self.clock():
            return None
        return str(row.holder)
