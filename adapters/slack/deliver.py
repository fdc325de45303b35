"""Outbounds to Slack's Web API: ephemeral, DM, channel, in place, files.

Interactive answers go through `send` (a response_url when the click or command gave one);
scheduled messages go through `deliver`, which turns Slack's errors into the outbox's
RateLimited / Undeliverable / DeliveryError."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from adapters.slack import render
from adapters.slack.oauth import NotInstalled
from bot.delivery import DeliveryError, RateLimited, Undeliverable, UnsupportedTarget
from bot.types import DM, Attachment, Channel, Ephemeral, InPlace, Outbound, Reply, Target, User

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


@dataclass(frozen=True)
class SlackHandle:
    """What Slack gave us to answer one request: Invocation.handle on the Slack side."""

    team_id: str
    response_url: str | None = None
    trigger_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None


def retry_handlers(max_rate_limit_retries: int = 2) -> list[Any]:
    # slack_sdk waits Retry-After (plus jitter) and sends again: one message, not two.
    return [
        ConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
    ]


def make_client(token: str | None, base_url: str | None = None, timeout: int = 30) -> WebClient:
    url = (base_url or DEFAULT_API_URL).rstrip("/") + "/"
    return WebClient(token=token, base_url=url, timeout=timeout, retry_handlers=retry_handlers())


class Pacer:
    """Keeps scheduled posts to one channel about a second apart (Slack's per-channel pace)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(channel, now))
            self._next[channel] = at + self.interval
        if at > now:
            time.sleep(at - now)


ClientFor = Callable[[str], WebClient]


class SlackAdapter:
    platform = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        channel_interval: float = 1.0,
        clients: ClientFor | None = None,
        team_of_channel: Callable[[str], str | None] | None = None,
    ) -> None:
        """`client` serves one workspace; with `clients` (many workspaces, OAuth) each call
        uses the token of the workspace it is for, and `team_of_channel` names the workspace
        of a scheduled channel post, which carries only the channel."""
        self.client = client
        self.clients = clients
        self.team_of_channel = team_of_channel
        self.pacer = Pacer(channel_interval)
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

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
            if handle and handle.team_id:
                return handle.team_id
            return self.team_of_channel(target.conversation.id) if self.team_of_channel else None
        return target.user.workspace_id

    # -- scheduled sends (the outbox) -----------------------------------------------------

    def deliver(self, outbound: Outbound) -> None:
        """Send now, blocking; raise RateLimited, Undeliverable or DeliveryError on failure."""
        try:
            self.send(outbound, None, pace=True)
        except NotInstalled as exc:
            raise DeliveryError(str(exc), retryable=False) from exc
        except SlackApiError as exc:
            raise _delivery_error(exc, outbound) from exc
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {exc}", retryable=True) from exc

    # -- one outbound ---------------------------------------------------------------------

    def send(self, outbound: Outbound, handle: SlackHandle | None, *, pace: bool = False) -> None:
        reply, target = outbound.reply, outbound.target
        uploads = [*reply.files, *([reply.image] if reply.image else [])]
        if not isinstance(target, Ephemeral | DM | Channel | InPlace):  # so the match is whole
            raise UnsupportedTarget(f"Slack cannot deliver to {target!r}")
        client = self.client_for(self._team(target, handle))
        match target:
            case Ephemeral(user=user, conversation=conv):
                if uploads:
                    # Files can't be ephemeral: they go to the member's DM, never the channel.
                    self._upload(client, self.open_dm(user), uploads, reply)
                    reply = _note(reply, "The file is in your direct messages with me.")
                if handle and handle.response_url and handle.channel_id == conv.id:
                    self.respond(handle.response_url, reply, "ephemeral")
                else:
                    client.chat_postEphemeral(
                        channel=conv.id, user=user.user_id, **render.message(reply)
                    )
            case DM(user=user):
                channel = self.open_dm(user)
                self._post(client, channel, reply, uploads, pace)
            case Channel(conversation=conv):
                self._post(client, conv.id, reply, uploads, pace)
            case InPlace(user=user, conversation=conv):
                if uploads:
                    self._upload(client, self.open_dm(user), uploads, reply)
                if handle and handle.response_url:
                    self.respond(handle.response_url, reply, "ephemeral", replace=True)
                elif handle and handle.message_ts and handle.channel_id:
                    client.chat_update(
                        channel=handle.channel_id, ts=handle.message_ts, **render.message(reply)
                    )
                else:
                    raise UnsupportedTarget("an in-place update needs the message it replaces")

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

    # -- internals ------------------------------------------------------------------------

    def _post(
        self,
        client: WebClient,
        channel: str,
        reply: Reply,
        uploads: list[Attachment],
        pace: bool,
    ) -> None:
        if pace:
            self.pacer.wait(channel)
        client.chat_postMessage(
            channel=channel, unfurl_links=False, link_names=False, **render.message(reply)
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

    def respond(
        self, url: str, reply: Reply, response_type: str = "ephemeral", *, replace: bool = False
    ) -> None:
        hook = WebhookClient(url, timeout=30, retry_handlers=retry_handlers())
        body: dict[str, Any] = {"response_type": response_type, **render.message(reply)}
        body["replace_original"] = replace
        resp = hook.send_dict(body)
        if resp.status_code != 200:
            raise DeliveryError(f"response_url answered {resp.status_code}: {resp.body[:200]}")


def _note(reply: Reply, note: str) -> Reply:
    footer = f"{reply.footer} · {note}" if reply.footer else note
    return replace(reply, files=(), image=None, footer=footer)


def _delivery_error(exc: SlackApiError, outbound: Outbound) -> DeliveryError:
    resp = exc.response
    error = str(resp.get("error", "")) if resp is not None else ""
    if resp is not None and (resp.status_code == 429 or error == "ratelimited"):
        raw = resp.headers.get("Retry-After") or resp.headers.get("retry-after") or "1"
        try:
            wait = float(raw[0] if isinstance(raw, list) else raw)
        except ValueError:
            wait = 1.0
        return RateLimited(wait)
    personal = isinstance(outbound.target, DM | Ephemeral)
    if error in _MEMBER_GONE and personal:
        return Undeliverable(f"Slack refused the message: {error}")
    transient = error in _TRANSIENT or (resp is not None and resp.status_code >= 500)
    return DeliveryError(f"Slack refused the message: {error or exc}", retryable=transient)
