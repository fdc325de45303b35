"""The platforms as the chaos test meets them: tests/slack_fake.py and tests/discord_fake.py,
each behind a front that misbehaves the way Slack and Discord do (see PLATFORM_LIMITS.md), and
records, with wall-clock times, every message the platform accepted.

A front forwards a request to its fake, which answers and records it as usual, unless a fault
says otherwise:

- 429 with Retry-After, or a 5xx (a JSON 500 or an HTML 503), without forwarding;
- a slow answer (forwarded after a delay);
- an answer lost after the platform accepted the message: forwarded, recorded, then the
  connection is closed without a byte of answer (the sender cannot know it went out);
- a recipient in trouble: DMs closed (Slack `cannot_dm_bot`, Discord 403 code 50007), a
  persistent 429 with a long Retry-After on one member's DM channel, or one member's posts
  hanging for many seconds;
- Slack's 5 posts per `response_url` (later ones: 404 `used_url`); Discord's nonce dedupe
  (`enforce_nonce`: the same nonce again within a few minutes returns the first message and
  creates none) and one answer per interaction (a second callback: 400 code 40060).

The Discord front also serves a minimal gateway (HELLO, IDENTIFY, READY, heartbeats) so that
`cohortbot serve` connects as it would to Discord, and the test can dispatch
INTERACTION_CREATE to every connected session (as Discord does for sessions on one shard).

Standalone, for poking at a replica by hand:

    python -m tests.chaos.fakes --slack-port 9101 --discord-port 9102 [--faults]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.slack_fake import FakeSlack

SLACK_MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update"}


@dataclass
class Faults:
    """What the platform does wrong, and to whom. Probabilities are per request."""

    enabled: bool = True
    p_5xx: float = 0.03
    p_429: float = 0.03
    p_lost: float = 0.02
    p_slow: float = 0.03
    slow_s: float = 2.0
    retry_after: int = 2
    # Recipients in trouble (Slack user ids "U..." or Discord user ids as text):
    closed: set[str] = field(default_factory=set)  # DMs closed, for the whole run
    throttled: set[str] = field(default_factory=set)  # 429 + long Retry-After on their DM
    throttle_retry_after: int = 10
    throttle_until: float = 0.0  # wall time after which the throttled recover
    hung: set[str] = field(default_factory=set)  # their posts answer after hang_s
    hang_s: float = 12.0
    seed: int = 15

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def none(cls) -> Faults:
        return cls(enabled=False)

    def troubled(self, who: str | None) -> bool:
        return bool(who) and (who in self.closed or who in self.throttled or who in self.hung)

    def draw(self) -> str | None:
        """One random fault for one request, or None."""
        if not self.enabled:
            return None
        with self._lock:
            x = self._rng.random()
        for name, p in (
            ("5xx", self.p_5xx),
            ("429", self.p_429),
            ("lost", self.p_lost),
            ("slow", self.p_slow),
        ):
            if x < p:
                return name
            x -= p
        return None


@dataclass
class Accepted:
    """One message the platform accepted (what a member sees)."""

    at: float  # wall clock, time.time()
    platform: str
    route: str  # dm | channel | respond | ephemeral | update | callback | followup
    target: str  # DM recipient, channel, response_url name or interaction id
    content: str  # the message as the member would read it, for spotting copies
    replica: str  # the sender, when the platform can tell (its token)
    answer_lost: bool = False


@dataclass
class Attempt:
    """One request a replica made on behalf of a recipient, with what the platform did."""

    replica: str
    started: float
    ended: float
    recipient: str | None
    outcome: str  # ok | 5xx | 429 | lost | slow | closed | throttled | hung | used_url | dupe
    retry_after: float = 0.0


class Front:
    """Common parts of both fronts: the server, the records and the fault log."""

    platform = ""

    def __init__(self, faults: Faults, port: int = 0) -> None:
        self.faults = faults
        self.accepted: list[Accepted] = []
        self.attempts: list[Attempt] = []
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Front:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, accepted: Accepted) -> None:
        with self.lock:
            self.accepted.append(accepted)

    def attempt(self, a: Attempt) -> None:
        with self.lock:
            self.attempts.append(a)
            self.outcomes[a.outcome] += 1

    def snapshot(self) -> tuple[list[Accepted], list[Attempt]]:
        with self.lock:
            return list(self.accepted), list(self.attempts)

    def handle(self, req: FrontRequest) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                front.handle(FrontRequest(self, raw))

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler


class FrontRequest:
    """One request arriving at a front, and the ways to answer it."""

    def __init__(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        self.h = handler
        self.raw = raw
        self.method = handler.command
        self.path = handler.path
        self.headers = dict(handler.headers.items())
        self.started = time.time()

    def forward(self, port: int) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            keep = ("content-type", "authorization", "x-audit-log-reason")
            headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
            conn.request(self.method, self.path, body=self.raw or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        h = self.h
        h.send_response(status)
        sent_type = False
        for k, v in (headers or {}).items():
            if k.lower() in ("content-length", "transfer-encoding", "connection", "date", "server"):
                continue
            sent_type = sent_type or k.lower() == "content-type"
            h.send_header(k, v)
        if not sent_type:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        # The sender may have given up waiting (its own timeout): nothing to tell it then.
        with contextlib.suppress(OSError):
            h.end_headers()
            h.wfile.write(body)

    def drop(self) -> None:
        """Close the connection without answering: the answer is lost on the way back."""
        self.h.close_connection = True
        with contextlib.suppress(OSError):
            self.h.connection.shutdown(socket.SHUT_RDWR)


# -- Slack -------------------------------------------------------------------------------


def _slack_body(raw: bytes, ctype: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    if not raw:
        return body
    if "json" in ctype:
        with contextlib.suppress(ValueError):
            loaded = json.loads(raw)
            if isinstance(loaded, dict):
                body.update(loaded)
    else:
        body.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()})
    return body


def _slack_content(body: dict[str, Any]) -> str:
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        with contextlib.suppress(ValueError):
            blocks = json.loads(blocks)
    return json.dumps({"text": body.get("text"), "blocks": blocks}, sort_keys=True)


class SlackFront(Front):
    """Slack's Web API and response_url as the replicas see them."""

    platform = "slack"
    RESPONSE_URL_POSTS = 5

    def __init__(self, faults: Faults, port: int = 0, fake: FakeSlack | None = None) -> None:
        self.fake = fake or FakeSlack()
        self._fake_started = fake is None
        super().__init__(faults, port)
        self._posts: Counter[str] = Counter()  # response_url name -> accepted posts
        self.dm_of: dict[str, str] = {}  # DM channel -> user, as conversations.open gave

    def start(self) -> SlackFront:
        if self._fake_started:
            self.fake.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        if self._fake_started:
            self.fake.stop()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/respond/{name}"

    def handle(self, req: FrontRequest) -> None:
        parts = urlsplit(req.path)
        ctype = req.headers.get("Content-Type", req.headers.get("content-type", ""))
        auth = req.headers.get("Authorization", req.headers.get("authorization", ""))
        replica = auth.removeprefix("Bearer ").removeprefix("xoxb-")
        if parts.path.startswith("/respond/"):
            self._respond(req, parts.path.removeprefix("/respond/"))
            return
        method = parts.path.removeprefix("/api/")
        body = _slack_body(req.raw, ctype, parts.query)
        recipient: str | None = None
        if method == "conversations.open":
            recipient = str(body.get("users", "")).split(",")[0] or None
        elif method in SLACK_MESSAGE_METHODS:
            channel = str(body.get("channel", ""))
            recipient = self.dm_of.get(channel) or (channel[1:] if channel[:1] == "D" else None)
        f = self.faults
        if f.enabled and recipient and recipient in f.closed and method != "conversations.open":
            self._refuse(req, replica, recipient, "closed", 200, {"error": "cannot_dm_bot"})
            return
        if f.enabled and recipient in f.throttled and time.time() < f.throttle_until:
            self._refuse(
                req, replica, recipient, "throttled", 429, {"error": "ratelimited"},
                f.throttle_retry_after,
            )  # fmt: skip
            return
        fault = f.draw() if method in SLACK_MESSAGE_METHODS | {"conversations.open"} else None
        if fault == "429":
            self._refuse(
                req, replica, recipient, "429", 429, {"error": "ratelimited"}, f.retry_after
            )
            return
        if fault == "5xx":
            self._server_error(req, replica, recipient)
            return
        delay = (
            f.hang_s if f.enabled and recipient in f.hung else (f.slow_s if fault == "slow" else 0)
        )
        if delay:
            time.sleep(delay)
        status, headers, payload = req.forward(self.fake.port)
        answer: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            answer = json.loads(payload or b"{}")
        if method == "conversations.open" and answer.get("ok"):
            self.dm_of[str(answer["channel"]["id"])] = str(recipient)
        if method in SLACK_MESSAGE_METHODS and status == 200 and answer.get("ok"):
            route = {"chat.postEphemeral": "ephemeral", "chat.update": "update"}.get(method)
            channel = str(body.get("channel", ""))
            if route is None:
                route = "dm" if recipient else "channel"
            target = recipient if route == "dm" and recipient else channel
            if route == "ephemeral":
                target = f"{channel}/{body.get('user', '')}"
            self.record(
                Accepted(
                    time.time(),
                    "slack",
                    route,
                    target,
                    _slack_content(body),
                    replica,
                    answer_lost=fault == "lost",
                )
            )
        outcome = fault or ("hung" if recipient in f.hung and f.enabled else "ok")
        self.attempt(Attempt(replica, req.started, time.time(), recipient, outcome))
        if fault == "lost":
            req.drop()
            return
        req.answer(status, payload, headers)

    def _refuse(
        self,
        req: FrontRequest,
        replica: str,
        recipient: str | None,
        outcome: str,
        status: int,
        body: dict[str, Any],
        retry_after: float = 0,
    ) -> None:
        headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
        self.attempt(Attempt(replica, req.started, time.time(), recipient, outcome, retry_after))
        req.answer(status, json.dumps({"ok": False, **body}).encode(), headers)

    def _server_error(self, req: FrontRequest, replica: str, recipient: str | None) -> None:
        self.attempt(Attempt(replica, req.started, time.time(), recipient, "5xx"))
        if random.random() < 0.5:
            req.answer(500, b'{"ok": false, "error": "internal_error"}')
        else:
            html = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            req.answer(503, html, {"Content-Type": "text/html"})

    def _respond(self, req: FrontRequest, name: str) -> None:
        f = self.faults
        with self.lock:
            used = self._posts[name]
        if used >= self.RESPONSE_URL_POSTS:
            # Slack refuses a sixth post to one response_url.
            self.attempt(Attempt("", req.started, time.time(), name, "used_url"))
            req.answer(404, b"used_url", {"Content-Type": "text/plain"})
            return
        fault = f.draw()
        if fault == "429":
            self._refuse(req, "", name, "429", 429, {"error": "rate_limited"}, f.retry_after)
            return
        if fault == "5xx":
            self._server_error(req, "", name)
            return
        if fault == "slow":
            time.sleep(f.slow_s)
        status, headers, payload = req.forward(self.fake.port)
        if status == 200:
            with self.lock:
                self._posts[name] += 1
            body = _slack_body(req.raw, "json", "")
            self.record(
                Accepted(
                    time.time(), "slack", "respond", name, _slack_content(body), "",
                    answer_lost=fault == "lost",
                )
            )  # fmt: skip
        self.attempt(Attempt("", req.started, time.time(), name, fault or "ok"))
        if fault == "lost":
            req.drop()
            return
        req.answer(status, payload, headers)


# -- Discord -----------------------------------------------------------------------------

NONCE_WINDOW = 300.0  # Discord: "a few minutes"; undocumented exactly


def _discord_content(message: dict[str, Any]) -> str:
    keep = {k: message.get(k) for k in ("content", "embeds", "components")}
    return json.dumps(keep, sort_keys=True, default=str)


class DiscordFront(Front):
    """Discord's REST API (and a gateway) as the replicas see them."""

    platform = "discord"

    def __init__(self, faults: Faults, port: int = 0, fake: Any = None) -> None:
        from tests.discord_fake import FakeDiscord

        self.fake = fake or FakeDiscord()
        self._fake_started = fake is None
        super().__init__(faults, port)
        self._nonces: dict[tuple[str, str], tuple[float, int, dict[str, str], bytes]] = {}
        self._callbacks: set[str] = set()
        self.dm_of: dict[str, str] = {}  # DM channel id -> recipient, as opened
        self.gateway = Gateway(self)

    def start(self) -> DiscordFront:
        if self._fake_started:
            self.fake.start()
        super().start()
        self.gateway.start()
        return self

    def stop(self) -> None:
        self.gateway.stop()
        super().stop()
        if self._fake_started:
            self.fake.stop()

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def fake_port(self) -> int:
        return int(self.fake.server.server_address[1])

    def handle(self, req: FrontRequest) -> None:
        parts = urlsplit(req.path)
        path = parts.path.removeprefix("/api/v10")
        auth = req.headers.get("Authorization", req.headers.get("authorization", ""))
        replica = auth.removeprefix("Bot ")
        if req.method == "GET" and path == "/gateway/bot":
            body = {
                "url": self.gateway.url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
            req.answer(200, json.dumps(body).encode())
            return
        data: dict[str, Any] = {}
        ctype = req.headers.get("Content-Type", req.headers.get("content-type", ""))
        if req.raw and "json" in ctype:
            with contextlib.suppress(ValueError):
                data = json.loads(req.raw)
        elif req.raw and "multipart" in ctype:
            m = re.search(
                rb'name="payload_json"\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--', req.raw, re.S
            )
            if m:
                with contextlib.suppress(ValueError):
                    data = json.loads(m.group(1))
        dm = re.fullmatch(r"/channels/(\d+)/messages", path) if req.method == "POST" else None
        callback = re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", path)
        hook = re.fullmatch(r"/webhooks/\d+/([^/]+)(/messages/\S+)?", path)
        recipient: str | None = None
        if req.method == "POST" and path == "/users/@me/channels":
            recipient = str(data.get("recipient_id", ""))
        elif dm:
            recipient = self.dm_of.get(dm.group(1))
            if recipient is None:
                dm = None  # a channel post, not a DM
        f = self.faults
        if f.enabled and recipient and recipient in f.closed and dm:
            self.attempt(Attempt(replica, req.started, time.time(), recipient, "closed"))
            body = {"message": "Cannot send messages to this user", "code": 50007}
            req.answer(403, json.dumps(body).encode())
            return
        if f.enabled and recipient in f.throttled and time.time() < f.throttle_until and dm:
            ra = f.throttle_retry_after
            self.attempt(Attempt(replica, req.started, time.time(), recipient, "throttled", ra))
            body2 = {"message": "You are being rate limited.", "retry_after": ra, "global": False}
            req.answer(429, json.dumps(body2).encode(), _discord_429_headers(ra))
            return
        if dm and data.get("enforce_nonce") and data.get("nonce"):
            key = (dm.group(1), str(data["nonce"]))
            with self.lock:
                seen = self._nonces.get(key)
            if seen and time.time() - seen[0] < NONCE_WINDOW:
                self.attempt(Attempt(replica, req.started, time.time(), recipient, "dupe"))
                req.answer(seen[1], seen[3], seen[2])
                return
        if callback:
            iid = callback.group(1)
            with self.lock:
                again = iid in self._callbacks
                self._callbacks.add(iid)
            if again:
                self.attempt(Attempt(replica, req.started, time.time(), iid, "acked_twice"))
                body3 = {"message": "Interaction has already been acknowledged.", "code": 40060}
                req.answer(400, json.dumps(body3).encode())
                return
        # Faults only on what carries messages (a flaky login would end the process early).
        carries = bool(dm or hook or (req.method == "POST" and path == "/users/@me/channels"))
        fault = f.draw() if carries else None
        if fault == "429":
            ra = f.retry_after
            self.attempt(Attempt(replica, req.started, time.time(), recipient, "429", ra))
            body4 = {"message": "You are being rate limited.", "retry_after": ra, "global": False}
            req.answer(429, json.dumps(body4).encode(), _discord_429_headers(ra))
            return
        if fault == "5xx":
            self.attempt(Attempt(replica, req.started, time.time(), recipient, "5xx"))
            req.answer(503, b"<html>upstream connect error</html>", {"Content-Type": "text/html"})
            return
        delay = f.hang_s if f.enabled and recipient in f.hung and dm else 0
        delay = delay or (f.slow_s if fault == "slow" else 0)
        if delay:
            time.sleep(delay)
        status, headers, payload = req.forward(self.fake_port)
        ok = 200 <= status < 300
        if ok and recipient and path == "/users/@me/channels":
            with contextlib.suppress(ValueError, KeyError):
                self.dm_of[str(json.loads(payload)["id"])] = recipient
        channel_post = re.fullmatch(r"/channels/(\d+)/messages", path)
        if ok and dm:
            route, target = "dm", str(recipient)
        elif ok and callback:
            route, target = "callback", callback.group(1)
        elif ok and hook and req.method in ("POST", "PATCH"):
            route, target = "followup", hook.group(1).removeprefix("tok")
        elif ok and channel_post and req.method == "POST":
            route, target = "channel", channel_post.group(1)
        else:
            route, target = "", ""
        if route:
            message = data.get("data", data) if callback else data
            if message or route == "callback":
                self.record(
                    Accepted(
                        time.time(), "discord", route, target, _discord_content(message or {}),
                        replica, answer_lost=fault == "lost",
                    )
                )  # fmt: skip
        if ok and dm and data.get("enforce_nonce") and data.get("nonce"):
            with self.lock:
                self._nonces[(dm.group(1), str(data["nonce"]))] = (
                    time.time(),
                    status,
                    headers,
                    payload,
                )
        self.attempt(Attempt(replica, req.started, time.time(), recipient, fault or "ok"))
        if fault == "lost":
            req.drop()
            return
        req.answer(status, payload, headers)


def _discord_429_headers(retry_after: float) -> dict[str, str]:
    # The Via header marks a 429 as Discord's own, not Cloudflare's.
    return {
        "Retry-After": str(int(retry_after)),
        "X-RateLimit-Scope": "user",
        "X-RateLimit-Bucket": "dm",
        "Via": "1.1 google",
    }


class Gateway:
    """Just enough of Discord's gateway for discord.py: HELLO, IDENTIFY -> READY, heartbeats,
    and INTERACTION_CREATE pushed by the test to every live session."""

    def __init__(self, front: DiscordFront, port: int = 0) -> None:
        self.front = front
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.sessions: dict[str, Any] = {}  # session id -> websocket
        self._seq: dict[str, int] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway", daemon=True)
        self._runner: Any = None
        self.dispatched: dict[str, float] = {}  # interaction id -> when pushed
        self.delivered_to: dict[str, list[str]] = {}  # interaction id -> sessions' tokens
        self.owner: dict[str, str] = {}  # session id -> the token it identified with
        self.most_at_once = 0  # the most sessions open together
        self.gaps: list[tuple[float, float]] = []  # spans without any session, once one was up
        self._gap_from: float | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake gateway did not start")

    def stop(self) -> None:
        if self.loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            with contextlib.suppress(Exception):
                fut.result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/", self._ws)
        self._runner = web.AppRunner(app)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()

    async def _shutdown(self) -> None:
        for ws in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def live(self) -> int:
        return len(self.sessions)

    def dispatch(self, payload: dict[str, Any]) -> int:
        """Push one INTERACTION_CREATE to every live session; how many got it."""
        fut = asyncio.run_coroutine_threadsafe(self._push(payload), self.loop)
        return int(fut.result(5))

    async def _push(self, payload: dict[str, Any]) -> int:
        iid = str(payload["id"])
        self.dispatched[iid] = time.time()
        got = self.delivered_to.setdefault(iid, [])
        for sid, ws in list(self.sessions.items()):
            self._seq[sid] = self._seq.get(sid, 1) + 1
            frame = {"op": 0, "t": "INTERACTION_CREATE", "s": self._seq[sid], "d": payload}
            try:
                await ws.send_str(json.dumps(frame))
                got.append(self.owner.get(sid, ""))
            except Exception:
                self._closed(sid)
        return len(got)

    def _opened(self, sid: str, ws: Any, token: str) -> None:
        self.sessions[sid] = ws
        self.owner[sid] = token
        self.most_at_once = max(self.most_at_once, len(self.sessions))
        if self._gap_from is not None:
            self.gaps.append((self._gap_from, time.time()))
            self._gap_from = None

    def _closed(self, sid: str) -> None:
        if self.sessions.pop(sid, None) is not None and not self.sessions:
            self._gap_from = time.time()

    async def _ws(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        from tests.discord_fake import APP_ID, BOT_ID, user_payload

        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 10_000}}))
        sid = ""
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op in (2, 6):  # IDENTIFY, or RESUME answered with a fresh session
                    sid = f"s{id(ws):x}{time.monotonic_ns():x}"
                    ready = {
                        "v": 10,
                        "user": {**user_payload(BOT_ID, "cohortbot"), "bot": True},
                        "guilds": [],
                        "session_id": sid,
                        "resume_gateway_url": self.url,
                        "application": {"id": str(APP_ID), "flags": 0},
                        "shard": [0, 1],
                    }
                    self._seq[sid] = 1
                    await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
                    token = str((frame.get("d") or {}).get("token", ""))
                    self._opened(sid, ws, token.removeprefix("Bot "))
        finally:
            self._closed(sid)
        return ws


# -- standalone ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos.fakes", description=__doc__)
    p.add_argument("--slack-port", type=int, default=0)
    p.add_argument("--discord-port", type=int, default=0)
    p.add_argument("--faults", action="store_true", help="misbehave (default: behave)")
    a = p.parse_args(argv)
    faults = Faults() if a.faults else Faults.none()
    slack = SlackFront(faults, a.slack_port).start()
    discord = DiscordFront(faults, a.discord_port).start()
    print(f"SLACK_API_BASE_URL={slack.api_url}", flush=True)
    print(f"CHAOS_DISCORD_API={discord.api_base}  (gateway {discord.gateway.url})", flush=True)
    stop = threading.Event()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    slack.stop()
    discord.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
