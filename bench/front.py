"""Issue 15's HTTP front figure: `python -m bench front` (also run by `python -m bench chaos`).

Signed `/drill` requests at 8 and 32 at once, with Slack's Web API answering at once and in
2 s, into three processes started from the same environment, on one PostgreSQL database:

- **serve**: `cohortbot serve` itself (its own front: `adapters.serve`, uvicorn).
- **bolt**: the bare Bolt app the issue asks for: the same `SlackBot` (the same Bolt listeners,
  middleware and post-ack work, the same scheduler thread) served the way Bolt documents it,
  by Bolt's own ASGI adapter (`slack_bolt.adapter.asgi.SlackRequestHandler`) under uvicorn with
  its defaults (access log off, as serve has it). The ratio serve / bolt is the front's cost.
- **ack-only**: a Bolt app with one listener that acks fixed text, served the same bare way:
  a reference for what the real work after the ack costs, with no floor.

The requests are the same bodies for every process (member n, signed, a new connection each,
as Slack makes them). Each case runs several rounds; a round measures each process for the
same time in turn, serve and bolt taking turns to go first, and each process's work after the
ack is waited out (up to a cap, reported) before the next process is measured, so neither
is measured under the other's backlog. Throughput is acks per second; the ratio is taken
within each round and the median of the rounds is the figure, with its spread. With the Web
API answering in 2 s the work after the ack sleeps on Slack, not on the CPU, and its backlog
cannot be waited out: the processes are alternated as they are."""

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

from bench.common import median, percentile, save_section
from tests.chaos.harness import ROOT, SLACK_TEAM, ChaosDatabase, Replica, seed, slack_uid
from tests.slack_fake import SECRET, FakeSlack, sign

HERE = Path(__file__).resolve().parent
SECTION = "## HTTP front (issue 15)"
ACK_TEXT = "Here is your drill."
FRONTS = ("serve", "bolt", "ack-only")
DRAIN_CAP = 45.0  # seconds to wait for a process's work after the ack to finish


# -- the bare Bolt apps -----------------------------------------------------------------------


def serve_bare(port: int, mode: str) -> None:
    """`mode` "bolt": the same SlackBot as `cohortbot serve`, behind Bolt's ASGI adapter;
    "ack-only": a Bolt app that acks /drill with fixed text, behind the same adapter."""
    import uvicorn
    from slack_bolt import App as BoltApp
    from slack_bolt.adapter.asgi import SlackRequestHandler
    from slack_sdk import WebClient

    from adapters.serve import start_scheduler
    from adapters.slack import build_slack
    from adapters.slack.settings import load_slack_settings
    from bot.app import build_app
    from bot.config import load_settings
    from bot.logs import setup_logging

    settings = load_settings()  # the same environment `cohortbot serve` reads
    slack = load_slack_settings()
    setup_logging(settings.log_level, settings.log_format)
    core = build_app(settings)
    if mode == "bolt":
        bot = build_slack(core, slack)
        stop = threading.Event()
        scheduler = threading.Thread(
            target=start_scheduler, args=(core, {"slack": bot.adapter}, stop), daemon=True
        )
        scheduler.start()
        bolt = bot.bolt
    else:
        bolt = BoltApp(
            client=WebClient(token="xoxb-bench", base_url=slack.api_base_url or ""),  # noqa: S106
            signing_secret=SECRET,
            token_verification_enabled=False,
            # The ack on the request's thread: by default Bolt runs the listener on its pool
            # and polls for the ack, which held this app near 85 acks a second.
            process_before_response=True,
        )

        @bolt.command("/drill")
        def drill(ack: Any) -> None:
            ack(ACK_TEXT)

    handler = SlackRequestHandler(bolt)
    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        # Only so that the bench can tell the process is up, as it does for serve.
        if scope["type"] == "http" and scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await handler(scope, receive, send)

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


# -- load -------------------------------------------------------------------------------------


@dataclass
class Load:
    front: str
    concurrency: int
    seconds: float
    times: list[float] = field(default_factory=list)
    errors: int = 0
    drain: float = 0.0  # seconds after the load until every answer reached Slack
    drained: bool = True
    cpu: float = 0.0  # the serving process's CPU seconds over the load and the drain

    @property
    def throughput(self) -> float:
        return len(self.times) / self.seconds if self.seconds else 0.0


def _drill_body(member: int, tag: str, response_base: str) -> str:
    return urlencode(
        {
            "token": "legacy", "team_id": SLACK_TEAM, "team_domain": "chaos",
            "channel_id": "C1", "channel_name": "cohort", "user_id": slack_uid(member),
            "user_name": f"m{member}", "command": "/drill", "text": "", "api_app_id": "A1",
            "response_url": f"{response_base}/respond/{tag}", "trigger_id": f"trig-{tag}",
        }
    )  # fmt: skip


def load(
    front: str, port: int, concurrency: int, seconds: float, members: int, fake: FakeSlack,
    segment: str,
) -> Load:  # fmt: skip
    """`concurrency` clients sending signed /drill back to back for `seconds`; request n of
    every segment is member n's, whichever process it goes to."""
    out = Load(front, concurrency, 0.0)
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    def client() -> None:
        while time.monotonic() < stop:
            n = next(counter)
            body = _drill_body(1 + (n * 7919) % members, f"{segment}-{n}", fake.base)
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
                answer = resp.read()
                ok = resp.status == 200 and (front != "ack-only" or ACK_TEXT.encode() in answer)
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                conn.close()
            took = time.perf_counter() - started
            with lock:
                if ok:
                    out.times.append(took)
                else:
                    out.errors += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.seconds = time.monotonic() - started
    return out


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(fake: FakeSlack, segment: str, acked: int, cap: float) -> tuple[float, bool]:
    """Wait until every acked request of `segment` has its answer at Slack."""
    prefix = f"/respond/{segment}-"
    started = time.monotonic()
    while time.monotonic() - started < cap:
        done = sum(1 for c in fake.all("respond") if c.path.startswith(prefix))
        if done >= acked:
            return time.monotonic() - started, True
        time.sleep(0.25)
    return cap, False


@dataclass
class Case:
    name: str
    concurrency: int
    slow_api: bool
    rounds: list[dict[str, Load]] = field(default_factory=list)

    def pooled(self, front: str) -> list[float]:
        return [t for r in self.rounds for t in r[front].times]

    def ratios(self, front: str = "serve", base: str = "bolt") -> list[float]:
        return [r[front].throughput / r[base].throughput for r in self.rounds if r[base].throughput]


def http_front(
    seconds: float, rounds: int, members: int = 2000, *, same: bool = False, quick: bool = False
) -> list[Case]:
    """`same`: the baseline's slot runs `cohortbot serve` too (an A/A check of the bench
    itself); `quick`: only the cases with the Web API quick."""
    db = ChaosDatabase()
    logs = Path(tempfile.mkdtemp(prefix="cohortbot-bench-front-"))
    procs: dict[str, Replica] = {}
    fake = FakeSlack().start()
    cases: list[Case] = []
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
        for front in FRONTS:
            replica = Replica(f"bench-{front}", env, logs)
            if front == "serve" or (same and front == "bolt"):
                replica.start()
            else:
                out = replica.log.open("ab")
                replica.proc = subprocess.Popen(
                    [sys.executable, "-m", "bench.front", "--serve-bare", front,
                     str(replica.port)],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
                out.close()
            procs[front] = replica
        for replica in procs.values():
            replica.wait_healthy()
        segments = iter(range(10**6))
        for slow in (False,) if quick else (False, True):
            fake.delay = 2.0 if slow else 0.0
            for concurrency in (8, 32):
                api = "Web API answering in 2 s" if slow else "Web API quick"
                case = Case(f"{api}, {concurrency} at once", concurrency, slow)
                for front in FRONTS:  # warm-up, not counted
                    s = f"w{next(segments)}"
                    warm = load(front, procs[front].port, concurrency, 1.5, members, fake, s)
                    if not slow and front != "ack-only":
                        _drain(fake, s, len(warm.times), DRAIN_CAP)
                for r in range(rounds):
                    # serve and bolt take turns to go first; the ack-only app, which leaves
                    # no work behind, always goes last. (With the order simply reversed every
                    # other round, bolt always went second, and an A/A run with serve in both
                    # slots read 0.92x and 1.12x the CPU against itself.)
                    order = FRONTS if r % 2 == 0 else ("bolt", "serve", "ack-only")
                    measured: dict[str, Load] = {}
                    for front in order:
                        s = f"s{next(segments)}"
                        pid = procs[front].proc.pid  # type: ignore[union-attr]
                        cpu = _cpu(pid)
                        got = load(front, procs[front].port, concurrency, seconds, members, fake, s)
                        if not slow and front != "ack-only":
                            got.drain, got.drained = _drain(fake, s, len(got.times), DRAIN_CAP)
                        got.cpu = _cpu(pid) - cpu
                        measured[front] = got
                    case.rounds.append(measured)
                    print(_round_line(case, r), flush=True)
                cases.append(case)
    finally:
        for replica in procs.values():
            replica.stop()
        fake.stop()
        db.drop()
    return cases


def _round_line(case: Case, r: int) -> str:
    got = case.rounds[r]
    parts = [
        f"{f} {got[f].throughput:.0f}/s p99 {percentile(got[f].times, 99) * 1000:.0f} ms"
        + (f" cpu {got[f].cpu / len(got[f].times) * 1000:.2f} ms/req" if got[f].times else "")
        + (f" drain {got[f].drain:.1f} s" if got[f].drain else "")
        + (f" errors {got[f].errors}" if got[f].errors else "")
        for f in FRONTS
    ]
    ratio = got["serve"].throughput / got["bolt"].throughput if got["bolt"].throughput else 0
    return f"{case.name} round {r + 1}: " + "; ".join(parts) + f"; serve/bolt {ratio:.2f}x"


# -- the report --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def section(cases: list[Case], seconds: float, load_before: tuple[float, ...]) -> str:
    load_after = os.getloadavg()
    rounds = len(cases[0].rounds) if cases else 0
    lines = [
        SECTION,
        "",
        "`python -m bench front` (bench/front.py; also run by `python -m bench chaos`). "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, CPython {platform.python_version()}, "
        f"{os.cpu_count()} shared CPUs, load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after (1 min), {load_after[1]:.1f} (5 min); {rounds} rounds of "
        f"{seconds:g} s per process per case.",
        "",
        "Signed `/drill` into `cohortbot serve` (serve), into the same SlackBot served by "
        "Bolt's own ASGI adapter under uvicorn (bolt: the floor's baseline), and into a Bolt "
        "app that only acks (ack-only: reference). Ratio: serve / bolt acks per second within "
        "each round, median of the rounds (lowest-highest); p50 (p99) of every round's acks.",
        "",
        "| case | serve req/s | serve p50 (p99) | bolt req/s | bolt p50 (p99) | ratio (spread) "
        "| ack-only req/s (p99) | floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        ratios = case.ratios()
        ratio = median(ratios)
        serve, bolt = case.pooled("serve"), case.pooled("bolt")
        thr = {f: median([r[f].throughput for r in case.rounds]) for f in FRONTS}
        errors = {f: sum(r[f].errors for r in case.rounds) for f in FRONTS}
        ok_ratio = ratio >= 0.9
        floors = [f">= 0.9x: {'yes' if ok_ratio else 'no'}"]
        if case.slow_api:
            ok_p99 = percentile(serve, 99) < 0.3
            floors.append(f"p99 < 300 ms: {'yes' if ok_p99 else 'no'}")

        err = {f: f", {n} errors" if n else "" for f, n in errors.items()}
        lines.append(
            f"| {case.name} | {thr['serve']:.0f}{err['serve']} | {_ms(percentile(serve, 50))} "
            f"({_ms(percentile(serve, 99))}) | {thr['bolt']:.0f}{err['bolt']} "
            f"| {_ms(percentile(bolt, 50))} ({_ms(percentile(bolt, 99))}) "
            f"| {ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) "
            f"| {thr['ack-only']:.0f}{err['ack-only']} "
            f"({_ms(percentile(case.pooled('ack-only'), 99))}) | {'; '.join(floors)} |"
        )
    drains = [
        (f, r[f])
        for case in cases
        if not case.slow_api
        for r in case.rounds
        for f in ("serve", "bolt")
    ]
    if drains:
        capped = sum(1 for _, got in drains if not got.drained)
        work = {
            f: median([len(g.times) / (g.seconds + g.drain) for ff, g in drains if ff == f])
            for f in ("serve", "bolt")
        }
        per = {
            f: median([g.cpu / len(g.times) for ff, g in drains if ff == f and g.times])
            for f in ("serve", "bolt")
        }
        lines += [
            "",
            f"CPU per request, the ack and all the work after it (the serving process's user + "
            f"system time over the load and the wait for its answers, so other processes' load "
            f"hardly moves it), median of the rounds with the Web API quick: serve "
            f"{per['serve'] * 1000:.1f} ms, bolt {per['bolt'] * 1000:.1f} ms "
            f"({per['serve'] / per['bolt']:.2f}x).",
            "",
            f"With the Web API quick, each process's answers were waited for before the next "
            f"process was measured ({capped} of {len(drains)} waits hit the {DRAIN_CAP:.0f} s "
            f"cap); "
            f"answers per second including that wait, median: serve {work['serve']:.0f}, "
            f"bolt {work['bolt']:.0f}.",
        ]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench front", description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="per process per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--same", action="store_true", help="A/A: serve in both slots")
    parser.add_argument("--quick", action="store_true", help="the Web API quick only")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--serve-bare", nargs=2, metavar=("MODE", "PORT"))
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(int(args.serve_bare[1]), args.serve_bare[0])
        return 0
    before = os.getloadavg()
    cases = http_front(args.seconds, args.rounds, same=args.same, quick=args.quick)
    doc = section(cases, args.seconds, before)
    print("\n" + doc, flush=True)
    if not args.no_save:
        save_section(SECTION, doc)
        print(f"saved {HERE / 'RESULTS.md'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
