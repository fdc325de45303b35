"""Engines and sessions for SQLite (WAL, foreign keys on) and PostgreSQL.

A database that stops answering must cost a bounded time, never a hang: a silent partition
(no RST, no FIN) otherwise holds every thread that touches the database until the kernel
gives up, minutes later. On PostgreSQL each connection therefore has a connect timeout, TCP
keepalives and a TCP user timeout (the kernel's view), a server-side statement timeout (a
runaway query), and a client-side deadline on every round trip (the only thing that helps when
something between us and the server still acknowledges packets but nothing answers, such as a
stuck proxy). The pool gives up on a checkout after `POOL_TIMEOUT` seconds.

Interactive paths narrow the deadline with `deadline(seconds)`: a member's command should
hear "try again in a moment" inside Slack's 3-second window, while a background job may
legitimately run a long statement."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

CONNECT_TIMEOUT = 3  # seconds; libpq's minimum that it honours is 2
STATEMENT_TIMEOUT = 30.0  # server side: no statement of ours legitimately runs this long
ROUND_TRIP_DEADLINE = STATEMENT_TIMEOUT + 5.0  # client side, the default outside deadline()
POOL_TIMEOUT = 5.0  # seconds to wait for a pooled connection before giving up
SQLITE_BUSY_MS = 5000  # a writer waits this long for another writer, then "database is locked"

# libpq keepalives: an idle connection whose peer vanished is noticed in about 5 + 3*2 s, and
# data left unacknowledged for 10 s fails the connection instead of retrying for 15 minutes.
_PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
# A transaction left open by a replica that froze must not hold its row locks for long.
_PG_OPTIONS = (
    f"-c statement_timeout={int(STATEMENT_TIMEOUT * 1000)} "
    "-c idle_in_transaction_session_timeout=60000"
)


class _Budget:
    """`seconds` for the database, counted from the block's first round trip: a block that
    first waits on something else (a Slack API call) still gives the database all of it."""

    __slots__ = ("seconds", "until")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until: float | None = None

    def remaining(self, now: float) -> float:
        if self.until is None:
            self.until = now + self.seconds
        return self.until - now


_deadlines: contextvars.ContextVar[tuple[_Budget, ...]] = contextvars.ContextVar(
    "cohortbot_db_deadlines", default=()
)


class NoAnswer(psycopg.OperationalError):
    """The database did not answer in time; the connection was closed (its state is unknown)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every database round trip in this block (this thread or task, and threads it starts with
    copied context) must finish within `seconds` of the block's first one, in total; past that
    it fails with an OperationalError, which the router turns into "try again in a moment".
    Nesting only ever tightens the deadline."""
    token = _deadlines.set((*_deadlines.get(), _Budget(seconds)))
    try:
        yield
    finally:
        _deadlines.reset(token)


def _budget() -> float:
    budgets = _deadlines.get()
    if not budgets:
        return ROUND_TRIP_DEADLINE
    now = time.monotonic()
    return max(min(b.remaining(now) for b in budgets), 0.0)


class _BoundedConnection(psycopg.Connection[Any]):
    """psycopg's connection with a deadline on every wait for the server (queries, commits,
    rollbacks, pings all go through `wait`)."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        budget = _budget()
        limit = budget if timeout is None else min(timeout, budget)
        try:
            return super().wait(gen, interval, limit)
        except pg_errors._WaitTimeout:
            if timeout is not None and timeout <= budget:
                raise  # psycopg's own timeout (e.g. while cancelling): its caller handles it
            # Mid-protocol, the connection's state is unknown: drop it so the pool never hands
            # it out again (SQLAlchemy sees a closed connection and invalidates it).
            self.pgconn.finish()
            raise NoAnswer(f"the database did not answer within {limit:.1f}s") from None


def _connect_bounded(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    budget = _budget()
    if budget <= 0.05:
        # The deadline went on a ping of a pooled connection that no longer answers: dialling
        # again now could only overrun it.
        raise NoAnswer("the database did not answer in time (no time left to reconnect)")
    if budget >= CONNECT_TIMEOUT:
        return _BoundedConnection.connect(*cargs, **cparams)
    # libpq waits at least 2 s for a connection; a shorter budget is kept by waiting for the
    # dial on a helper thread. One that gives up late is closed when it completes.
    dial = _DIALLER.submit(_BoundedConnection.connect, *cargs, **cparams)
    try:
        return dial.result(budget)
    except FutureTimeout:
        dial.add_done_callback(_close_late)
        raise NoAnswer(f"the database did not accept a connection within {budget:.1f}s") from None


def _close_late(dial: Future[Any]) -> None:
    if not dial.cancelled() and dial.exception() is None:
        dial.result().close()


_DIALLER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="db-dial")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL keeps the database consistent after a crash and skips most fsyncs.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(False))
    # connect_args replace the URL's parameters of the same name, so ours are defaults only:
    # a URL's own connect_timeout stays, and its options (a search_path, say) are kept too.
    ours = {k: v for k, v in _PG_CONNECT_ARGS.items() if k not in parsed.query}
    caller = dict(kwargs.pop("connect_args", None) or {})
    url_options = parsed.query.get("options", ())
    # Later options win on a clash: ours, then the URL's, then the caller's.
    options = [
        _PG_OPTIONS,
        *([url_options] if isinstance(url_options, str) else url_options),
        str(caller.get("options", "")),
    ]
    connect_args = {**ours, **caller, "options": " ".join(o for o in options if o)}
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "do_connect", _connect_bounded)
    return engine


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
