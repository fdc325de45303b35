"""Issue 15's figures: `python -m bench chaos` (or `python -m bench.chaos`).

1. The chaos run (tests/chaos/harness.py): drain time and the worst delay of a healthy
   recipient's scheduled message, beside the same cohort and traffic with nothing going wrong,
   plus the run's counts (lost, doubled, acks over 3 s, delayed by another's trouble).
2. The HTTP front: signed `/drill` requests at 8 and 32 at once against one `cohortbot serve`
   (throughput and p99 of the ack), beside a bare Bolt app that acks with fixed text, served
   by serve's own front (adapters.serve.Runtime) in a process of its own, in the same run;
   and again with the fake Web API answering every call in 2 s.

The figures go to the "Chaos (issue 15)" section of bench/RESULTS.md (replaced, the rest of
the file kept) and are printed. COHORTBOT_CHAOS_MEMBERS etc. scale the chaos run."""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

from bench.common import percentile
from tests.chaos.harness import (
    ROOT,
    SLACK_TEAM,
    ChaosDatabase,
    Plan,
    Replica,
    Report,
    run,
    seed,
    slack_uid,
)
from tests.slack_fake import SECRET, FakeSlack, sign

HERE = Path(__file__).resolve().parent
SECTION = "## Chaos (issue 15)"
BARE_TEXT = "Here is your drill."


# -- the bare app, served by serve's own front ------------------------------------------------


def serve_bare(port: int, api_url: str, database_url: str) -> None:
    """A Bolt app that acks /drill with fixed text, behind adapters.serve's Runtime."""
    from pydantic import SecretStr
    from slack_bolt import App as BoltApp
    from slack_bolt import BoltResponse
    from slack_bolt.request import BoltRequest
    from slack_sdk import WebClient

    from adapters.serve import Runtime
    from bot.app import build_app
    from bot.config import load_settings

    class BareSlack:
        adapter: Any = None

        def __init__(self) -> None:
            self.bolt = BoltApp(
                client=WebClient(token="xoxb-bare", base_url=api_url),  # noqa: S106
                signing_secret=SECRET,
                token_verification_enabled=False,
            )

            @self.bolt.command("/drill")
            def drill(ack: Any) -> None:
                ack(BARE_TEXT)

        def dispatch(self, body: str, headers: dict[str, Any], query: str = "") -> BoltResponse:
            return self.bolt.dispatch(BoltRequest(body=body, query=query, headers=headers))

        def oauth_page(self, *args: Any) -> None:
            return None

        def close(self) -> None:
            return

    settings = load_settings(
        database_url=database_url,
        slack_bot_token=SecretStr("xoxb-bare"),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_base_url=api_url,
    )
    core = build_app(settings)
    runtime = Runtime(core, settings, port=port, host="127.0.0.1", slack=BareSlack())  # type: ignore[arg-type]
    runtime.start()
    print(f"bare Bolt app on {runtime.url}", flush=True)
    runtime.wait()


# -- load -------------------------------------------------------------------------------------


@dataclass
class Load:
    concurrency: int
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _drill_body(member: int, n: int, response_base: str) -> str:
    return urlencode(
        {
            "token": "legacy", "team_id": SLACK_TEAM, "team_domain": "chaos",
            "channel_id": "C1", "channel_name": "cohort", "user_id": slack_uid(member),
            "user_name": f"m{member}", "command": "/drill", "text": "", "api_app_id": "A1",
            "response_url": f"{response_base}/respond/b{n}", "trigger_id": f"trig-b{n}",
        }
    )  # fmt: skip


def load(port: int, concurrency: int, seconds: float, members: int, response_base: str) -> Load:
    """`concurrency` clients sending signed /drill back to back for `seconds`."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    def client(k: int) -> None:
        while time.monotonic() < stop:
            n = next(counter)
            body = _drill_body(1 + (n * 7919) % members, n, response_base)
            ts = int(time.time())
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": sign(SECRET, body, ts),
            }
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                conn.close()
            took = time.perf_counter() - started
            with lock:
                if ok:
                    times.append(took)
                else:
                    errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return Load(
        concurrency,
        len(times),
        elapsed,
        percentile(times, 50),
        percentile(times, 99),
        errors[0],
    )


def http_front(seconds: float, members: int) -> list[tuple[str, Load, Load]]:
    """(case, ours, bare) at 8 and 32 at once, with a quick and with a 2 s Web API."""
    db = ChaosDatabase()
    rows: list[tuple[str, Load, Load]] = []
    logs = Path(tempfile.mkdtemp(prefix="cohortbot-bench-chaos-"))
    procs: list[Any] = []
    fake = FakeSlack().start()
    try:
        from bot.db import migrate

        migrate.upgrade(db.engine)
        seed(db.engine, members, 0)
        with db.engine.begin() as conn:  # no daily fan-out under the measurement
            conn.execute(text("UPDATE member_settings SET paused = true, paused_until = NULL"))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COHORTBOT_", "SLACK_", "DISCORD_"))
        }
        env.update(
            {
                "COHORTBOT_DATABASE_URL": db.url,
                "COHORTBOT_HOST": "127.0.0.1",
                "COHORTBOT_LOG_LEVEL": "WARNING",
                "COHORTBOT_RATE_LIMIT_PER_MINUTE": "0",
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_BASE_URL": fake.api_url,
            }
        )
        ours = Replica("bench-serve", env, logs)
        ours.start()
        ours.wait_healthy()
        procs.append(ours)
        bare = Replica("bench-bare", env, logs)
        bare_proc = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos", "--serve-bare", str(bare.port), fake.api_url,
             db.url],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        bare.proc = bare_proc
        bare.wait_healthy()
        procs.append(bare)
        for delay, case in ((0.0, "Web API quick"), (2.0, "Web API answering in 2 s")):
            fake.delay = delay
            for concurrency in (8, 32):
                load(ours.port, concurrency, 2, members, fake.base)  # warm up
                # Interleaved halves: a noisy shared machine favours neither side.
                a1 = load(ours.port, concurrency, seconds / 2, members, fake.base)
                b1 = load(bare.port, concurrency, seconds / 2, members, fake.base)
                b2 = load(bare.port, concurrency, seconds / 2, members, fake.base)
                a2 = load(ours.port, concurrency, seconds / 2, members, fake.base)
                rows.append((f"{case}, {concurrency} at once", _join(a1, a2), _join(b1, b2)))
    finally:
        for r in procs:
            r.stop()
        fake.stop()
        db.drop()
    return rows


def _join(a: Load, b: Load) -> Load:
    return Load(
        a.concurrency,
        a.requests + b.requests,
        a.seconds + b.seconds,
        max(a.p50, b.p50),
        max(a.p99, b.p99),
        a.errors + b.errors,
    )


# -- the report --------------------------------------------------------------------------------


def section(chaos: Report | None, calm: Report | None, front: list[tuple[str, Load, Load]]) -> str:
    lines = [
        SECTION,
        "",
        "`python -m bench chaos` (not part of the full `python -m bench` run, which rewrites this",
        "file: keep this section when it does). "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, CPython {platform.python_version()}, "
        f"{os.cpu_count()} shared CPUs, load average {os.getloadavg()[0]:.1f}.",
        "",
    ]
    if chaos is not None and calm is not None:
        p = chaos.plan
        lines += [
            f"Chaos run: {chaos.members:,} Slack + {chaos.discord_members:,} Discord members, "
            f"3 replicas, {p.seconds:.0f} s of member traffic and faults, {chaos.kills} SIGKILLs, "
            f"{chaos.cuts} database cuts; the fault-free run has the same cohort and traffic.",
            "",
            "| measure | chaos | fault-free | floor |",
            "|---|---|---|---|",
            f"| drain (first due to last healthy scheduled message) | {chaos.drain_seconds:.1f} s "
            f"| {calm.drain_seconds:.1f} s | reported |",
            f"| worst delay of a healthy scheduled message | {chaos.worst_delay:.1f} s "
            f"| {calm.worst_delay:.1f} s | reported |",
            f"| scheduled messages lost / doubled (of {chaos.scheduled:,}) "
            f"| {chaos.scheduled_lost} / {chaos.scheduled_doubled} "
            f"| {calm.scheduled_lost} / {calm.scheduled_doubled} | 0 / 0 |",
            f"| replies lost / doubled (of {chaos.requests:,} requests) "
            f"| {chaos.replies_lost} / {chaos.replies_doubled} "
            f"| {calm.replies_lost} / {calm.replies_doubled} | 0 / 0 |",
            f"| acks over 3 s / failed (cut by SIGKILL, apart) "
            f"| {chaos.acks_over_3s} / {chaos.acks_failed} ({chaos.acks_killed}) "
            f"| {calm.acks_over_3s} / {calm.acks_failed} | 0 / 0 |",
            f"| delayed by another recipient's trouble (stalls) "
            f"| {chaos.delayed_by_other} ({chaos.stalls}) | {calm.delayed_by_other} | 0 |",
            f"| p99 ack | {chaos.p99_ack * 1000:.0f} ms | {calm.p99_ack * 1000:.0f} ms | < 3 s |",
            f"| Discord interactions delivered to several replicas | {chaos.multi_session} "
            f"| {calm.multi_session} | 0 |",
            f"| apart: replies cut by a SIGKILL between ack and answer | {chaos.replies_killed} "
            f"| {calm.replies_killed} | reported |",
            f"| apart: Discord interactions while no replica held the gateway (gaps) "
            f"| {chaos.no_session} ({_gaps(chaos)}) | {calm.no_session} | gaps <= 20 s |",
            "",
        ]
    if front:
        lines += [
            "HTTP front: signed `/drill` to one `cohortbot serve`, beside a bare Bolt app acking "
            "fixed text behind the same front (adapters.serve.Runtime), each in its own process.",
            "",
            "| case | serve req/s | serve p50 (p99) | bare req/s | bare p50 (p99) | ratio "
            "| floor |",
            "|---|---|---|---|---|---|---|",
        ]
        for case, ours, bare in front:
            ratio = ours.throughput / bare.throughput if bare.throughput else float("nan")
            slow = "2 s" in case
            floor = "p99 < 300 ms" if slow else ">= 0.9x"
            ok = ours.p99 < 0.3 if slow else ratio >= 0.9
            errs = f", {ours.errors} errors" if ours.errors else ""
            lines.append(
                f"| {case} | {ours.throughput:.0f}{errs} | {ours.p50 * 1000:.0f} ms "
                f"({ours.p99 * 1000:.0f} ms) | {bare.throughput:.0f} | {bare.p50 * 1000:.0f} ms "
                f"({bare.p99 * 1000:.0f} ms) | {ratio:.2f}x | {floor}: {'yes' if ok else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines)


def _gaps(report: Report) -> str:
    return ", ".join(f"{g:.1f} s" for g in report.gateway_gaps) or "none"


def save(text_: str, path: Path = HERE / "RESULTS.md") -> None:
    """Replace this section in RESULTS.md (or add it), keeping every other section."""
    doc = path.read_text() if path.exists() else ""
    start = doc.find(SECTION)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text_
    else:
        end = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text_ + ("" if end < 0 else doc[end + 1 :])
    path.write_text(doc.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench chaos", description=__doc__)
    parser.add_argument("--skip-chaos", action="store_true", help="the HTTP front only")
    parser.add_argument("--skip-front", action="store_true", help="the chaos runs only")
    parser.add_argument("--front-seconds", type=float, default=10.0)
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--serve-bare", nargs=3, metavar=("PORT", "API_URL", "DB_URL"))
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1], args.serve_bare[2])
        return 0
    chaos = calm = None
    if not args.skip_chaos:
        print("== chaos run", flush=True)
        chaos = run(Plan())
        print(chaos.summary(), flush=True)
        print("== fault-free run", flush=True)
        calm = run(Plan.calm())
        print(calm.summary(), flush=True)
    front = [] if args.skip_front else http_front(args.front_seconds, 2000)
    doc = section(chaos, calm, front)
    print("\n" + doc, flush=True)
    if not args.no_save:
        save(doc)
        print(f"saved {HERE / 'RESULTS.md'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
