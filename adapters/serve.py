"""`cohortbot serve`: the long-running process.

One HTTP server (uvicorn, an ASGI app of our own) answers `POST /slack/events` through the
Bolt app, the OAuth pages, `GET /healthz` and `GET /metrics`; Socket Mode replaces the Slack
route when SLACK_APP_TOKEN is set. Discord runs in its own thread, and the scheduler gets one
hook, `start_scheduler`, for the outbox tick.

Why uvicorn and our own ASGI app rather than Bolt's `adapter.asgi`: that adapter calls the sync
`App.dispatch` on the event loop, so one request waiting for its `ack()` would stall every
other connection. Here the loop parses HTTP (with a listen backlog, read deadlines, a body cap
and a 400 for malformed requests); a Slack request whose ack needs nothing but the CPU (most:
`SlackBot.acks_at_once`) is dispatched right there, and one that may wait for the database
before its ack (a form, an installation lookup) on a thread of the front's own pool. Either
returns as soon as the listener acks; the work after it runs on the Slack worker pool. Bolt
stays the sync `App`.

A platform connection that ends for good (a fatal Discord gateway close such as 4004, bad
token; a revoked Socket Mode token) stops the process with one clear line and a non-zero
exit, so that an orchestrator restarts it or shows why; `/healthz` says 503 while a configured
connection is down or the database does not answer, within `HEALTH_SECONDS`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import text

from bot import metrics
from bot.app import App
from bot.config import Settings
from bot.db.session import deadline
from bot.delivery import CannotStart, DeliveryError
from bot.outbox import Dispatcher
from bot.types import Outbound

if TYPE_CHECKING:
    import uvicorn

    from adapters.slack import SlackBot
    from adapters.slack.settings import SlackSettings
    from bot.delivery import Adapter

log = logging.getLogger("cohortbot.serve")

MAX_BODY = 1_000_000  # Slack's payloads are a few KB; anything near this is not Slack
EVENTS_PATH = "/slack/events"
BACKLOG = 1024  # connections the kernel queues while every worker is busy
HEADER_SECONDS = 10.0  # a client gets this long to send its request line and headers
BODY_SECONDS = 10.0  # ... and this long for the body
KEEP_ALIVE_SECONDS = 5
HTTP_THREADS = 64  # requests dispatched at once (each returns at its ack)
HEALTH_SECONDS = 1.5  # /healthz answers within this, whatever the database does
HEALTH_DB_SECONDS = 1.0  # the database probe's own deadline
ACK_DB_SECONDS = 1.5  # the database's share of a Slack request before its ack
DOWN_GRACE_SECONDS = 15.0  # a reconnect shorter than this is not reported as an outage
# Slack's answers to apps.connections.open that no reconnect can fix.
_SOCKET_FATAL = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "not_allowed_token_type"}
)


class Runtime:
    """Everything `serve` runs; tests start it on 127.0.0.1 and a free port."""

    def __init__(
        self,
        core: App,
        settings: Settings,
        *,
        port: int | None = None,
        host: str | None = None,
        slack: SlackBot | None = None,
        slack_settings: SlackSettings | None = None,
    ) -> None:
        self.core = core
        self.settings = settings
        # Slack runs when its settings are given (serve loads them when Slack is configured),
        # or a SlackBot already built on its own (tests, benches).
        self.slack_settings = slack_settings or getattr(slack, "settings", None)
        self.host = host or settings.host
        self.port = settings.port if port is None else port
        self.stop_event = threading.Event()
        self.adapters: dict[str, Adapter] = {}
        self.slack = slack
        self.socket_mode: Any = None
        self.discord: Any = None
        self.http: uvicorn.Server | None = None
        self.fatal: str | None = None  # why the process must end, once something died
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=HTTP_THREADS, thread_name_prefix="http")
        self._probe_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        self._probe: Future[str] | None = None
        self._probe_lock = threading.Lock()
        self._down_since: dict[str, float] = {}
        self._socket_error: str | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.slack is None and self.slack_settings is not None:
            from adapters.slack import build_slack

            self.slack = build_slack(self.core, self.slack_settings)
        if self.slack is not None:
            self.adapters["slack"] = self.slack.adapter
        app_token = self.slack_settings.app_token if self.slack_settings else None
        use_socket = self.slack is not None and app_token is not None
        self._start_http(slack_http=not use_socket)
        if use_socket and app_token is not None:
            self._start_socket_mode(app_token.get_secret_value())
        if self.settings.has_discord:
            # Imported only when a Discord token is set: Slack-only deployments never load it.
            from adapters.discord.runner import start_discord

            self.discord = start_discord(self.core, self.settings)
            self.adapters["discord"] = self.discord.adapter
        self._spawn("scheduler", lambda: start_scheduler(self.core, self.adapters, self.stop_event))
        if self.socket_mode is not None or self.discord is not None:
            self._spawn("watch", self._watch)
        log.info(
            "serving",
            extra={
                "port": self.port,
                "slack": "socket" if use_socket else ("http" if self.slack else "off"),
                "discord": self.settings.has_discord,
            },
        )

    def _start_http(self, slack_http: bool) -> None:
        import uvicorn

        # Bound here, before the server thread starts: the port is known at once (tests ask
        # for port 0) and connections arriving during start-up wait in the backlog.
        sock = socket.create_server((self.host, self.port), backlog=BACKLOG)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            _Asgi(self, slack_http),
            http=_http_protocol(),
            loop="asyncio",
            lifespan="off",
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=5,
            limit_concurrency=BACKLOG,
            # Nothing reads the client's address, so X-Forwarded-* need not be parsed.
            proxy_headers=False,
            log_config=None,
            access_log=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        self.http = server
        self._spawn("http", lambda: server.run(sockets=[sock]))

    def _start_socket_mode(self, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError

        assert self.slack is not None
        handler = SocketModeHandler(self.slack.bolt, app_token)
        client = handler.client
        issue = client.issue_new_wss_url

        def issue_checked() -> str:
            # The client retries a failed reconnect forever; a revoked or wrong token never
            # succeeds, so that one is recorded for the watchdog to end the process.
            try:
                return issue()
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in _SOCKET_FATAL:
                    self._socket_error = f"apps.connections.open answered {error}"
                raise

        client.issue_new_wss_url = issue_checked  # type: ignore[method-assign]
        self.socket_mode = handler
        try:
            handler.connect()  # type: ignore[no-untyped-call]
        except SlackApiError:
            if self._socket_error is None:
                raise
            raise CannotStart(
                f"Slack refused SLACK_APP_TOKEN (Socket Mode): {self._socket_error}"
            ) from None

    def _spawn(self, name: str, target: Callable[[], object]) -> None:
        def run() -> None:
            try:
                target()
            except Exception as exc:
                log.exception("%s stopped with an error", name)
                self.fail(f"{name} stopped: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def fail(self, reason: str) -> None:
        """Something the process cannot live without has died: stop, and say why."""
        if self.fatal is None:
            self.fatal = reason
            log.error("fatal: %s", reason)
        self.stop_event.set()

    def _watch(self) -> None:
        """Turns a platform connection that ended for good into the end of the process."""
        while not self.stop_event.wait(0.25):
            if self.discord is not None and self.discord.finished.is_set():
                self.fail(f"Discord client stopped: {self.discord.describe_error()}")
            if self._socket_error is not None:
                self.fail(f"Slack refused SLACK_APP_TOKEN (Socket Mode): {self._socket_error}")

    def stop(self) -> None:
        self.stop_event.set()
        if self.socket_mode is not None:
            self.socket_mode.close()
        if self.http is not None:
            self.http.should_exit = True
        for thread in self._threads:
            if thread.name == "http":
                thread.join(10)
        if self.slack is not None:
            self.slack.close()
        if self.discord is not None:
            self.discord.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._probe_pool.shutdown(wait=False, cancel_futures=True)

    def wait(self) -> None:
        """Block until SIGTERM/SIGINT or a component dies."""
        self.stop_event.wait()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- health ---------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        """200 when the database answers and every configured platform connection is up;
        503 otherwise. Returns within about HEALTH_SECONDS whatever the database does."""
        database = self._database(HEALTH_SECONDS)
        slack = self._slack_state()
        discord = self._discord_state()
        down = [
            name
            for name, state, up in (
                ("slack", slack, not slack.startswith("socket") or slack == "socket"),
                # "standby": another replica holds the gateway lease; this one is healthy.
                ("discord", discord, discord in ("off", "connected", "standby")),
            )
            if not self._up_enough(name, up) or state.startswith("stopped")
        ]
        ok = database == "ok" and not down and self.fatal is None
        return (200 if ok else 503), {
            "ok": ok,
            "database": database,
            "slack": slack,
            "discord": discord,
        }

    def _database(self, timeout: float) -> str:
        # One probe at a time: while the database hangs, every health check shares it instead
        # of each parking another thread on the dead connection.
        with self._probe_lock:
            probe = self._probe
            if probe is None or probe.done():
                try:
                    probe = self._probe_pool.submit(self._ping)
                except RuntimeError:  # stopping
                    return "unreachable: stopping"
                self._probe = probe
        try:
            return probe.result(timeout)
        except TimeoutError:
            return f"unreachable: no answer in {timeout:g}s"
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"

    def _ping(self) -> str:
        with deadline(HEALTH_DB_SECONDS), self.core.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"

    def _slack_state(self) -> str:
        if self.socket_mode is not None:
            if self._socket_error is not None:
                return f"stopped: {self._socket_error}"
            return "socket" if self.socket_mode.client.is_connected() else "socket: disconnected"
        return "http" if self.slack else "off"

    def _discord_state(self) -> str:
        if self.discord is None:
            return "off"
        return str(self.discord.state())

    def _up_enough(self, name: str, up: bool) -> bool:
        """False once a connection has been down for longer than a reconnect takes."""
        if up:
            self._down_since.pop(name, None)
            return True
        since = self._down_since.setdefault(name, time.monotonic())
        return time.monotonic() - since < DOWN_GRACE_SECONDS


def start_scheduler(
    core: App,
    adapters: dict[str, Adapter],
    stop: threading.Event,
    *,
    tick_seconds: float = 60.0,
    dispatch_seconds: float = 5.0,
) -> None:
    """Two loops: the jobs, each when it declares it is next due (`JobRunner.run_due`, the same
    schedule the console and the tests follow), asked again at least every `tick_seconds`
    because members change what a job would do; and the outbox every few seconds.

    The outbox is the source of truth: jobs are idempotent and look back over what is still
    useful, so the first run after a restart catches up on what was missed, and several
    replicas can run them at once without sending anything twice."""
    dispatcher = Dispatcher(
        core.sessions, route(adapters), rate=core.settings.send_rates, spacing=spacing(adapters)
    )

    def jobs() -> None:
        while not stop.is_set():
            now = core.clock.now()
            try:
                _, upcoming = core.jobs.run_due(now)
                pause = (upcoming - core.clock.now()).total_seconds()
            except Exception:
                log.exception("scheduled jobs failed")  # the database may be away for a while
                pause = tick_seconds
            stop.wait(min(max(pause, 0.5), tick_seconds))

    worker = threading.Thread(target=jobs, name="cohortbot-jobs", daemon=True)
    worker.start()
    while not stop.is_set():
        try:
            dispatcher.drain(core.clock.now())
        except Exception:
            # The database may be away for a while: the next round tries again, nothing lost.
            log.exception("outbox dispatch failed")
        stop.wait(dispatch_seconds)
    worker.join(timeout=30)


def spacing(adapters: dict[str, Adapter]) -> dict[str, float]:
    """Each platform's least time between two messages to one recipient, for the outbox,
    which alone paces sends (per platform by the settings' rates, per recipient by this)."""
    return {name: adapter.send_interval for name, adapter in adapters.items()}


def route(adapters: dict[str, Adapter]) -> Callable[[Outbound], None]:
    """Send each queued message through the adapter of its workspace's platform."""

    def send(outbound: Outbound) -> None:
        platform = outbound.platform
        adapter = adapters.get(platform)
        if adapter is None:
            # Not ours to send right now (the platform is not configured in this process):
            # retried later, so nothing is lost if the operator adds the credentials back.
            raise DeliveryError(f"no adapter for platform {platform!r}", retryable=True)
        adapter.deliver(outbound)

    return send


class _Asgi:
    """The routes of `serve`, as an ASGI app. Everything that may block (Bolt, the database)
    runs on the runtime's thread pool; the event loop only moves bytes."""

    def __init__(self, runtime: Runtime, slack_http: bool) -> None:
        self.runtime = runtime
        self.slack_http = slack_http

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        try:
            status, body, out_headers = await self._route(method, path, query, headers, receive)
        except _Refused as exc:
            # The request may be half read: the connection cannot carry another one.
            status, body, out_headers = exc.status, exc.message.encode(), {"connection": "close"}
        await _respond(send, status, body, out_headers)

    async def _route(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, list[str]],
        receive: Callable[[], Awaitable[dict[str, Any]]],
    ) -> tuple[int, bytes, dict[str, Any]]:
        runtime = self.runtime
        if method in ("GET", "HEAD"):
            if path == "/healthz":
                status, health = await self._blocking(runtime.health)
                return status, json.dumps(health).encode(), {"content-type": "application/json"}
            if path == "/metrics":
                text_ = await self._blocking(self._metrics)
                return 200, text_.encode(), {"content-type": metrics.CONTENT_TYPE}
            if runtime.slack is not None:  # the OAuth install pages, when installs are on
                pages = runtime.slack.oauth_page
                resp = await self._blocking(lambda: pages(path, query, headers))
                if resp is not None:
                    return resp.status, str(resp.body).encode(), dict(resp.headers)
            return 404, b"not found", {}
        if method != "POST":
            return 405, b"method not allowed", {"allow": "GET, POST"}
        if path != EVENTS_PATH or not self.slack_http or runtime.slack is None:
            return 404, b"not found", {}
        dispatch = runtime.slack.dispatch
        raw = (await _read_body(headers, receive)).decode("utf-8", errors="replace")
        # Bolt takes each header as a list of values, as a server may repeat a header.
        as_bolt: Any = headers

        def before_ack() -> Any:
            # Only what runs before the ack is on this thread (the work after it is on the
            # Slack worker pool): an installation lookup or a form's work must not hold the
            # ack past Slack's 3 s when the database does not answer.
            with deadline(ACK_DB_SECONDS):
                return dispatch(raw, as_bolt, query)

        at_once = getattr(runtime.slack, "acks_at_once", None)
        if at_once is not None and at_once(raw):
            # Nothing but CPU up to this ack: on the loop, as Bolt's own adapter does, without
            # two thread hand-overs that each wait for the interpreter lock while the work
            # after earlier acks holds it.
            resp = dispatch(raw, as_bolt, query)
        else:
            resp = await self._blocking(before_ack)
        body = resp.body if isinstance(resp.body, str) else json.dumps(resp.body)
        return resp.status, body.encode(), dict(resp.headers)

    def _metrics(self) -> str:
        core = self.runtime.core
        with deadline(HEALTH_SECONDS):
            return metrics.render(core.sessions, core.clock.now())

    async def _blocking(self, fn: Callable[[], Any]) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.runtime._pool, fn)
        except RuntimeError as exc:  # the pool is shut down: the process is stopping
            raise _Refused(503, "stopping") from exc


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _read_body(
    headers: dict[str, list[str]], receive: Callable[[], Awaitable[dict[str, Any]]]
) -> bytes:
    """The request body, at most MAX_BODY bytes, within BODY_SECONDS."""
    declared = (headers.get("content-length") or ["0"])[0]
    if not declared.isdigit():  # h11 refuses most malformed lengths before we see them
        raise _Refused(400, "bad Content-Length")
    if int(declared) > MAX_BODY:
        raise _Refused(413, "too large")
    # uvicorn has usually read the whole body with the headers: then it is taken without a
    # timer (asyncio.timeout costs a timer handle per request on the event loop).
    if getattr(getattr(receive, "__self__", None), "more_body", True) is False:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "client went away")
        body: bytes = message.get("body", b"")
        if len(body) > MAX_BODY:
            raise _Refused(413, "too large")
        return body
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Refused(400, "client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    raise _Refused(413, "too large")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise _Refused(408, "request body too slow") from None


async def _respond(
    send: Callable[[dict[str, Any]], Awaitable[None]],
    status: int,
    body: bytes,
    headers: dict[str, Any],
) -> None:
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers.items():
        if name.lower() == "content-length":
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            out.append((name.lower().encode("latin-1"), str(v).encode("latin-1")))
    if not any(name == b"content-type" for name, _ in out):
        out.append((b"content-type", b"text/plain; charset=utf-8"))
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def _http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline for the request line and headers: uvicorn
    itself waits forever for a client that connects and sends nothing, or a header a byte at a
    time. The deadline is armed when a connection opens or the first bytes of a keep-alive
    connection's next request arrive (while it is idle, uvicorn's keep-alive timeout closes
    it), and disarmed once a request's headers are complete.

    It also spares the event loop system calls: each one releases the interpreter lock, and
    while the work after earlier acks keeps the Slack workers busy, one of them takes it
    (on an idle second core, nearly every time) and the loop waits to get it back: that wait,
    some ten times a request, not the loop's own CPU, sets the ack rate. So a connection's
    addresses are read from what asyncio already asked the kernel (uvicorn asks again, two
    calls), and a response's head waits for its body, to leave in one send rather than two."""
    import h11
    from uvicorn.protocols.http.flow_control import FlowControl
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            # uvicorn's connection_made without its getsockname/getpeername (see above) and
            # its trace log line; the rest is as uvicorn 0.55 has it.
            self.connections.add(self)
            self.transport = cast(asyncio.Transport, _OneSend(transport, self))
            self.flow = FlowControl(transport)
            self.server = _address(transport.get_extra_info("sockname"))
            client = _address(transport.get_extra_info("peername"))
            self.client = (client[0], client[1] or 0) if client else None
            self.scheme = "https" if transport.get_extra_info("sslcontext") else "http"
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()
            elif self._header_timer is None and not self.transport.is_closing():
                # The first bytes of a keep-alive connection's next request: until they
                # came, uvicorn's keep-alive timeout was the deadline.
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(HEADER_SECONDS, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return Protocol


def _address(info: Any) -> tuple[str, int | None] | None:
    if isinstance(info, list | tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    if isinstance(info, str):
        return info, None
    return None


class _OneSend:
    """A connection's transport as uvicorn's protocol sees it: a response's status line and
    headers are held until its first body bytes (or the connection's close) and leave with
    them in one write. Anything written outside a response (a 100 Continue, uvicorn's own
    400) goes at once."""

    def __init__(self, transport: asyncio.Transport, protocol: Any) -> None:
        self._transport = transport
        self._protocol = protocol
        self._head = b""
        self._held_for: object = None  # the request cycle whose head was held

    def write(self, data: bytes | bytearray | memoryview) -> None:
        cycle = self._protocol.cycle
        if (
            data
            and cycle is not None
            and cycle is not self._held_for
            and cycle.response_started
            and not cycle.response_complete
        ):
            self._head, self._held_for = bytes(data), cycle
            return
        if self._head:
            data, self._head = self._head + bytes(data), b""
        if data:
            self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def serve(
    settings: Settings,
    port: int | None = None,
    core: App | None = None,
    *,
    slack: SlackSettings | None = None,
) -> None:
    """Run until SIGTERM or Ctrl-C; exit 1 with a one-line reason when something it cannot
    live without (a platform connection, the HTTP server) ends for good. Slack runs when its
    settings are given."""
    from bot.app import build_app

    core = core or build_app(settings)
    runtime = Runtime(core, settings, port=port, slack_settings=slack)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runtime.stop_event.set())
    try:
        runtime.start()
    except CannotStart as exc:
        runtime.fail(str(exc))
    except Exception as exc:
        log.exception("start-up failed")
        runtime.fail(f"could not start: {type(exc).__name__}: {exc}")
    else:
        print(f"cohortbot serving on {runtime.url} (GET /healthz)", flush=True)
    try:
        runtime.wait()
    finally:
        runtime.stop()
    if runtime.fatal is not None:
        print(f"cohortbot: stopped: {runtime.fatal}", file=sys.stderr, flush=True)
        raise SystemExit(1)
