"""Figure 4: the outbox dispatcher against a local platform that allows `rate` sends a second
(any sliding second) and answers 429 with Retry-After above it, like Slack and Discord do."""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import delete, func, select

from bench.common import NOW, Database, Results, Row, bulk_insert
from bot.config import load_settings
from bot.db.schedule_models import OutboxMessage
from bot.delivery import DeliveryError, RateLimited
from bot.outbox import Dispatcher, Scheduled, enqueue
from bot.types import DM, Outbound, Reply, User


class FakePlatform:
    """An HTTP server on 127.0.0.1 that records every accepted message id, in order."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.accepted: list[tuple[str, float]] = []
        self.refused = 0
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/send"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def admit(self, key: str) -> float | None:
        """None when accepted, else the seconds to wait (as a whole-second Retry-After)."""
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate:
                self.refused += 1
                return max(1.0, math.ceil(self._window[0] + 1.0 - now))
            self._window.append(now)
            self.accepted.append((key, now))
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                wait = fake.admit(json.loads(raw)["key"])
                body = b'{"ok":true}' if wait is None else b'{"ok":false,"error":"ratelimited"}'
                self.send_response(200 if wait is None else 429)
                if wait is not None:
                    self.send_header("Retry-After", str(int(wait)))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def reset(self) -> None:
        with self._lock:
            self.accepted.clear()
            self._window.clear()
            self.refused = 0

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def sender(url: str) -> Any:
    """What an adapter's deliver does: one HTTP call, 429 raised as RateLimited."""

    def send(outbound: Outbound) -> None:
        data = json.dumps({"key": outbound.key, "text": outbound.reply.text}).encode()
        req = urllib.request.Request(  # noqa: S310 (our own http:// fake)
            url, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                resp.read()
        except urllib.error.HTTPError as exc:
            exc.read()
            if exc.code == 429:
                raise RateLimited(float(exc.headers.get("Retry-After") or 1)) from None
            raise DeliveryError(f"HTTP {exc.code}") from None
        except OSError as exc:
            raise DeliveryError(str(exc)) from None

    return send


def _queue(db: Database, n: int, tag: str) -> None:
    app = db.app()
    items = [
        Scheduled(
            Outbound(
                DM(User("slack", "T0", f"U{i:06d}", f"Member {i}")),
                Reply(f"Message {i} of the run."),
                key=f"{tag}-{i}",
            ),
            workspace_id=1,
            kind="bench",
            subject=f"{tag}-{i}",
            local_date=NOW.date(),
            due_at=datetime.now(UTC) - timedelta(seconds=1),
            target_key=f"{tag}-{i}",
        )
        for i in range(n)
    ]
    with app.sessions.begin() as s:
        s.execute(delete(OutboxMessage))
        enqueue(s, items, NOW)
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == n


def _run(db: Database, fake: FakePlatform, n: int, tag: str, pace: float | None) -> dict[str, Any]:
    _queue(db, n, tag)
    fake.reset()
    app = db.app()
    # Paced as `serve` paces: from the settings, per platform (the bench queues Slack DMs).
    rates = load_settings(slack_send_rate=pace).send_rates if pace else None
    dispatcher = Dispatcher(app.sessions, sender(fake.url), rate=rates)
    started = time.monotonic()
    deadline = started + max(60.0, 4 * n / fake.rate)
    while len(fake.accepted) < n and time.monotonic() < deadline:
        report = dispatcher.drain(datetime.now(UTC))
        if not (report.sent or report.retried):
            time.sleep(0.02)  # what serve's ticker does between drains, only more often
    keys = Counter(k for k, _ in fake.accepted)
    with app.sessions() as s:
        statuses = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    times = [t for _, t in fake.accepted]
    span = times[-1] - times[0] if len(times) > 1 else math.nan
    return {
        "rate": (len(times) - 1) / span if span else math.nan,
        "lost": sum(1 for i in range(n) if keys.get(f"{tag}-{i}", 0) == 0),
        "doubled": sum(1 for c in keys.values() if c > 1),
        "refused": fake.refused,
        "sent_rows": statuses.get("sent", 0),
        "elapsed": time.monotonic() - started,
    }


def dispatch(results: Results, kind: str, db: Database, n: int, rate: int) -> None:
    bulk_insert(
        db.engine,
        "workspaces",
        ("id", "platform", "external_id", "name", "created_at"),
        [(1, "slack", "T0", "bench", NOW.replace(tzinfo=None))],
    )
    fake = FakePlatform(rate)
    try:
        # "as served" is the dispatcher `serve` runs, paced by COHORTBOT_SLACK_SEND_RATE set
        # just under the platform's limit; "unpaced" shows what pacing buys: with no pacing
        # the dispatcher meets the limit, and every 429 holds Slack back for its Retry-After.
        for label, pace in (("as served", rate * 0.95), ("unpaced", None)):
            r = _run(db, fake, n, label, pace)
            share = r["rate"] / rate
            clean = r["lost"] == 0 and r["doubled"] == 0 and r["sent_rows"] == n
            results.add(
                Row(
                    f"4 dispatcher ({label})",
                    kind,
                    f"{n} messages, {r['refused']} answered 429",
                    f"{r['rate']:.1f}/s, lost {r['lost']}, doubled {r['doubled']}",
                    f"{rate}/s allowed",
                    share,
                    ">= 0.90x, none lost or doubled" if pace else "none lost or doubled",
                    (share >= 0.9 if pace else True) and clean,
                    f"COHORTBOT_SLACK_SEND_RATE={pace:g}" if pace else "no pacing",
                )
            )
    finally:
        fake.stop()
