"""A pair's room on Discord: a private thread in the cohort's channel that only its members
(and the bot, and moderators with Manage Threads) see.

POST /channels/{channel}/threads (type 12, `invitable: false`, so members cannot invite
others), then PUT /channels/{thread}/thread-members/{user} for each member. Creating a thread
is not idempotent, so one sender at a time does it under the book's claim (bot/rooms.py); a
sender that finds an earlier claim lapsed (its answer lost, its process gone) first looks for
the thread among the server's active threads by parent and name, and adds the members again
(PUT is a no-op for a member already in). Without Create Private Threads or Send Messages in
Threads in that channel, the pair is written to by DM, and the message says which permission
an organizer can grant."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal

import discord

from bot.delivery import DeliveryError
from bot.rooms import Opened, RoomBook
from bot.types import Reply, Room

log = logging.getLogger("cohortbot.discord")

PRIVATE_THREAD: Literal[12] = 12
# A week: the longest Discord allows; a message in the thread brings it back after that.
ARCHIVE_MINUTES: Literal[10080] = 10080
NO_ACCESS = (50001, 50013)  # Missing Access, Missing Permissions
NEEDS = (
    ("view_channel", "View Channel"),
    ("create_private_threads", "Create Private Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)
_LINK = re.compile("\u2063r:([\\w-]+)\\|([^\u2063]*)\u2063")


def no_room_note(missing: str, where: str) -> str:
    return (
        f"I couldn't open a private thread for you in {where} (I am missing {missing} there; "
        "an organizer can grant it), so this comes to each of you by DM."
    )


class DiscordRooms:
    def __init__(self, client: discord.Client, book: RoomBook) -> None:
        self.client = client
        self.book = book

    async def open(self, room: Room) -> Opened:
        """Where `room` is, making its thread the first time."""
        known = await asyncio.to_thread(self.book.opened, room.key)
        if known is not None:
            return known
        if room.channel is None:
            return Opened("dms", note="This cohort has no channel for threads yet.")
        missing = self._missing(int(room.channel.conversation.id))
        if missing:
            where = f"#{room.channel.conversation.name or 'the cohort channel'}"
            opened = Opened("dms", note=no_room_note(" and ".join(missing), where))
            await asyncio.to_thread(self.book.record, room.key, opened)
            return opened
        claim = await asyncio.to_thread(self.book.claim, room.key)
        if claim.opened is not None:
            return claim.opened
        if not claim.mine:
            # Another sender is making it now: this message waits a little and finds it.
            raise DeliveryError("the pair's thread is being opened by another sender")
        try:
            opened = await self._make(room, look_first=claim.retry)
        except _NoRight as exc:
            where = f"#{room.channel.conversation.name or 'the cohort channel'}"
            opened = Opened("dms", note=no_room_note(exc.right, where))
        except discord.HTTPException as exc:
            # Refused (a 4xx or 5xx answer): nothing was made.
            await asyncio.to_thread(self.book.release, room.key, certain=exc.status < 500)
            raise
        except BaseException:
            # No answer: the thread may exist; the next sender looks for it first.
            await asyncio.to_thread(self.book.release, room.key, certain=False)
            raise
        await asyncio.to_thread(self.book.record, room.key, opened)
        return opened

    def _missing(self, channel_id: int) -> list[str]:
        """What the bot lacks in the channel, where its cache knows (else the 403 tells)."""
        channel = self.client.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return []
        me = channel.guild.me
        if me is None:
            return []
        perms = channel.permissions_for(me)
        if perms.administrator:
            return []
        return [label for attr, label in NEEDS if not getattr(perms, attr)]

    async def _make(self, room: Room, *, look_first: bool) -> Opened:
        assert room.channel is not None
        parent = int(room.channel.conversation.id)
        http = self.client.http
        thread_id = await self._find(room, parent) if look_first else None
        if thread_id is None:
            async with _needs("Create Private Threads"):
                made: Any = await http.start_thread_without_message(
                    parent,
                    name=room.name[:100] or "Mock interview",
                    auto_archive_duration=ARCHIVE_MINUTES,
                    type=PRIVATE_THREAD,
                    invitable=False,
                )
            thread_id = int(made["id"])
        # Adding members to its own private thread takes the right to write in threads.
        async with _needs("Send Messages in Threads"):
            for user in room.users:
                await http.add_user_to_thread(thread_id, int(user.user_id))
        return Opened("thread", str(thread_id))

    async def _find(self, room: Room, parent: int) -> int | None:
        assert room.channel is not None
        guild = int(room.channel.workspace_id)
        found: Any = await self.client.http.get_active_threads(guild)
        for t in found.get("threads", []):
            if str(t.get("parent_id")) == str(parent) and t.get("name") == room.name[:100]:
                log.info("found the thread an earlier try made", extra={"room": room.key})
                return int(t["id"])
        return None

    async def link(self, reply: Reply) -> Reply:
        """The reply with each room link as the thread's mention `<#id>` where it renders (the
        text and field values), the link's plain words elsewhere or without a thread."""
        keys = list(dict.fromkeys(m.group(1) for m in _LINK.finditer(_all_text(reply))))
        if not keys:
            return reply
        ids: dict[str, str] = {}
        for key in keys:
            opened = await asyncio.to_thread(self.book.opened, key)
            if opened is None:
                room = await asyncio.to_thread(self.book.describe, key)
                opened = await self.open(room) if room is not None else None
            if opened is not None and opened.kind == "thread":
                ids[key] = opened.id

        def rich(text: str) -> str:
            return _LINK.sub(
                lambda m: f"<#{ids[m.group(1)]}>" if m.group(1) in ids else m.group(2), text
            )

        def flat(text: str) -> str:
            return _LINK.sub(lambda m: m.group(2), text)

        return replace(
            reply,
            text=rich(reply.text),
            lead=rich(reply.lead) if reply.lead is not None else None,
            fields=tuple(replace(f, name=flat(f.name), value=rich(f.value)) for f in reply.fields),
            title=flat(reply.title) if reply.title else None,
            footer=flat(reply.footer) if reply.footer else None,
        )


class _NoRight(Exception):
    def __init__(self, right: str) -> None:
        super().__init__(right)
        self.right = right


@asynccontextmanager
async def _needs(right: str) -> AsyncIterator[None]:
    """A 403 for a missing permission, inside, becomes _NoRight naming `right`."""
    try:
        yield
    except discord.Forbidden as exc:
        if exc.code in NO_ACCESS:
            raise _NoRight(right) from exc
        raise


def _all_text(reply: Reply) -> str:
    parts = [reply.text, reply.lead or "", reply.title or "", reply.footer or ""]
    parts += [f"{f.name}\n{f.value}" for f in reply.fields]
    return "\n".join(parts)
