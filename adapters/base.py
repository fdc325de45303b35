"""What the console and memory workspaces share: how a target reads as a first line.

The adapter contract itself (the protocol and the delivery errors) is the core's, in
`bot/delivery.py`."""

from __future__ import annotations

from bot.delivery import UnsupportedTarget
from bot.types import DM, Channel, Ephemeral, InPlace, Room, Target


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
        case Room(users=users):
            # The console has no rooms: the core writes to each member's DM there; a room
            # reads as the people who share it.
            return f"[room of {', '.join(u.display_name for u in users)}]"
    raise UnsupportedTarget(f"unknown target {target!r}")
