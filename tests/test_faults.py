"""Faults on PostgreSQL: a process killed mid fan-out, two dispatchers racing, a dispatcher that
dies holding claims, and the database going away.

Real processes, real sockets (127.0.0.1 only), real PostgreSQL; simulated time wherever the
code takes time from a clock, and every real wait bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from adapters.memory import MemoryWorkspace
from adapters.serve import route
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.schedule_models import OutboxMessage
from bot.db.session import make_engine, make_sessionmaker
from bot.members import get_member
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.router import BUSY
from bot.types import DM, Invocation, Outbound, Reply, User
from tests.conftest import PG_URL, START, pg_engine, truncate_all
from tests.helpers import member

# Slow: SIGKILLed subprocesses and a database away for 30 s.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "fanout_worker.py"
FANOUT_AT = START.replace(hour=9, minute=5)  # Monday 09:05 UTC: everyone's 09:00 drill is due
WAIT = 60.0  # the longest any real wait may take, on a busy shared machine
LEASE_SECONDS = 2.0  # the fan-out worker's lease, simulated time


@pytest.fixture
def pg(pg_schema: tuple[str, str]) -> Iterator[tuple[str, str, Engine]]:
    url, schema = pg_schema
    engine = pg_engine(schema)
    truncate_all(engine)
    yield url, schema, engine
    engine.dispose()


def seed_members(engine: Engine, n: int) -> set[str]:
    """n members whose daily drill is due at FANOUT_AT; returns their platform user ids."""
    settings = load_settings(database_url=PG_URL)
    with make_sessionmaker(engine).begin() as session:
        for i in range(n):
            get_member(session, User("memory", "W1", f"U{i:04d}", f"m{i}"), settings, START)
    return {f"U{i:04d}" for i in range(n)}


# -- a fake platform ---------------------------------------------------------------------------


class FakePlatform:
    """Records every message it accepts. It can hold one request, either before accepting it
    (the platform never saw it) or after (accepted, but the sender has no answer yet), so
    that the test can kill the sender at exactly that point."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.hold_at: int | None = None  # the request number (1-based) to hold
        self.hold_after_accept = False
        self.kill_at: int | None = None  # or: signal `reached` once this many are accepted
        self.holding = threading.Event()
        self.release = threading.Event()
        self.reached = threading.Event()
        self._requests = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.receive((body["user"], body["drill"]))
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender was killed while we held its request

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/send"
        threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def receive(self, message: tuple[str, str]) -> None:
        with self.lock:
            self._requests += 1
            hold = self._requests == self.hold_at
            if not hold or self.hold_after_accept:
                self.accepted.append(message)
            if self.kill_at is not None and len(self.accepted) >= self.kill_at:
                self.reached.set()
        if hold:
            self.holding.set()
            self.release.wait(WAIT)

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    p = FakePlatform()
    yield p
    p.close()


def start_worker(url: str, schema: str, platform: FakePlatform, at_offset: float) -> Any:
    now = FANOUT_AT + timedelta(seconds=at_offset)
    cmd = [sys.executable, str(WORKER), "--url", url, "--schema", schema]
    cmd += ["--platform", platform.url, "--now", now.isoformat()]
    cmd += ["--lease", str(LEASE_SECONDS), "--batch", "25"]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_and_restart(
    url: str, schema: str, platform: FakePlatform, wait_for: Callable[[], bool]
) -> None:
    """Start the fan-out, SIGKILL it once `wait_for` says so, restart it after its leases
    expired, and let it finish. The dispatcher's clock runs on from its start (`--now`) with
    real time, so a fan-out slowed by a loaded machine takes its last leases later in
    simulated time: the restart comes a lease and a second after the first worker's last
    possible claim (at least 5 s after its start), not at a fixed 5 s that a slow first
    worker's leases outlive (the restart then saw them held, and drained nothing)."""
    started = time.monotonic()
    first = start_worker(url, schema, platform, 0)
    try:
        assert wait_for(), "the fan-out never reached the point where it is killed"
        first.send_signal(signal.SIGKILL)
        assert first.wait(WAIT) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(WAIT)
    platform.release.set()
    restart_at = max(5.0, time.monotonic() - started + LEASE_SECONDS + 1)
    second = start_worker(url, schema, platform, restart_at)
    _out, err = second.communicate(timeout=WAIT * 2)
    assert second.returncode == 0, err[-2000:]


def delivered(platform: FakePlatform) -> Counter[str]:
    with platform.lock:
        return Counter(user for user, _ in platform.accepted)


def all_sent(engine: Engine) -> bool:
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    return set(statuses) == {"sent"}


MEMBERS = 300


def test_sigkill_before_the_platform_accepts_delivers_each_once(
    pg: tuple[str, str, Engine], platform: FakePlatform
) -> None:
    """Killed while a send is in flight but not yet accepted: every member gets one DM."""
    url, schema, engine = pg
    users = seed_members(engine, MEMBERS)
    platform.hold_at = random.randint(40, 260)  # mid-batch, several batches in
    kill_and_restart(url, schema, platform, lambda: platform.holding.wait(WAIT))
    got = delivered(platform)
    assert set(got) == users
    assert max(got.values()) == 1, [u for u, n in got.items() if n > 1]
    assert all_sent(engine)


def test_sigkill_after_the_platform_accepts_is_the_one_duplicate(
    pg: tuple[str, str, Engine], platform: FakePlatform
) -> None:
    """The honest window: the platform accepted message k, and the process died before it
    committed "sent" (the HTTP response in flight, or the commit itself). The row's lease
    expires and the restart sends it again. Delivery is at least once: exactly this one
    message is doubled, nothing is lost, nothing else is doubled."""
    url, schema, engine = pg
    users = seed_members(engine, MEMBERS)
    platform.hold_at = random.randint(40, 260)
    platform.hold_after_accept = True
    kill_and_restart(url, schema, platform, lambda: platform.holding.wait(WAIT))
    got = delivered(platform)
    assert set(got) == users
    doubled = [u for u, n in got.items() if n > 1]
    held_user = platform.accepted[platform.hold_at - 1][0]
    assert doubled == [held_user]
    assert got[held_user] == 2
    assert all_sent(engine)


def test_sigkill_at_a_random_moment(pg: tuple[str, str, Engine], platform: FakePlatform) -> None:
    """Killed wherever the process happens to be: nothing lost, and at most the one message
    in flight doubled (the dispatcher sends one message at a time)."""
    url, schema, engine = pg
    users = seed_members(engine, MEMBERS)
    platform.kill_at = random.randint(30, 270)
    kill_and_restart(url, schema, platform, lambda: platform.reached.wait(WAIT))
    got = delivered(platform)
    assert set(got) == users
    doubled = [u for u, n in got.items() if n > 1]
    assert len(doubled) <= 1 and max(got.values()) <= 2, doubled
    print(f"killed after {platform.kill_at} accepted: {len(doubled)} doubled")
    assert all_sent(engine)


# -- dispatchers racing ------------------------------------------------------------------------


def queue_messages(engine: Engine, n: int) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        ws_id = get_member(
            session, User("memory", "W1", "U-host", "host"), load_settings(), START
        ).workspace_id
    items = [
        Scheduled(
            Outbound(DM(member(i)), Reply(f"message {i}")),
            workspace_id=ws_id,
            kind="test",
            subject=str(i),
            local_date=date(2026, 11, 23),
            due_at=START,
            target_key=f"u{i}",
        )
        for i in range(n)
    ]
    with sessions.begin() as session:
        enqueue(session, items, START)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == n


class Recorder:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def send(self, outbound: Outbound) -> None:
        with self.lock:
            self.texts.append(outbound.reply.text)


def test_two_dispatchers_send_each_message_once(pg: tuple[str, str, Engine]) -> None:
    _url, schema, engine = pg
    n = 2000
    queue_messages(engine, n)
    rec = Recorder()
    # Two engines, as two replicas would have; each dispatcher in its own thread.
    engines = [pg_engine(schema), pg_engine(schema)]
    reports = []
    errors: list[BaseException] = []

    def run(e: Engine, name: str) -> None:
        try:
            d = Dispatcher(make_sessionmaker(e), rec.send, name=name, batch=50)
            reports.append(d.drain(START, rounds=1000))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(e, f"replica-{i}")) for i, e in enumerate(engines)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
    for e in engines:
        e.dispose()
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    counts = Counter(rec.texts)
    assert len(counts) == n and max(counts.values()) == 1
    assert sum(r.sent for r in reports) == n
    assert all(r.sent > 0 for r in reports), ("both dispatchers took part", reports)
    assert all_sent(engine)


def test_claims_of_a_dead_dispatcher_are_sent_once_after_the_lease(
    pg: tuple[str, str, Engine],
) -> None:
    _url, _schema, engine = pg
    n = 500
    queue_messages(engine, n)
    sessions = make_sessionmaker(engine)
    rec = Recorder()
    lease = timedelta(minutes=2)
    dead = Dispatcher(sessions, rec.send, name="dead", batch=120, lease=lease)
    with sessions.begin() as session:
        abandoned = dead._claim(session, START)  # claimed, then the process "dies"
    assert len(abandoned) == 120
    alive = Dispatcher(sessions, rec.send, name="alive", batch=100, lease=lease)
    report = alive.drain(START, rounds=100)
    assert report.sent == n - 120  # the dead one's rows wait for their lease
    report = alive.drain(START + lease - timedelta(seconds=1), rounds=100)
    assert report.sent == 0
    report = alive.drain(START + lease + timedelta(seconds=1), rounds=100)
    assert report.sent == 120
    counts = Counter(rec.texts)
    assert len(counts) == n and max(counts.values()) == 1
    assert all_sent(engine)


# -- the database going away -------------------------------------------------------------------


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL that can go down: while down it cuts
    every open connection and hangs up on new ones, as a restarting database server would."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.down = threading.Event()
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def go_down(self) -> None:
        self.down.set()
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.open.clear()

    def come_back(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.closed = True
        self.go_down()
        self.listener.close()


def test_database_away_for_30_seconds(pg: tuple[str, str, Engine]) -> None:
    """Members are told to try again in a moment; the scheduler's ticks that fall in the gap
    fail, and the first one after catches up: every drill due in the gap is sent, once.

    The ticks are serve's own two calls (the job tick, the outbox drain through
    `adapters.serve.route`), made here at each simulated instant instead of by APScheduler's
    real-time timer, so that what happens in the gap is exact."""
    url, schema, direct = pg
    proxy = Proxy(("127.0.0.1", 5432))
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert proxied != url
    engine = make_engine(
        proxied, connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 3}
    )
    clock = ManualClock(START.replace(hour=8, minute=59))
    settings = load_settings(database_url=proxied, rate_limit_per_minute=0)
    core = build_app(settings, clock, engine=engine, upgrade=False)
    ws = MemoryWorkspace(core, clock)
    dispatcher = Dispatcher(core.sessions, route({"memory": ws}))
    names = [f"m{i}" for i in range(20)]
    try:
        for name in names:  # each member's 09:00 drill falls due while the database is away
            [d] = ws.command(name, "/settings drill-time 09:00")
            assert "09:00" in d.text
        proxy.go_down()
        clock.set(START.replace(hour=8, minute=59, second=50))
        down_replies = []
        for step in range(6):  # 30 simulated seconds across 09:00, ~3 real seconds
            clock.advance(timedelta(seconds=5))
            for name in (names[step], "newcomer"):
                inv = Invocation("drill", "", ws.user(name), ws.channel())
                down_replies += core.router.handle(inv).all
            assert core.jobs.run_at(clock.now()) == 0  # each job fails, is logged, goes on
            with pytest.raises(OperationalError):  # APScheduler logs it and ticks again
                dispatcher.drain(clock.now())
            time.sleep(0.5)
        assert len(down_replies) == 12 and all(o.reply.text == BUSY for o in down_replies)
        assert "try again in a moment" in BUSY
        with direct.connect() as conn:  # nothing was queued, nothing was sent in the gap
            queued = select(func.count()).where(OutboxMessage.kind == "drill")
            assert conn.scalar(queued) == 0
        assert not [d for d in ws.transcript if d.text.startswith("Good morning")]

        proxy.come_back()
        for _ in range(3):  # the next ticks, and a few more: everyone once, nobody twice
            clock.advance(timedelta(seconds=30))
            core.jobs.run_at(clock.now())
            dispatcher.drain(clock.now())
        drills = Counter(
            d.outbound.target.user.display_name  # type: ignore[union-attr]
            for d in ws.transcript
            if isinstance(d.outbound.target, DM) and d.text.startswith("Good morning")
        )
        assert drills == Counter(names)
        inv = Invocation("settings", "show", ws.user("newcomer"), ws.channel())
        [back] = core.router.handle(inv).all  # and commands work again
        assert back.reply.text != BUSY and "Time zone" in back.reply.text
    finally:
        proxy.close()
        engine.dispose()
