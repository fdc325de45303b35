"""A stand-in for `cohortbot serve`'s scheduler, run as its own process by tests/test_faults.py
so that it can be killed with SIGKILL in the middle of a fan-out.

It does what serve does at start-up (one job tick at `--now`, then drain the outbox) with the
real JobRunner and Dispatcher, against a PostgreSQL schema, and sends each message by POSTing
it to a fake platform on 127.0.0.1 that records what it accepted.

    python tests/fanout_worker.py --schema S --platform http://127.0.0.1:PORT/send \
        --now 2026-11-23T09:05:00+00:00 [--lease 2] [--batch 25]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.session import make_engine
from bot.outbox import Dispatcher
from bot.types import DM, Outbound


def poster(url: str):  # type: ignore[no-untyped-def]
    def send(outbound: Outbound) -> None:
        assert isinstance(outbound.target, DM)
        # The drill is the one its Answer button names.
        drill = next((b.value for b in outbound.reply.buttons if b.action == "drill.answer"), "")
        body = json.dumps({"user": outbound.target.user.user_id, "drill": drill}).encode()
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()

    return send


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="PostgreSQL URL")
    p.add_argument("--schema", required=True)
    p.add_argument("--platform", required=True, help="the fake platform's POST address")
    p.add_argument("--now", required=True, type=datetime.fromisoformat)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=25)
    a = p.parse_args()
    if not a.platform.startswith("http://127.0.0.1:"):
        raise SystemExit("the fake platform must be on 127.0.0.1")
    engine = make_engine(a.url, connect_args={"options": f"-csearch_path={a.schema}"})
    clock = ManualClock(a.now)
    core = build_app(load_settings(database_url=a.url), clock, engine=engine, upgrade=False)
    queued = core.jobs.run_at(clock.now())  # serve's first tick: catch up on what is due
    dispatcher = Dispatcher(
        core.sessions, poster(a.platform), batch=a.batch, lease=timedelta(seconds=a.lease)
    )
    report = dispatcher.drain(clock.now(), rounds=10_000)
    print(json.dumps({"queued": queued, "sent": report.sent, "retried": report.retried}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
