"""Outbounds to Slack's Web API: ephemeral, DM, channel, in place, files.

Interactive answers go through `send` (a response_url when the click or command gave one);
scheduled messages go through `deliver`, which turns Slack's errors into the outbox's
RateLimited / Undeliverable / DeliveryError.

Slack has no idempotency key, so nothing here re-sends a post on its own after an ambiguous
failure (the connection dropped or timed out after the request went out: Slack may have
posted it). Every outbox post carries an opaque key in its message metadata
(`event_type` OUTBOX_EVENT, `event_payload` {"key": ...}); a post whose fate is unknown is
reported `uncertain`, and before it is sent again `deliver` looks for its key with
conversations.history (include_all_metadata). Only those few rows are looked up.

The history scopes (HISTORY_SCOPES) are optional. Without them the look-up answers
`missing_scope`, and an uncertain post is sent again: the member may get it twice, never
zero times. With them, exactly once. (Apps outside the Marketplace may read
conversations.history once a minute: a look-up told 429 waits its Retry-After in the outbox,
still uncertain.)"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from adapters.slack import render
from adapters.slack.oauth import NotInstalled
from adapters.slack.rooms import SlackRooms
from bot.delivery import DeliveryError, RateLimited, Undeliverable, UnsupportedTarget
from bot.rooms import RoomBook
from bot.serialize import reply_to_dict, target_to_dict
from bot.types import (
    DM,
    Attachment,
    Channel,
    Ephemeral,
    InPlace,
    Outbound,
    Reply,
    Room,
    Target,
    User,
    room_keys,
)

log = logging.getLogger("cohortbot.slack")

DEFAULT_API_URL = "https://slack.com/api/"

# Errors that say this member can't get messages from us; retrying will not help.
_MEMBER_GONE = {
    "user_not_found",
    "users_not_found",
    "cannot_dm_bot",
    "user_disabled",
    "account_inactive",
    "user_not_in_channel",
    "messages_tab_disabled",
}
_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# An ephemeral can't reach this member here: the reply goes to their DM instead.
_NOT_HERE = {"not_in_channel", "channel_not_found", "user_not_in_channel", "is_archived"}

OUTBOX_EVENT = "cohortbot_outbox"
HISTORY_SCOPES = ("channels:history", "groups:history", "im:history", "mpim:history")
UNCERTAIN = "uncertain: "  # how an ambiguous failure's message starts (the outbox keeps it)
HISTORY_LIMIT = 15  # the most conversations.history returns to apps outside the Marketplace
# A 429 asking for longer than this is not waited out on a worker: the send goes back to the
# outbox, which holds that recipient only, so the thread serves other members meanwhile.
INLINE_RETRY_AFTER = 2.0
RESPONSE_URL_USES = 5  # Slack takes at most 5 posts per response_url ...
RESPONSE_URL_TTL = 1800.0  # ... within 30 minutes
FILES_REMEMBERED = 10_000  # files known to be in members' DMs (per process)
# Calls that change nothing when repeated, so a dropped connection may simply retry them.
_IDEMPOTENT = {
    "auth.test",
    "users.info",
    "conversations.open",
    "conversations.history",
    "views.publish",
    "files.getUploadURLExternal",
}


class ResponseUrlSpent(DeliveryError):
    """The response_url took its 5 posts or is past its 30 minutes."""

    def __init__(self, why: str) -> None:
        super().__init__(f"response_url {why}", retryable=False)


class _StillUncertain(RateLimited):
    """A 429 (often the history look-up's) on a row whose post may already be in Slack: its
    message keeps the UNCERTAIN mark, so whichever replica tries next looks it up too."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.args = (f"{UNCERTAIN}rate limited for {retry_after:.1f}s",)


def ambiguous(exc: BaseException) -> bool:
    """Did the request perhaps reach Slack? Refused or unresolvable connections never did;
    a dropped connection or a timeout after sending may have been posted."""
    reason: object = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ConnectionRefusedError | socket.gaierror):
        return False
    return isinstance(
        reason,
        TimeoutError | ConnectionResetError | http.client.HTTPException | BrokenPipeError,
    )


def outbox_key(outbound: Outbound) -> str:
    """The opaque key a post carries in its metadata: the message's key (the outbox row's, or
    the one a reply was given on its first try), hashed, since metadata is visible in the
    workspace; else a digest of the message."""
    if outbound.key:
        return hashlib.sha256(outbound.key.encode()).hexdigest()[:32]
    whole = {"t": target_to_dict(outbound.target), "r": reply_to_dict(outbound.reply)}
    raw = json.dumps(whole, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _retry_after(headers: Any, default: float = 1.0) -> float:
    raw = None
    for name in ("Retry-After", "retry-after"):
        raw = raw or (headers.get(name) if headers is not None else None)
    try:
        return float(raw[0] if isinstance(raw, list) else raw) if raw else default
    except ValueError:
        return default


class _IdempotentConnectionRetry(ConnectionErrorRetryHandler):
    """slack_sdk's connection retry, for calls that are safe to repeat only: its stock form
    re-sends chat.postMessage after Slack may already have posted it (a duplicate)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.split("?", 1)[0].rsplit("/", 1)[-1]
        return method in _IDEMPOTENT and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class _ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """Waits out a short Retry-After (a 429 is never posted, so one more try is safe); a long
    one is left to the outbox rather than hold a worker for it."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return _retry_after(response.headers) <= INLINE_RETRY_AFTER


@dataclass(frozen=True)
class SlackHandle:
    """What Slack gave us to answer one request: Invocation.handle on the Slack side."""

    team_id: str
    response_url: str | None = None
    trigger_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    # The pressed message's blocks, as Slack sent them with the press (never an ephemeral's):
    # what an in-place answer keeps of it.
    original: tuple[dict[str, Any], ...] | None = None


def retry_handlers(max_rate_limit_retries: int = 2) -> list[Any]:
    return [
        _IdempotentConnectionRetry(max_retry_count=1),
        _ShortRateLimitRetry(max_retry_count=max_rate_limit_retries),
    ]


def make_client(token: str | None, base_url: str | None = None, timeout: int = 30) -> WebClient:
    url = (base_url or DEFAULT_API_URL).rstrip("/") + "/"
    return WebClient(token=token, base_url=url, timeout=timeout, retry_handlers=retry_handlers())


ClientFor = Callable[[str], WebClient]


class SlackAdapter:
    platform = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        channel_interval: float = 1.0,
        clients: ClientFor | None = None,
        uncertain_keys: Callable[[], set[str]] | None = None,
        rooms: RoomBook | None = None,
    ) -> None:
        """`client` serves one workspace; with `clients` (many workspaces, OAuth) each call
        uses the token of the workspace its target names. `uncertain_keys` gives the keys of
        posts any replica reported uncertain (the outbox keeps that). `rooms` records the
        pairs' group DMs for every replica."""
        self.client = client
        self.clients = clients
        self.uncertain_keys = uncertain_keys
        # Slack takes about one chat.postMessage per second per channel: the outbox spaces
        # each recipient's sends by this (bot.delivery.Adapter), so nothing here sleeps.
        self.send_interval = channel_interval
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._url_uses: dict[str, tuple[float, int]] = {}  # response_url -> (first use, uses)
        self._uncertain: set[str] = set()  # keys this process saw fail ambiguously
        # (team, user, digest) of files already in a member's DM, most recent last.
        self._in_dm: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self.rooms = SlackRooms(rooms, self.client_for)

    def client_for(self, team_id: str | None) -> WebClient:
        if self.clients is None:
            return self.client
        if not team_id:
            raise NotInstalled("no Slack workspace to send as")
        return self.clients(team_id)

    def _team(self, target: Target, handle: SlackHandle | None) -> str | None:
        if self.clients is None:
            return None
        if isinstance(target, Channel):
            return target.workspace_id or (handle.team_id if handle else None)
        if isinstance(target, Room):
            return target.users[0].workspace_id
        return target.user.workspace_id

    # -- scheduled sends (the outbox) -----------------------------------------------------

    def deliver(self, outbound: Outbound) -> None:
        """Send now, blocking; raise RateLimited, Undeliverable or DeliveryError on failure.
        A failure after which Slack may have posted it is a retryable DeliveryError whose
        message starts with UNCERTAIN; the next try looks the post up before sending."""
        key = outbox_key(outbound)
        was_uncertain = self._is_uncertain(key, outbound)
        try:
            if was_uncertain and isinstance(outbound.target, Ephemeral):
                # Slack keeps no history of ephemerals, so there is nothing to look up: as in
                # the interactive path (bolt_app), one that may have arrived is taken as
                # arrived, rather than shown twice.
                log.warning("an uncertain ephemeral is taken as arrived", extra={"key": key})
                self._settled(key)
                return
            if was_uncertain and self._already_posted(outbound, key):
                log.info("an uncertain post had arrived", extra={"key": key})
                self._settled(key)
                return
            self.send(outbound, None, key=key)
        except NotInstalled as exc:
            raise DeliveryError(str(exc), retryable=False) from exc
        except SlackApiError as exc:
            err = _delivery_error(exc, outbound)
            if was_uncertain and isinstance(err, RateLimited):
                raise _StillUncertain(err.retry_after) from exc  # the look-up waits too
            if was_uncertain and not isinstance(err, Undeliverable):
                raise DeliveryError(UNCERTAIN + str(err), retryable=True) from exc
            raise err from exc
        except (SlackClientError, OSError) as exc:
            if was_uncertain or ambiguous(exc):
                with self._lock:
                    self._uncertain.add(key)
                raise DeliveryError(
                    f"{UNCERTAIN}Slack may have posted it ({type(exc).__name__})", retryable=True
                ) from exc
            raise DeliveryError(f"Slack unreachable: {exc}", retryable=True) from exc
        self._settled(key)

    def _is_uncertain(self, key: str, outbound: Outbound) -> bool:
        if outbound.uncertain or key in self._uncertain:
            return True
        if self.uncertain_keys is None:
            return False
        try:
            return key in self.uncertain_keys()
        except Exception:
            # Unknown: look it up anyway, which costs one history call, not a duplicate.
            log.warning("could not read which posts are uncertain", exc_info=True)
            return True

    def _settled(self, key: str) -> None:
        with self._lock:
            self._uncertain.discard(key)

    def _already_posted(self, outbound: Outbound, key: str) -> bool:
        """Is a message carrying `key` in the target's recent history? Ephemerals never are
        (Slack keeps no history of them): they count as not posted."""
        target = outbound.target
        client = self.client_for(self._team(target, None))
        if isinstance(target, DM):
            channel = self.open_dm(target.user)
        elif isinstance(target, Channel):
            channel = target.conversation.id
        elif isinstance(target, Room) and (opened := self.rooms.open(target)).kind == "mpim":
            channel = opened.id
        else:
            return False
        try:
            resp = client.conversations_history(
                channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        except SlackApiError as exc:
            if exc.response is not None and exc.response.status_code == 429:
                raise  # the outbox waits its Retry-After, the row still uncertain
            # missing_scope (HISTORY_SCOPES are optional) or another refusal: the post is
            # sent again, at the risk of a duplicate rather than of a loss.
            log.warning(
                "could not check for an uncertain post; sending it again",
                extra={"error": exc.response.get("error") if exc.response else str(exc)},
            )
            return False
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            mine = meta.get("event_type") == OUTBOX_EVENT
            if mine and (meta.get("event_payload") or {}).get("key") == key:
                return True
        return False

    # -- one outbound ---------------------------------------------------------------------

    def send(
        self,
        outbound: Outbound,
        handle: SlackHandle | None,
        *,
        key: str | None = None,
    ) -> None:
        """`key` tags a channel or DM post with outbox metadata, for `deliver`'s look-ups."""
        reply, target = outbound.reply, outbound.target
        uploads = [*reply.files, *([reply.image] if reply.image else [])]
        if not isinstance(target, Ephemeral | DM | Channel | InPlace | Room):  # a whole match
            raise UnsupportedTarget(f"Slack cannot deliver to {target!r}")
        client = self.client_for(self._team(target, handle))
        match target:
            case Ephemeral(user=user, conversation=conv):
                if uploads:
                    # Files can't be ephemeral: they go to the member's DM, never the channel;
                    # the same file (a week's chart asked for again) only once.
                    fresh = self._not_yet_in_dm(user, uploads)
                    if fresh:
                        self._upload(client, self.open_dm(user), fresh, reply)
                        self._sent_to_dm(user, fresh)
                        note = "The file is in your direct messages with me."
                    else:
                        note = "The file is in your direct messages with me, sent earlier."
                    reply = _note(reply, note)
                if handle and handle.response_url and handle.channel_id == conv.id:
                    try:
                        self.respond(handle.response_url, reply, "ephemeral")
                        return
                    except ResponseUrlSpent:
                        pass  # letters 6 and on: the same place, through the Web API
                self._ephemeral(client, user, conv, reply, key)
            case DM(user=user):
                channel = self.open_dm(user)
                self._post(client, channel, reply, uploads, key)
            case Channel(conversation=conv):
                self._post(client, conv.id, reply, uploads, key)
            case Room():
                self._to_room(client, target, reply, uploads, key)
            case InPlace(user=user, conversation=conv, whole=whole):
                if uploads:
                    self._upload(client, self.open_dm(user), uploads, reply)
                original = list(handle.original) if handle and handle.original else None
                # A page turned replaces the page; an outcome keeps what the message said.
                body = render.message(reply) if whole else render.replaced(reply, original)
                if handle and handle.response_url:
                    try:
                        self.respond(
                            handle.response_url, reply, "ephemeral", replace=True, body=body
                        )
                        return
                    except ResponseUrlSpent:
                        pass  # its 5 uses are gone: the message itself, when Slack named it
                if handle and handle.message_ts and handle.channel_id and handle.original:
                    client.chat_update(channel=handle.channel_id, ts=handle.message_ts, **body)
                elif handle and handle.response_url:
                    self._ephemeral(client, user, conv, reply, key)
                else:
                    raise UnsupportedTarget("an in-place update needs the message it replaces")

    def _ephemeral(
        self, client: WebClient, user: User, conv: Any, reply: Reply, key: str | None
    ) -> None:
        if not conv.id:
            self._post(client, self.open_dm(user), reply, [], key)
            return
        try:
            client.chat_postEphemeral(channel=conv.id, user=user.user_id, **render.message(reply))
        except SlackApiError as exc:
            if exc.response is None or exc.response.get("error") not in _NOT_HERE:
                raise
            # The bot is not in that channel (or the member left it): their DM instead.
            self._post(client, self.open_dm(user), reply, [], key)

    def _not_yet_in_dm(self, user: User, files: list[Attachment]) -> list[Attachment]:
        with self._lock:
            return [f for f in files if _file_key(user, f) not in self._in_dm]

    def _sent_to_dm(self, user: User, files: list[Attachment]) -> None:
        with self._lock:
            for f in files:
                self._in_dm[_file_key(user, f)] = None
            while len(self._in_dm) > FILES_REMEMBERED:
                self._in_dm.popitem(last=False)

    def open_dm(self, user: User) -> str:
        key = (user.workspace_id, user.user_id)
        with self._lock:
            known = self._dm_channels.get(key)
        if known:
            return known
        resp = self.client_for(user.workspace_id).conversations_open(users=user.user_id)
        channel = str(resp["channel"]["id"])
        with self._lock:
            self._dm_channels[key] = channel
        return channel

    def open_form(self, trigger_id: str, view: dict[str, Any], team_id: str = "") -> None:
        self.client_for(team_id).views_open(trigger_id=trigger_id, view=view)

    def publish_home(self, user_id: str, view: dict[str, Any], team_id: str = "") -> None:
        self.client_for(team_id).views_publish(user_id=user_id, view=view)

    def forget_team(self, team_id: str) -> None:
        """After an uninstall: the DM channels we knew there are no longer ours to use."""
        with self._lock:
            for key in [k for k in self._dm_channels if k[0] == team_id]:
                del self._dm_channels[key]

    def _to_room(
        self,
        client: WebClient,
        room: Room,
        reply: Reply,
        uploads: list[Attachment],
        key: str | None,
    ) -> None:
        """The pair's group DM; without one, each member's DM, saying why."""
        opened = self.rooms.open(room)
        if opened.kind == "mpim":
            self._post(client, opened.id, reply, uploads, key)
            return
        reply = _note(reply, opened.note) if opened.note else reply
        for user in room.users:
            self._post(client, self.open_dm(user), reply, uploads, key)

    # -- internals ------------------------------------------------------------------------

    def _post(
        self,
        client: WebClient,
        channel: str,
        reply: Reply,
        uploads: list[Attachment],
        key: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if key:
            extra["metadata"] = {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}}
        body = render.message(reply)
        if room_keys(reply.text):
            body = self.rooms.link(body)  # "your room" as the group DM's mention
        client.chat_postMessage(
            channel=channel, unfurl_links=False, link_names=False, **body, **extra
        )
        if uploads:
            self._upload(client, channel, uploads, reply)

    def _upload(
        self, client: WebClient, channel: str, files: list[Attachment], reply: Reply
    ) -> None:
        client.files_upload_v2(
            channel=channel,
            file_uploads=[
                {"file": f.data, "filename": f.filename, "title": render.escape(f.filename)}
                for f in files
            ],
        )

    def _use_url(self, url: str) -> None:
        """Count one post to `url`, or refuse it once Slack would (5 posts, 30 minutes)."""
        now = time.monotonic()
        with self._lock:
            if len(self._url_uses) > 10_000:  # forget the long-expired ones
                self._url_uses = {
                    u: v for u, v in self._url_uses.items() if now - v[0] < RESPONSE_URL_TTL
                }
            first, uses = self._url_uses.get(url, (now, 0))
            if now - first >= RESPONSE_URL_TTL:
                raise ResponseUrlSpent("expired")
            if uses >= RESPONSE_URL_USES:
                raise ResponseUrlSpent("used 5 times")
            self._url_uses[url] = (first, uses + 1)

    def respond(
        self,
        url: str,
        reply: Reply,
        response_type: str = "ephemeral",
        *,
        replace: bool = False,
        body: dict[str, Any] | None = None,
    ) -> None:
        """`body`: the text and blocks to send, when not `reply`'s own (a replaced message)."""
        self._use_url(url)
        hook = WebhookClient(
            url, timeout=30, retry_handlers=[_ShortRateLimitRetry(max_retry_count=2)]
        )
        body = {"response_type": response_type, **(body or render.message(reply))}
        body["replace_original"] = replace
        resp = hook.send_dict(body)
        if resp.status_code == 200:
            return
        if resp.status_code == 404 and resp.body.strip() in ("used_url", "expired_url"):
            with self._lock:
                self._url_uses[url] = (time.monotonic() - RESPONSE_URL_TTL, RESPONSE_URL_USES)
            raise ResponseUrlSpent(resp.body.strip())
        if resp.status_code == 429:
            raise RateLimited(_retry_after(resp.headers))
        raise DeliveryError(
            f"response_url answered {resp.status_code}: {resp.body[:200]}",
            retryable=resp.status_code >= 500,
        )


def _file_key(user: User, f: Attachment) -> tuple[str, str, str]:
    digest = hashlib.sha256(f.filename.encode() + b"\0" + f.data).hexdigest()
    return (user.workspace_id, user.user_id, digest)


def _note(reply: Reply, note: str) -> Reply:
    footer = f"{reply.footer} · {note}" if reply.footer else note
    return replace(reply, files=(), image=None, footer=footer)


def _delivery_error(exc: SlackApiError, outbound: Outbound) -> DeliveryError:
    resp = exc.response
    error = str(resp.get("error", "")) if resp is not None else ""
    if resp is not None and (resp.status_code == 429 or error == "ratelimited"):
        return RateLimited(_retry_after(resp.headers))
    personal = isinstance(outbound.target, DM | Ephemeral)
    if error in _MEMBER_GONE and personal:
        return Undeliverable(f"Slack refused the message: {error}")
    transient = error in _TRANSIENT or (resp is not None and resp.status_code >= 500)
    return DeliveryError(f"Slack refused the message: {error or exc}", retryable=transient)
