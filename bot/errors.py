"""Errors a handler raises to give the member a friendly answer and roll back every write."""

from __future__ import annotations

from bot.types import Button


class UserError(Exception):
    """Something the member can fix; the message is shown as is (already friendly)."""

    def __init__(self, message: str, buttons: tuple[Button, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.buttons = buttons


class NotAllowed(UserError):
    """The member may not do this (not an organizer, not their data)."""
