"""Running the Discord client in its own thread and event loop, beside Slack and the scheduler.

Discord sends each gateway event to every session of a shard ("You can establish multiple
sessions with the same [shard_id, num_shards]": num_shards only routes traffic, see Discord's
gateway docs on sharding), so replicas that all connected would all receive every
interaction. With a lease (bot/lease.py) only its holder connects; every replica logs in and
sends over REST (scheduled messages, follow-ups), and a standby takes the gateway over within
one lease of the holder's death."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.settings import DiscordSettings, load_discord_settings
from bot.app import App
from bot.config import Settings
from bot.lease import Lease

log = logging.getLogger("cohortbot.discord")
T = TypeVar("T")


class DiscordRunner:
    """Owns the thread and loop of one DiscordAdapter. `connect=False` logs in for REST only
    (a process that only delivers scheduled messages needs no gateway connection). With
    `lease` (given the application id once logged in, it names the lease) the gateway
    connection is held only while this replica holds the lease, renewed every
    `renew_every` seconds."""

    def __init__(
        self,
        adapter: DiscordAdapter,
        *,
        lease: Callable[[int], Lease] | None = None,
        renew_every: float = 1.0,
    ) -> None:
        self.adapter = adapter
        self._lease_for = lease
        self.lease: Lease | None = None
        self.renew_every = renew_every
        self.gateway_changes = 0  # times this replica took or gave up the gateway
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.finished = threading.Event()  # the client's thread is over, however it ended
        self.error: BaseException | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._main: asyncio.Task[None] | None = None

    def start(self, token: str, *, connect: bool = True, wait: float | None = 30.0) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(token, connect), name="discord", daemon=True
        )
        self._thread.start()
        if wait is not None and not self.ready.wait(wait):
            raise TimeoutError("the Discord client did not log in in time")
        if self.error is not None:
            raise RuntimeError(f"the Discord client failed to start: {self.error}")

    def _run(self, token: str, connect: bool) -> None:
        asyncio.set_event_loop(self.loop)
        self.adapter.loop = self.loop
        try:
            self.loop.run_until_complete(self._main_task(token, connect))
        except BaseException as exc:  # reported through .error; the thread must not die silently
            self.error = exc
            log.exception("Discord client stopped")
        finally:
            self.ready.set()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
            if self.error is None and not self._stopping:
                # connect() returned by itself: discord.py closed the client (a clean 1000 or
                # a close it will not retry); that is an end too, not a quiet idle.
                self.error = RuntimeError("the gateway connection ended")
            self.finished.set()

    async def _main_task(self, token: str, connect: bool) -> None:
        client = self.adapter.client
        self._main = asyncio.current_task()
        try:
            await client.login(token)
            self.ready.set()
            if connect and self._lease_for is not None:
                self.lease = self._lease_for(client.application_id or 0)
                await self._gateway_under_lease(self.lease)
            elif connect:
                await client.connect(reconnect=True)
            else:
                await asyncio.Event().wait()  # serve REST calls until stopped
        except asyncio.CancelledError:
            pass
        finally:
            await _drain()  # finish in-flight answers while the HTTP session is still open
            if not client.is_closed():
                await client.close()

    async def _gateway_under_lease(self, lease: Lease) -> None:
        """Connect while holding the lease, disconnect when it is lost; returns or raises as
        `connect` does (a fatal close ends the runner either way)."""
        gateway: asyncio.Task[None] | None = None
        failing = False
        try:
            while True:
                try:
                    await asyncio.to_thread(lease.acquire)
                    failing = False
                except Exception as exc:
                    if not failing:  # once per outage: the database may be away for a while
                        log.warning("gateway lease not renewed: %s", type(exc).__name__)
                    failing = True
                if gateway is not None and gateway.done():
                    await gateway  # a fatal close raises here; a clean end returns
                    return
                if lease.held() and gateway is None:
                    log.info("holding the Discord gateway", extra={"lease": lease.name})
                    self.gateway_changes += 1
                    gateway = asyncio.create_task(self.adapter.client.connect(reconnect=True))
                elif not lease.held() and gateway is not None:
                    log.info("leaving the Discord gateway to another replica")
                    self.gateway_changes += 1
                    await self._disconnect(gateway)
                    gateway = None
                if gateway is None:
                    await asyncio.sleep(self.renew_every)
                else:  # woken early if the connection ends (a fatal close)
                    await asyncio.wait([gateway], timeout=self.renew_every)
        finally:
            if gateway is not None:
                await self._disconnect(gateway)
                # Handed over at once on a clean stop, rather than after the lease runs out.
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(lease.release)

    async def _disconnect(self, gateway: asyncio.Task[None]) -> None:
        """Close the gateway session only; the client (and its REST session) stays open."""
        gateway.cancel()
        with contextlib.suppress(BaseException):
            await gateway
        client = self.adapter.client
        ws = client.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(code=1000)
        client.ws = None  # type: ignore[assignment]

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the client's loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def feed(self, payload: dict[str, Any]) -> None:
        """Hand one raw INTERACTION_CREATE payload to discord.py, as the gateway does."""
        state = self.adapter.client._connection
        self.loop.call_soon_threadsafe(state.parse_interaction_create, payload)  # type: ignore[arg-type]

    def state(self) -> str:
        """The gateway connection as `/healthz` reports it."""
        if self.finished.is_set():
            return f"stopped: {self.describe_error()}"
        ws = getattr(self.adapter.client, "ws", None)
        if ws is not None and ws.open and self.adapter.client.is_ready():
            return "connected"
        if self.lease is not None and not self.lease.held():
            return "standby"  # another replica holds the gateway; this one sends over REST
        return "connecting"

    def describe_error(self) -> str:
        """One line on why the client ended, naming fatal gateway close codes."""
        exc = self.error
        if exc is None:
            return "stopped"
        code = getattr(exc, "code", None)
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            code = 4014
        if code in _FATAL_CLOSES:
            return f"gateway closed with {code} ({_FATAL_CLOSES[code]})"
        return f"{type(exc).__name__}: {exc}"

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        main = self._main
        if main is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout)


async def _drain(timeout: float = 5.0) -> None:
    """Let in-flight interaction tasks finish (bounded), then cancel what is left."""
    me = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    # Interaction work runs in tasks discord.py names; the rest (view timeouts) just sleep.
    work = [t for t in pending if t.get_name().startswith(_WORK_TASKS)]
    late = set(pending) - set(work)
    if work:
        _, unfinished = await asyncio.wait(work, timeout=timeout)
        late |= unfinished
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late, timeout=1.0)


# Gateway close codes discord.py does not reconnect after: no restart of ours fixes them
# either without an operator, so they end the process (see adapters/serve.py).
_FATAL_CLOSES = {
    4004: "authentication failed: check DISCORD_TOKEN",
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents: enable them in the developer portal or drop them",
}

_WORK_TASKS = ("CommandTree-", "discord-ui-", "discord.py: on_")


def point_at(settings: DiscordSettings) -> None:
    """Send discord.py to the configured endpoints. discord.py keeps both as class
    attributes, so this holds for the whole process (one Discord bot per process)."""
    if settings.api_base_url:
        discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def gateway_lease(app: App, seconds: float) -> Callable[[int], Lease]:
    """The lease on one application's gateway connection, held by this process."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def make(application_id: int) -> Lease:
        return Lease(
            app.sessions,
            f"discord-gateway:{application_id}",
            holder,
            app.clock.now,
            ttl=timedelta(seconds=seconds),
        )

    return make


def start_discord(
    app: App, settings: Settings, discord_settings: DiscordSettings | None = None
) -> DiscordRunner:
    """Start the bot's Discord side (used by `cohortbot serve` when DISCORD_TOKEN is set).
    Commands are not synced here: `cohortbot discord sync` does it deliberately."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise RuntimeError("DISCORD_TOKEN is not set")
    own = discord_settings or load_discord_settings()
    point_at(own)
    lease = gateway_lease(app, own.gateway_lease_seconds)
    # Renewed several times per lease, so a renewal or two lost to a slow database is no loss.
    runner = DiscordRunner(
        DiscordAdapter(app), lease=lease, renew_every=min(2.0, own.gateway_lease_seconds / 5)
    )
    runner.start(token)
    log.info("Discord client started")
    return runner
