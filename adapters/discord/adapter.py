"""The Discord adapter: interactions in, Replies out, and scheduled deliveries.

The core is synchronous (SQLAlchemy sessions), discord.py is asyncio: router calls run in a
worker thread so the event loop keeps answering other interactions, and an interaction whose
work takes longer than `defer_after` seconds is deferred (Discord allows 3 s) and followed up.

Scheduled messages go with a nonce derived from their outbox row and `enforce_nonce`, so a
retry after an answer that came late or never (Discord may have created the message) returns
the first message instead of sending a second. Every REST call the adapter makes is bounded
(adapters/discord/bounded.py): one member's 429, 5xx or slow channel never holds the sender."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import aiohttp
import discord
from discord import app_commands
from sqlalchemy import select

from adapters.discord.bounded import bounded, install
from adapters.discord.complete import company_completer, drill_completer
from adapters.discord.render import (
    ActionButton,
    FormModal,
    message_kwargs,
    neutralize,
    parse_modal_id,
    to_embed,
    to_files,
    to_view,
)
from adapters.discord.rooms import NO_ACCESS, DiscordRooms, no_room_note
from adapters.discord.speak import for_discord
from adapters.discord.tree import Completer, populate
from bot.app import App
from bot.db.models import Member, Workspace
from bot.delivery import DeliveryError, RateLimited, Undeliverable, UnsupportedTarget
from bot.features.settings.handlers import zone_choices
from bot.rooms import RoomBook
from bot.router import SORRY
from bot.seen import SeenRequests
from bot.types import (
    DM,
    Answer,
    Channel,
    Conversation,
    Ephemeral,
    Form,
    InPlace,
    Invocation,
    Outbound,
    Reply,
    Room,
    User,
)

log = logging.getLogger("cohortbot.discord")

CLOSED_DMS = 50007  # "Cannot send messages to this user"
UNKNOWN_MESSAGE = 10008  # to a nonce: that message was created, then deleted
NONCE_MAX = 25  # Discord's limit on a message nonce
# A wait for a rate limit up to this long happens inline; a longer one goes back to the outbox.
INLINE_WAIT = 1.0
SUBMITS_REMEMBERED = 4096
DM_CHANNELS_REMEMBERED = 50_000  # about 10 MB at most: every member of a large cohort
CONFIRM_PAUSES = (1.0, 4.0, 15.0, 40.0)  # between DM attempts when the interaction is gone
# What answering through an interaction can raise, besides our own bounded errors.
ANSWER_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError, DeliveryError)
# Failures after which Discord may still have taken the request.
AMBIGUOUS = (aiohttp.ClientError, OSError, TimeoutError)
ALREADY_ACKNOWLEDGED = 40060
THREAD_ALREADY_CREATED = 160004
THREAD_NAME_MAX = 100
# Under a drill's discussion post: Discord hides `||text||` until a reader clicks it.
SPOILER_HINT = (
    "Reply in the thread; put your answer in a spoiler, ||like this||, so others can try first."
)
NO_HOME = (
    "I don't know which cohort you belong to yet. Use any command once in your cohort's "
    "server (try /cohortbot there), and then this works in DMs too."
)
DONE = "Done."


class CohortClient(discord.Client):
    """discord.py's client with the generated command tree and our persistent buttons."""

    def __init__(self, adapter: DiscordAdapter, **kwargs: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need no privileged intent
        kwargs.setdefault("max_ratelimit_timeout", 60.0)
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **kwargs)
        self.global_limit = install(self, kwargs.get("http_trace"))
        self.adapter = adapter
        self.tree: app_commands.CommandTree[CohortClient] = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:
        # Registered up front, so clicks on messages sent before this process started dispatch.
        self.add_dynamic_items(ActionButton)
        await self.adapter.learn_command_ids()

    async def on_cohort_click(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        await self.adapter.on_click(interaction, custom_id)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await self.adapter.on_stray_modal(interaction)


class DiscordAdapter:
    platform = "discord"
    # discord.py keeps each channel's bucket (5 per 5 s) itself, waiting before it runs out.
    send_interval = 0.0

    def __init__(
        self,
        app: App,
        *,
        defer_after: float = 2.0,
        deliver_timeout: float = 10.0,
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.defer_after = defer_after
        # Discord answers in well under a second; past this a send is given up (and, having a
        # nonce, safely retried by the outbox). Far inside the nonce window of a few minutes.
        self.deliver_timeout = deliver_timeout
        self.client = CohortClient(self, **dict(client_kwargs or {}))
        self.completers: dict[str, Completer] = {
            "zone": _zone_completer,
            "company": company_completer(app.sessions),
            "drill": drill_completer(app.content),
        }
        populate(
            self.client.tree,
            self.on_command,
            self.completers,
            max_length=app.settings.max_arg_length,
            on_message=self.on_message_command,
        )
        self.command_ids: dict[str, int] = {}  # Discord's command name -> its id
        self.loop: asyncio.AbstractEventLoop | None = None
        # Interactions already taken, so a redelivered modal submit is handled once. Bounded:
        # Discord never redelivers one older than its 15-minute token.
        self._submitted: OrderedDict[int, None] = OrderedDict()
        self._finished: OrderedDict[int, None] = OrderedDict()  # bounded, like _submitted
        self._dm_channels: OrderedDict[str, int] = OrderedDict()  # user id -> DM channel id
        self._finished_cv = threading.Condition()
        self.seen = SeenRequests(app.sessions, app.clock.now)  # one replica per interaction
        self.rooms = DiscordRooms(self.client, RoomBook(app.sessions, app.clock.now))

    async def learn_command_ids(self) -> None:
        """The registered commands' ids, so replies name commands as clickable mentions. One
        GET at login; without it (not synced yet, Discord slow) replies name them as text."""
        try:
            async with asyncio.timeout(self.deliver_timeout):
                found = await self.client.tree.fetch_commands()
        except ANSWER_ERRORS as exc:
            log.warning("could not read the registered commands: %s", exc)
            return
        self.command_ids = {c.name: c.id for c in found}

    # -- interactions in ------------------------------------------------------------------

    async def on_command(
        self, interaction: discord.Interaction[Any], command: str, options: dict[str, str]
    ) -> None:
        def work(user: User, conv: Conversation) -> Answer:
            missing = _setup_cannot_post(interaction, command, options, user)
            if missing:
                return Answer.sort([Outbound(Ephemeral(user, conv), missing)], user, conv)
            inv = Invocation(command, "", user, conv, "slash", options)
            return self.app.router.handle(inv)

        await self._serve(interaction, work)

    async def on_message_command(
        self, interaction: discord.Interaction[Any], shortcut: str, message: discord.Message
    ) -> None:
        """A message's context menu ("Add to my pipeline"): the core reads the message, from
        the interaction's resolved data, and answers with a form, opened as a modal."""
        text = _message_text(message)
        await self._serve(interaction, lambda u, c: self.app.router.shortcut(u, c, shortcut, text))

    async def on_click(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        await self._serve(interaction, lambda u, c: self.app.router.click(u, c, custom_id))

    async def on_submit(
        self, interaction: discord.Interaction[Any], form: Form, fields: dict[str, str]
    ) -> None:
        await self._submit(interaction, form.action, form.value, fields)

    async def on_stray_modal(self, interaction: discord.Interaction[Any]) -> None:
        """Every modal submit arrives here. The modal's custom_id carries its action and
        value, so nothing is kept in memory per open modal (members leave most unsubmitted,
        and a store of them only grows) and one submit takes one path: before a restart or
        after, whenever it comes."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        parsed = parse_modal_id(str(data.get("custom_id", "")))
        if parsed is None or interaction.id in self._submitted:
            return
        self._submitted[interaction.id] = None
        while len(self._submitted) > SUBMITS_REMEMBERED:
            self._submitted.popitem(last=False)
        await self._submit(interaction, parsed[0], parsed[1], _modal_values(data))

    async def _submit(
        self,
        interaction: discord.Interaction[Any],
        action: str,
        value: str,
        fields: dict[str, str],
    ) -> None:
        await self._serve(
            interaction,
            lambda u, c: self.app.router.submit(u, c, action, value, fields),
        )

    async def _serve(
        self,
        interaction: discord.Interaction[Any],
        work: Callable[[User, Conversation], Answer],
    ) -> None:
        """Answer (or defer) within `defer_after`, whatever the work or the database does;
        then every reply of committed work reaches the member: through the interaction while
        Discord takes it, by DM when its token is gone."""

        def run() -> Answer | None:
            if not self.seen.first_time(f"discord:{interaction.id}"):
                return None  # another replica (each gateway session gets it too) took it on
            user, conv = self._identify(interaction)
            if user is None:
                anonymous = _anonymous(interaction)
                return Answer.sort([Outbound(DM(anonymous), Reply(NO_HOME))], anonymous, conv)
            return work(user, conv)

        try:
            async with bounded(INLINE_WAIT):
                try:
                    task = asyncio.ensure_future(asyncio.to_thread(run))
                    try:
                        outs = await asyncio.wait_for(asyncio.shield(task), self.defer_after)
                    except TimeoutError:
                        await self._defer(interaction)
                        outs = await task
                except Exception:
                    log.exception("interaction failed", extra={"interaction": interaction.id})
                    await self._apologise(interaction)
                    return
                if outs is not None:
                    await self._answer(interaction, outs)
        except Exception:
            log.exception("answering failed", extra={"interaction": interaction.id})
        finally:
            with self._finished_cv:
                self._finished[interaction.id] = None
                while len(self._finished) > SUBMITS_REMEMBERED:
                    self._finished.popitem(last=False)
                self._finished_cv.notify_all()

    def wait_finished(self, interaction_id: int, timeout: float) -> bool:
        """Block until the interaction was fully answered (tests, graceful shutdown)."""
        with self._finished_cv:
            return self._finished_cv.wait_for(lambda: interaction_id in self._finished, timeout)

    def _identify(self, interaction: discord.Interaction[Any]) -> tuple[User | None, Conversation]:
        """Who asks, in which cohort. A member who installed the app for themselves may use it
        in their DMs, a group DM or a server the app was never added to: their cohort is then
        their home one, and that place is private to them. Only in the cohort's own server does
        the interaction carry the member's permissions there, read afresh each time, so a
        demoted organizer loses the organizer's commands at once."""
        author = interaction.user
        channel_id = str(interaction.channel_id or "")
        if not _in_cohort_server(interaction):
            conv = Conversation("dm", channel_id)
            workspace = self._home_workspace(str(author.id))
            if workspace is None:
                return None, conv
            user = User("discord", workspace, str(author.id), author.display_name)
            return user, conv
        name = getattr(interaction.channel, "name", None)
        conv = Conversation("channel", channel_id, name)
        perms = interaction.permissions
        user = User(
            "discord",
            str(interaction.guild_id),
            str(author.id),
            author.display_name,
            is_admin=bool(perms.administrator or perms.manage_guild),
            admin_checked=True,
        )
        return user, conv

    def _home_workspace(self, user_id: str) -> str | None:
        """DMs carry no guild: the member's cohort is the server they were last active in."""
        with self.app.sessions() as session:
            return session.scalar(
                select(Workspace.external_id)
                .join(Member, Member.workspace_id == Workspace.id)
                .where(Workspace.platform == "discord", Member.platform_user_id == user_id)
                .order_by(Member.last_active_at.desc())
                .limit(1)
            )

    # -- answering an interaction ---------------------------------------------------------

    async def _defer(self, interaction: discord.Interaction[Any]) -> None:
        """Defer; when Discord refuses or is too slow, the work goes on (it will commit) and
        its replies find their way by follow-up or DM."""
        if interaction.response.is_done():
            return
        try:
            async with asyncio.timeout(self.deliver_timeout):
                if interaction.type is discord.InteractionType.component:
                    await interaction.response.defer()  # keeps the message; follow-ups come after
                else:
                    await interaction.response.defer(
                        ephemeral=not _in_bot_dm(interaction), thinking=True
                    )
        except ANSWER_ERRORS as exc:
            log.warning("could not defer interaction %s: %s", interaction.id, exc)

    async def _answer(self, interaction: discord.Interaction[Any], answer: Answer) -> None:
        """The member's own replies go first, so nothing else stands between the member and
        Discord's 3 s; other members' DMs and channel posts follow. A reply Discord would not
        take through the interaction (its token gone, a 5xx) goes by DM instead."""
        in_dm = _in_bot_dm(interaction)
        mine, others = answer.replies, answer.elsewhere
        replied = False
        late: list[Reply] = []
        for ob in mine:
            if late:  # the token is gone: the rest follows the first by DM, in order
                late.append(ob.reply)
                continue
            try:
                await self._answer_surely(interaction, ob, in_dm)
                replied = True
            except ANSWER_ERRORS as exc:
                log.warning("could not answer interaction %s: %s", interaction.id, exc)
                late.append(ob.reply)
        if not late:  # else the interaction is past answering: its replies go by DM
            try:
                async with asyncio.timeout(self.deliver_timeout):
                    await self._close(interaction, replied=replied, in_dm=in_dm)
            except ANSWER_ERRORS as exc:
                log.warning("could not close interaction %s: %s", interaction.id, exc)
        for ob in others:
            match ob.target:
                case Ephemeral(user=u) | DM(user=u) | InPlace(user=u):
                    await self._try(self._send_dm(u.user_id, ob.reply), ob)
                case Channel(conversation=c):
                    failed = await self._try(self._send_channel(c.id, ob.reply), ob)
                    if failed is not None and not failed.retryable and not late:
                        await self._say_post_failed(interaction, c, failed)
                case target:
                    raise UnsupportedTarget(f"cannot deliver to {target!r} on Discord")
        for i, reply in enumerate(late):
            await self._confirm_by_dm(interaction, reply, i)

    async def _answer_surely(
        self, interaction: discord.Interaction[Any], ob: Outbound, in_dm: bool
    ) -> None:
        """One reply through the interaction. When the first answer's reply is lost (the
        connection dropped, no answer in time), Discord may have taken it: it is sent again,
        and Discord's "already acknowledged" (40060) says the first went through, so the
        member sees it once and no DM repeats it."""
        first = not interaction.response.is_done()
        try:
            async with asyncio.timeout(self.deliver_timeout):
                await self._answer_one(interaction, ob, in_dm)
            return
        except AMBIGUOUS as exc:
            if not first:
                raise  # a follow-up has no such check: sent again, it would show twice
            log.warning("no answer to interaction %s's response: %s", interaction.id, exc)
        try:
            async with asyncio.timeout(self.deliver_timeout):
                await self._answer_one(interaction, ob, in_dm)
        except discord.HTTPException as exc:
            if exc.code != ALREADY_ACKNOWLEDGED:
                raise
            # discord.py only marks a response done when it saw Discord's answer: mark it, so
            # what follows goes as follow-ups.
            interaction.response._response_type = discord.InteractionResponseType.channel_message

    async def _answer_one(
        self, interaction: discord.Interaction[Any], ob: Outbound, in_dm: bool
    ) -> None:
        if ob.reply.form is not None and await self._open_form(interaction, ob.reply.form):
            return
        if isinstance(ob.target, DM) and not in_dm and _in_cohort_server(interaction):
            # A form that could not open as a modal, a file: to the member's DM. Where the
            # member uses their own install (a group DM, another server) the core took the
            # place for a DM, so the answer is given here, visible only to them.
            await self._send_dm(ob.target.user.user_id, ob.reply)
        elif isinstance(ob.target, InPlace):
            await self._replace(interaction, ob.reply)
        else:
            await self._reply_here(interaction, ob.reply, ephemeral=not in_dm)

    async def _close(
        self, interaction: discord.Interaction[Any], *, replied: bool, in_dm: bool
    ) -> None:
        """Every interaction gets an answer: a bare acknowledgement when all went elsewhere."""
        if not interaction.response.is_done():
            if interaction.type is discord.InteractionType.component:
                await interaction.response.defer()
            else:
                await interaction.response.send_message(
                    DONE, ephemeral=not in_dm, allowed_mentions=discord.AllowedMentions.none()
                )
        elif not replied and interaction.type is not discord.InteractionType.component:
            # A deferred command whose output all went elsewhere: close the "thinking…" note.
            await interaction.edit_original_response(content=DONE)

    async def _confirm_by_dm(
        self, interaction: discord.Interaction[Any], reply: Reply, index: int
    ) -> None:
        """The work is done (committed): the member hears so by DM, retried a few times over
        about a minute. The nonce makes a retry after a lost answer harmless."""
        note = "Discord did not let me answer where you asked, so here it is."
        reply = replace(reply, footer=reply.footer or note)
        nonce = nonce_of(f"late|{interaction.id}|{index}")
        user_id = str(interaction.user.id)
        for pause in (*CONFIRM_PAUSES, None):
            try:
                await self._send_dm(user_id, reply, nonce)
                return
            except RateLimited as exc:
                wait = exc.retry_after
            except Undeliverable:
                log.warning("member %s takes no DMs: a reply is lost", user_id)
                return
            except DeliveryError as exc:
                if not exc.retryable:
                    log.warning("could not confirm by DM: %s", exc)
                    return
                wait = 0.0
            if pause is None:
                break
            await asyncio.sleep(max(pause, wait))
        log.error("could not confirm interaction %s by DM: a reply is lost", interaction.id)

    async def _try(self, send: Any, ob: Outbound) -> DeliveryError | None:
        """A side delivery (another member's DM, a channel post) must not sink the answer."""
        try:
            await send
        except DeliveryError as exc:
            log.warning("side delivery failed: %s", exc, extra={"target": repr(ob.target)})
            return exc
        return None

    async def _say_post_failed(
        self, interaction: discord.Interaction[Any], channel: Conversation, exc: DeliveryError
    ) -> None:
        """A channel post the member's command made, refused for good (403 Missing Access or
        Permissions): they hear it now, not never."""
        place = f"#{channel.name}" if channel.name else "the cohort's channel"
        text = (
            f"I could not post in {place}: {exc}. Give Cohortbot View Channel, Send Messages, "
            "Embed Links and Attach Files there."
        )
        try:
            async with asyncio.timeout(self.deliver_timeout):
                kwargs = message_kwargs(Reply(text, title="Not posted", color="warning"))
                await interaction.followup.send(ephemeral=True, **kwargs)
        except ANSWER_ERRORS as err:
            log.warning("could not tell about a failed post: %s", err)

    async def _open_form(self, interaction: discord.Interaction[Any], form: Form) -> bool:
        """Forms open as modals, which only a first answer to a command or click can be."""
        if interaction.response.is_done() or interaction.type not in (
            discord.InteractionType.application_command,
            discord.InteractionType.component,
        ):
            return False
        modal = FormModal(form, self.on_submit, os.urandom(4).hex())
        modal.stop()  # discord.py keeps no stopped modal: its submit comes by on_interaction
        await interaction.response.send_modal(modal)
        return True

    async def _reply_here(
        self, interaction: discord.Interaction[Any], reply: Reply, *, ephemeral: bool
    ) -> None:
        kwargs = message_kwargs(for_discord(_without_form(reply), self.command_ids))
        if not interaction.response.is_done():
            await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        else:
            await interaction.followup.send(ephemeral=ephemeral, **kwargs)

    async def _replace(self, interaction: discord.Interaction[Any], reply: Reply) -> None:
        if interaction.type is not discord.InteractionType.component:
            await self._reply_here(interaction, reply, ephemeral=not _in_bot_dm(interaction))
            return
        reply = for_discord(_without_form(reply), self.command_ids)
        kwargs: dict[str, Any] = {
            "embed": to_embed(reply),
            "view": to_view(reply),
            "attachments": to_files(reply),
            "allowed_mentions": discord.AllowedMentions.none(),
        }
        if not interaction.response.is_done():
            await interaction.response.edit_message(**kwargs)
        else:
            await interaction.edit_original_response(**kwargs)

    async def _apologise(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    SORRY, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                await interaction.followup.send(
                    SORRY, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
        except discord.HTTPException:
            log.warning("could not apologise for interaction %s", interaction.id)

    # -- sending without an interaction (REST) --------------------------------------------

    async def send(self, outbound: Outbound) -> None:
        """Deliver one scheduled message; raise RateLimited, Undeliverable or DeliveryError.
        The outbox row's key (`Outbound.key`) makes the nonce: the same row is never shown
        twice, however its earlier attempts ended."""
        target, reply = outbound.target, outbound.reply
        nonce = nonce_of(outbound.key or None)
        match target:
            case DM(user=u) | Ephemeral(user=u):
                # No interaction is open to answer, so a private message goes by DM.
                await self._send_dm(u.user_id, reply, nonce)
            case Channel(conversation=c, thread=thread):
                await self._send_channel(c.id, reply, nonce, thread)
            case Room():
                await self._send_room(target, reply, nonce)
            case _:
                raise UnsupportedTarget(f"cannot deliver {type(target).__name__} without a click")

    async def _send_dm(self, user_id: str, reply: Reply, nonce: str | None = None) -> None:
        async def go() -> None:
            said = await self.rooms.link(for_discord(reply, self.command_ids))
            await _post(await self._dm_channel(user_id), said, nonce)

        await self._bounded(go())

    async def _dm_channel(self, user_id: str) -> discord.abc.Messageable:
        """A member's DM channel. Opening one is a single route for the whole bot, and
        discord.py remembers 128: known ones (a DM channel never changes) are kept here, so a
        limit on opening new ones delays only members never written to before."""
        known = self._dm_channels.get(user_id)
        if known is not None:
            self._dm_channels.move_to_end(user_id)
            return self.client.get_partial_messageable(known, type=discord.ChannelType.private)
        channel = await self.client.create_dm(discord.Object(int(user_id)))
        self._dm_channels[user_id] = channel.id
        while len(self._dm_channels) > DM_CHANNELS_REMEMBERED:
            self._dm_channels.popitem(last=False)
        return channel

    async def _send_channel(
        self, channel_id: str, reply: Reply, nonce: str | None = None, thread: str = ""
    ) -> None:
        """A channel post; with `thread`, a discussion: a public thread opened on the post."""

        async def go() -> None:
            said = await self.rooms.link(for_discord(reply, self.command_ids))
            if thread:
                footer = f"{said.footer} · {SPOILER_HINT}" if said.footer else SPOILER_HINT
                said = replace(said, footer=footer)
            channel = self.client.get_partial_messageable(int(channel_id))
            posted = await _post(channel, said, nonce)
            if thread and posted is not None:
                await _open_thread(self.client, int(channel_id), posted.id, thread)

        await self._bounded(go())

    async def _send_room(self, room: Room, reply: Reply, nonce: str | None = None) -> None:
        """The pair's private thread; without one, each member's DM, saying why."""

        async def go() -> None:
            opened = await self.rooms.open(room)
            said = for_discord(reply, self.command_ids)
            note = opened.note
            if opened.kind == "thread":
                thread = self.client.get_partial_messageable(
                    int(opened.id), type=discord.ChannelType.private_thread
                )
                try:
                    await _post(thread, said, nonce)
                    return
                except discord.Forbidden as exc:
                    if exc.code not in NO_ACCESS:
                        raise
                    where = f"#{room.channel.conversation.name}" if room.channel else "the channel"
                    note = no_room_note("Send Messages in Threads", where)
            footer = f"{said.footer} · {note}" if said.footer and note else note or said.footer
            said = replace(said, footer=footer)
            for user in room.users:
                # One nonce per member's DM: the same row retried shows once in each.
                own = nonce_of(f"{nonce}:{user.user_id}") if nonce else None
                await _post(await self._dm_channel(user.user_id), said, own)

        await self._bounded(go())

    async def _bounded(self, call: Awaitable[None]) -> None:
        """One REST delivery: no wait over INLINE_WAIT, no longer than deliver_timeout."""
        try:
            async with bounded(INLINE_WAIT, self.deliver_timeout):
                self.client.global_limit.check()
                await _translate(call)
        except TimeoutError as exc:
            raise DeliveryError("Discord did not answer in time (it may have the message)") from exc

    def deliver(self, outbound: Outbound) -> None:
        """The synchronous Adapter.deliver, for the outbox worker thread: runs `send` on the
        client's event loop and waits for the platform's answer."""
        loop = self.loop
        if loop is None or not loop.is_running():
            raise DeliveryError("the Discord client is not running")
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("deliver() would block the client's own loop: await send()")
        fut: Future[None] = asyncio.run_coroutine_threadsafe(self.send(outbound), loop)
        try:
            # send() bounds itself; this only guards against a loop too busy to run it.
            fut.result(timeout=self.deliver_timeout + 5.0)
        except TimeoutError as exc:
            fut.cancel()
            raise DeliveryError("Discord did not answer in time") from exc


def nonce_of(key: str | None) -> str | None:
    """A nonce for Discord's dedupe from the outbox row's key (None without one: then
    discord.py sends a random nonce, which dedupes nothing)."""
    if not key:
        return None
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()[:NONCE_MAX]


async def _post(
    channel: discord.abc.Messageable, reply: Reply, nonce: str | None
) -> discord.Message | None:
    """The message posted (the first one again, for a nonce Discord has seen), or None when
    an earlier attempt's message was deleted since."""
    try:
        kwargs = message_kwargs(_without_form(reply))
        if nonce is not None:
            kwargs["nonce"] = nonce  # discord.py (2.5+) sends `enforce_nonce` with every nonce
        return await channel.send(**kwargs)
    except discord.NotFound as exc:
        if nonce is not None and exc.code == UNKNOWN_MESSAGE:
            # Discord created this message on an earlier attempt and the member deleted it:
            # it was delivered, and sending it again would undo their deletion.
            return None
        raise


async def _open_thread(client: discord.Client, channel_id: int, message_id: int, name: str) -> None:
    """A public thread on a post, for its discussion; one that an earlier try of the same post
    opened already is taken as opened."""
    try:
        await client.http.start_thread_with_message(
            channel_id, message_id, name=name[:THREAD_NAME_MAX], auto_archive_duration=1440
        )
    except discord.HTTPException as exc:
        if exc.code != THREAD_ALREADY_CREATED:
            raise


async def _translate(call: Any) -> None:
    """discord.py's errors -> the outbox's: it retries, marks undeliverable, or gives up."""
    try:
        await call
    except discord.RateLimited as exc:  # longer than max_ratelimit_timeout: let the outbox wait
        raise RateLimited(exc.retry_after) from exc
    except discord.Forbidden as exc:
        if exc.code == CLOSED_DMS:
            raise Undeliverable() from exc
        raise DeliveryError(f"Discord refused: {exc.text or exc.status}", retryable=False) from exc
    except discord.HTTPException as exc:
        if exc.status == 429:  # no Via header: not Discord's own limiter (a proxy or a ban)
            retry = exc.response.headers.get("Retry-After", "5")
            raise RateLimited(float(retry) if _is_number(retry) else 5.0) from exc
        retryable = exc.status >= 500
        raise DeliveryError(
            f"Discord answered {exc.status}: {exc.text[:200]}", retryable=retryable
        ) from exc
    except TimeoutError as exc:
        raise DeliveryError(
            "Discord did not answer in time (it may have taken the message)"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise DeliveryError(f"could not reach Discord: {exc}") from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _without_form(reply: Reply) -> Reply:
    if reply.form is None:
        return reply
    note = "This needs a form, which only opens from a command or a button: use the button again."
    return replace(reply, form=None, text=f"{reply.text}\n{note}")


def _message_text(message: discord.Message) -> str:
    """A message as plain text: what was written, then each embed's (a link preview's) title,
    address and description, where a shared job's company and role often are."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.url or "", embed.description or ""]
    return "\n".join(p for p in parts if p)


def _modal_values(data: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    stack = list(data.get("components", []))
    while stack:
        comp = stack.pop(0)
        if "components" in comp:
            stack[:0] = comp["components"]
        elif "component" in comp:
            stack.insert(0, comp["component"])
        elif "custom_id" in comp:
            out[str(comp["custom_id"])] = str(comp.get("value") or "")
    return out


# What the cohort's channel needs from the bot: its posts are embeds, the leaderboard a chart.
CHANNEL_NEEDS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)


def _setup_cannot_post(
    interaction: discord.Interaction[Any], command: str, options: Mapping[str, str], user: User
) -> Reply | None:
    """An organizer's `/cohort setup` in a channel where the bot cannot post what the cohort's
    posts are (Discord computes the bot's permissions there into the interaction): nothing is
    set up, and the organizer hears which permissions to grant, instead of a "Done" followed
    by posts that fail unseen."""
    if command != "cohort" or options.get("sub") != "setup" or not user.is_admin:
        return None
    perms = interaction.app_permissions
    if perms.administrator:
        return None
    missing = [label for attr, label in CHANNEL_NEEDS if not getattr(perms, attr)]
    if not missing:
        return None
    where = getattr(interaction.channel, "name", None)
    place = f"#{where}" if where else "this channel"
    return Reply(
        f"I can't post the cohort's messages in {place}: I am missing "
        f"{', '.join(missing)} there. Give Cohortbot's role (or Cohortbot) "
        f"{' and '.join(missing) if len(missing) < 3 else 'these permissions'} in this "
        "channel's settings (Permissions), then run /cohort setup again. Nothing was changed.",
        title="Not set up yet",
        color="warning",
    )


def _in_cohort_server(interaction: discord.Interaction[Any]) -> bool:
    """A server that installed the app (the cohort's), not one a member brought it into."""
    return interaction.guild_id is not None and interaction.is_guild_integration()


def _in_bot_dm(interaction: discord.Interaction[Any]) -> bool:
    """Only the bot's own DM is private by nature; in a group DM or a server everyone present
    would see a non-ephemeral answer."""
    return interaction.guild_id is None and not interaction.context.private_channel


def _anonymous(interaction: discord.Interaction[Any]) -> User:
    return User("discord", "", str(interaction.user.id), interaction.user.display_name)


async def _zone_completer(_interaction: discord.Interaction[Any], current: str) -> list[str]:
    return zone_choices(current)


__all__ = ["CohortClient", "DiscordAdapter", "neutralize"]
