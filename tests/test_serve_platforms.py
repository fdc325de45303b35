"""Platform connections that end (issue 15, item 11): `/healthz` reports each one truthfully,
and one that cannot come back (a fatal Discord gateway close such as 4004, a Socket Mode token
Slack refuses) ends `serve` with one clear line and a non-zero exit, instead of a process that
serves nothing while saying it is fine.

discord.py runs for real against the local fakes: REST at tests/discord_fake.py, and a small
gateway here (HELLO, IDENTIFY -> READY, RESUME -> RESUMED, heartbeats) that can close every
session with a given code."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import discord.gateway
import pytest
import yarl
from pydantic import SecretStr

from adapters.serve import Runtime, serve
from bot.app import App
from tests.discord_fake import APP_ID, BOT_ID, FakeDiscord, discord_at, user_payload

# Slow: the served platforms. One database: what is tested is the platform connections and
# /healthz; the database probe has its own tests on both (tests/test_serve_db.py).
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


class Gateway:
    """Discord's gateway, as little of it as discord.py needs, with `close_all(code)`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.sockets: list[Any] = []
        self.identified = 0
        self.resumed = 0
        self.close_on_identify: int | None = None  # answer IDENTIFY by closing with this code
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> Gateway:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def close_all(self, code: int) -> None:
        async def close() -> None:
            for ws in list(self.sockets):
                await ws.close(code=code, message=b"closed by the fake")

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)

    def stop(self) -> None:
        self.close_all(1001)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/", self._ws)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        self.loop.run_forever()

    async def _ws(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 30_000}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                if frame["op"] == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif frame["op"] == 2:
                    self.identified += 1
                    if self.close_on_identify is not None:
                        await ws.close(
                            code=self.close_on_identify, message=b"Authentication failed."
                        )
                        break
                    ready = {
                        "v": 10,
                        "user": {**user_payload(BOT_ID, "cohortbot"), "bot": True},
                        "guilds": [],
                        "session_id": f"s{self.identified}",
                        "resume_gateway_url": self.url,
                        "application": {"id": str(APP_ID), "flags": 0},
                        "shard": [0, 1],
                    }
                    await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
                elif frame["op"] == 6:
                    self.resumed += 1
                    await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": 2, "d": {}}))
        finally:
            self.sockets.remove(ws)
        return ws


@pytest.fixture
def gateway(fake: FakeDiscord) -> Iterator[Gateway]:
    gw = Gateway().start()
    old = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gw.url)
    try:
        with discord_at(fake):
            yield gw
    finally:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old
        gw.stop()


def with_discord(app: App) -> Any:
    return app.settings.model_copy(update={"discord_token": SecretStr("test-token")})


def until(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_fatal_gateway_close_ends_the_process_and_health_says_so(
    app: App, gateway: Gateway
) -> None:
    runtime = Runtime(app, with_discord(app), port=0, host="127.0.0.1")
    runtime.start()
    try:
        until(lambda: runtime.health()[1]["discord"] == "connected")
        assert runtime.health()[0] == 200
        gateway.close_all(4000)  # "unknown error": discord.py resumes, nothing ends
        until(lambda: gateway.resumed == 1 and runtime.health()[1]["discord"] == "connected")
        assert not runtime.stop_event.is_set()

        gateway.close_all(4004)  # authentication failed: no reconnect will fix it
        assert runtime.stop_event.wait(15), "serve kept running after a fatal close"
        assert runtime.fatal is not None
        assert "4004" in runtime.fatal and "DISCORD_TOKEN" in runtime.fatal
        status, body = runtime.health()
        assert status == 503
        assert str(body["discord"]).startswith("stopped: gateway closed with 4004")
    finally:
        runtime.stop()


@pytest.mark.parametrize("code", [4004, 4010, 4011, 4012, 4013, 4014])
def test_serve_exits_non_zero_with_one_line(
    app: App, gateway: Gateway, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.close_on_identify = code
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with pytest.raises(SystemExit) as exit_:
            serve(with_discord(app), port=0, core=app)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert exit_.value.code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("cohortbot: stopped: Discord client stopped: ")
    assert f"gateway closed with {code} (" in line
