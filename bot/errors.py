"""Errors a handler raises to give the member a friendly answer and roll back every write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.types import Button


class UserError(Exception):
    """Something the member can fix; the message is shown as is (already friendly). `field`
    names the form field it is about, where a form was submitted: Slack shows it there."""

    def __init__(self, message: str, buttons: tuple[Button, ...] = (), field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.buttons = buttons
        self.field = field


@contextmanager
def about(field: str) -> Iterator[None]:
    """A UserError raised inside, with no field of its own, is about form field `field`."""
    try:
        yield
    except UserError as exc:
        exc.field = exc.field or field
        raise


class NotAllowed(UserError):
    """The member may not do this (not an organizer, not their data)."""
