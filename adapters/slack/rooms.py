"""A pair's room on Slack: a group DM (mpim) with the bot and the pair's members.

`conversations.open` with several `users` (scope `mpim:write`) opens the group DM of exactly
those people and the bot, or returns the one that exists: Slack itself makes it idempotent,
so two replicas or a retry get the same conversation and no claim is needed. What was opened
is recorded (bot/rooms.py) so that links and later posts reuse it without a call. Without the
scope (an install older than the room feature) the pair is written to in each member's DM,
and the message says so."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.rooms import Opened, RoomBook
from bot.types import Room

log = logging.getLogger("cohortbot.slack")

MPIM_SCOPE = "mpim:write"
MPIM_USERS = 8  # conversations.open takes at most 8 users besides the bot
# Refusals after which a group DM will not open however often it is asked: the members are
# written to one by one instead.
_NO_ROOM = {"missing_scope", "not_allowed_token_type", "too_many_users", "method_deprecated"}
NO_ROOM_NOTE = (
    "I couldn't open a group conversation for you (the app lacks the mpim:write permission; "
    "an admin can reinstall it), so this comes to each of you by DM."
)
# The link marker as it reads after render.escape (which leaves it alone).
_LINK = re.compile("\u2063r:([\\w-]+)\\|([^\u2063]*)\u2063")


class SlackRooms:
    def __init__(
        self, book: RoomBook | None, client_for: Callable[[str | None], WebClient]
    ) -> None:
        self.book = book
        self.client_for = client_for
        self._known: dict[str, Opened] = {}  # without a book (tests): this process only
        self._lock = threading.Lock()

    def open(self, room: Room) -> Opened:
        """Where `room` is on Slack, opening its group DM the first time."""
        with self._lock:
            known = self._known.get(room.key)
        if known is None and self.book is not None:
            known = self.book.opened(room.key)
        if known is not None:
            return known
        users = ",".join(u.user_id for u in room.users[:MPIM_USERS])
        try:
            resp = self.client_for(room.users[0].workspace_id).conversations_open(users=users)
            opened = Opened("mpim", str(resp["channel"]["id"]))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error not in _NO_ROOM:
                raise  # a 429 or 5xx: the outbox tries again, and Slack answers the same
            log.warning("no group DM for %s: %s", room.key, error)
            opened = Opened("dms", note=NO_ROOM_NOTE)
        if self.book is not None:
            self.book.record(room.key, opened)
        with self._lock:
            self._known[room.key] = opened
        return opened

    def find(self, key: str) -> Opened | None:
        """The room a link names, opened now if nothing was sent there yet."""
        with self._lock:
            known = self._known.get(key)
        if known is not None or self.book is None:
            return known
        known = self.book.opened(key)
        if known is not None:
            return known
        room = self.book.describe(key)
        return self.open(room) if room is not None else None

    def link(self, body: dict[str, Any]) -> dict[str, Any]:
        """A rendered message with each room link as Slack's conversation mention, which
        opens the group DM for its members (plain words where there is none)."""

        def show(m: re.Match[str]) -> str:
            try:
                opened = self.find(m.group(1))
            except SlackApiError:
                opened = None  # the link's words still say where to look
            if opened is None or opened.kind != "mpim":
                return m.group(2)
            return f"<#{opened.id}>"

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return _LINK.sub(show, value) if "\u2063r:" in value else value
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            return value

        return walk(body)  # type: ignore[no-any-return]
