"""What every adapter does, whatever the platform."""

from __future__ import annotations

from typing import Protocol

from bot.types import DM, Channel, Ephemeral, InPlace, Outbound, Target


class UnsupportedTarget(Exception):
    """An adapter was asked to deliver somewhere it cannot: fail loudly, never silently."""


class Adapter(Protocol):
    platform: str

    def deliver(self, outbound: Outbound) -> None:
        """Send one message; raise on failure so that the outbox can retry it."""
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
