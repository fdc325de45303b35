"""discord.py's REST client, made to fail fast where the adapter cannot afford to wait.

discord.py waits out trouble inside the call: it sleeps on a 429 (up to
`max_ratelimit_timeout`, at least 30 s), retries a 5xx five times with 1+3+5+7+9 s of sleep,
sleeps out a bucket the call itself spent, and holds every request behind a global 429. That
suits a bot answering one member at a time; our outbox sends to everyone from one worker, so
each of those waits delays every other member's message. Inside `bounded()`, a wait longer
than `inline` seconds is raised instead, as the outbox's RateLimited(retry_after), and a 5xx
as a retryable DeliveryError, so the outbox retries that one row later and goes on.
Outside it (login, gateway, command sync) discord.py behaves as it always has."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, Ratelimit

from bot.delivery import DeliveryError, RateLimited

# Seconds a call may wait inline for a rate limit; None: not bounded (discord.py's own rules).
_INLINE: ContextVar[float | None] = ContextVar("discord_inline_wait", default=None)


@asynccontextmanager
async def bounded(inline: float, timeout: float | None = None) -> AsyncIterator[None]:
    """Calls in this block wait at most `inline` s for a rate limit (and `timeout` s in all)."""
    token = _INLINE.set(inline)
    try:
        async with asyncio.timeout(timeout):
            yield
    finally:
        _INLINE.reset(token)


class _Bucket(Ratelimit):
    """A per-route bucket that, when bounded, raises instead of sleeping."""

    __slots__ = ()

    async def acquire(self) -> None:
        inline = _INLINE.get()
        # An expired bucket gives a negative wait here, and discord.py resets it below.
        if inline is not None and self.remaining <= 0 and self.expires is not None:
            wait = self.expires - self._loop.time()
            if wait > inline:
                raise RateLimited(wait)
        await super().acquire()

    async def __aexit__(self, *exc: Any) -> None:
        if _INLINE.get() is None:
            await super().__aexit__(*exc)
            return
        # discord.py sleeps out a spent bucket here, after the message went. Bounded, this call
        # returns now and the next one to this route raises RateLimited from acquire(); a
        # bucket with nothing left to wait for is refilled as discord.py would.
        self.outgoing -= 1
        spent = self.remaining - self.outgoing <= 0
        over = self.expires is None or self.expires <= self._loop.time()
        if spent and over and not self._sleeping.locked():
            self.reset()  # type: ignore[no-untyped-call]
            self._wake(self.remaining)


class _BoundedHTTPClient(HTTPClient):
    def get_ratelimit(self, key: str) -> Ratelimit:
        try:
            return self._buckets[key]
        except KeyError:
            bucket = self._buckets[key] = _Bucket(self.max_ratelimit_timeout)
            self._try_clear_expired_ratelimits()
            return bucket


class GlobalLimit:
    """Until when Discord's global limit holds (loop time), so later bounded calls raise at
    once instead of spending requests that count towards Discord's invalid-request ban."""

    def __init__(self) -> None:
        self.until = 0.0

    def check(self) -> None:
        if _INLINE.get() is None:
            return
        left = self.until - asyncio.get_running_loop().time()
        if left > 0:
            raise RateLimited(left)


def install(client: discord.Client, trace: aiohttp.TraceConfig | None = None) -> GlobalLimit:
    """Make `client`'s REST calls boundable. discord.py builds its HTTPClient inside
    Client.__init__ with no factory to override, hence the class swap (it adds one method)."""
    client.http.__class__ = _BoundedHTTPClient
    limit = GlobalLimit()

    async def on_end(
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        inline = _INLINE.get()
        response = params.response
        if inline is None or response.status < 429:
            return
        if response.status >= 500:
            text = (await response.text())[:200]
            raise DeliveryError(f"Discord answered {response.status}: {text}", retryable=True)
        if response.status != 429 or not response.headers.get("Via"):
            return  # a 4xx, or Cloudflare's 429 (no Via): _translate reads it
        retry_after, is_global = _retry_after(await response.read(), response.headers)
        if is_global:
            limit.until = asyncio.get_running_loop().time() + retry_after
            raise RateLimited(retry_after)
        if retry_after > inline:
            raise RateLimited(retry_after)

    if trace is None:
        trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    client.http.http_trace = trace
    return limit


def _retry_after(body: bytes, headers: Any) -> tuple[float, bool]:
    """Discord's 429 carries seconds as a float in the body (and rounded up in Retry-After)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    try:
        retry_after = float(data.get("retry_after", headers.get("Retry-After", 5)))
    except (TypeError, ValueError):
        retry_after = 5.0
    is_global = bool(data.get("global")) or headers.get("X-RateLimit-Global") == "true"
    return max(0.0, retry_after), is_global
