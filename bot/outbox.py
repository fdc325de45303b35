"""Durable, idempotent delivery of scheduled messages.

Jobs produce `Scheduled` items; `enqueue` inserts them with ON CONFLICT DO NOTHING on the
dedupe key, so a second enqueue (another tick, another replica) changes nothing. A
`Dispatcher` claims due rows under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite
the single writer and the claim UPDATE are enough), sends them, and marks them. A dispatcher
that dies between claim and send leaves rows whose lease expires and another one sends them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.db.bulk import among, insert_new
from bot.db.models import Member, Workspace
from bot.db.schedule_models import OutboxMessage
from bot.delivery import DeliveryError, RateLimited, Undeliverable
from bot.serialize import outbound_from_dict, reply_to_dict, target_to_dict
from bot.types import DM, Outbound

log = logging.getLogger("cohortbot.outbox")

MAX_ATTEMPTS = 12  # with backoff capped at an hour: about nine hours of retries
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Scheduled:
    """A message a job wants sent, with what makes it unique."""

    outbound: Outbound
    workspace_id: int
    kind: str
    subject: str
    local_date: date
    due_at: datetime
    member_id: int | None = None
    expires_at: datetime | None = None
    target_key: str = ""

    @property
    def dedupe_key(self) -> str:
        who = self.target_key or (f"m{self.member_id}" if self.member_id else "anon")
        return make_key(who, self.kind, self.subject, self.local_date)


def make_key(who: str, kind: str, subject: str, local_date: date) -> str:
    """The outbox's unique key: target (m<member> or c<cohort>), kind, subject, local date."""
    return f"{who}|{kind}|{subject}|{local_date.isoformat()}"[:250]


def queued_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these keys are already in the outbox, so jobs skip building them again."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for where in among(session, OutboxMessage.dedupe_key, wanted):
        found.update(session.scalars(select(OutboxMessage.dedupe_key).where(where)))
    return found


def next_due(session: Session) -> datetime | None:
    """When the outbox next has something to send (None when it is empty)."""
    return session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
    )


def enqueue(session: Session, items: Iterable[Scheduled], now: datetime) -> int:
    """Insert every item not already queued; returns how many were new. Set-based: one
    statement (PostgreSQL) or one executemany (SQLite) whatever the number of rows."""
    items = list(items)
    if not items:
        return 0
    # The dispatcher routes each message to its workspace's platform adapter.
    platforms = dict(
        session.execute(
            select(Workspace.id, Workspace.platform).where(
                Workspace.id.in_({s.workspace_id for s in items})
            )
        ).all()
    )
    # A fan-out shares one reply among everyone who gets the same drill: serialise it once.
    replies: dict[int, dict[str, Any]] = {}
    rows = []
    for s in items:
        reply = replies.get(id(s.outbound.reply))
        if reply is None:
            reply = replies[id(s.outbound.reply)] = reply_to_dict(s.outbound.reply)
        rows.append(
            {
                "dedupe_key": s.dedupe_key,
                "workspace_id": s.workspace_id,
                "member_id": s.member_id,
                "kind": s.kind,
                "subject": s.subject[:120],
                "local_date": s.local_date,
                "payload": {
                    "target": target_to_dict(s.outbound.target),
                    "reply": reply,
                    "meta": {
                        **s.outbound.meta,
                        "platform": platforms.get(s.workspace_id, ""),
                    },
                },
                "due_at": s.due_at,
                "expires_at": s.expires_at,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": s.due_at,
                "created_at": now,
            }
        )
    return insert_new(session, OutboxMessage.__table__, rows, key="dedupe_key")


Send = Callable[[Outbound], None]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    undeliverable: int = 0
    deferred: int = 0  # held back, without a try, while the platform's Retry-After runs
    delivered: list[Outbound] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        send: Send,
        *,
        name: str | None = None,
        batch: int = 200,
        lease: timedelta = LEASE,
        rate: float | Mapping[str, float] | None = None,
    ) -> None:
        self.sessions = sessions
        self.send = send
        self.name = name or uuid.uuid4().hex[:12]
        self.lease = lease
        # Pacing (messages per second, for every platform alike or per platform name; each
        # platform paced on its own) keeps sends under the platform's limit: each 429 costs
        # a whole Retry-After, so hitting the limit and backing off sends less than pacing.
        if isinstance(rate, Mapping):
            self.rates = {k: float(v) for k, v in rate.items() if v}
        else:
            self.rates = {"*": float(rate)} if rate else {}
        self._next_slot: dict[str, float] = {}
        # Workspace id -> when its last Retry-After ends: until then nothing more is sent
        # there, since hammering a platform that said 429 gets a bot banned. (Slack limits
        # each workspace; Discord's routes are narrower, so this errs on the careful side.)
        self._blocked: dict[int, datetime] = {}
        if self.rates:
            # A claimed batch must be sent well before its lease ends, or another replica
            # sends it too: pacing lets it take a quarter of the lease at most.
            slowest = min(self.rates.values())
            batch = min(batch, max(1, int(slowest * lease.total_seconds() / 4)))
        self.batch = batch
        self._base = (datetime.min.replace(tzinfo=UTC), 0.0)

    def _now(self) -> datetime:
        """The `now` given to this round, moved on by the real time spent since: paced
        sending takes seconds, and leases and Retry-After must count from when things
        happen, not from when the round began."""
        at, started = self._base
        return at + timedelta(seconds=time.monotonic() - started)

    def _pace(self, platform: str) -> None:
        rate = self.rates.get(platform, self.rates.get("*"))
        if not rate:
            return
        now = time.monotonic()
        slot = self._next_slot.get(platform, 0.0)
        if slot > now:
            time.sleep(slot - now)
            now = slot
        self._next_slot[platform] = now + 1.0 / rate

    def _claim(self, session: Session, now: datetime) -> list[int]:
        t = OutboxMessage
        self._blocked = {ws: until for ws, until in self._blocked.items() if until > now}
        waiting = list(self._blocked)
        due = (
            select(t.id)
            .where(
                t.status == "pending",
                t.next_attempt_at <= now,
                or_(t.lease_until.is_(None), t.lease_until < now),
                t.workspace_id.not_in(waiting),
            )
            .order_by(t.next_attempt_at, t.id)
            .limit(self.batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(t)
            .where(t.id.in_(due.scalar_subquery()))
            .values(claimed_by=self.name, lease_until=now + self.lease, attempts=t.attempts + 1)
            .returning(t.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(session.execute(stmt).scalars())

    def expire(self, now: datetime) -> int:
        """Drop what is no longer useful (yesterday's drill DM)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.expires_at.is_not(None),
                    OutboxMessage.expires_at <= now,
                )
                .values(status="dropped", last_error="expired before it could be sent")
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def run_once(self, now: datetime) -> DispatchReport:
        self._base = (now, time.monotonic())
        report = DispatchReport(dropped=self.expire(now))
        with self.sessions.begin() as session:
            ids = self._claim(session, now)
        for row_id in ids:
            self._deliver(row_id, report)
        return report

    def drain(self, now: datetime, rounds: int = 50) -> DispatchReport:
        """Dispatch until nothing due is left (or `rounds` batches). Each round starts from
        `now` moved on by the time the earlier rounds took, so its leases are fresh."""
        total = DispatchReport()
        with self.sessions() as session:
            first = next_due(session)
        if first is None or first > now:
            return total  # the common case on a tick: one cheap read, no write
        self._base = (now, time.monotonic())
        for _ in range(rounds):
            r = self.run_once(self._now())
            for name in ("sent", "retried", "failed", "dropped", "undeliverable", "deferred"):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            total.delivered.extend(r.delivered)
            if not (r.sent or r.retried or r.failed or r.undeliverable):
                break
        return total

    def _deliver(self, row_id: int, report: DispatchReport) -> None:
        with self.sessions() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or row.claimed_by != self.name or row.status != "pending":
                return
            outbound = outbound_from_dict(row.payload)
            member_id, attempts, workspace = row.member_id, row.attempts, row.workspace_id
        blocked = self._blocked.get(workspace)
        if blocked is not None and blocked > self._now():
            # Claimed in the same batch as a message that got a 429: it waits its turn too.
            self._retry(row_id, blocked, "waiting out a rate limit", refund=True, count=False)
            report.deferred += 1
            return
        self._pace(str(outbound.meta.get("platform", "")))
        try:
            self.send(outbound)
        except Undeliverable as exc:
            self._undeliverable(row_id, member_id, str(exc))
            report.undeliverable += 1
            return
        except RateLimited as exc:
            # Not the message's fault: retry after the platform's delay, without using a try.
            # A Retry-After of 0 would let the same batch hammer on: wait at least a second.
            resume = self._now() + timedelta(seconds=max(1.0, exc.retry_after))
            self._blocked[workspace] = resume
            self._retry(row_id, resume, str(exc), refund=True)
            report.retried += 1
            return
        except DeliveryError as exc:
            if exc.retryable and attempts < MAX_ATTEMPTS:
                backoff = timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))
                self._retry(row_id, self._now() + backoff, str(exc))
                report.retried += 1
            else:
                self._finish(row_id, "failed", str(exc))
                report.failed += 1
            return
        except Exception as exc:  # an adapter bug must not stop the rest of the cohort
            log.exception("send crashed", extra={"kind": "outbox"})
            if attempts < MAX_ATTEMPTS:
                self._retry(row_id, self._now() + timedelta(minutes=5), type(exc).__name__)
                report.retried += 1
            else:
                self._finish(row_id, "failed", type(exc).__name__)
                report.failed += 1
            return
        self._finish(row_id, "sent", None)
        report.sent += 1
        report.delivered.append(outbound)

    def _finish(self, row_id: int, status: str, error: str | None) -> None:
        metrics.message_finished(status)
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == self.name)
                .values(
                    status=status,
                    sent_at=self._now() if status == "sent" else None,
                    last_error=error[:200] if error else None,
                    lease_until=None,
                )
            )

    def _retry(
        self, row_id: int, when: datetime, error: str, refund: bool = False, count: bool = True
    ) -> None:
        if count:
            metrics.MESSAGES_RETRIED.inc()
        values: dict[str, Any] = {
            "next_attempt_at": when,
            "lease_until": None,
            "claimed_by": None,
            "last_error": error[:200],
        }
        if refund:
            values["attempts"] = OutboxMessage.attempts - 1
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == self.name)
                .values(**values)
            )

    def _undeliverable(self, row_id: int, member_id: int | None, error: str) -> None:
        metrics.message_finished("undeliverable")
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="undeliverable", last_error=error[:200], lease_until=None)
            )
            if member_id is not None:
                # Once: the member is flagged and their other queued DMs are parked too.
                session.execute(
                    update(Member).where(Member.id == member_id).values(undeliverable=True)
                )
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.member_id == member_id,
                        OutboxMessage.status == "pending",
                        OutboxMessage.payload["target"]["type"].as_string() == "dm",
                    )
                    .values(status="undeliverable", last_error="member does not accept DMs")
                )
        log.warning("member undeliverable", extra={"member": member_id})


def outbox_stats(session: Session, now: datetime) -> tuple[int, float]:
    """(pending rows, age in seconds of the oldest due one), for /metrics."""
    depth, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.due_at)).where(
            and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
        )
    ).one()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return int(depth), age


def is_dm(outbound: Outbound) -> bool:
    return isinstance(outbound.target, DM)
