"""`cohortbot serve`: the long-running process.

One HTTP server (stdlib, threaded) answers `POST /slack/events` through the Bolt app,
`GET /healthz` and `GET /metrics`; Socket Mode replaces the Slack route when SLACK_APP_TOKEN is
set. Discord runs in its own thread, and the scheduler gets one hook, `start_scheduler`, for the
outbox tick."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from bot import metrics
from bot.app import App
from bot.config import Settings
from bot.delivery import DeliveryError
from bot.outbox import Dispatcher
from bot.types import Outbound

if TYPE_CHECKING:
    from adapters.slack import SlackBot
    from bot.delivery import Adapter

log = logging.getLogger("cohortbot.serve")

MAX_BODY = 1_000_000  # Slack's payloads are a few KB; anything near this is not Slack
EVENTS_PATH = "/slack/events"


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
    ) -> None:
        self.core = core
        self.settings = settings
        self.host = host or settings.host
        self.port = settings.port if port is None else port
        self.stop_event = threading.Event()
        self.adapters: dict[str, Adapter] = {}
        self.slack = slack
        self.socket_mode: Any = None
        self.discord: Any = None
        self.http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.has_slack and self.slack is None:
            from adapters.slack import build_slack

            self.slack = build_slack(self.core, self.settings)
        if self.slack is not None:
            self.adapters["slack"] = self.slack.adapter
        use_socket = self.slack is not None and self.settings.slack_app_token is not None
        self.http = ThreadingHTTPServer((self.host, self.port), _handler_for(self, not use_socket))
        self.http.daemon_threads = True
        self.port = self.http.server_address[1]
        self._spawn("http", self.http.serve_forever)
        if use_socket and self.slack is not None and self.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            self.socket_mode = SocketModeHandler(
                self.slack.bolt, self.settings.slack_app_token.get_secret_value()
            )
            self.socket_mode.connect()
        if self.settings.has_discord:
            # Imported only when a Discord token is set: Slack-only deployments never load it.
            from adapters.discord.runner import start_discord

            self.discord = start_discord(self.core, self.settings)
            self.adapters["discord"] = self.discord.adapter
        self._spawn("scheduler", lambda: start_scheduler(self.core, self.adapters, self.stop_event))
        log.info(
            "serving",
            extra={
                "port": self.port,
                "slack": "socket" if use_socket else ("http" if self.slack else "off"),
                "discord": self.settings.has_discord,
            },
        )

    def _spawn(self, name: str, target: Callable[[], object]) -> None:
        def run() -> None:
            try:
                target()
            except Exception:
                log.exception("%s stopped with an error", name)
                self.stop_event.set()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        if self.socket_mode is not None:
            self.socket_mode.close()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self.slack is not None:
            self.slack.close()
        if self.discord is not None:
            self.discord.stop()

    def wait(self) -> None:
        """Block until SIGTERM/SIGINT or a component dies."""
        self.stop_event.wait()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- health ---------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with self.core.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:
            database = f"unreachable: {type(exc).__name__}"
        status = 200 if database == "ok" else 503
        return status, {
            "ok": status == 200,
            "database": database,
            "slack": "socket" if self.socket_mode else ("http" if self.slack else "off"),
            "discord": self.settings.has_discord,
        }


def start_scheduler(
    core: App,
    adapters: dict[str, Adapter],
    stop: threading.Event,
    *,
    tick_seconds: float = 60.0,
    dispatch_seconds: float = 5.0,
) -> None:
    """APScheduler ticks: every job about once a minute, the outbox every few seconds.

    The outbox, not APScheduler, is the source of truth: jobs are idempotent and look back
    over what is still useful, so the first tick after a restart catches up on what was
    missed, and several replicas can tick at once without sending anything twice."""
    from apscheduler.schedulers.background import BackgroundScheduler

    dispatcher = Dispatcher(core.sessions, route(adapters), rate=core.settings.send_rates)

    def tick() -> None:
        core.jobs.run_at(core.clock.now())

    def dispatch() -> None:
        try:
            dispatcher.drain(core.clock.now())
        except Exception:
            # The database may be away for a while: the next tick tries again, nothing lost.
            log.exception("outbox dispatch failed")

    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 30,
        },
    )
    scheduler.add_job(tick, "interval", seconds=tick_seconds, id="jobs")
    scheduler.add_job(dispatch, "interval", seconds=dispatch_seconds, id="outbox")
    try:
        tick()  # catch up at start-up on whatever is still worth sending
    except Exception:
        log.exception("first scheduler tick failed")
    dispatch()
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)


def route(adapters: dict[str, Adapter]) -> Callable[[Outbound], None]:
    """Send each queued message through the adapter of its workspace's platform."""

    def send(outbound: Outbound) -> None:
        platform = outbound.meta.get("platform", "")
        adapter = adapters.get(platform)
        if adapter is None:
            # Not ours to send right now (the platform is not configured in this process):
            # retried later, so nothing is lost if the operator adds the credentials back.
            raise DeliveryError(f"no adapter for platform {platform!r}", retryable=True)
        adapter.deliver(outbound)

    return send


def _handler_for(runtime: Runtime, slack_http: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cohortbot"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            # The request line may carry an OAuth ?code= or ?state=: log the path only.
            log.debug("http %s %s", self.command, self.path.split("?", 1)[0])

        def _send(self, status: int, body: bytes, headers: dict[str, Any] | None = None) -> None:
            self.send_response(status)
            sent_type = False
            for name, value in (headers or {}).items():
                for v in value if isinstance(value, list | tuple) else [value]:
                    if name.lower() == "content-length":
                        continue
                    sent_type = sent_type or name.lower() == "content-type"
                    self.send_header(name, str(v))
            if not sent_type:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _header_lists(self) -> dict[str, Any]:
            headers: dict[str, Any] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            return headers

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/healthz":
                status, body = runtime.health()
                data = json.dumps(body).encode()
                self._send(status, data, {"Content-Type": "application/json"})
                return
            if path == "/metrics":
                body = metrics.render(runtime.core.sessions, runtime.core.clock.now())
                self._send(200, body.encode(), {"Content-Type": metrics.CONTENT_TYPE})
                return
            if runtime.slack is not None:  # the OAuth install pages, when installs are on
                resp = runtime.slack.oauth_page(path, query, self._header_lists())
                if resp is not None:
                    self._send(resp.status, str(resp.body).encode(), resp.headers)
                    return
            self._send(404, b"not found")

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path != EVENTS_PATH or not slack_http or runtime.slack is None:
                self._send(404, b"not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"too large")
                return
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            resp = runtime.slack.dispatch(raw, self._header_lists(), query)
            body = resp.body if isinstance(resp.body, str) else json.dumps(resp.body)
            self._send(resp.status, body.encode(), resp.headers)

    return Handler


def serve(settings: Settings, port: int | None = None, core: App | None = None) -> None:
    """Run until SIGTERM or Ctrl-C."""
    from bot.app import build_app

    core = core or build_app(settings)
    runtime = Runtime(core, settings, port=port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runtime.stop_event.set())
    runtime.start()
    print(f"cohortbot serving on {runtime.url} (GET /healthz)", flush=True)
    try:
        runtime.wait()
    finally:
        runtime.stop()
