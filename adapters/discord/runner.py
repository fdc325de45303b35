"""Running the Discord client in its own thread and event loop, beside Slack and the scheduler."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import discord

from adapters.discord.adapter import DiscordAdapter
from bot.app import App
from bot.config import Settings

log = logging.getLogger("cohortbot.discord")
T = TypeVar("T")


class DiscordRunner:
    """Owns the thread and loop of one DiscordAdapter. `connect=False` logs in for REST only
    (a process that only delivers scheduled messages needs no gateway connection)."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
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
            if connect:
                await client.connect(reconnect=True)
            else:
                await asyncio.Event().wait()  # serve REST calls until stopped
        except asyncio.CancelledError:
            pass
        finally:
            await _drain()  # finish in-flight answers while the HTTP session is still open
            if not client.is_closed():
                await client.close()

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


def start_discord(app: App, settings: Settings) -> DiscordRunner:
    """Start the bot's Discord side (used by `cohortbot serve` when DISCORD_TOKEN is set).
    Commands are not synced here: `cohortbot discord sync` does it deliberately."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise RuntimeError("DISCORD_TOKEN is not set")
    runner = DiscordRunner(DiscordAdapter(app))
    runner.start(token)
    log.info("Discord client started")
    return runner
