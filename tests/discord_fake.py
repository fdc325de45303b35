"""A local fake of Discord's REST API (127.0.0.1 only) that records whole requests, plus
builders for Discord's INTERACTION_CREATE payloads. discord.py is pointed at it through
`discord.http.Route.BASE`, so every byte the adapter sends goes over real HTTP.

It enforces what Discord documents (PLATFORM_LIMITS.md): a message sent with a `nonce` and
`enforce_nonce` within the dedupe window returns the first message instead of a new one (404
if that one was deleted); rate limits answer 429 with `retry_after` and `global`; an
interaction not answered within 3 s is gone (10062) and is answered once (40060); a message
over Discord's embed or component limits is refused (400, 50035); and, on request, 5xx,
answers that come late after the message was accepted, or never come."""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import discord.http

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.runner import DiscordRunner
from adapters.discord.tree import discord_path
from bot.app import App

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
TS = "2026-11-23T08:00:00.000000+00:00"
_ids = itertools.count(1_000_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


def user_payload(uid: int, name: str) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
    }


@dataclass
class Request:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    files: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0  # what the fake answered (0: not yet, or never)

    @property
    def flags(self) -> int:
        data = self.json.get("data", self.json) if isinstance(self.json, dict) else {}
        return int((data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def message(self) -> dict[str, Any]:
        """The message part of the request: a callback's `data`, or the body itself."""
        if not isinstance(self.json, dict):
            return {}
        if self.path.endswith("/callback"):
            return self.json.get("data") or {}
        return self.json


@dataclass
class Scripted:
    method: str
    pattern: str
    status: int
    body: Any
    headers: dict[str, str]
    times: int = 1


@dataclass
class Limited:
    """A rate limit in force on matching routes (every route but interaction callbacks when
    global) until `until` on the fake's clock."""

    method: str
    pattern: str
    until: float
    is_global: bool
    scope: str


@dataclass
class Bucket:
    """A per-route bucket: `limit` requests per `per` seconds for each distinct path (Discord
    keys message routes by channel), announced in X-RateLimit-* headers."""

    method: str
    pattern: str
    limit: int
    per: float
    used: dict[str, tuple[float, int]] = field(default_factory=dict)


@dataclass
class Late:
    """Matching requests are applied at once, and answered `delay` seconds later (or never,
    when `lose`: the connection is closed after Discord accepted the message)."""

    method: str
    pattern: str
    delay: float
    times: int
    lose: bool


NONCE_WINDOW = 120.0  # Discord: "a few minutes", undocumented; the fake takes the short end
INTERACTION_WINDOW = 3.0
FOLLOWUP_WINDOW = 15 * 60.0
UNKNOWN_INTERACTION = 10062
UNKNOWN_WEBHOOK = 10015
UNKNOWN_MESSAGE = 10008
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_CHANNEL = 10003
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
THREAD_ALREADY_CREATED = 160004
THREAD_NAME_MAX = 100
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)  # minutes: the only values Discord takes
PUBLIC_THREAD, PRIVATE_THREAD = 11, 12
GUILD = 555  # the server of every channel here (the builders' default guild_id)


class FakeDiscord:
    """Answers like Discord does for the routes the adapter uses; records every request.
    `clock` (seconds, monotonic) times the nonce window, rate limits and the 3 s interaction
    window, so a test can move it instead of waiting."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        nonce_window: float = NONCE_WINDOW,
        interaction_window: float = INTERACTION_WINDOW,
    ) -> None:
        self.requests: list[Request] = []
        self.scripted: list[Scripted] = []
        self.clock = clock
        self.nonce_window = nonce_window
        self.interaction_window = interaction_window
        self.messages: dict[int, dict[str, Any]] = {}  # every message created, by id
        self.deleted: set[int] = set()
        self.limited: list[Limited] = []
        self.buckets: list[Bucket] = []
        self.late: list[Late] = []
        self.refused_messages: list[str] = []  # why each message over the limits was refused
        self._nonces: dict[str, tuple[float, int]] = {}  # nonce -> (created at, message id)
        # Registered application commands by scope ("global" or the guild's id), as Discord
        # keeps them: a bulk overwrite replaces the scope's list; each command keeps its id.
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._opened: dict[str, float] = {}  # interaction token -> when it was dispatched
        # Threads created (id -> channel object) and who is in each; the guild of a parent
        # channel (any channel the bot is asked about is taken as a text channel of GUILD),
        # and channels where the bot lacks a permission: thread routes there answer 403.
        self.threads: dict[int, dict[str, Any]] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.no_threads_in: set[int] = set()  # no Create Private/Public Threads
        self.no_thread_posts_in: set[int] = set()  # no Send Messages in Threads
        self._acknowledged: set[str] = set()
        self._kinds: dict[str, int] = {}  # interaction token -> its type (2 command, 3 click ...)
        self.refused_modals: list[str] = []  # why each refused modal was refused
        self._release = threading.Event()  # ends every late answer at once (stop, tests)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # A short poll: shutdown() waits for the loop to look (0.5 s a test by default).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/v10"

    def start(self) -> FakeDiscord:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- knobs: what Discord does under load and faults ----------------------------------------

    def rate_limit(
        self,
        method: str,
        pattern: str,
        retry_after: float,
        *,
        is_global: bool = False,
        scope: str = "user",
    ) -> None:
        """From now, matching requests (all but interaction callbacks when global) get 429
        until `retry_after` seconds have passed on the fake's clock."""
        with self.lock:
            until = self.clock() + retry_after
            self.limited.append(Limited(method, pattern, until, is_global, scope))

    def bucket(self, method: str, pattern: str, limit: int, per: float) -> None:
        """Enforce a per-route bucket (e.g. 5 messages per 5 s per channel) with headers."""
        with self.lock:
            self.buckets.append(Bucket(method, pattern, limit, per))

    def slow(
        self, method: str, pattern: str, delay: float, *, times: int = 1, lose: bool = False
    ) -> None:
        """The next `times` matching requests take effect at once but are answered `delay`
        seconds late (real time: it is the network), or, with `lose`, never."""
        with self.lock:
            self.late.append(Late(method, pattern, delay, times, lose))

    def release(self) -> None:
        """Answer every late request now."""
        self._release.set()

    def open_interaction(self, payload: dict[str, Any]) -> None:
        """Discord dispatched this interaction now: its 3 s (and 15 min) windows start."""
        with self.lock:
            self._opened[str(payload["token"])] = self.clock()
            self._kinds[str(payload["token"])] = int(payload["type"])

    def delete_message(self, message_id: int) -> None:
        with self.lock:
            self.deleted.add(message_id)

    def created(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Messages Discord holds (not deleted), oldest first; a nonce replay adds none."""
        with self.lock:
            return [
                m
                for mid, m in self.messages.items()
                if mid not in self.deleted
                and (channel_id is None or m["channel_id"] == str(channel_id))
            ]

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests matching method + path regex get this answer instead."""
        with self.lock:
            self.scripted.append(Scripted(method, pattern, status, body, headers or {}, times))

    def matching(self, method: str, pattern: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def wait_for(self, method: str, pattern: str, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.matching(method, pattern)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {method} {pattern} within {timeout}s; got "
                    f"{[(r.method, r.path) for r in self.requests]}"
                )
            time.sleep(0.01)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- the HTTP side ----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in two writes: with Nagle's algorithm and the client's
            # delayed ACK each answer stalled about 40 ms on keep-alive connections.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                path = url.path.removeprefix("/api/v10")
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                req = Request(self.command, path, parse_qs(url.query), dict(self.headers.items()))
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):
                    req.json, req.files = _multipart(ctype, raw)
                elif raw:
                    req.json = json.loads(raw)
                with fake.lock:
                    fake.requests.append(req)
                    scripted = next(
                        (
                            s
                            for s in fake.scripted
                            if s.method == req.method and re.search(s.pattern, path) and s.times
                        ),
                        None,
                    )
                    if scripted is not None:
                        scripted.times -= 1
                    late = next(
                        (
                            x
                            for x in fake.late
                            if x.method == req.method and re.search(x.pattern, path) and x.times
                        ),
                        None,
                    )
                    if late is not None:
                        late.times -= 1
                    refused, limits = fake._limit(req)
                if scripted is not None:
                    status, body, headers = scripted.status, scripted.body, scripted.headers
                elif refused is not None:
                    status, body, headers = refused
                else:
                    status, body, headers = fake.answer(req)
                    headers = {**headers, **limits}
                req.status = status
                if late is not None:
                    fake._release.wait(late.delay)
                    if late.lose:
                        self.close_connection = True
                        self.connection.shutdown(2)  # socket.SHUT_RDWR: no answer at all
                        return
                self._send(status, body, headers)

            def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler

    def _limit(self, req: Request) -> tuple[tuple[int, Any, dict[str, str]] | None, dict[str, str]]:
        """A 429 as Discord sends it (or None), and the bucket headers of an answer; counts
        the request against its buckets. Called under the lock."""
        now = self.clock()
        self.limited = [x for x in self.limited if x.until > now]
        callback = req.path.endswith("/callback")  # exempt from the global limit
        for x in self.limited:
            if (x.is_global and not callback) or (
                not x.is_global and x.method == req.method and re.search(x.pattern, req.path)
            ):
                return _too_many(x.until - now, x.is_global, x.scope), {}
        headers: dict[str, str] = {}
        for b in self.buckets:
            if b.method != req.method or not re.search(b.pattern, req.path):
                continue
            start, used = b.used.get(req.path, (now, 0))
            if now - start >= b.per:
                start, used = now, 0
            reset = start + b.per - now
            if used >= b.limit:
                return _too_many(reset, False, "user"), {}
            b.used[req.path] = (start, used + 1)
            headers = {
                "X-RateLimit-Bucket": f"fake-{b.pattern}",
                "X-RateLimit-Limit": str(b.limit),
                "X-RateLimit-Remaining": str(b.limit - used - 1),
                "X-RateLimit-Reset-After": f"{reset:.3f}",
            }
        return None, headers

    def _create_message(self, channel_id: int, req: Request) -> tuple[int, Any, dict[str, str]]:
        body = req.message
        nonce = body.get("nonce")
        with self.lock:
            if nonce is not None and body.get("enforce_nonce"):
                prior = self._nonces.get(str(nonce))
                if prior is not None and self.clock() - prior[0] < self.nonce_window:
                    if prior[1] in self.deleted:
                        return 404, {"message": "Unknown Message", "code": UNKNOWN_MESSAGE}, {}
                    return 200, self.messages[prior[1]], {}
            msg = _message(channel_id, req)
            self.messages[int(msg["id"])] = msg
            if nonce is not None:
                self._nonces[str(nonce)] = (self.clock(), int(msg["id"]))
        return 200, msg, {}

    def _create_thread(
        self, parent: int, message_id: int | None, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        """POST /channels/{id}/threads (a thread without a message: `type` 11 or 12, `invitable`
        for private ones) or /channels/{id}/messages/{id}/threads (a public one on a message),
        validated as Discord documents: name 1-100 characters, auto_archive_duration one of
        60, 1440, 4320, 10080; one thread per message."""
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= THREAD_NAME_MAX:
            return 400, _invalid("name", "Must be between 1 and 100 in length."), {}
        archive = body.get("auto_archive_duration", 4320)
        if archive not in ARCHIVE_DURATIONS:
            return 400, _invalid("auto_archive_duration", "Value must be one of {60, ...}."), {}
        kind = PUBLIC_THREAD if message_id is not None else body.get("type", PRIVATE_THREAD)
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            return 400, _invalid("type", "Value must be one of {10, 11, 12}."), {}
        if parent in self.threads:
            return 400, {"message": "Cannot create a thread in a thread", "code": 50024}, {}
        if parent in self.no_threads_in:
            return 403, {"message": "Missing Permissions", "code": MISSING_PERMISSIONS}, {}
        with self.lock:
            if message_id is not None:
                msg = self.messages.get(message_id)
                if msg is None or msg["channel_id"] != str(parent) or message_id in self.deleted:
                    return 404, {"message": "Unknown Message", "code": UNKNOWN_MESSAGE}, {}
                if message_id in self.threads:
                    msg = "A thread has already been created for this message"
                    return 400, {"message": msg, "code": THREAD_ALREADY_CREATED}, {}
            # A thread started on a message takes the message's id.
            tid = message_id if message_id is not None else snowflake()
            thread = {
                "id": str(tid),
                "type": kind,
                "guild_id": str(GUILD),
                "parent_id": str(parent),
                "owner_id": str(BOT_ID),
                "name": name,
                "last_message_id": None,
                "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
                "message_count": 0,
                "member_count": 1,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": archive,
                    "archive_timestamp": TS,
                    "locked": False,
                    **({"invitable": bool(body.get("invitable", True))} if kind == 12 else {}),
                    "create_timestamp": TS,
                },
                "flags": 0,
                "total_message_sent": 0,
                "member": {
                    "id": str(tid),
                    "user_id": str(BOT_ID),
                    "join_timestamp": TS,
                    "flags": 0,
                },
            }
            self.threads[tid] = thread
            self.thread_members[tid] = {BOT_ID}
        return 201, thread, {}

    def _add_to_thread(self, thread_id: int, user_id: int) -> tuple[int, Any, dict[str, str]]:
        """PUT /channels/{thread}/thread-members/{user}: 204, also for one already in it."""
        with self.lock:
            thread = self.threads.get(thread_id)
            if thread is None:
                return 404, {"message": "Unknown Channel", "code": UNKNOWN_CHANNEL}, {}
            if thread["thread_metadata"]["archived"]:
                return 400, {"message": "Thread is archived", "code": 50083}, {}
            if int(thread["parent_id"]) in self.no_thread_posts_in:
                return 403, {"message": "Missing Permissions", "code": MISSING_PERMISSIONS}, {}
            self.thread_members[thread_id].add(user_id)
            thread["member_count"] = len(self.thread_members[thread_id])
        return 204, None, {}

    def _interaction_gone(
        self, token: str, *, callback: bool
    ) -> tuple[int, Any, dict[str, str]] | None:
        """Discord's answer to a callback or follow-up outside its window, or None."""
        with self.lock:
            opened = self._opened.get(token)
            if opened is None:
                return None  # not fed through open_interaction: not timed
            age = self.clock() - opened
            if callback:
                if token in self._acknowledged:
                    msg = "Interaction has already been acknowledged."
                    return 400, {"message": msg, "code": ALREADY_ACKNOWLEDGED}, {}
                if age > self.interaction_window:
                    return 404, {"message": "Unknown interaction", "code": UNKNOWN_INTERACTION}, {}
                self._acknowledged.add(token)
                return None
            if token not in self._acknowledged or age > FOLLOWUP_WINDOW:
                return 404, {"message": "Unknown Webhook", "code": UNKNOWN_WEBHOOK}, {}
            return None

    def answer(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        m, p = req.method, req.path
        if _carries_message(req) and (why := bad_message(req.message)) is not None:
            with self.lock:
                self.refused_messages.append(why)
            errors = {"_errors": [{"code": "BASE_TYPE_BAD_VALUE", "message": why}]}
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors}, {}
        if m == "GET" and p == "/users/@me":
            return 200, {**user_payload(BOT_ID, "cohortbot"), "bot": True}, {}
        if m == "GET" and p == "/oauth2/applications/@me":
            return 200, _app_info(), {}
        if m == "POST" and p == "/users/@me/channels":
            rid = int(req.json["recipient_id"])
            recipients = [user_payload(rid, "x")]
            chan = {"id": str(dm_channel_id(rid)), "type": 1, "recipients": recipients}
            return 200, chan, {}
        if m == "POST" and (cm := re.fullmatch(r"/channels/(\d+)/messages", p)):
            channel = int(cm.group(1))
            thread = self.threads.get(channel)
            if thread is not None and int(thread["parent_id"]) in self.no_thread_posts_in:
                return 403, {"message": "Missing Permissions", "code": MISSING_PERMISSIONS}, {}
            return self._create_message(channel, req)
        if m == "POST" and (cm := re.fullmatch(r"/channels/(\d+)/threads", p)):
            return self._create_thread(int(cm.group(1)), None, req.json or {})
        if m == "POST" and (cm := re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", p)):
            return self._create_thread(int(cm.group(1)), int(cm.group(2)), req.json or {})
        if m == "PUT" and (cm := re.fullmatch(r"/channels/(\d+)/thread-members/(\d+)", p)):
            return self._add_to_thread(int(cm.group(1)), int(cm.group(2)))
        if m == "GET" and (cm := re.fullmatch(r"/guilds/(\d+)/threads/active", p)):
            with self.lock:
                mine = [
                    t
                    for t in self.threads.values()
                    if t["guild_id"] == cm.group(1)
                    and (t["type"] == PUBLIC_THREAD or BOT_ID in self.thread_members[int(t["id"])])
                ]
            return 200, {"threads": mine, "members": []}, {}
        if m == "DELETE" and (cm := re.fullmatch(r"/channels/\d+/messages/(\d+)", p)):
            self.delete_message(int(cm.group(1)))
            return 204, None, {}
        if m in ("POST", "PATCH", "DELETE") and (
            wm := re.fullmatch(r"/(?:interactions/\d+|webhooks/\d+)/([^/]+)(/.*)?", p)
        ):
            gone = self._interaction_gone(wm.group(1), callback=p.endswith("/callback"))
            if gone is not None:
                return gone
        if m == "POST" and re.fullmatch(r"/interactions/\d+/[^/]+/callback", p):
            iid, token = p.split("/")[2], p.split("/")[3]
            rtype = req.json["type"]
            if rtype == 9 and (why := self._bad_modal(token, req.json.get("data") or {})):
                with self.lock:
                    self.refused_modals.append(why)
                    self._acknowledged.discard(token)  # a refused answer answers nothing
                return 400, {"message": f"Invalid Form Body: {why}", "code": 50035}, {}
            body: dict[str, Any] = {"interaction": {"id": iid, "type": 2}}
            if rtype in (4, 7):
                msg = _message(0, req)
                body["interaction"]["response_message_id"] = msg["id"]
                body["resource"] = {"type": rtype, "message": msg}
            return 200, body, {}
        if m == "POST" and re.fullmatch(r"/webhooks/\d+/[^/]+", p):
            return 200, _message(0, req), {}
        if m == "PATCH" and re.fullmatch(r"/webhooks/\d+/[^/]+/messages/\S+", p):
            return 200, _message(0, req), {}
        if m == "DELETE" and re.fullmatch(r"/webhooks/\d+/[^/]+/messages/\S+", p):
            return 204, None, {}
        if cm := re.fullmatch(r"/applications/\d+(?:/guilds/(\d+))?/commands", p):
            scope = cm.group(1) or "global"
            if m == "GET":
                with self.lock:
                    return 200, list(self.commands.get(scope, [])), {}
            if m == "PUT":
                problem = _bad_commands(req.json, guild=scope != "global")
                if problem:
                    return 400, {"message": problem, "code": 50035}, {}
                with self.lock:
                    old = {c["name"]: c["id"] for c in self.commands.get(scope, [])}
                    out = [
                        {
                            "description": "",  # a context menu's, as Discord answers it
                            "type": 1,
                            **c,
                            "id": old.get(c["name"]) or str(snowflake()),
                            "application_id": str(APP_ID),
                            "version": "1",
                            **({"guild_id": scope} if scope != "global" else {}),
                        }
                        for c in req.json
                    ]
                    self.commands[scope] = out
                return 200, out, {}
        return 404, {"message": f"fake Discord has no {m} {p}", "code": 0}, {}

    def _bad_modal(self, token: str, data: dict[str, Any]) -> str | None:
        """Why Discord refuses a modal (the MODAL callback, type 9), or None: only a command's
        or a component's interaction may answer with one; title 1-45, at most 5 rows of one
        text input each, label 1-45, placeholder 100, max_length 1-4000, a value within it."""
        with self.lock:
            kind = self._kinds.get(token)
        if kind is not None and kind not in (2, 3):
            return f"an interaction of type {kind} cannot open a modal"
        if not 1 <= len(str(data.get("title") or "")) <= 45:
            return "title must be 1-45 characters"
        if not 1 <= len(str(data.get("custom_id") or "")) <= 100:
            return "custom_id must be 1-100 characters"
        rows = data.get("components") or []
        if not 1 <= len(rows) <= 5:
            return f"{len(rows)} components; a modal holds 1-5"
        for row in rows:
            items = row.get("components") or []
            if row.get("type") != 1 or len(items) != 1 or items[0].get("type") != 4:
                return "each row holds one text input"
            ti = items[0]
            longest = int(ti.get("max_length", 4000))
            if not 1 <= len(str(ti.get("label") or "")) <= 45:
                return f"label {ti.get('label')!r} must be 1-45 characters"
            if ti.get("style") not in (1, 2) or not 1 <= len(str(ti.get("custom_id") or "")) <= 100:
                return "a text input's style or custom_id"
            if not 1 <= longest <= 4000 or not 0 <= int(ti.get("min_length", 0)) <= 4000:
                return "max_length must be 1-4000"
            if len(str(ti.get("placeholder") or "")) > 100:
                return "placeholder over 100 characters"
            if len(str(ti.get("value") or "")) > longest:
                return f"value of {ti['custom_id']!r} is longer than its max_length"
        return None


COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _bad_commands(cmds: list[dict[str, Any]], *, guild: bool) -> str | None:
    """What Discord refuses in a bulk overwrite (PLATFORM_LIMITS.md, commands and installs)."""
    if len(cmds) > 100:
        return "too many commands"
    menus = [c for c in cmds if c.get("type", 1) in (2, 3)]
    for kind in (2, 3):
        if sum(1 for c in menus if c.get("type") == kind) > 5:
            return "more than 5 context-menu commands of one type"
    for c in cmds:
        if c.get("type", 1) in (2, 3):
            # A context menu's name is shown as is (spaces, capitals), with no description.
            if not 1 <= len(c["name"]) <= 32 or c.get("description") or c.get("options"):
                return f"bad context menu {c['name']!r}"
            continue
        if not COMMAND_NAME.match(c["name"]) or c["name"] != c["name"].lower():
            return f"bad name {c['name']!r}"
        if not 1 <= len(c.get("description", "")) <= 100:
            return f"{c['name']}: bad description"
        if not set(c.get("integration_types") or [0]) <= {0, 1}:
            return f"{c['name']}: bad integration_types"
        if not set(c.get("contexts") or [0]) <= {0, 1, 2}:
            return f"{c['name']}: bad contexts"
        perms = c.get("default_member_permissions")
        if perms is not None and not (isinstance(perms, str) and perms.isdigit()):
            return f"{c['name']}: default_member_permissions must be a string bit set"
        stack = list(c.get("options", []))
        while stack:
            o = stack.pop()
            stack.extend(o.get("options", []))
            if len(o.get("choices") or []) > 25:
                return f"{c['name']}: more than 25 choices"
            if "max_length" in o and not 1 <= o["max_length"] <= 6000:
                return f"{c['name']}: bad max_length"
    return None


def _invalid(field: str, why: str) -> dict[str, Any]:
    """Discord's 400 for a body that fails validation (50035 Invalid Form Body)."""
    errors = {field: {"_errors": [{"code": "BASE_TYPE_BAD_VALUE", "message": why}]}}
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def _too_many(retry_after: float, is_global: bool, scope: str) -> tuple[int, Any, dict[str, str]]:
    """Discord's 429: seconds in the body (float) and in Retry-After (whole), from its own
    limiter (a Via header; without one discord.py takes it for Cloudflare's)."""
    retry_after = max(0.0, round(retry_after, 3))
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": "global" if is_global else scope,
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return 429, body, headers


def dm_channel_id(user_id: int) -> int:
    return user_id + 7  # stable, so tests can predict where a member's DMs go


def _app_info() -> dict[str, Any]:
    return {
        "id": str(APP_ID),
        "name": "Cohortbot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_payload(1, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
    }


# Discord's message limits (PLATFORM_LIMITS.md): embeds, and the classic components.
EMBED_LIMITS = {"title": 256, "description": 4096, "footer": 2048, "author": 256}
FIELDS_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX = 25, 256, 1024
EMBEDS_MAX, EMBED_TOTAL_MAX, CONTENT_MAX = 10, 6000, 2000
ROWS_MAX, ROW_BUTTONS_MAX, LABEL_MAX, CUSTOM_ID_MAX = 5, 5, 80, 100
COMPONENTS_V2 = 1 << 15


def _carries_message(req: Request) -> bool:
    """A request that creates or edits a message: a channel post, an interaction's message
    response (4) or update (7), a follow-up, an edit of one."""
    m, p = req.method, req.path
    if m == "POST" and re.fullmatch(r"/interactions/\d+/[^/]+/callback", p):
        return isinstance(req.json, dict) and req.json.get("type") in (4, 7)
    return bool(
        (m == "POST" and re.fullmatch(r"/channels/\d+/messages|/webhooks/\d+/[^/]+", p))
        or (m == "PATCH" and re.fullmatch(r"/webhooks/\d+/[^/]+/messages/\S+", p))
    )


def bad_message(body: dict[str, Any]) -> str | None:
    """Why Discord would answer 400 (50035 Invalid Form Body) to this message, or None."""
    if len(body.get("content") or "") > CONTENT_MAX:
        return f"content over {CONTENT_MAX}"
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        return f"{len(embeds)} embeds"
    total = 0
    for e in embeds:
        parts = {
            "title": e.get("title") or "",
            "description": e.get("description") or "",
            "footer": (e.get("footer") or {}).get("text") or "",
            "author": (e.get("author") or {}).get("name") or "",
        }
        for key, text in parts.items():
            if len(text) > EMBED_LIMITS[key]:
                return f"embed {key} is {len(text)} characters; the limit is {EMBED_LIMITS[key]}"
        fields = e.get("fields") or []
        if len(fields) > FIELDS_MAX:
            return f"{len(fields)} embed fields; the limit is {FIELDS_MAX}"
        for f in fields:
            if not f.get("name") or len(f["name"]) > FIELD_NAME_MAX:
                return f"embed field name of {len(f.get('name') or '')} characters"
            if not f.get("value") or len(f["value"]) > FIELD_VALUE_MAX:
                return f"embed field value of {len(f.get('value') or '')} characters"
        total += sum(len(t) for t in parts.values())
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > EMBED_TOTAL_MAX:
        return f"{total} characters in embeds; the limit is {EMBED_TOTAL_MAX}"
    if int(body.get("flags") or 0) & COMPONENTS_V2:
        return None  # another layout, with its own limits; the bot sends none
    rows = body.get("components") or []
    if len(rows) > ROWS_MAX:
        return f"{len(rows)} action rows; the limit is {ROWS_MAX}"
    ids: list[str] = []
    for row in rows:
        items = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(items) <= ROW_BUTTONS_MAX:
            return f"an action row of {len(items)} components"
        for item in items:
            if len(item.get("label") or "") > LABEL_MAX:
                return f"a button label of {len(item['label'])} characters"
            if "custom_id" in item:
                if not 1 <= len(item["custom_id"]) <= CUSTOM_ID_MAX:
                    return f"a custom_id of {len(item['custom_id'])} characters"
                ids.append(item["custom_id"])
    if len(set(ids)) != len(ids):
        return "a custom_id appears twice in one message"
    return None


def _message_object(
    channel_id: int, author: dict[str, Any], content: str, **fields: Any
) -> dict[str, Any]:
    """Discord's message object: what every message carries, with `fields` over it."""
    return {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "type": 0,
        "content": content,
        "author": author,
        "attachments": [],
        "embeds": [],
        "components": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": TS,
        "edited_timestamp": None,
        "flags": 0,
        **fields,
    }


def _message(channel_id: int, req: Request) -> dict[str, Any]:
    body = req.message
    return _message_object(
        channel_id or 1,
        {**user_payload(BOT_ID, "cohortbot"), "bot": True},
        body.get("content") or "",
        attachments=[
            {
                "id": str(snowflake()),
                "filename": f["filename"],
                "size": len(f["data"]),
                "url": f"https://cdn.invalid/{f['filename']}",
                "proxy_url": f"https://cdn.invalid/{f['filename']}",
            }
            for f in req.files
        ],
        embeds=body.get("embeds") or [],
        components=body.get("components") or [],
        flags=body.get("flags") or 0,
        **({"nonce": body["nonce"]} if body.get("nonce") is not None else {}),
    )


def _multipart(ctype: str, raw: bytes) -> tuple[Any, list[dict[str, Any]]]:
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
    payload: Any = None
    files: list[dict[str, Any]] = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        if name == "payload_json":
            payload = json.loads(data)
        else:
            files.append(
                {
                    "field": name,
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "data": data,
                }
            )
    return payload, files


@contextmanager
def discord_at(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST client (and interaction webhooks) at the fake."""
    old = discord.http.Route.BASE
    discord.http.Route.BASE = fake.base
    try:
        yield
    finally:
        discord.http.Route.BASE = old


# -- interaction payloads, as the gateway delivers them ----------------------------------------


@dataclass(frozen=True)
class Person:
    uid: int
    name: str
    admin: bool = False

    def member(self) -> dict[str, Any]:
        perms = (1 << 5) if self.admin else (1 << 11)  # MANAGE_GUILD vs SEND_MESSAGES
        return {
            "user": user_payload(self.uid, self.name),
            "roles": [],
            "joined_at": TS,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(perms),
        }


# The interaction's context (Discord's InteractionContextType).
GUILD_CONTEXT, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2
# What the bot may do in a channel: VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES.
APP_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15)


def _base(
    itype: int,
    person: Person,
    guild_id: int | None,
    channel_id: int,
    *,
    context: int | None = None,
    user_install: bool = False,
    app_permissions: int | None = None,
) -> dict[str, Any]:
    """`user_install`: the member installed the app for themselves and uses it where the
    server never added it (a server: the guild's id is not among the owners)."""
    iid = snowflake()
    data: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(APP_ID),
        "type": itype,
        "token": f"tok{iid}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 10 * 1024 * 1024,
        "entitlements": [],
        "authorizing_integration_owners": (
            {"1": str(person.uid)} if user_install else {"0": str(guild_id or person.uid)}
        ),
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        data["guild_locale"] = "en-US"
        data["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
        data["channel_id"] = str(channel_id)
        data["channel"] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "cohort",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }
        data["member"] = person.member()
        perms = APP_PERMISSIONS if app_permissions is None else app_permissions
        data["app_permissions"] = str(perms)
        data["context"] = GUILD_CONTEXT
    else:
        data["channel_id"] = str(channel_id)
        data["channel"] = {
            "id": str(channel_id),
            "type": 1,
            "recipients": [user_payload(person.uid, person.name)],
        }
        data["user"] = user_payload(person.uid, person.name)
        data["context"] = BOT_DM
        if context == PRIVATE_CHANNEL:  # a group DM or another DM: the bot is no member there
            data["channel"] = {"id": str(channel_id), "type": 3, "recipients": []}
            data["context"] = PRIVATE_CHANNEL
    return data


OPTION_TYPES = {"word": 3, "text": 3, "choice": 3, "int": 4}


def slash(
    person: Person,
    command: str,
    sub: str | None = None,
    options: dict[str, Any] | None = None,
    *,
    types: dict[str, int] | None = None,
    guild_id: int | None = 555,
    channel_id: int = 777,
    focused: str | None = None,
    context: int | None = None,
    user_install: bool = False,
    app_permissions: int | None = None,
) -> dict[str, Any]:
    """An APPLICATION_COMMAND (or, with `focused`, an AUTOCOMPLETE) interaction. `command` and
    `sub` are the core's: an organizer sub-command goes out under its Discord name, as the
    Discord client would send it (`/cohort setup` is `/cohort-admin setup` there)."""
    command, sub = discord_path(command, sub)
    opts = [
        {
            "name": k,
            "type": (types or {}).get(k, 4 if isinstance(v, int) else 3),
            "value": v,
            **({"focused": True} if k == focused else {}),
        }
        for k, v in (options or {}).items()
    ]
    if sub is not None:
        opts = [{"name": sub, "type": 1, "options": opts}]
    payload = _base(
        4 if focused else 2,
        person,
        guild_id,
        channel_id,
        context=context,
        user_install=user_install,
        app_permissions=app_permissions,
    )
    payload["data"] = {
        "id": str(snowflake()),
        "name": command,
        "type": 1,
        "options": opts,
        **({"guild_id": str(guild_id)} if guild_id else {}),
    }
    return payload


def click(
    person: Person,
    message: dict[str, Any],
    custom_id: str,
    *,
    guild_id: int | None = 555,
    channel_id: int = 777,
) -> dict[str, Any]:
    """A MESSAGE_COMPONENT interaction: a button on `message` (a message object) pressed."""
    payload = _base(3, person, guild_id, channel_id)
    payload["message"] = message
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    return payload


def submit(
    person: Person,
    custom_id: str,
    values: dict[str, str],
    *,
    guild_id: int | None = 555,
    channel_id: int = 777,
) -> dict[str, Any]:
    """A MODAL_SUBMIT interaction with the text inputs' values by custom_id."""
    payload = _base(5, person, guild_id, channel_id)
    payload["data"] = {
        "custom_id": custom_id,
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ],
    }
    return payload


def message_command(
    person: Person,
    message: dict[str, Any],
    name: str = "Add to my pipeline",
    *,
    guild_id: int | None = 555,
    channel_id: int = 777,
    context: int | None = None,
    user_install: bool = False,
) -> dict[str, Any]:
    """An APPLICATION_COMMAND interaction from a message's context menu (command type 3): the
    message it was used on comes whole in `data.resolved.messages`, its id as `target_id`."""
    payload = _base(2, person, guild_id, channel_id, context=context, user_install=user_install)
    payload["data"] = {
        "id": str(snowflake()),
        "name": name,
        "type": 3,
        "target_id": str(message["id"]),
        "resolved": {"messages": {str(message["id"]): message}},
        **({"guild_id": str(guild_id)} if guild_id else {}),
    }
    return payload


def posted(author: Person, content: str, channel_id: int = 777, **extra: Any) -> dict[str, Any]:
    """A message someone posted (not the bot), as Discord's message object carries it."""
    return _message_object(channel_id, user_payload(author.uid, author.name), content, **extra)


def bounded(fn: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def message_from(req: Request, channel_id: int = 777) -> dict[str, Any]:
    """The message object Discord would hold for what this request posted (for later clicks)."""
    return _message(channel_id, req)


# -- a running client, fed interactions as the gateway would -----------------------------------


class Bot:
    """One running client (REST only: interactions are fed as the gateway would)."""

    def __init__(
        self, app: App, fake: FakeDiscord, defer_after: float = 2.0, **adapter: Any
    ) -> None:
        self.fake = fake
        self.runner = DiscordRunner(DiscordAdapter(app, defer_after=defer_after, **adapter))
        self.runner.start("test-token", connect=False, wait=10)

    @property
    def adapter(self) -> DiscordAdapter:
        return self.runner.adapter

    def feed(self, payload: dict[str, Any]) -> None:
        """Dispatch one interaction as Discord does: its answer windows start now."""
        self.fake.open_interaction(payload)
        self.runner.feed(payload)

    def send(self, payload: dict[str, Any], timeout: float = 15.0) -> list[Request]:
        """Feed one interaction and return every request it caused, once fully answered."""
        start = len(self.fake.requests)
        self.feed(payload)
        assert self.adapter.wait_finished(int(payload["id"]), timeout), "not answered in time"
        with self.fake.lock:
            return self.fake.requests[start:]

    def stop(self) -> None:
        self.runner.stop()


def callback_of(reqs: list[Request]) -> Request:
    """The one interaction callback among `reqs` (an interaction is answered exactly once)."""
    [cb] = [r for r in reqs if r.path.endswith("/callback")]
    return cb


def sends(reqs: list[Request]) -> list[Request]:
    """Requests that carry a message (callbacks with data, follow-ups, edits, REST posts)."""
    return [r for r in reqs if r.method in ("POST", "PATCH") and r.message.get("embeds")]


def text_of(req: Request) -> str:
    return "\n".join(e.get("description", "") for e in req.message.get("embeds", []))
