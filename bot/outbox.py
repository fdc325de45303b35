"""Durable, idempotent delivery of scheduled messages.

Jobs produce `Scheduled` items; `enqueue` inserts them with ON CONFLICT DO NOTHING on the
dedupe key, so a second enqueue (another tick, another replica) changes nothing. A
`Dispatcher` claims due rows under a short lease (FOR UPDATE SKIP LOCKED on PostgreSQL; on
SQLite the single writer and the claim UPDATE are enough), renews the lease while it still
holds them, sends them, and marks them. A dispatcher that dies stops renewing: its rows are
free again one lease later (seconds, not minutes) and another one sends them.

Each recipient (a member's DMs, one channel) is a lane of its own: its messages go one at a
time and in order, and its trouble (a 429, a slow or hung send, a burst) holds back that lane
only, never another recipient's message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    String,
    Update,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot import metrics
from bot.db.bulk import Among, insert_new
from bot.db.models import Base, Member
from bot.db.schedule_models import OutboxMessage
from bot.delivery import DeliveryError, RateLimited, Undeliverable
from bot.serialize import outbound_from_dict, reply_to_dict, target_to_dict
from bot.types import DM, Ephemeral, Outbound, Reply, User

log = logging.getLogger("cohortbot.outbox")

# A retryable failure waits RETRY_BASE, doubling at each try up to an hour: a platform's 5xx
# is nearly always over in seconds, so a member's drill is not minutes late for one or two
# of them, and a long outage still gets about eight hours of retries.
RETRY_BASE = 10.0
MAX_ATTEMPTS = 17
# A claim lives this long unless its dispatcher renews it (every third of it, while it holds
# the row): a dead replica's rows wait at most this long for another one.
# Claims in a row that may find nothing because another replica took the same rows first.
CLAIM_COLLISIONS = 5
LEASE = timedelta(seconds=15)
# A send still unanswered after this is given up by the renewals, so another dispatcher may
# try it: longer than either adapter's own timeout (Slack 30 s, Discord 60 s).
ABANDON_AFTER = 180.0
# How long the dispatcher waits on one recipient's send before it starts the next
# recipient's beside it. Quick platforms (and the in-memory one) stay strictly sequential and
# deterministic; a slow or stuck one costs other recipients this much at most.
PATIENCE = 0.5
# A send unanswered after this no longer counts against WORKERS, and a drain stops waiting
# for it: its recipient's other messages stay back until it answers (their order).
SEND_TIMEOUT = 10.0
WORKERS = 8  # recipients sent to at once, when sends are slow
MAX_HUNG = 32  # stuck sends (threads) before a dispatcher stops claiming more
PER_RECIPIENT = 5  # a claim takes at most this many of one recipient's rows: no burst hogs it
# One recipient's 429 holds back that recipient. When this many of a workspace's recipients
# are held at once, the limit is the workspace's (Slack's per-workspace tier, Discord's
# global one): the whole workspace waits, rather than spend a 429 on each recipient.
WORKSPACE_LIMITED = 3
# Recipients whose spacing is remembered before the ones already free again are forgotten.
RECIPIENTS_KEPT = 4096
# A claimed batch is paced out within about this long, so newly due messages get a turn.
BATCH_WINDOW = 30.0
# Kinds a member gets at most once per local day, whatever the subject: the daily drill. Two
# replicas that tick together may pick different drills; the key ignores which.
ONCE_A_DAY = frozenset({"drill"})
FINISHED = ("sent", "failed", "dropped", "undeliverable")
# How a row's last error starts when its last try may have reached the platform (the adapters
# raise such errors too): the next sender is told `uncertain` and looks before sending again.
UNCERTAIN = "uncertain: "
# Written just before each send and replaced by its outcome: a row still saying this when its
# claim lapsed was perhaps delivered (its sender died, or lost the database, in between). Not
# UNCERTAIN itself: a send in progress is not a doubt for an adapter asking which are.
SENDING = "sending: outcome not recorded yet"
RATE_LIMITED = "rate limited"  # how a RateLimited's message (bot/delivery.py) starts


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
        subject = "" if self.kind in ONCE_A_DAY else self.subject
        return make_key(who, self.kind, subject, self.local_date)


def make_key(who: str, kind: str, subject: str, local_date: date) -> str:
    """The outbox's unique key: target (m<member> or c<cohort>), kind, subject, local date."""
    return f"{who}|{kind}|{subject}|{local_date.isoformat()}"[:250]


def recipient_of(target: Mapping[str, Any], platform: str) -> str:
    """Whose lane a message is in: the member for a DM, the channel otherwise (what the
    platforms rate-limit: Slack about one post per second per channel)."""
    if target.get("type") == "dm":
        u = target["user"]
        return f"{platform}:{u['workspace_id']}:u:{u['user_id']}"[:200]
    if target.get("type") == "room":
        # One lane per room: its posts go in order, and only one sender at a time opens it.
        u = target["users"][0]
        return f"{platform}:{u['workspace_id']}:r:{target['key']}"[:200]
    c = target.get("conversation") or {}
    ws = target.get("workspace") or (target.get("user") or {}).get("workspace_id", "")
    return f"{platform}:{ws}:c:{c.get('id', '')}"[:200]


_QUEUED = Among(select(OutboxMessage.dedupe_key), OutboxMessage.dedupe_key)


def queued_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these keys are already in the outbox, so jobs skip building them again."""
    wanted = list(dict.fromkeys(keys))
    return {key for (key,) in _QUEUED.rows(session, wanted)}


# The statements every drain runs, built once on the outbox table with their values as named
# parameters: building one from expressions cost more than running it, and SQLAlchemy caches
# their compiled form. Core, not ORM statements: every session they run in is a fresh one,
# with no loaded rows to keep in step.
_OUTBOX = Base.metadata.tables["outbox"]
_NOW = bindparam("now", type_=_OUTBOX.c.next_attempt_at.type)
_ROW = bindparam("row_id", type_=_OUTBOX.c.id.type)
_IDS = bindparam("ids", expanding=True, type_=_OUTBOX.c.id.type)
_OURS = bindparam("claimer", type_=_OUTBOX.c.claimed_by.type)
_UNTIL = bindparam("until", type_=_OUTBOX.c.lease_until.type)
_NEXT_DUE = select(func.min(_OUTBOX.c.next_attempt_at)).where(_OUTBOX.c.status == "pending")
_FREE_DUE = (
    select(_OUTBOX.c.id)
    .where(
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.next_attempt_at <= _NOW,
        or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < _NOW),
    )
    .limit(1)
)
_EXPIRE = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.expires_at.is_not(None),
        _OUTBOX.c.expires_at <= _NOW,
        # A send in flight is left to finish: its answer decides the row.
        or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < _NOW),
    )
    .values(status="dropped", last_error="expired before it could be sent")
)
_RENEW = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(_IDS), _OUTBOX.c.claimed_by == _OURS, _OUTBOX.c.status == "pending")
    .values(lease_until=_UNTIL)
)
_TO_SEND = select(
    _OUTBOX.c.claimed_by,
    _OUTBOX.c.status,
    _OUTBOX.c.payload,
    _OUTBOX.c.dedupe_key,
    _OUTBOX.c.last_error,
    _OUTBOX.c.member_id,
    _OUTBOX.c.attempts,
    _OUTBOX.c.workspace_id,
).where(_OUTBOX.c.id == _ROW)
_MARK_SENDING = update(_OUTBOX).where(_OUTBOX.c.id == _ROW).values(last_error=SENDING)
_FINISH = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == _ROW, _OUTBOX.c.claimed_by == _OURS)
    .values(
        status=bindparam("outcome", type_=_OUTBOX.c.status.type),
        sent_at=bindparam("sent_when", type_=_OUTBOX.c.sent_at.type),
        last_error=bindparam("error", type_=_OUTBOX.c.last_error.type),
        lease_until=None,
    )
)


@lru_cache(maxsize=8)
def _retry_stmt(refund: bool) -> Update:
    values: dict[str, Any] = {
        "next_attempt_at": bindparam("resume", type_=_OUTBOX.c.next_attempt_at.type),
        "lease_until": None,
        "claimed_by": None,
        "last_error": bindparam("error", type_=_OUTBOX.c.last_error.type),
    }
    if refund:
        values["attempts"] = _OUTBOX.c.attempts - 1
    return (
        update(_OUTBOX).where(_OUTBOX.c.id == _ROW, _OUTBOX.c.claimed_by == _OURS).values(**values)
    )


@lru_cache(maxsize=8)
def _release_stmt(until: bool) -> Update:
    values: dict[str, Any] = {
        "claimed_by": None,
        "lease_until": None,
        "attempts": _OUTBOX.c.attempts - 1,
    }
    if until:
        values["next_attempt_at"] = _UNTIL
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(_IDS), _OUTBOX.c.claimed_by == _OURS, _OUTBOX.c.status == "pending")
        .values(**values)
    )


@lru_cache(maxsize=32)
def _claim_stmt(postgres: bool, batch: int) -> Update:
    """The claim (see `Dispatcher._claim_lanes`), for parameters now, claimer, until (the
    lease's end) and blocked (workspaces waiting out a Retry-After)."""
    t = _OUTBOX
    other = t.alias()
    in_flight = exists().where(
        other.c.recipient == t.c.recipient,
        other.c.status == "pending",
        other.c.lease_until >= _NOW,
    )
    ranked = (
        select(
            t.c.id,
            t.c.next_attempt_at,
            func.row_number()
            .over(partition_by=t.c.recipient, order_by=(t.c.next_attempt_at, t.c.id))
            .label("n"),
        )
        .where(
            t.c.status == "pending",
            t.c.next_attempt_at <= _NOW,
            or_(t.c.lease_until.is_(None), t.c.lease_until < _NOW),
            t.c.workspace_id.not_in(
                bindparam("blocked", expanding=True, type_=t.c.workspace_id.type)
            ),
            ~in_flight,
        )
        .subquery()
    )
    picked = (
        select(ranked.c.id)
        .where(ranked.c.n <= PER_RECIPIENT)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
        .limit(batch)
    )
    # Still free, checked again where the row is updated: on PostgreSQL an update that
    # meets a row another replica claimed meanwhile re-reads it and re-checks only its
    # own conditions, not the subquery's (which saw the row free): without them, two
    # replicas claiming at the same moment both took it, and both sent it.
    due = select(t.c.id).where(t.c.id.in_(picked))
    if postgres:
        due = due.with_for_update(skip_locked=True)
    # A lapsed claim (its holder died or lost the database) counts as a try only if the
    # send began: a crash must not back a message off as a platform failure would.
    lapsed_unsent = and_(
        t.c.lease_until.is_not(None), or_(t.c.last_error.is_(None), t.c.last_error != SENDING)
    )
    return (
        update(t)
        .where(
            t.c.id.in_(due.scalar_subquery()),
            and_(t.c.status == "pending", or_(t.c.lease_until.is_(None), t.c.lease_until < _NOW)),
        )
        .values(
            claimed_by=_OURS,
            lease_until=_UNTIL,
            attempts=t.c.attempts + case((lapsed_unsent, 0), else_=1),
        )
        .returning(t.c.id, t.c.recipient, t.c.next_attempt_at)
    )


def next_due(session: Session) -> datetime | None:
    """When the outbox next has something to send (None when it is empty)."""
    first: datetime | None = session.scalar(_NEXT_DUE)
    return first


def enqueue(session: Session, items: Iterable[Scheduled], now: datetime) -> int:
    """Insert every item not already queued; returns how many were new. Set-based: one
    statement (PostgreSQL) or one executemany (SQLite) whatever the number of rows."""
    items = list(items)
    if not items:
        return 0
    # A fan-out shares one reply among everyone who gets the same drill: serialise it once.
    replies: dict[int, dict[str, Any]] = {}
    rows = []
    for s in items:
        reply = replies.get(id(s.outbound.reply))
        if reply is None:
            reply = replies[id(s.outbound.reply)] = reply_to_dict(s.outbound.reply)
        # The target says where it goes (platform and workspace): the dispatcher routes by it.
        platform = s.outbound.platform
        target = target_to_dict(s.outbound.target)
        rows.append(
            {
                "dedupe_key": s.dedupe_key,
                "workspace_id": s.workspace_id,
                "member_id": s.member_id,
                "kind": s.kind,
                "subject": s.subject[:120],
                "local_date": s.local_date,
                "payload": {
                    "target": target,
                    "reply": reply,
                    "key": s.outbound.key,
                    "uncertain": s.outbound.uncertain,
                },
                "recipient": recipient_of(target, platform),
                "due_at": s.due_at,
                "expires_at": s.expires_at,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": s.due_at,
                "created_at": now,
            }
        )
    return insert_new(session, Base.metadata.tables["outbox"], rows, key="dedupe_key")


Send = Callable[[Outbound], None]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    undeliverable: int = 0
    deferred: int = 0  # held back, without a try, while the platform's Retry-After runs
    in_flight: int = 0  # sends still unanswered when the drain returned (stuck platform)
    delivered: list[Outbound] = field(default_factory=list)


@dataclass
class _Lane:
    """One recipient's claimed rows in this drain, sent in order by one thread."""

    recipient: str
    queue: deque[int]
    sending_since: float | None = None  # time.monotonic() when the current send began
    done: bool = False


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
        spacing: Mapping[str, float] | None = None,
        workers: int = WORKERS,
        patience: float = PATIENCE,
        send_timeout: float = SEND_TIMEOUT,
        renew_every: float | None = None,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.send = send
        self.name = name or uuid.uuid4().hex[:12]
        self.lease = lease
        self.workers = max(1, workers)
        self.patience = patience
        self.send_timeout = max(send_timeout, patience)
        self.renew_every = renew_every or lease.total_seconds() / 3
        # Where `_now` measures elapsed time from; tests move it by hand to simulate time.
        self._ticks = ticks
        # The dispatcher is the one place sends are paced (adapters never sleep to pace):
        # `rate`, messages per second for every platform alike or per platform name (each
        # platform paced on its own), and `spacing`, the seconds a platform wants between two
        # messages to one recipient (Slack: about one post per second per channel; a lane is
        # what the platforms limit, see `recipient_of`). Each 429 costs a whole Retry-After,
        # so hitting the limit and backing off sends less than pacing.
        if isinstance(rate, Mapping):
            self.rates = {k: float(v) for k, v in rate.items() if v}
        else:
            self.rates = {"*": float(rate)} if rate else {}
        self.spacing = {k: float(v) for k, v in (spacing or {}).items() if v > 0}
        self._next_slot: dict[str, float] = {}
        self._recipient_free: dict[str, float] = {}  # recipient -> when it may be sent to
        self._pace_lock = threading.Lock()
        # Workspace id -> when its Retry-After ends, once WORKSPACE_LIMITED of its recipients
        # were told 429 together; and the recipients currently held, per workspace.
        self._blocked: dict[int, datetime] = {}
        self._limited: dict[int, dict[str, datetime]] = {}
        if self.rates:
            slowest = min(self.rates.values())
            batch = min(batch, max(1, int(slowest * BATCH_WINDOW)))
        self.batch = batch
        self._base = (datetime.min.replace(tzinfo=UTC), 0.0)
        # Rows this dispatcher holds (claimed, not finished) -> when it claimed them, for the
        # renewals; guarded by `_cv`, which also wakes the drain when a lane moves on.
        self._cv = threading.Condition()
        self._held: dict[int, float] = {}
        self._beating = False
        self._draining = False
        self._concurrent = False

    def _now(self) -> datetime:
        """The `now` given to this round, moved on by the real time spent since: paced
        sending takes seconds, and leases and Retry-After must count from when things
        happen, not from when the round began."""
        at, started = self._base
        return at + timedelta(seconds=self._ticks() - started)

    def _paced_send(self, outbound: Outbound, recipient: str) -> None:
        """Send at this message's turn: the recipient's spacing first (a lane's own wait must
        not hold a slot of the platform's rate that another lane could use), then the rate.
        The recipient's next turn counts from when this send ended: the platform measures
        between arrivals, and a send may call it more than once (a DM opened first)."""
        gap = self.spacing.get(outbound.platform, 0.0)
        if gap:
            with self._pace_lock:
                free = self._recipient_free.get(recipient, 0.0)
            wait = free - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._pace(outbound.platform)
        try:
            self.send(outbound)
        finally:
            if gap:
                with self._pace_lock:
                    now = time.monotonic()
                    self._recipient_free[recipient] = now + gap
                    if len(self._recipient_free) > RECIPIENTS_KEPT:
                        kept = {r: t for r, t in self._recipient_free.items() if t > now}
                        self._recipient_free = kept

    def _pace(self, platform: str) -> None:
        rate = self.rates.get(platform, self.rates.get("*"))
        if not rate:
            return
        with self._pace_lock:  # lanes take slots in turn; each sleeps outside the lock
            now = time.monotonic()
            slot = max(self._next_slot.get(platform, 0.0), now)
            self._next_slot[platform] = slot + 1.0 / rate
        if slot > now:
            time.sleep(slot - now)
        with self._pace_lock:
            # Counted from when this send really goes (a sleep can wake late under load), so
            # no two sends come closer than the rate allows.
            after = time.monotonic() + 1.0 / rate
            self._next_slot[platform] = max(self._next_slot[platform], after)

    # -- claiming -------------------------------------------------------------------------

    def _claim(self, session: Session, now: datetime) -> list[int]:
        return [row_id for row_id, _ in self._claim_lanes(session, now)]

    def _claim_lanes(self, session: Session, now: datetime) -> list[tuple[int, str]]:
        """Claim due rows, (id, recipient) in sending order: at most PER_RECIPIENT of any one
        recipient, none of a recipient with a send in flight anywhere (its order), none of
        a workspace waiting out a Retry-After."""
        self._blocked = {ws: until for ws, until in self._blocked.items() if until > now}
        stmt = _claim_stmt(session.get_bind().dialect.name == "postgresql", self.batch)
        params = {
            "now": now,
            "claimer": self.name,
            "until": now + self.lease,
            "blocked": list(self._blocked),
        }
        rows = sorted(session.execute(stmt, params).all(), key=lambda r: (r[2], r[0]))
        claimed_at = time.monotonic()
        with self._cv:
            for row_id, _, _ in rows:
                self._held[row_id] = claimed_at
        return [(row_id, recipient) for row_id, recipient, _ in rows]

    def expire(self, now: datetime) -> int:
        """Drop what is no longer useful (yesterday's drill DM)."""
        with self.sessions.begin() as session:
            result = session.execute(_EXPIRE, {"now": now})
            return int(getattr(result, "rowcount", 0) or 0)

    # -- the lease ------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        with self._cv:
            self._draining = True
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._heartbeat, name=f"lease-{self.name}", daemon=True).start()

    def _heartbeat(self) -> None:
        """Renew the leases of the rows this dispatcher holds until it holds none: a live
        dispatcher keeps its claims however slow the platform, a dead one loses them."""
        while True:
            with self._cv:
                # Woken early when the drain ends holding nothing: no thread outlives its use
                # (the in-memory workspace makes a dispatcher for every flush).
                idle = self._cv.wait_for(
                    lambda: not self._held and not self._draining, timeout=self.renew_every
                )
                if idle:
                    self._beating = False
                    return
                now = time.monotonic()
                ids = [i for i, since in self._held.items() if now - since < ABANDON_AFTER]
            if ids:
                try:
                    self.renew(ids)
                except Exception:
                    # The database is away: the next beat tries again; past the lease the
                    # rows go to whichever dispatcher reaches the database first.
                    log.warning("lease renewal failed", exc_info=True)

    def renew(self, ids: list[int]) -> int:
        """Push the lease of these rows (still ours, still pending) one lease ahead."""
        until = self._now() + self.lease
        with self.sessions.begin() as session:
            result = session.execute(_RENEW, {"ids": ids, "claimer": self.name, "until": until})
            return int(getattr(result, "rowcount", 0) or 0)

    # -- dispatching ----------------------------------------------------------------------

    def run_once(self, now: datetime) -> DispatchReport:
        """One claim and its sends (for tests and tools); `drain` is what serve runs."""
        return self.drain(now, rounds=1, _force=True)

    def drain(self, now: datetime, rounds: int = 50, *, _force: bool = False) -> DispatchReport:
        """Dispatch until nothing due is left (or `rounds` claims). A recipient whose send is
        slow is left sending while the others go on; the drain returns once every send has
        answered, or is stuck past SEND_TIMEOUT (counted in `in_flight`, finished later)."""
        total = DispatchReport()
        if not _force:
            with self.sessions() as session:
                first = next_due(session)
            if first is None or first > now:
                return total  # the common case on a tick: one cheap read, no write
        self._base = (now, self._ticks())
        self._concurrent = False
        lanes: dict[str, _Lane] = {}
        try:
            claims = 0
            collisions = 0
            while True:
                got = 0
                if claims < rounds and self._hung(lanes) < MAX_HUNG:
                    total.dropped += self.expire(self._now())
                    with self.sessions.begin() as session:
                        claimed = self._claim_lanes(session, self._now())
                    got = len(claimed)
                    claims += 1 if got else 0
                    if got:
                        self._start_heartbeat()
                    # A recipient's rows of one claim go to its lane together, in order.
                    groups: dict[str, list[int]] = {}
                    for row_id, recipient in claimed:
                        groups.setdefault(recipient, []).append(row_id)
                    for recipient, ids in groups.items():
                        self._dispatch(lanes, ids, recipient, total)
                with self._cv:
                    busy = [ln for ln in lanes.values() if not ln.done and not self._stuck(ln)]
                idle = not got and not busy
                if idle and collisions < CLAIM_COLLISIONS and claims < rounds:
                    # Another replica's claim may have taken this claim's candidates at the
                    # same instant: while free due rows remain, claim again, a few times.
                    if self._free_due(self._now()):
                        collisions += 1
                        idle = False
                elif got:
                    collisions = 0
                with self._cv:
                    if idle:
                        break
                    if not got:
                        self._cv.wait(timeout=self.patience)
        finally:
            self._leave_stuck(lanes, total)
            with self._cv:
                self._draining = False
                self._cv.notify_all()
        return total

    def _free_due(self, now: datetime) -> bool:
        """Whether due rows remain that nobody holds (a claim that found none collided)."""
        with self.sessions() as session:
            found = session.scalar(_FREE_DUE, {"now": now})
        return found is not None

    def _stuck(self, lane: _Lane) -> bool:
        since = lane.sending_since
        return since is not None and time.monotonic() - since > self.send_timeout

    def _hung(self, lanes: dict[str, _Lane]) -> int:
        with self._cv:
            return sum(1 for ln in lanes.values() if not ln.done and self._stuck(ln))

    def _dispatch(
        self, lanes: dict[str, _Lane], ids: list[int], recipient: str, report: DispatchReport
    ) -> None:
        with self._cv:
            lane = lanes.get(recipient)
            if lane is not None and not lane.done:
                lane.queue.extend(ids)  # after what it already has: the recipient's order
                return
            # A free worker first: only sends that are merely slow take one (stuck ones not;
            # a send turns stuck without a notification, hence the timed waits).
            while (
                sum(1 for ln in lanes.values() if not ln.done and not self._stuck(ln))
                >= self.workers
            ):
                self._cv.wait(timeout=self.patience)
            lane = lanes[recipient] = _Lane(recipient, deque(ids))
        threading.Thread(
            target=self._run_lane, args=(lane, report), name=f"send-{self.name}", daemon=True
        ).start()
        if self._concurrent:
            return
        with self._cv:
            # Quick sends go strictly one after another, so their order is the claim's; the
            # first one slower than PATIENCE switches this drain to sending side by side.
            if not self._cv.wait_for(lambda: lane.done, timeout=self.patience):
                self._concurrent = True

    def _run_lane(self, lane: _Lane, report: DispatchReport) -> None:
        while True:
            with self._cv:
                if not lane.queue:
                    lane.done = True
                    self._cv.notify_all()
                    return
                row_id = lane.queue.popleft()
                lane.sending_since = time.monotonic()
            stop = False
            hold: datetime | None = None
            try:
                hold = self._deliver(row_id, lane.recipient, report)
                stop = hold is not None
            except Exception:
                # The database failed under us: the row keeps its claim until the lease
                # lapses, then it is sent again; the lane's other rows go back now.
                log.exception("outbox lane failed", extra={"kind": "outbox"})
                stop = True
            finally:
                with self._cv:
                    lane.sending_since = None
                    self._held.pop(row_id, None)
                    self._cv.notify_all()
            if stop:
                with self._cv:
                    rest = list(lane.queue)
                    lane.queue.clear()
                self._release(rest, report, until=hold)

    def _leave_stuck(self, lanes: dict[str, _Lane], report: DispatchReport) -> None:
        """A drain returns past stuck sends: their recipients' waiting rows go back unclaimed
        (without a try). They are not claimed again while the stuck send holds its lease."""
        rest: list[int] = []
        with self._cv:
            for lane in lanes.values():
                if not lane.done and lane.sending_since is not None:
                    report.in_flight += 1
                    rest.extend(lane.queue)
                    lane.queue.clear()
        self._release(rest, report)

    def _release(
        self, ids: list[int], report: DispatchReport, until: datetime | None = None
    ) -> None:
        """Give claimed rows back without a try (to wait until `until`, if given)."""
        if not ids:
            return
        stmt = _release_stmt(until is not None)
        with self.sessions.begin() as session:
            result = session.execute(stmt, {"ids": ids, "claimer": self.name, "until": until})
            released = int(getattr(result, "rowcount", 0) or 0)
        with self._cv:
            for row_id in ids:
                self._held.pop(row_id, None)
            report.deferred += released

    def _deliver(self, row_id: int, recipient: str, report: DispatchReport) -> datetime | None:
        """Send one row and record the outcome; a time when the recipient's lane must stop
        (a 429: its other rows wait out the Retry-After until then)."""
        with self.sessions.begin() as session:
            row = session.execute(_TO_SEND, {"row_id": row_id}).first()
            if row is None or row.claimed_by != self.name or row.status != "pending":
                return None
            outbound = outbound_from_dict(row.payload)
            # The row's key travels with the message: Discord's nonce is made from it, so a
            # re-send of the same row is recognised as the same message.
            if not outbound.key:
                outbound = replace(outbound, key=row.dedupe_key)
            last_error = row.last_error or ""
            if last_error.startswith(UNCERTAIN) or last_error == SENDING:
                outbound = replace(outbound, uncertain=True)
            # A 429 again for a recipient whose last try was a 429 is that recipient's own
            # limit (a member throttled for good), not a sign of the workspace's.
            throttled_before = last_error.startswith(RATE_LIMITED)
            member_id, attempts, workspace = row.member_id, row.attempts, row.workspace_id
            blocked = self._blocked.get(workspace)
            waiting = blocked is not None and blocked > self._now()
            if not waiting and last_error != SENDING:
                # Marked as being sent, in the same round trip, until its outcome replaces
                # the mark; before the pacing, which times the sends themselves.
                marked = session.execute(_MARK_SENDING, {"row_id": row_id})
                if getattr(marked, "rowcount", 1) != 1:
                    # Deleted since the read (forget-me): the lane stops, as it always did
                    # when the ORM's flush found the row gone.
                    raise StaleDataError(f"outbox row {row_id} went before its send")
        if waiting and blocked is not None:
            # The workspace as a whole is waiting out a Retry-After: this waits its turn (an
            # uncertain row keeps its mark, so that its next sender still looks first).
            why = last_error if outbound.uncertain else "waiting out a rate limit"
            self._retry(row_id, blocked, why, refund=True, count=False)
            self._count(report, "deferred")
            return None
        try:
            self._paced_send(outbound, recipient)
        except Undeliverable as exc:
            # The member's other DMs are parked with it: the lane finds them so and skips.
            self._undeliverable(row_id, member_id, str(exc))
            self._count(report, "undeliverable")
            return None
        except RateLimited as exc:
            # Not the message's fault: retry after the platform's delay, without using a try.
            # A Retry-After of 0 would let the same batch hammer on: wait at least a second.
            resume = self._now() + timedelta(seconds=max(1.0, exc.retry_after))
            self._retry(row_id, resume, str(exc), refund=True)
            self._hold_recipient(recipient, row_id, resume)
            if not throttled_before:
                self._note_limited(workspace, recipient, resume)
            self._count(report, "retried")
            return resume
        except DeliveryError as exc:
            if exc.retryable and attempts < MAX_ATTEMPTS:
                backoff = timedelta(seconds=min(3600, RETRY_BASE * 2 ** (attempts - 1)))
                self._retry(row_id, self._now() + backoff, str(exc))
                self._count(report, "retried")
            else:
                self._finish(row_id, "failed", str(exc))
                self._count(report, "failed")
            return None
        except Exception as exc:  # an adapter bug must not stop the rest of the cohort
            log.exception("send crashed", extra={"kind": "outbox"})
            if attempts < MAX_ATTEMPTS:
                self._retry(row_id, self._now() + timedelta(minutes=5), type(exc).__name__)
                self._count(report, "retried")
            else:
                self._finish(row_id, "failed", type(exc).__name__)
                self._count(report, "failed")
            return None
        self._finish(row_id, "sent", None)
        with self._cv:
            report.sent += 1
            report.delivered.append(outbound)
        return None

    def _count(self, report: DispatchReport, name: str) -> None:
        with self._cv:
            setattr(report, name, getattr(report, name) + 1)

    def _hold_recipient(self, recipient: str, row_id: int, resume: datetime) -> None:
        """Everything queued for this recipient waits out its Retry-After, in the database,
        so that another replica does not spend a 429 on it either."""
        t = OutboxMessage
        now = self._now()
        with self.sessions.begin() as session:
            session.execute(
                update(t)
                .where(
                    t.recipient == recipient,
                    t.status == "pending",
                    t.id != row_id,
                    or_(t.claimed_by.is_(None), t.lease_until.is_(None), t.lease_until < now),
                    t.next_attempt_at < resume,
                )
                .values(next_attempt_at=resume)
                .execution_options(synchronize_session=False)
            )

    def _note_limited(self, workspace: int, recipient: str, resume: datetime) -> None:
        now = self._now()
        with self._cv:
            held = {r: u for r, u in self._limited.get(workspace, {}).items() if u > now}
            held[recipient] = resume
            self._limited[workspace] = held
            if len(held) >= WORKSPACE_LIMITED:
                self._blocked[workspace] = max(self._blocked.get(workspace, now), resume)

    def _finish(self, row_id: int, status: str, error: str | None) -> None:
        metrics.message_finished(status)
        params = {
            "row_id": row_id,
            "claimer": self.name,
            "outcome": status,
            "sent_when": self._now() if status == "sent" else None,
            "error": error[:200] if error else None,
        }
        with self.sessions.begin() as session:
            session.execute(_FINISH, params)

    def _retry(
        self, row_id: int, when: datetime, error: str, refund: bool = False, count: bool = True
    ) -> None:
        if count:
            metrics.MESSAGES_RETRIED.inc()
        params = {"row_id": row_id, "claimer": self.name, "resume": when, "error": error[:200]}
        with self.sessions.begin() as session:
            session.execute(_retry_stmt(refund), params)

    def _undeliverable(self, row_id: int, member_id: int | None, error: str) -> None:
        metrics.message_finished("undeliverable")
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="undeliverable", last_error=error[:200], lease_until=None)
            )
            if member_id is not None:
                # Once: the member is flagged and their other queued DMs are parked too;
                # `reachable_again` undoes both when they next use the bot.
                session.execute(
                    update(Member).where(Member.id == member_id).values(undeliverable=True)
                )
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.member_id == member_id,
                        OutboxMessage.status == "pending",
                        OutboxMessage.payload["target"]["type"].as_string() == "dm",
                        or_(
                            OutboxMessage.claimed_by.is_(None),
                            OutboxMessage.claimed_by == self.name,
                        ),
                    )
                    .values(
                        status="undeliverable",
                        last_error="member does not accept DMs",
                        lease_until=None,
                    )
                )
        log.warning("member undeliverable", extra={"member": member_id})


# -- members who could not be reached ---------------------------------------------------

_MISSED = {"drill": "daily drill", "mock": "mock-interview pairing", "leaderboard": "leaderboard"}


def reachable_again(
    session: Session,
    member: Member,
    user: User,
    result: Reply | list[Outbound] | None,
    now: datetime,
) -> Reply | list[Outbound] | None:
    """A member marked undeliverable (their DMs were closed) who uses the bot again is
    reachable again: the mark goes, what is still useful is queued again, and the answer to
    what they asked tells them, once, what they missed. Unchanged for everyone else."""
    state = inspect(member)
    if state.deleted or state.detached or not member.undeliverable:
        return result  # reachable all along, or just removed by forget-me
    member.undeliverable = False
    # A day whose drill time passed while they were cut off is a missed day, not one to catch
    # up on late: the daily drill starts again from the next drill time, as after a new zone.
    member.settings.daily_from = now
    t = OutboxMessage
    parked = session.execute(
        select(t.id, t.kind, t.expires_at, t.due_at).where(
            t.member_id == member.id, t.status == "undeliverable"
        )
    ).all()
    still = [r.id for r in parked if r.expires_at is not None and r.expires_at > now]
    missed = [r for r in parked if r.expires_at is None or r.expires_at <= now]
    if still:
        session.execute(
            update(t)
            .where(t.id.in_(still))
            .values(
                status="pending",
                next_attempt_at=now,
                claimed_by=None,
                lease_until=None,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
    if missed:  # told now: a later mark must not count them again
        session.execute(
            update(t)
            .where(t.id.in_([r.id for r in missed]))
            .values(status="dropped", last_error="missed: the member's DMs were closed")
            .execution_options(synchronize_session=False)
        )
    counts: dict[str, int] = {}
    for r in missed:
        label = _MISSED.get(r.kind, "reminder")
        counts[label] = counts.get(label, 0) + 1
    if counts:
        since = min(r.due_at for r in missed)
        listed = ", ".join(
            f"{n} {label}{'' if n == 1 else 's'}" for label, n in sorted(counts.items())
        )
        what = f"While I could not reach you by DM (since {since:%d %b}), you missed {listed}."
    else:
        what = "For a while I could not reach you by DM."
    again = f" {len(still)} still-current message(s) are on their way now." if still else ""
    note = (
        f"{what}{again} Your drills, reminders and pairings are back on. If your DMs from "
        "apps are still closed, open them so they reach you."
    )
    return _with_note(result, user, note)


def _with_note(
    result: Reply | list[Outbound] | None, user: User, note: str
) -> Reply | list[Outbound] | None:
    if result is None:
        return Reply(note)
    if isinstance(result, Reply):
        return replace(result, text=f"{result.text}\n\n{note}")
    for i, o in enumerate(result):
        t = o.target
        if isinstance(t, DM | Ephemeral) and t.user.user_id == user.user_id:
            out = list(result)
            out[i] = replace(o, reply=replace(o.reply, text=f"{o.reply.text}\n\n{note}"))
            return out
    return result


# -- retention and forget-me ------------------------------------------------------------


def prune(session: Session, before: datetime, limit: int = 20_000) -> int:
    """Delete up to `limit` finished rows (sent, failed, dropped, undeliverable) created
    before `before`; pending rows are never touched. Bounded, so that a first run over a
    year of history does not hold one long transaction: the next runs take the rest."""
    t = OutboxMessage
    ids = select(t.id).where(t.status.in_(FINISHED), t.created_at < before).limit(limit)
    result = session.execute(
        delete(t)
        .where(t.id.in_(ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_OLDEST_FINISHED = select(func.min(_OUTBOX.c.created_at)).where(_OUTBOX.c.status.in_(FINISHED))


def oldest_finished(session: Session) -> datetime | None:
    oldest: datetime | None = session.scalar(_OLDEST_FINISHED)
    return oldest


_TEXT_KEYS = ("text", "title", "lead", "footer")


def forget_in_payloads(
    session: Session, workspace_id: int, display_name: str, user_id: str, recipient: str = ""
) -> int:
    """Remove a member from every stored message that is not theirs (their own rows go with
    them): each line that names them (a leaderboard row, a partner's pairing) is taken out
    of every text, and messages addressed to them are deleted. Returns the rows changed."""
    t = OutboxMessage
    patterns = [rf"<@!?{re.escape(user_id)}>", rf"\b{re.escape(user_id)}\b"]
    if display_name.strip():
        patterns.append(rf"(?<!\w){re.escape(display_name.strip())}(?!\w)")
    pattern = re.compile("|".join(patterns))
    # Stored JSON escapes non-ASCII (json.dumps), or keeps it (PostgreSQL's json input): try
    # both spellings of the name, then decide on the decoded payload.
    needles = {user_id, display_name.strip(), json.dumps(display_name.strip())[1:-1]} - {""}
    text = cast(t.payload, String)
    changed = 0
    if recipient:
        result = session.execute(
            delete(t)
            .where(t.workspace_id == workspace_id, t.recipient == recipient)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    rows = session.execute(
        select(t.id, t.payload).where(
            t.workspace_id == workspace_id,
            or_(*(text.contains(n, autoescape=True) for n in needles)),
        )
    ).all()
    for row_id, payload in rows:
        scrubbed, hit = _scrub(payload, pattern)
        if hit:
            session.execute(
                update(t)
                .where(t.id == row_id)
                .values(payload=scrubbed)
                .execution_options(synchronize_session=False)
            )
            changed += 1
    return changed


def _scrub(payload: dict[str, Any], pattern: re.Pattern[str]) -> tuple[dict[str, Any], bool]:
    reply = dict(payload.get("reply") or {})
    hit = False

    def clean(value: Any) -> Any:
        nonlocal hit
        if not isinstance(value, str) or not pattern.search(value):
            return value
        hit = True
        return "\n".join(line for line in value.split("\n") if not pattern.search(line))

    for key in _TEXT_KEYS:
        reply[key] = clean(reply.get(key))
    fields = []
    for f in reply.get("fields") or []:
        name, value = clean(f[0]), clean(f[1])
        if name.strip() and value.strip():
            fields.append([name, value, *f[2:]])
        else:
            hit = True
    reply["fields"] = fields
    return {**payload, "reply": reply}, hit


def is_dm(outbound: Outbound) -> bool:
    return isinstance(outbound.target, DM)
