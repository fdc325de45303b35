"""The contract between the core and every platform adapter.

The core owns it: an adapter package implements `Adapter`, and raises these errors so the
outbox can tell a retry from a member who cannot be reached. Nothing here knows a platform."""

from __future__ import annotations

from typing import Protocol

from bot.types import Outbound


class UnsupportedTarget(Exception):
    """An adapter was asked to deliver somewhere it cannot: fail loudly, never silently."""


class CannotStart(Exception):
    """A platform refused what it was given to start with (a token, a secret): the message is
    one line saying what and which setting, for the operator; no traceback helps them."""


class DeliveryError(Exception):
    """A send failed. `retryable` failures go back to the outbox with backoff."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RateLimited(DeliveryError):
    """The platform said slow down; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.1f}s", retryable=True)
        self.retry_after = retry_after


class Undeliverable(DeliveryError):
    """The member cannot receive DMs from the bot (closed DMs, left the workspace)."""

    def __init__(self, message: str = "the member does not accept DMs from the bot") -> None:
        super().__init__(message, retryable=False)


class Adapter(Protocol):
    """One platform connection, as `serve` and the outbox see it."""

    platform: str
    # The least time the platform wants between two messages to one recipient (a channel, a
    # member's DMs): the outbox spaces each recipient's sends so, and the adapter never
    # sleeps to pace. 0 where the platform's client keeps its per-channel limit itself.
    send_interval: float

    def deliver(self, outbound: Outbound) -> None:
        """Send one message now (synchronously, blocking until the platform answered).

        Raise RateLimited, Undeliverable or DeliveryError on failure: the outbox retries,
        marks the member undeliverable, or gives up, and never loses the message."""
        ...
