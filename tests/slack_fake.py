"""A local fake of Slack's Web API (and of response_url and the file upload host): a real
HTTP server on 127.0.0.1 that records every call whole, for assertions on payloads.

It enforces what Slack documents (PLATFORM_LIMITS.md): a request acknowledged after 3 s is
recorded as a failure (`late_acks`); a `response_url` takes 5 posts within 30 minutes and
answers the next with 404 `used_url` (`expired_url` after 30 minutes); posts keep their
`metadata`, which `conversations.history` returns with `include_all_metadata`; a message
whose blocks Block Kit would refuse (`invalid_blocks`) is refused, its reason kept.

Faults, like Slack's own: slow answers (`delay`), 429 + Retry-After (`rate_limit`), Slack
errors (`errors`), and one-shot `faults` per method, taken in order: "500", "503html" (an
HTML 503 page from the load balancer), "429", "reset" (the connection drops before Slack
reads the request: nothing posted), "lost" (Slack accepts and records the message, then the
connection drops before the answer) and "hang" (accepted, the answer comes after
`hang_seconds`)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block


@dataclass
class Call:
    method: str  # "chat.postMessage", "respond", "upload"
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    status: int
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body.get("__ok__", True)

    def text(self) -> str:
        """Everything a human could read in this call, for 'never appears' checks."""
        return self.raw.decode("utf-8", errors="replace")


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    delay: float = 0.0  # seconds before every answer
    delays: dict[str, float] = field(default_factory=dict)  # method -> seconds, on top
    rate_limit: dict[str, int] = field(default_factory=dict)  # method -> 429s still to give
    retry_after: int = 1
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack error to answer
    calls: list[Call] = field(default_factory=list)
    # method ("chat.postMessage", "respond", ...) -> faults still to give, first first
    faults: dict[str, list[str]] = field(default_factory=dict)
    hang_seconds: float = 5.0
    response_url_uses: int = 5  # Slack's limit per response_url ...
    response_url_ttl: float = 1800.0  # ... within 30 minutes
    missing_scopes: set[str] = field(default_factory=set)  # e.g. {"im:history"}
    history_per_minute: int | None = None  # 1 for apps outside the Marketplace
    # Seconds added to the fake's clock for its windows (history per minute, response_url
    # age): tests that move the bot's clock on move Slack's with it.
    skew: float = 0.0
    acks: list[Ack] = field(default_factory=list)
    # Slack's "about 1 message per second per channel": a chat.postMessage to a channel
    # sooner than this after the last one gets 429 + Retry-After 1 (0: not enforced).
    channel_interval: float = 0.0
    # A trigger_id opens a view within 3 s of its request ("expired_trigger_id" after).
    trigger_ttl: float = 3.0
    # Why each message Slack would have refused for its blocks was refused (invalid_blocks).
    refused_blocks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll: shutdown() waits for the loop to look (0.5 s a test by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._url_uses: dict[str, list[float]] = {}  # response_url -> when each use came
        self._history: dict[str, list[dict[str, Any]]] = {}  # channel -> posted messages
        self._history_calls: list[float] = []
        self._last_post: dict[str, float] = {}  # channel -> when its last post was taken
        self._triggers_used: set[str] = set()
        self._triggers_made: dict[str, float] = {}  # trigger_id -> when its request was sent
        self.refused_views: list[str] = []  # why each refused views.open was refused
        # Group DMs (mpims) opened by conversations.open with several users: their members
        # (the bot's own user is in each, implicitly) -> the conversation's id, and back.
        self._mpims: dict[frozenset[str], str] = {}
        self.mpim_members: dict[str, frozenset[str]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/respond/{name}"

    # -- assertions -----------------------------------------------------------------------

    def delivered(self, method: str | None = None) -> list[Call]:
        """Calls that Slack would have accepted (answered 200 and ok)."""
        with self._lock:
            return [c for c in self.calls if c.ok and (method is None or c.method == method)]

    def all(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]

    def messages(self) -> list[Call]:
        """Every delivered message, whatever the route."""
        routes = {"chat.postMessage", "chat.postEphemeral", "chat.update", "respond"}
        return [c for c in self.delivered() if c.method in routes]

    def wait_for(
        self, check: Callable[[], bool], timeout: float = 20.0, what: str = "a delivery"
    ) -> None:
        """Bounded polling for deliveries made by background threads."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if check():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; calls: {self.calls}")

    def late_acks(self) -> list[Ack]:
        """Requests Slack would have shown the member as failed: acknowledged after 3 s."""
        with self._lock:
            return [a for a in self.acks if a.seconds > ACK_WINDOW]

    def fault(self, method: str, *kinds: str) -> None:
        """Queue one-shot faults for the next calls of `method`."""
        with self._lock:
            self.faults.setdefault(method, []).extend(kinds)

    def _next_fault(self, method: str) -> str | None:
        with self._lock:
            queue = self.faults.get(method)
            return queue.pop(0) if queue else None

    def wait_messages(self, n: int, timeout: float = 20.0) -> list[Call]:
        self.wait_for(lambda: len(self.messages()) >= n, timeout, f"{n} message(s)")
        return self.messages()

    # -- answering ------------------------------------------------------------------------

    def answer(
        self, method: str, body: dict[str, Any], token: str = ""
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method in MESSAGE_METHODS and (why := invalid_blocks(body)):
            with self._lock:
                self.refused_blocks.append(why)
            return 200, {"ok": False, "error": "invalid_blocks", "errors": [why]}, {}
        with self._lock:
            left = self.rate_limit.get(method, 0)
            if left > 0:
                self.rate_limit[method] = left - 1
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(self.retry_after)},
                )
            error = self.errors.get(method)
        if error:
            return 200, {"ok": False, "error": error}, {}
        if method == "chat.postMessage" and self.channel_interval:
            now, channel = time.monotonic(), str(body.get("channel", ""))
            with self._lock:
                last = self._last_post.get(channel)
                if last is not None and now - last < self.channel_interval:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
                self._last_post[channel] = now
        n = next(self._ids)
        out: dict[str, Any]
        ts = f"1700000000.{n:06d}"
        match method:
            case "auth.test":
                team = team_of_token(token) or "T1"
                out = {"team_id": team, "user_id": f"UBOT{team}", "bot_id": f"B{team}"}
            case "oauth.v2.access":
                # The code names the workspace being installed: "code-T2" installs T2.
                code = str(body.get("code", ""))
                if not code.startswith("code-"):
                    return 200, {"ok": False, "error": "invalid_code"}, {}
                team = code.removeprefix("code-")
                out = {
                    "app_id": "A1",
                    "authed_user": {"id": str(body.get("installer", "UINSTALLER"))},
                    "scope": (
                        "commands,chat:write,im:write,im:history,users:read,files:write,mpim:write"
                    ),
                    "token_type": "bot",
                    "access_token": token_for(team),
                    "bot_user_id": f"UBOT{team}",
                    "team": {"id": team, "name": f"Workspace {team}"},
                    "enterprise": None,
                    "is_enterprise_install": False,
                }
            case "users.info":
                uid = str(body.get("user", ""))
                user = {"id": uid, "name": uid.lower(), "tz": "America/New_York"}
                user.update(self.users.get(uid, {}))
                out = {"user": user}
            case "conversations.open":
                return self._open(body)
            case "chat.postMessage" | "chat.update":
                channel = str(body.get("channel", ""))
                if channel.startswith("G") and channel not in self.mpim_members:
                    return 200, {"ok": False, "error": "channel_not_found"}, {}
                out = {"channel": body.get("channel"), "ts": ts}
                if method == "chat.postMessage":
                    self._remember(body, ts)
            case "conversations.history":
                return self._history_answer(body)
            case "chat.postEphemeral":
                out = {"message_ts": ts}
            case "views.open":
                refused = self._open_refused(body)
                if refused:
                    return 200, {"ok": False, "error": refused}, {}
                out = {"view": {"id": f"V{n}"}}
            case "views.publish":
                out = {"view": {"id": f"V{n}"}}
            case "files.getUploadURLExternal":
                out = {"upload_url": f"{self.base}/upload/F{n}", "file_id": f"F{n}"}
            case "files.completeUploadExternal":
                files = body.get("files")
                files = json.loads(files) if isinstance(files, str) else files or []
                out = {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}
            case _:
                return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, {"ok": True, **out}, {}

    def _open(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """conversations.open as documented: `users` is 1 to 8 ids, comma-separated; one opens
        (or returns) the DM, several the group DM of exactly them and the app (scope
        mpim:write), the same conversation each time for the same people."""
        users = [u.strip() for u in str(body.get("users", "")).split(",") if u.strip()]
        if body.get("channel") and users:
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        if not users:
            return 200, {"ok": False, "error": "users_list_not_supplied"}, {}
        if len(users) > 8:
            return 200, {"ok": False, "error": "too_many_users"}, {}
        if any(not re.fullmatch(r"[UW][A-Z0-9-]+", u) for u in users):
            return 200, {"ok": False, "error": "user_not_found"}, {}
        if len(users) == 1:
            return 200, {"ok": True, "channel": {"id": "D" + users[0]}}, {}
        if "mpim:write" in self.missing_scopes:
            return 200, {"ok": False, "error": "missing_scope", "needed": "mpim:write"}, {}
        who = frozenset(users)
        with self._lock:
            known = self._mpims.get(who)
            if known is None:
                known = self._mpims[who] = f"G{next(self._ids):08d}"
                self.mpim_members[known] = who
        channel = {"id": known, "is_mpim": True, "is_im": False, "is_private": True}
        return 200, {"ok": True, "channel": channel}, {}

    def _open_refused(self, body: dict[str, Any]) -> str | None:
        """What Slack answers a views.open it refuses: a trigger_id is needed, and each opens
        one view (`exchanged_trigger_id` after); the view must be valid Block Kit."""
        trigger = str(body.get("trigger_id") or "")
        if not trigger:
            return "invalid_trigger_id"
        with self._lock:
            if trigger in self._triggers_used:
                return "exchanged_trigger_id"
            made = self._triggers_made.get(trigger)
            if made is not None and time.monotonic() - made > self.trigger_ttl:
                return "expired_trigger_id"
            self._triggers_used.add(trigger)
        view = body.get("view")
        problem = view_problem(view) if isinstance(view, dict) else "no view"
        if problem:
            self.refused_views.append(problem)
            return "invalid_arguments"
        return None

    def _remember(self, body: dict[str, Any], ts: str) -> None:
        meta = body.get("metadata")
        if isinstance(meta, str):
            meta = json.loads(meta) if meta else None
        msg = {"type": "message", "ts": ts, "text": body.get("text", ""), "bot_id": "B1"}
        if meta:
            msg["metadata"] = meta
        with self._lock:
            self._history.setdefault(str(body.get("channel", "")), []).append(msg)

    def _history_answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        channel = str(body.get("channel", ""))
        needed = {"C": "channels:history", "G": "groups:history", "D": "im:history"}.get(
            channel[:1], "channels:history"
        )
        if channel in self.mpim_members:
            needed = "mpim:history"
        if needed in self.missing_scopes:
            return 200, {"ok": False, "error": "missing_scope", "needed": needed}, {}
        now = time.monotonic() + self.skew
        with self._lock:
            if self.history_per_minute is not None:
                self._history_calls = [t for t in self._history_calls if t > now - 60]
                if len(self._history_calls) >= self.history_per_minute:
                    wait = int(61 - (now - self._history_calls[0]))
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
                self._history_calls.append(now)
            kept = list(self._history.get(channel, []))
        oldest = float(body.get("oldest") or 0)
        limit = int(body.get("limit") or 100)
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [dict(m) for m in reversed(kept) if float(m["ts"]) > oldest][:limit]
        if not with_meta:
            for m in found:
                m.pop("metadata", None)
        return 200, {"ok": True, "messages": found, "has_more": False}, {}

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """What conversations.history would show for `channel`, oldest first."""
        with self._lock:
            return list(self._history.get(channel, []))

    def use_response_url(self, url: str) -> str | None:
        """Count one post to a response_url; the error Slack gives when it is used up."""
        now = time.monotonic() + self.skew
        with self._lock:
            uses = self._url_uses.setdefault(url, [])
            if uses and now - uses[0] > self.response_url_ttl:
                return "expired_url"
            if len(uses) >= self.response_url_uses:
                return "used_url"
            uses.append(now)
            return None


ACK_WINDOW = 3.0  # seconds Slack waits for the HTTP answer to a command, click or event

# The input elements a modal's input block holds (Block Kit reference), and what each puts in
# a view_submission's state.values.
INPUT_ELEMENTS = {
    "plain_text_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def view_problem(view: dict[str, Any]) -> str | None:
    """Why Slack would refuse this modal view, or None: slack_sdk's own models and limits
    (View, its blocks and elements, validated whole by to_dict), and what they leave out."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError) as exc:
        return f"slack_sdk: {exc}"
    if view.get("type") != "modal" or len(view.get("blocks") or []) > 100:
        return "a modal of at most 100 blocks"
    block_ids: set[str] = set()
    for block in view.get("blocks") or []:
        bid = block.get("block_id")
        if bid is not None:
            if bid in block_ids or len(bid) > 255:
                return f"block_id {bid!r} repeated or too long"
            block_ids.add(bid)
        if block.get("type") != "input":
            continue
        el = block.get("element") or {}
        kind = el.get("type")
        if kind not in INPUT_ELEMENTS:
            return f"input element {kind!r}"
        if len(str(el.get("action_id") or "")) > 255:
            return "action_id too long"
        if kind == "plain_text_input":
            longest = int(el.get("max_length") or 3000)
            if not 1 <= longest <= 3000 or len(str(el.get("initial_value") or "")) > longest:
                return "plain_text_input max_length or initial_value"
        if kind == "datepicker" and "initial_date" in el:
            try:
                datetime.strptime(str(el["initial_date"]), "%Y-%m-%d")
            except ValueError:
                return f"initial_date {el['initial_date']!r}"
        if kind == "timepicker":
            if "initial_time" in el and not re.fullmatch(
                r"(?:[01]\d|2[0-3]):[0-5]\d", str(el["initial_time"])
            ):
                return f"initial_time {el['initial_time']!r}"
            if "timezone" in el:
                try:
                    ZoneInfo(str(el["timezone"]))
                except (ZoneInfoNotFoundError, ValueError):
                    return f"timezone {el['timezone']!r}"
        if kind == "datetimepicker":
            if "placeholder" in el:
                return "a datetimepicker has no placeholder"
            initial = el.get("initial_date_time")
            if initial is not None and not (isinstance(initial, int) and len(str(initial)) == 10):
                return f"initial_date_time {initial!r}: UNIX seconds, 10 digits"
    return None


MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update"}
BLOCKS_PER_MESSAGE = 50


def invalid_blocks(body: dict[str, Any]) -> str | None:
    """Why Slack would refuse a message's blocks (invalid_blocks), or None: at most 50 blocks,
    each within Block Kit's limits as slack_sdk's models read them (section text 3,000, ten
    fields of 2,000, header 150, button text 75 and value 2,000, 25 elements to an actions
    block ...), and no action_id twice in one message."""
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks) if blocks else None
    if not blocks:
        return None
    if len(blocks) > BLOCKS_PER_MESSAGE:
        return f"{len(blocks)} blocks; a message holds {BLOCKS_PER_MESSAGE}"
    action_ids: list[str] = []
    for i, b in enumerate(blocks):
        try:
            parsed = Block.parse(b)
            if parsed is None:
                return f"block {i}: unknown type {b.get('type')!r}"
            parsed.validate_json()
        except (SlackObjectFormationError, KeyError, TypeError) as exc:
            return f"block {i}: {exc}"
        for el in [*(b.get("elements") or []), b.get("accessory") or {}]:
            if isinstance(el, dict) and el.get("action_id"):
                action_ids.append(str(el["action_id"]))
    if len(set(action_ids)) != len(action_ids):
        return "an action_id appears twice in one message"
    return None


@dataclass
class Ack:
    kind: str  # "command", "click", "view", "event"
    status: int
    seconds: float


def token_for(team: str) -> str:
    """The bot token the fake hands out when `team` installs the app."""
    return f"xoxb-{team}-fake"


def team_of_token(token: str) -> str | None:
    parts = token.split("-")
    return parts[1] if len(parts) == 3 and parts[0] == "xoxb" and parts[2] == "fake" else None


def _parse(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    if "json" in content_type and raw:
        body.update(json.loads(raw))
    elif "form" in content_type and raw:
        body.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
    for key in ("blocks", "view", "files"):
        if isinstance(body.get(key), str) and body[key][:1] in "[{":
            body[key] = json.loads(body[key])
    return body


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ctype = self.headers.get("Content-Type", "")
            if parts.path.startswith("/api/"):
                method = parts.path.removeprefix("/api/")
                body = _parse(raw, ctype, parts.query)
            elif parts.path.startswith("/respond/"):
                method, body = "respond", _parse(raw, "json", "")
            elif parts.path.startswith("/upload/"):
                method, body = "upload", {"file_id": parts.path.rsplit("/", 1)[-1]}
            else:
                method, body = "unknown", {}
            wait = fake.delay + fake.delays.get(method, 0.0)
            if wait:
                time.sleep(wait)
            fault = fake._next_fault(method)
            if fault == "reset":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            after: str | None = None  # what happens once the call is accepted
            status: int
            answer: dict[str, Any]
            headers: dict[str, str]
            if fault in ("lost", "hang"):
                after, fault = fault, None
            ctype_out = "application/json; charset=utf-8"
            if fault == "500":
                status, answer, headers = 500, {"ok": False}, {}
                payload = b'{"ok":false,"error":"internal_error"}'
            elif fault == "503html":
                status, answer, headers = 503, {"ok": False}, {}
                payload = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                ctype_out = "text/html"
            elif fault == "429":
                status, answer = 429, {"ok": False, "error": "ratelimited"}
                headers = {"Retry-After": str(fake.retry_after)}
                payload = json.dumps(answer).encode()
            elif method == "respond":
                with fake._lock:
                    left = fake.rate_limit.get("respond", 0)
                    fake.rate_limit["respond"] = max(0, left - 1)
                refused = None if left else fake.use_response_url(self.path)
                bad = None if left or refused else invalid_blocks(body)
                if bad:
                    # As Slack's webhooks answer a message they cannot show: 400, the error.
                    with fake._lock:
                        fake.refused_blocks.append(bad)
                    status, answer, headers = 400, {"ok": False}, {}
                    payload, ctype_out = b"invalid_blocks", "text/plain"
                elif left:
                    status, answer = 429, {"ok": False}
                    headers = {"Retry-After": str(fake.retry_after)}
                    payload = b"rate_limited"
                elif refused:
                    status, answer, headers, payload = 404, {"ok": False}, {}, refused.encode()
                    ctype_out = "text/plain"
                else:
                    status, answer, headers, payload = 200, {"ok": True}, {}, b"ok"
            elif method == "upload":
                status, answer, headers = 200, {"ok": True}, {}
                payload = f"OK - {len(raw)}".encode()
            else:
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") or str(body.get("token", ""))
                status, answer, headers = fake.answer(method, body, token)
                payload = json.dumps(answer).encode()
            body["__ok__"] = bool(answer.get("ok"))
            call = Call(method, parts.path, dict(self.headers), body, raw, status, time.monotonic())
            with fake._lock:
                fake.calls.append(call)
            if after == "lost":
                # Accepted, then the connection drops: the client never learns it worked.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if after == "hang":
                time.sleep(fake.hang_seconds)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", ctype_out)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = _serve
        do_GET = _serve

    return Handler


# -- the Slack side of a request: signed, over real HTTP -------------------------------------


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    seconds: float


def post(
    url: str,
    body: str,
    *,
    secret: str | None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    signature: str | None = None,
) -> Answer:
    """POST like Slack does: signed with the signing secret unless told otherwise."""
    ts = int(time.time()) if timestamp is None else timestamp
    h = {"Content-Type": content_type, **(headers or {})}
    if secret is not None:
        h["X-Slack-Request-Timestamp"] = str(ts)
        h["X-Slack-Signature"] = signature or sign(secret, body, ts)
    req = urllib.request.Request(url, data=body.encode(), headers=h, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Answer(
                resp.status,
                resp.read().decode(),
                dict(resp.headers),
                time.perf_counter() - started,
            )
    except urllib.error.HTTPError as exc:
        return Answer(
            exc.code, exc.read().decode(), dict(exc.headers), time.perf_counter() - started
        )


# -- a running Bolt app behind the real HTTP server, talking to the fake ----------------------

SECRET = "signing-secret-for-tests"
TEAM = "T1"


@dataclass
class SlackRig:
    """The served Slack app (Runtime + Bolt) and the fake Web API it calls."""

    fake: FakeSlack
    runtime: Any  # adapters.serve.Runtime
    bot: Any  # adapters.slack.SlackBot
    team: str = TEAM  # the workspace this rig's requests come from
    _triggers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _urls: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def as_team(self, team: str) -> SlackRig:
        """The same served app and fake, with requests from another workspace."""
        return SlackRig(self.fake, self.runtime, self.bot, team, _urls=self._urls)

    @property
    def url(self) -> str:
        return f"{self.runtime.url}/slack/events"

    def trigger(self) -> str:
        n = next(self._triggers)
        made = f"trig-{n}" if self.team == TEAM else f"trig-{self.team}-{n}"
        with self.fake._lock:
            self.fake._triggers_made[made] = time.monotonic()
        return made

    def _where(self, name: str) -> str:
        return name if self.team == TEAM else f"{self.team}-{name}"

    def command(
        self,
        line: str,
        user: str = "U1",
        channel: str = "C1",
        *,
        name: str = "",
        trigger_id: str | None = None,
        headers: dict[str, str] | None = None,
        secret: str | None = SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Answer:
        """A slash command as Slack sends it (text HTML-escaped, form-encoded, signed)."""
        from urllib.parse import urlencode

        head, _, text = line.strip().partition(" ")
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = urlencode(
            {
                "token": "legacy-ignored",
                "team_id": self.team,
                "team_domain": "cohort",
                "channel_id": channel,
                "channel_name": "directmessage" if channel.startswith("D") else "cohort",
                "user_id": user,
                "user_name": name or user.lower(),
                "command": head,
                "text": escaped,
                "api_app_id": "A1",
                "response_url": self._response_url(f"{user}-{channel}"),
                "trigger_id": trigger_id or self.trigger(),
            }
        )
        ans = post(
            self.url,
            body,
            secret=secret,
            timestamp=timestamp,
            headers=headers,
            signature=signature,
        )
        return self._acked("command", ans)

    def _response_url(self, name: str) -> str:
        # A fresh URL per request, as Slack gives; the query keeps `Call.path` readable.
        return f"{self.fake.response_url(self._where(name))}?r={next(self._urls)}"

    def _acked(self, kind: str, ans: Answer) -> Answer:
        with self.fake._lock:
            self.fake.acks.append(Ack(kind, ans.status, ans.seconds))
        return ans

    def click(
        self,
        value: str,
        user: str = "U1",
        channel: str = "C1",
        *,
        response_url: bool = True,
        message_ts: str = "1700000000.000001",
        message: dict[str, Any] | None = None,
    ) -> Answer:
        """A button press (block_actions), as Slack posts it: payload=<json>. `message` is the
        pressed message (its text and blocks), which Slack sends for a posted message and
        never for an ephemeral one."""
        payload = self._button(value, user)
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": message is None,
        }
        if message is not None:
            payload["message"] = {"type": "message", "ts": message_ts, **message}
        payload["channel"] = {"id": channel, "name": "cohort"}
        if response_url:
            payload["response_url"] = self._response_url(f"click-{user}")
        return self._post_payload(payload)

    def home_click(self, value: str, user: str = "U1") -> Answer:
        """A button pressed on the App Home tab: no channel and no response_url."""
        payload = self._button(value, user)
        payload["container"] = {"type": "view", "view_id": "VHOME"}
        payload["view"] = {"id": "VHOME", "type": "home", "team_id": self.team}
        return self._post_payload(payload)

    def _button(self, value: str, user: str) -> dict[str, Any]:
        """What every block_actions payload of one button press holds, wherever it was."""
        return {
            "type": "block_actions",
            "team": {"id": self.team, "domain": "cohort"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team},
            "api_app_id": "A1",
            "trigger_id": self.trigger(),
            "actions": [
                {
                    "type": "button",
                    "action_id": value,
                    "block_id": "b1",
                    "value": value,
                    "action_ts": "1700000001.000000",
                }
            ],
        }

    def _post_payload(self, payload: dict[str, Any]) -> Answer:
        from urllib.parse import urlencode

        ans = post(self.url, urlencode({"payload": json.dumps(payload)}), secret=SECRET)
        return self._acked(str(payload.get("type", "payload")), ans)

    def submit_view(
        self, view: dict[str, Any], values: dict[str, str | int], user: str = "U1"
    ) -> Answer:
        """A modal submitted with `values` typed or picked into its fields, as Slack puts each
        in state.values: a text input's `value`; a datepicker's `selected_date` (2026-12-05),
        a timepicker's `selected_time` (14:30) with its `timezone`, a datetimepicker's
        `selected_date_time` (UNIX seconds, an integer)."""
        elements = {
            b.get("block_id"): b.get("element") or {}
            for b in view.get("blocks") or []
            if b.get("type") == "input"
        }
        state_values: dict[str, Any] = {}
        for name, v in values.items():
            el = elements.get(name) or {"type": "plain_text_input", "action_id": "value"}
            kind = str(el.get("type"))
            key = INPUT_ELEMENTS.get(kind, "value")
            if kind == "datetimepicker":
                assert isinstance(v, int), "Slack sends a datetimepicker's value as UNIX seconds"
            entry: dict[str, Any] = {"type": kind, key: v}
            if kind == "timepicker" and el.get("timezone"):
                entry["timezone"] = el["timezone"]
            state_values[name] = {str(el.get("action_id") or "value"): entry}
        state = {"values": state_values}
        payload = {
            "type": "view_submission",
            "team": {"id": self.team, "domain": "cohort"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team},
            "api_app_id": "A1",
            "trigger_id": self.trigger(),
            "view": {**view, "id": "V1", "team_id": self.team, "state": state},
        }
        return self._post_payload(payload)

    def global_shortcut(self, callback_id: str, user: str = "U1") -> Answer:
        """A global shortcut (the composer's or search's menu), as Slack posts it: a
        `shortcut` payload with a trigger_id, and no channel, message or response_url."""
        payload = {
            "type": "shortcut",
            "token": "legacy-ignored",
            "action_ts": "1700000001.000000",
            "team": {"id": self.team, "domain": "cohort"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.trigger(),
        }
        return self._post_payload(payload)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        user: str = "U1",
        channel: str = "C1",
        *,
        trigger_id: str | None = None,
    ) -> Answer:
        """A message shortcut (a message's menu), as Slack posts it: a `message_action`
        payload with the message whole, where it is, a trigger_id and a response_url."""
        ts = str(message.get("ts") or "1700000000.000100")
        payload = {
            "type": "message_action",
            "token": "legacy-ignored",
            "action_ts": "1700000001.000000",
            "team": {"id": self.team, "domain": "cohort"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team, "name": user},
            "channel": {"id": channel, "name": "jobs"},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id or self.trigger(),
            "response_url": self._response_url(f"shortcut-{user}"),
            "message_ts": ts,
            "message": {"type": "message", "ts": ts, **message},
        }
        return self._post_payload(payload)

    def event(self, event: dict[str, Any], event_id: str = "Ev1") -> Answer:
        body = json.dumps(
            {
                "token": "legacy-ignored",
                "team_id": self.team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
            }
        )
        ans = post(self.url, body, secret=SECRET, content_type="application/json")
        return self._acked("event", ans)
