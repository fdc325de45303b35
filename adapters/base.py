"""What every adapter does, whatever the platform."""

from __future__ import annotations

from typing import Protocol

from bot.types import DM, Channel, Ephemeral, InPlace, Outbound, Target


class UnsupportedTarget(Exception):
    """An adapter was asked to deliver somewhere it cannot: fail loudly, never silently."""


class Adapter(Protocol):
    platform: str

    def deliver(self, outbound: Outbound) -> None:
        """Send one message now (synchronously, blocking until the platform answered).

        Raise RateLimited, Undeliverable or DeliveryError on failure: the outbox retries,
        marks the member undeliverable, or gives up, and never loses the message."""
        ...


def describe_target(target: Target) -> str:
    """The console's first line for a message: who sees it, and where."""
    match target:
        case DM(user=u):
            return f"[DM to {u.display_name}]"
        case Channel(conversation=c):
            return f"[#{c.name or c.id}]"
        case Ephemeral(user=u, conversation=c):
            where = f"#{c.name or c.id}" if c.kind == "channel" else "your DM"
            return f"[only {u.display_name} sees this, in {where}]"
        case InPlace(user=u, conversation=c):
            where = f"#{c.name or c.id}" if c.kind == "channel" else "your DM"
            return f"[updated for {u.display_name}, in {where}]"
    raise UnsupportedTarget(f"unknown target {target!r}")


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
