"""Issue 15's chaos run: three `cohortbot serve` replicas, the platforms' fakes behind their
fault fronts, PostgreSQL behind a TCP proxy, a cohort getting its daily drill while members
send commands and press buttons; replicas are SIGKILLed and restarted and the database cut.

Everything is counted at the fakes (what a member would see), against the outbox (what the
bot meant to send) and the requests the members made:

- scheduled messages lost: outbox rows for a recipient who can receive, with no copy of the
  message at the platform by the end of the drain;
- scheduled messages doubled: the same content accepted twice for one recipient;
- replies lost: a command or click the bot acknowledged with no answer the member could see
  (nothing in the ack, nothing through response_url / the interaction);
- replies doubled: the same answer accepted twice for one request;
- acks over 3 s: a request answered after 3 s or not at all (Slack and Discord show an error);
  requests cut by a SIGKILL of the replica holding them are counted apart;
- delayed by another recipient's trouble: a healthy recipient's scheduled message sent by a
  replica in the batch right after that replica sat >2 s on a troubled recipient (a hung post
  or a Retry-After given for that recipient alone), when the message could be sent before the
  stall (due, and past its retry's backoff: a row waiting out its backoff is not held back);
- interactions delivered to several replicas: one replica holds the Discord gateway (a lease),
  so each interaction reaches one.

Counted apart, and reported: replies whose replica was SIGKILLed between the ack and the
answer (a reply is not durable before it is sent), and Discord interactions pushed while no
replica held the gateway (its holder SIGKILLed, its lease not yet run out: Discord shows the
member "did not respond"), with the length of each such gap.

Members throttled for good (a 429 on their DMs at every try) are throttled during the chaos
phase only, so their messages can arrive in the drain. The members live where it is about
noon (see `local_noon`): serve runs on the real clock, and a run across midnight would see a
second drill day.

Scale with COHORTBOT_CHAOS_MEMBERS (Slack cohort, default 2000), COHORTBOT_CHAOS_DISCORD
(Discord members, default a quarter of that), COHORTBOT_CHAOS_SECONDS (traffic and faults,
default 60) and COHORTBOT_CHAOS_DRAIN (longest wait for the outbox to empty, default 300: a
row told 5xx four times backs off 10 + 20 + 40 + 80 s; the wait ends once nothing is pending)."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url

from bot.db import migrate
from bot.db.models import Cohort, Member, MemberSettings, Workspace
from bot.db.schedule_models import OutboxMessage
from bot.db.session import make_engine
from tests.chaos.fakes import Accepted, Attempt, DiscordFront, Faults, SlackFront

try:  # the shared proxy (issue 15's DB-timeout work); ours until it lands
    from tests.tcp_proxy import TcpProxy
except ImportError:  # pragma: no cover
    from tests.chaos.proxy import TcpProxy  # type: ignore[assignment]
from tests.slack_fake import SECRET, sign

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get(
    "COHORTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SLACK_TEAM = "T1"
GUILD = 555
GUILD_CHANNEL = 777
DISCORD_BASE_UID = 400_000_000_000_000_000
ACK_LIMIT = 3.0
STALL = 2.0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


@dataclass
class Plan:
    members: int = field(default_factory=lambda: _env_int("COHORTBOT_CHAOS_MEMBERS", 2000))
    discord_members: int = -1  # -1: a quarter of `members`
    replicas: int = 3
    seconds: float = field(default_factory=lambda: _env_int("COHORTBOT_CHAOS_SECONDS", 60))
    drain_seconds: float = field(default_factory=lambda: _env_int("COHORTBOT_CHAOS_DRAIN", 300))
    requests_per_second: float = 6.0
    discord_share: float = 0.25  # of member requests
    kill_every: float = 15.0  # seconds between SIGKILLs (0: none)
    down_for: float = 3.0  # a killed replica restarts after this
    cuts: tuple[tuple[float, float], ...] = ((20.0, 8.0), (45.0, 4.0))  # (at, for) seconds
    faults: Faults = field(default_factory=Faults)
    troubled: int = 3  # members in each kind of trouble, per platform
    slack_send_rate: float = 15.0
    discord_send_rate: float = 40.0
    seed: int = 15

    def __post_init__(self) -> None:
        if self.discord_members < 0:
            self.discord_members = _env_int("COHORTBOT_CHAOS_DISCORD", self.members // 4)

    @classmethod
    def calm(cls, **kw: Any) -> Plan:
        """The same cohort and traffic, with nothing going wrong: the baseline."""
        return cls(faults=Faults.none(), kill_every=0, cuts=(), **kw)


@dataclass
class Request:
    n: int
    platform: str
    kind: str  # command | click
    member: str
    sent: float
    seconds: float | None = None  # until the ack (None: no answer)
    status: int | None = None
    ack_text: str = ""
    outcome: str = ""  # ok | slow | failed | killed | refused
    replica: str = ""  # who took it (Slack: the replica posted to; Discord: sessions' tokens)
    user: str = ""  # Discord: the member's user id (`member` is the interaction id)


@dataclass
class Report:
    plan: Plan
    members: int
    discord_members: int
    scheduled: int = 0
    scheduled_lost: int = 0
    scheduled_doubled: int = 0
    scheduled_pending: int = 0  # still unsent in the outbox at the end (part of lost)
    undeliverable_expected: int = 0  # rows for closed-DM members (not counted as lost)
    requests: int = 0
    replies_lost: int = 0
    replies_doubled: int = 0
    acks_over_3s: int = 0
    acks_failed: int = 0  # answered, but not 200
    acks_killed: int = 0  # in flight when their replica was SIGKILLed (apart)
    replies_killed: int = 0  # acknowledged, then the replica was SIGKILLed before answering
    no_session: int = 0  # Discord interactions while no replica held the gateway (apart)
    multi_session: int = 0  # Discord interactions delivered to more than one replica
    gateway_gaps: list[float] = field(default_factory=list)  # seconds without a session
    delayed_by_other: int = 0
    stalls: int = 0
    stall_seconds: float = 0.0
    drain_seconds: float = 0.0  # first due to last healthy scheduled message accepted
    worst_delay: float = 0.0  # longest due -> accepted of a healthy scheduled message
    p99_ack: float = 0.0
    kills: int = 0
    cuts: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def failures(self) -> dict[str, int]:
        checks = {
            "scheduled messages lost": self.scheduled_lost,
            "scheduled messages doubled": self.scheduled_doubled,
            "replies lost": self.replies_lost,
            "replies doubled": self.replies_doubled,
            "acks over 3 s": self.acks_over_3s,
            "acks failed": self.acks_failed,
            "interactions delivered to several replicas": self.multi_session,
            "delayed by another recipient's trouble": self.delayed_by_other,
        }
        return {k: v for k, v in checks.items() if v}

    def summary(self) -> str:
        lines = [
            f"members {self.members} Slack + {self.discord_members} Discord; "
            f"{self.scheduled} scheduled messages, {self.requests} member requests; "
            f"{self.kills} SIGKILLs, {self.cuts} database cuts",
            f"scheduled: lost {self.scheduled_lost} (still pending {self.scheduled_pending}), "
            f"doubled {self.scheduled_doubled}; closed-DM rows {self.undeliverable_expected}",
            f"replies: lost {self.replies_lost}, doubled {self.replies_doubled}; "
            f"acks over 3 s {self.acks_over_3s}, failed {self.acks_failed}, "
            f"cut by SIGKILL {self.acks_killed} (apart); p99 ack {self.p99_ack * 1000:.0f} ms",
            f"apart: {self.replies_killed} replies cut by a SIGKILL between ack and answer; "
            f"{self.no_session} Discord interactions while no replica held the gateway "
            f"(gaps {', '.join(f'{g:.1f}' for g in self.gateway_gaps) or 'none'} s); "
            f"{self.multi_session} delivered to several replicas",
            f"delayed by another recipient's trouble: {self.delayed_by_other} "
            f"({self.stalls} stalls, {self.stall_seconds:.0f} s)",
            f"drain {self.drain_seconds:.1f} s, worst delay {self.worst_delay:.1f} s",
            f"platform faults injected: {dict(sorted(self.faults.items()))}",
            *self.notes,
        ]
        for what, ex in self.examples.items():
            if ex:
                lines.append(f"e.g. {what}: {'; '.join(ex[:3])}")
        return "\n".join(lines)


# -- the database ---------------------------------------------------------------------------


class ChaosDatabase:
    """CREATE DATABASE chaos_<random> on the test server; dropped at the end."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"chaos_{uuid.uuid4().hex[:10]}"
        base = make_url(PG_URL)
        self._admin = base.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = base.set(database=self.name).render_as_string(False)
        self.host = base.host or "127.0.0.1"
        self.port = base.port or 5432
        self.engine: Engine = make_engine(self.url)

    def url_via(self, port: int) -> str:
        return make_url(self.url).set(host="127.0.0.1", port=port).render_as_string(False)

    def drop(self) -> None:
        import psycopg

        self.engine.dispose()
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def slack_uid(i: int) -> str:
    return f"U{i:08d}"


def discord_uid(i: int) -> int:
    return DISCORD_BASE_UID + i


def local_noon(now: datetime) -> tuple[str, str]:
    """A zone where it is about noon now, and a drill time two minutes ago there.

    `serve` runs on the real clock (it has no clock override). In UTC, a run that crossed
    midnight saw a second drill day (and the first day's drills expire at midnight); around
    local noon no run of a few minutes leaves the day, and the next drill is a day away."""
    offset = 12 - now.hour  # hours east of UTC: -11 .. +12, all real zones
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # POSIX signs: Etc/GMT-5 is UTC+5
    local = now + timedelta(hours=offset) - timedelta(minutes=2)
    return zone, f"{local:%H:%M}"


def seed(engine: Engine, slack_members: int, discord_members: int) -> None:
    """Both cohorts, set-based, through the app's own tables (model defaults apply): every
    member in a zone where it is about noon, drill time two minutes ago, every day (see
    `local_noon`), so the drill is due at start."""
    now = datetime.now(UTC)
    zone, drill_time = local_noon(now)
    with engine.begin() as conn:
        conn.execute(
            insert(Workspace),
            [
                {"id": 1, "platform": "slack", "external_id": SLACK_TEAM, "name": "Chaos",
                 "created_at": now},
                {"id": 2, "platform": "discord", "external_id": str(GUILD), "name": "Chaos",
                 "created_at": now},
            ],
        )  # fmt: skip
        conn.execute(
            insert(Cohort),
            [
                {"id": w, "workspace_id": w, "name": f"chaos-{w}", "channel_id": ch,
                 "channel_name": "cohort", "timezone": zone, "created_at": now}
                for w, ch in ((1, "C1"), (2, str(GUILD_CHANNEL)))
            ],
        )  # fmt: skip
        people = [(1, slack_uid(i)) for i in range(1, slack_members + 1)]
        people += [(2, str(discord_uid(i))) for i in range(1, discord_members + 1)]
        conn.execute(
            insert(Member),
            [
                {"id": n, "workspace_id": w, "cohort_id": w, "platform_user_id": uid,
                 "display_name": f"Member {n}", "created_at": now, "last_active_at": now}
                for n, (w, uid) in enumerate(people, start=1)
            ],
        )  # fmt: skip
        conn.execute(
            insert(MemberSettings),
            [
                {"member_id": n, "timezone": zone, "timezone_set": True, "drill_time": drill_time,
                 "drill_days": "mon,tue,wed,thu,fri,sat,sun", "updated_at": now}
                for n in range(1, len(people) + 1)
            ],
        )  # fmt: skip
        for table in ("workspaces", "cohorts", "members"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


# -- replicas -----------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.env = env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = False
        self.generation = 0

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.replica", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.generation += 1

    def kill(self) -> None:
        self.up = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.up = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited: {self.tail()}")
            if self.healthy():
                self.up = True
                return
            time.sleep(0.2)
        raise RuntimeError(f"replica {self.name} not healthy in {timeout}s: {self.tail()}")

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


# -- the run -------------------------------------------------------------------------------


class Chaos:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.logs = Path(tempfile.mkdtemp(prefix="cohortbot-chaos-"))
        self.requests: list[Request] = []
        self.kill_times: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.kills = 0
        self.cut_windows: list[tuple[float, float]] = []
        self.cuts = 0
        self.clicked: set[str] = set()
        self._lock = threading.Lock()
        self._n = itertools.count(1)
        self._rr = itertools.count()
        self.stop_traffic = threading.Event()
        self.started = 0.0
        self.slack: SlackFront | None = None
        self.discord: DiscordFront | None = None
        self._pick_troubled()

    def _pick_troubled(self) -> None:
        p, f = self.plan, self.plan.faults
        f.throttle_until = float("inf")
        if not f.enabled or not p.troubled:
            return
        slack = [slack_uid(i) for i in self.rng.sample(range(1, p.members + 1), 3 * p.troubled)]
        disc = (
            [str(discord_uid(i)) for i in self.rng.sample(range(1, p.discord_members + 1),
             3 * p.troubled)]
            if p.discord_members >= 3 * p.troubled
            else []
        )  # fmt: skip
        for people in (slack, disc):
            if not people:
                continue
            k = p.troubled
            f.closed |= set(people[:k])
            f.throttled |= set(people[k : 2 * k])
            f.hung |= set(people[2 * k :])

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> Report:
        p = self.plan
        db = ChaosDatabase()
        slack = discord = None
        proxy = None
        replicas: list[Replica] = []
        try:
            migrate.upgrade(db.engine)
            seed(db.engine, p.members, p.discord_members)
            slack = self.slack = SlackFront(p.faults).start()
            discord = self.discord = DiscordFront(p.faults).start()
            proxy = TcpProxy((db.host, db.port)).start()
            base_env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("COHORTBOT_", "SLACK_", "DISCORD_"))
            }
            for i in range(1, p.replicas + 1):
                env = {
                    **base_env,
                    "COHORTBOT_DATABASE_URL": db.url_via(proxy.port),
                    "COHORTBOT_HOST": "127.0.0.1",
                    "COHORTBOT_LOG_LEVEL": "WARNING",
                    "COHORTBOT_SLACK_SEND_RATE": str(p.slack_send_rate),
                    "COHORTBOT_DISCORD_SEND_RATE": str(p.discord_send_rate),
                    "SLACK_BOT_TOKEN": f"xoxb-r{i}",
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_BASE_URL": slack.api_url,
                    "DISCORD_TOKEN": f"r{i}",
                    "DISCORD_API_BASE_URL": discord.api_base,
                    "DISCORD_GATEWAY_URL": discord.gateway.url,
                    "PYTHONUNBUFFERED": "1",
                }
                replicas.append(Replica(f"r{i}", env, self.logs))
            self.started = time.time()
            # Members throttled for good during the chaos only: after it, their messages can
            # arrive (late, which is their own trouble), and a message that never can is
            # not counted as lost.
            p.faults.throttle_until = self.started + p.seconds
            for r in replicas:
                r.start()
            for r in replicas:
                r.wait_healthy()
            self._wait_gateway(discord)
            threads = [
                threading.Thread(target=self._traffic, args=(slack, discord, replicas), daemon=True)
                for _ in range(4)
            ]
            chaos = threading.Thread(
                target=self._chaos, args=(replicas, proxy, discord), daemon=True
            )
            for t in [*threads, chaos]:
                t.start()
            chaos.join()
            self.stop_traffic.set()
            for t in threads:
                t.join(30)
            drained = self._drain(db, slack, discord)
            report = self._count(db, slack, discord, proxy)
            self._dump(db, slack, discord)
            if not drained:
                report.notes.append(
                    f"the outbox had not drained after {p.drain_seconds:.0f} s: "
                    "what is still pending counts as lost"
                )
            report.notes.append(f"replica logs: {self.logs}")
            return report
        finally:
            for r in replicas:
                r.stop()
            for thing in (slack, discord, proxy):
                if thing is not None:
                    with contextlib.suppress(Exception):
                        thing.stop()
            db.drop()

    def _wait_gateway(self, discord: DiscordFront, timeout: float = 30.0) -> None:
        """One replica holds the gateway (a lease); the others send over REST only."""
        deadline = time.monotonic() + timeout
        while discord.gateway.live() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)

    def _chaos(self, replicas: list[Replica], proxy: TcpProxy, discord: DiscordFront) -> None:
        """The timeline: SIGKILLs every `kill_every` seconds (a replica back `down_for`
        later), database cuts at fixed points, until `seconds` have passed."""
        p = self.plan
        t0 = time.monotonic()
        events: list[tuple[float, str, Any]] = []
        if p.kill_every:
            at = p.kill_every / 2
            k = 0
            while at < p.seconds:
                events.append((at, "kill", replicas[k % len(replicas)]))
                k += 1
                at += p.kill_every
        for at, length in p.cuts:
            if at < p.seconds:
                events += [(at, "cut", None), (at + length, "restore", None)]
        events.sort(key=lambda e: e[0])
        cut_at = 0.0
        for at, what, arg in events:
            self.stop_traffic.wait(max(0.0, t0 + at - time.monotonic()))
            if what == "kill":
                r: Replica = arg
                killed_at = time.time()
                r.kill()
                self.kills += 1
                threading.Thread(target=self._restart, args=(r, killed_at), daemon=True).start()
            elif what == "cut":
                proxy.cut()
                self.cuts += 1
                cut_at = time.time()
            else:
                proxy.restore()
                self.cut_windows.append((cut_at, time.time()))
        self.stop_traffic.wait(max(0.0, t0 + p.seconds - time.monotonic()))
        proxy.restore()
        for r in replicas:  # everything back before the drain is judged
            if not r.up:
                with contextlib.suppress(RuntimeError):
                    r.wait_healthy(60)
        self._wait_gateway(discord)

    def _restart(self, r: Replica, killed_at: float) -> None:
        time.sleep(self.plan.down_for)
        r.start()
        with contextlib.suppress(RuntimeError):
            r.wait_healthy(60)
        self.kill_times[r.name].append((killed_at, time.time()))

    # -- members ----------------------------------------------------------------------------

    def _traffic(self, slack: SlackFront, discord: DiscordFront, replicas: list[Replica]) -> None:
        p = self.plan
        rng = random.Random(self.rng.random())
        per_thread = p.requests_per_second / 4
        troubled = p.faults.closed | p.faults.throttled | p.faults.hung
        while not self.stop_traffic.is_set():
            if rng.random() < p.discord_share and p.discord_members:
                i = rng.randint(1, p.discord_members)
                self._discord_request(discord, str(discord_uid(i)), rng)
            else:
                uid = slack_uid(rng.randint(1, p.members))
                if uid in troubled:
                    continue
                self._slack_request(slack, replicas, uid, rng)
            self.stop_traffic.wait(rng.expovariate(per_thread))

    def _slack_request(
        self, slack: SlackFront, replicas: list[Replica], uid: str, rng: random.Random
    ) -> None:
        n = next(self._n)
        name = f"q{n}"
        # One click per member: a click's answer comes as a DM, and with one click each, a
        # member's DMs other than the scheduled ones are that click's answer.
        hint = None
        if rng.random() < 0.4 and uid not in self.clicked:
            hint = self._hint_button(slack, uid)
            if hint is not None:
                self.clicked.add(uid)
        if hint is not None:
            payload = {
                "type": "block_actions",
                "team": {"id": SLACK_TEAM, "domain": "chaos"},
                "user": {"id": uid, "username": uid.lower(), "team_id": SLACK_TEAM},
                "api_app_id": "A1",
                "trigger_id": f"trig-{n}",
                "container": {"type": "message", "message_ts": "1.1", "channel_id": "D" + uid},
                "channel": {"id": "D" + uid, "name": "directmessage"},
                "response_url": slack.response_url(name),
                "actions": [
                    {"type": "button", "action_id": hint, "block_id": "b1", "value": hint,
                     "action_ts": "1.1"}
                ],
            }  # fmt: skip
            body, kind = urlencode({"payload": json.dumps(payload)}), "click"
        else:
            line = f"/pipeline add Chaos{n} Engineer" if rng.random() < 0.3 else "/drill next"
            head, _, rest = line.partition(" ")
            body = urlencode(
                {
                    "token": "legacy", "team_id": SLACK_TEAM, "team_domain": "chaos",
                    "channel_id": "C1", "channel_name": "cohort",
                    "user_id": uid, "user_name": uid.lower(), "command": head, "text": rest,
                    "api_app_id": "A1", "response_url": slack.response_url(name),
                    "trigger_id": f"trig-{n}",
                }
            )  # fmt: skip
            kind = "command"
        req = Request(n, "slack", kind, uid, time.time())
        with self._lock:
            self.requests.append(req)
        self._post(req, replicas, body)

    def _hint_button(self, slack: SlackFront, uid: str) -> str | None:
        """The Hint button of the member's daily drill, once it has arrived."""
        with slack.lock:
            mine = [a for a in slack.accepted if a.route == "dm" and a.target == uid]
        for a in mine:
            for block in json.loads(a.content).get("blocks") or []:
                for el in block.get("elements") or []:
                    if str(el.get("value", "")).startswith("drill.hint"):
                        return str(el["value"])
        return None

    def _post(self, req: Request, replicas: list[Replica], body: str) -> None:
        """Like Slack through a load balancer: to the next replica that is up; a refused
        connection (nothing received) goes to another one."""
        ts = int(time.time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(SECRET, body, ts),
        }
        for _ in range(len(replicas) * 2):
            up = [r for r in replicas if r.up]
            if not up:
                self.stop_traffic.wait(0.2)
                continue
            r = up[next(self._rr) % len(up)]
            generation = r.generation
            req.replica = r.name
            started = time.time()
            conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
            try:
                conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                resp = conn.getresponse()
                req.ack_text = resp.read().decode("utf-8", "replace")
                req.status = resp.status
                req.seconds = time.time() - started
                req.outcome = "ok" if resp.status == 200 else "failed"
                return
            except ConnectionRefusedError:
                continue
            except (OSError, http.client.HTTPException):
                req.seconds = None
                req.outcome = "killed" if r.generation != generation or not r.up else "failed"
                return
            finally:
                conn.close()
        req.outcome = "refused"

    def _discord_request(self, discord: DiscordFront, uid: str, rng: random.Random) -> None:
        from tests.discord_fake import Person, slash

        n = next(self._n)
        person = Person(int(uid), f"m{uid[-5:]}")
        payload = slash(person, "drill", "next", guild_id=GUILD, channel_id=GUILD_CHANNEL)
        req = Request(n, "discord", "command", str(payload["id"]), time.time(), user=uid)
        with self._lock:
            self.requests.append(req)
        got = discord.gateway.dispatch(payload)
        req.outcome = "ok" if got else "refused"
        req.replica = ",".join(discord.gateway.delivered_to.get(str(payload["id"]), []))

    # -- the end ------------------------------------------------------------------------------

    def _drain(self, db: ChaosDatabase, slack: SlackFront, discord: DiscordFront) -> bool:
        """Until nothing is pending in the outbox and the fronts have been quiet for 5 s."""
        deadline = time.monotonic() + self.plan.drain_seconds
        quiet_since, last = time.monotonic(), -1
        while time.monotonic() < deadline:
            with db.engine.connect() as conn:
                pending = conn.execute(
                    select(text("count(*)"))
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "pending")
                ).scalar_one()
            seen = len(slack.accepted) + len(discord.accepted)
            if seen != last:
                quiet_since, last = time.monotonic(), seen
            if pending == 0 and time.monotonic() - quiet_since > 5:
                return True
            time.sleep(1)
        return False

    def _dump(self, db: ChaosDatabase, slack: SlackFront, discord: DiscordFront) -> None:
        """Everything counted, as JSON beside the replica logs: a failing count can be traced
        to its messages after the database is gone."""
        from dataclasses import asdict

        t = OutboxMessage
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.id, t.dedupe_key, t.recipient, t.kind, t.status, t.attempts, t.last_error,
                    t.due_at, t.next_attempt_at, t.sent_at, t.claimed_by, t.payload,
                )
            ).all()  # fmt: skip
        s_acc, s_att = slack.snapshot()
        d_acc, d_att = discord.snapshot()
        out = {
            "started": self.started,
            "kills": dict(self.kill_times),
            "cuts": self.cut_windows,
            "requests": [asdict(r) for r in self.requests],
            "dispatched": discord.gateway.dispatched,
            "accepted": [asdict(a) for a in s_acc + d_acc],
            "attempts": [asdict(a) for a in s_att + d_att],
            "outbox": [
                {
                    k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in r._mapping.items()
                }
                for r in rows
            ],
        }
        (self.logs / "records.json").write_text(json.dumps(out, default=str))

    def _count(
        self, db: ChaosDatabase, slack: SlackFront, discord: DiscordFront, proxy: TcpProxy
    ) -> Report:
        p = self.plan
        rep = Report(p, p.members, p.discord_members, kills=self.kills, cuts=self.cuts)
        s_acc, s_att = slack.snapshot()
        d_acc, d_att = discord.snapshot()
        accepted = s_acc + d_acc
        rep.faults = dict(slack.outcomes + discord.outcomes)
        rep.faults.pop("ok", None)
        troubled = p.faults.closed | p.faults.throttled | p.faults.hung
        closed = p.faults.closed
        lost_ex: list[str] = []
        doubled_ex: list[str] = []

        # Scheduled messages, against the outbox.
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(
                    OutboxMessage.kind,
                    OutboxMessage.status,
                    OutboxMessage.payload,
                    OutboxMessage.due_at,
                    OutboxMessage.last_error,
                    OutboxMessage.recipient,
                    OutboxMessage.next_attempt_at,
                )
            ).all()
        # Each row is matched to the messages whose text holds the row's own text: the
        # member's other DMs (answers to their commands) are not the scheduled message.
        # (text, status, due, ready): `ready` is when the row's last try could be claimed (a
        # retry's backoff ends later than its due time; nothing held it back before then).
        expected: dict[tuple[str, str, str], list[tuple[str, str, float, float]]] = defaultdict(
            list
        )
        # Replies to clicks that went through the outbox (their first post failed): the
        # member's DM is both that row's delivery and the click's answer.
        outbox_replies: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for kind, status, payload_, due_at, _err, recipient, next_try in rows:
            payload: dict[str, Any] = dict(payload_)
            to: dict[str, Any] = payload.get("target", {})
            # The row's lane names its platform ("slack:T1:u:U..."): the payload's layout
            # is the product's to change (it had a `meta` dict, now typed target fields).
            platform = str(recipient).split(":", 1)[0]
            if to.get("type") == "dm":
                key = (platform, "dm", str(to["user"]["user_id"]))
            elif to.get("type") == "ephemeral":  # a reply that went through the outbox
                conv = str(to.get("conversation", {}).get("id", ""))
                key = (platform, "ephemeral", f"{conv}/{to['user']['user_id']}")
            else:
                key = (platform, "channel", str(to.get("conversation", {}).get("id", "")))
            if key[1] == "dm" and key[2] in closed:
                rep.undeliverable_expected += 1
                continue
            reply: dict[str, Any] = payload.get("reply", {})
            snippet = _norm(str(reply.get("text") or reply.get("title") or ""))[:80]
            due_dt: datetime = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
            ready_dt: datetime = next_try if next_try.tzinfo else next_try.replace(tzinfo=UTC)
            ready = max(due_dt.timestamp(), ready_dt.timestamp())
            expected[key].append((snippet, str(status), due_dt.timestamp(), ready))
            if kind == "reply":
                outbox_replies[key].append(snippet)
        rep.scheduled = sum(len(v) for v in expected.values())
        delivered: dict[tuple[str, str, str], list[Accepted]] = defaultdict(list)
        for a in accepted:
            if a.route in ("dm", "channel", "ephemeral"):
                delivered[(a.platform, a.route, a.target)].append(a)
        due_of: dict[tuple[str, str, str], float] = {}
        ready_of: dict[tuple[str, str, str], float] = {}
        first_at: dict[tuple[str, str, str], float] = {}
        unscheduled: dict[str, Counter[str]] = defaultdict(Counter)
        # Discord DMs that are no scheduled message, in order: an interaction's answer goes
        # by DM when Discord would not take it through the interaction (a 429 or 5xx on the
        # follow-up, the token gone).
        discord_dms: dict[str, list[Accepted]] = defaultdict(list)
        for key, got_ in delivered.items():
            replies_here = outbox_replies.get(key, [])
            snippets = [w[0] for w in expected.get(key, []) if w[0] not in replies_here]
            for a in got_:
                if key[1] == "dm" and not any(sn in _words(a.content) for sn in snippets):
                    unscheduled[key[2]][a.content] += 1
                    if key[0] == "discord":
                        discord_dms[key[2]].append(a)
        for key, wanted in expected.items():
            worded = [(_words(a.content), a) for a in delivered.get(key, [])]
            for snippet, status, due, ready in wanted:
                copies = [a for text_, a in worded if snippet in text_]
                if not copies:
                    rep.scheduled_lost += 1
                    rep.scheduled_pending += status == "pending"
                    lost_ex.append(f"{key[0]} {key[1]} {key[2]} ({status})")
                    continue
                if len(copies) > 1:
                    rep.scheduled_doubled += len(copies) - 1
                    doubled_ex.append(f"{key[0]} {key[1]} {key[2]} x{len(copies)}")
                if key[2] not in troubled:
                    due_of[key] = min(due_of.get(key, float("inf")), due)
                    ready_of[key] = min(ready_of.get(key, float("inf")), ready)
                    earliest = min(a.at for a in copies)
                    first_at[key] = min(first_at.get(key, float("inf")), earliest)
        healthy = list(first_at)
        if healthy:
            rep.drain_seconds = max(first_at.values()) - max(min(due_of.values()), self.started)
            rep.worst_delay = max(first_at[k] - max(due_of[k], self.started) for k in healthy)

        # Replies to member requests.
        replies: dict[str, Counter[str]] = defaultdict(Counter)
        for a in accepted:
            if a.route in ("respond", "callback", "followup"):
                replies[a.target][a.content] += 1
        acks: list[float] = []
        reply_lost_ex: list[str] = []
        killed_ex: list[str] = []
        ephemerals: dict[str, list[Accepted]] = defaultdict(list)
        for a in sorted(s_acc, key=lambda a: a.at):
            if a.route == "ephemeral":
                ephemerals[a.target.rsplit("/", 1)[-1]].append(a)
        killed_at = {name: [k for k, _ in spans] for name, spans in self.kill_times.items()}

        def killed_within(names: str, start: float, seconds: float) -> bool:
            return any(
                start <= k <= start + seconds
                for name in names.split(",")
                for k in killed_at.get(name, [])
            )

        rep.gateway_gaps = [b - a for a, b in discord.gateway.gaps]
        for req in self.requests:
            rep.requests += 1
            if req.platform == "slack":
                target = f"q{req.n}"
                if req.outcome == "killed":
                    rep.acks_killed += 1
                    continue
                if req.outcome in ("failed", "refused") or req.seconds is None:
                    rep.acks_failed += 1
                    continue
                acks.append(req.seconds)
                if req.seconds > ACK_LIMIT:
                    rep.acks_over_3s += 1
                answered_in_ack = bool(req.ack_text.strip())
            else:
                target = req.member  # the interaction id
                sent = discord.gateway.dispatched.get(target)
                first = [a.at for a in d_acc if a.route == "callback" and a.target == target]
                if sent is None:
                    rep.acks_failed += 1
                    continue
                if not req.replica:
                    # Discord had no session to give it to: the gateway's holder had been
                    # SIGKILLed and its lease had not run out yet. Discord shows the member
                    # its own "did not respond"; apart, with the gaps' lengths.
                    rep.no_session += 1
                    continue
                if "," in req.replica:
                    rep.multi_session += 1
                if not first and killed_within(req.replica, sent - 0.5, ACK_LIMIT):
                    rep.acks_killed += 1  # its replica died with it in hand
                    continue
                if not first:
                    rep.acks_failed += 1
                    reply_lost_ex.append(f"discord interaction {target}: never acknowledged")
                    continue
                ack = min(first) - sent
                acks.append(ack)
                if ack > ACK_LIMIT:
                    rep.acks_over_3s += 1
                answered_in_ack = False
            got = replies.get(target, Counter())
            if req.kind == "click":
                got = got + unscheduled.get(req.member, Counter())
            if req.platform == "discord" and not [c for c in got if _visible(c)]:
                pool_ = sorted(discord_dms.get(req.user, []), key=lambda a: a.at)
                by_dm = next((a for a in pool_ if a.at >= req.sent), None)
                if by_dm is not None:
                    discord_dms[req.user].remove(by_dm)
                    got = got + Counter([by_dm.content])
            if not got and req.platform == "slack":
                # Answered another way (an ephemeral post, when the response_url failed):
                # the member's first such post after the request, used once.
                pool = ephemerals.get(req.member, [])
                later = next((a for a in pool if a.at >= req.sent), None)
                if later is not None:
                    pool.remove(later)
                    got = Counter([later.content])
            visible = [c for c in got if _visible(c)]
            if not visible and not answered_in_ack and killed_within(req.replica, req.sent, 10):
                # Acknowledged, then SIGKILLed before the answer went out: a reply is not
                # durable before it is sent (a limit of the product, reported apart).
                rep.replies_killed += 1
                killed_ex.append(f"{req.platform} {req.kind} {target}")
                continue
            if not visible and not answered_in_ack:
                rep.replies_lost += 1
                reply_lost_ex.append(f"{req.platform} {req.kind} {target} ({req.member})")
            extra = sum(got[c] for c in visible) - len(visible)
            rep.replies_doubled += extra
            if extra:
                doubled_ex.append(f"reply {target} x{sum(got.values())}")
        if acks:
            acks.sort()
            rep.p99_ack = acks[max(0, int(len(acks) * 0.99) - 1)]

        # Head-of-line: stalls of a replica on a troubled recipient.
        # Stalls that overlap a SIGKILL of that replica or a database cut are not the
        # platform's doing: left out.
        excused: dict[str, list[tuple[float, float]]] = {
            name: [*spans, *self.cut_windows] for name, spans in self.kill_times.items()
        }
        for name in ("r1", "r2", "r3", *excused):
            excused.setdefault(name, list(self.cut_windows))
        rep.delayed_by_other, rep.stalls, rep.stall_seconds = _head_of_line(
            s_att + d_att, accepted, troubled, ready_of, excused
        )
        rep.examples = {
            "lost": lost_ex,
            "doubled": doubled_ex,
            "reply lost": reply_lost_ex,
            "reply cut by SIGKILL": killed_ex,
        }
        return rep


def _norm(text_: str) -> str:
    """Letters and digits only, lower case: the same words, whatever the escaping."""
    return "".join(ch for ch in text_.lower() if ch.isalnum())


def _words(content: str) -> str:
    """Every string in a recorded message (JSON), unescaped and normalised."""
    import html

    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.append(html.unescape(x))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    try:
        walk(json.loads(content))
    except ValueError:
        out.append(content)
    return _norm(" ".join(out))


def _visible(content: str) -> bool:
    """An answer with something in it (a bare deferral or an empty edit is not an answer)."""
    try:
        data = json.loads(content)
    except ValueError:
        return bool(content.strip())
    return any(data.get(k) for k in ("text", "blocks", "content", "embeds", "components"))


def _head_of_line(
    attempts: list[Attempt],
    accepted: list[Accepted],
    troubled: set[str],
    ready_of: dict[tuple[str, str, str], float],
    excused: dict[str, list[tuple[float, float]]],
) -> tuple[int, int, float]:
    """(healthy messages delayed, stalls, seconds stalled). A stall: a replica's span of more
    than STALL seconds, starting at a troubled recipient's hung post or Retry-After, during
    which that replica made no request for anyone else."""
    by_replica: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        if a.replica:
            by_replica[a.replica].append(a)
    sent_by: dict[str, list[Accepted]] = defaultdict(list)
    for acc in accepted:
        if acc.route == "dm" and acc.target not in troubled and acc.replica:
            sent_by[acc.replica].append(acc)
    delayed: set[tuple[str, str]] = set()
    stalls, seconds = 0, 0.0
    for replica, tries in by_replica.items():
        tries.sort(key=lambda a: a.started)
        for i, a in enumerate(tries):
            if a.recipient not in troubled:
                continue
            if a.outcome == "hung":
                begin = a.started
            elif a.outcome in ("throttled", "429") and a.retry_after:
                begin = a.ended
            else:
                continue
            nxt = next(
                (b.started for b in tries[i + 1 :] if b.started > begin
                 and b.recipient not in troubled),
                None,
            )  # fmt: skip
            if nxt is None:
                continue
            # A request of the replica for someone healthy while the troubled one hung
            # means it was not stalled.
            busy = any(begin <= b.started < nxt and b.recipient not in troubled for b in tries)
            if busy or nxt - begin <= STALL:
                continue
            # Only a replica that had work in hand stalls: it was sending to healthy
            # recipients right up to the trouble (an idle replica that later claims old rows,
            # freed from a dead replica, say, is not held back by anyone's trouble).
            if not any(
                begin - 1.5 <= b.started <= begin and b.recipient not in troubled for b in tries
            ):
                continue
            if any(s0 < nxt and begin < s1 for s0, s1 in excused.get(replica, [])):
                continue
            held = {
                (acc.platform, acc.target)
                for acc in sent_by.get(replica, [])
                if nxt <= acc.at <= nxt + 10
                and ready_of.get((acc.platform, "dm", acc.target), float("inf")) <= begin
            }
            if held:
                stalls += 1
                seconds += nxt - begin
                delayed |= held
    return len(delayed), stalls, seconds


def run(plan: Plan | None = None) -> Report:
    return Chaos(plan or Plan()).run()


if __name__ == "__main__":
    print(run().summary())
