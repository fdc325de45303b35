"""The slack-bolt app: slash commands, buttons, modals and App Home into the core.

The ack never waits for work or for Slack: each listener is an empty ack, run on the HTTP
request's own thread (process_before_response on), that hands the work to the worker pool.
With process_before_response off, Bolt queues the listener, ack() included, on that same pool
and polls for the ack for 3 s: with every worker busy on slow replies, later
requests were never acknowledged and Slack showed the member an error (issue 15)."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from slack_bolt import App as BoltApp
from slack_bolt import BoltResponse
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select

from adapters.slack import render
from adapters.slack.deliver import (
    _TRANSIENT,
    UNCERTAIN,
    SlackAdapter,
    SlackHandle,
    ambiguous,
    make_client,
    outbox_key,
)
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.oauth import (
    Installations,
    NotInstalled,
    SQLInstallationStore,
    SQLOAuthStateStore,
    cipher_from,
)
from adapters.slack.settings import SlackSettings
from bot import commands
from bot.app import App
from bot.db.models import Workspace
from bot.db.schedule_models import OutboxMessage
from bot.db.session import deadline
from bot.delivery import CannotStart, DeliveryError, RateLimited
from bot.members import platform_zone_changed
from bot.outbox import Scheduled, enqueue
from bot.ratelimit import SLOW_DOWN
from bot.rooms import RoomBook
from bot.router import QUOTE_MARK, SORRY, WORKING
from bot.seen import SeenRequests as SharedSeenRequests
from bot.serialize import outbound_from_dict
from bot.types import (
    DM,
    Answer,
    Channel,
    Conversation,
    Ephemeral,
    InPlace,
    Invocation,
    Outbound,
    Reply,
    Room,
    Target,
    User,
)

log = logging.getLogger("cohortbot.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
HOME_ACTION = "home.show|"
NOT_INSTALLED = (
    "Cohortbot isn't installed in this workspace any more, so nothing was done. "
    "An admin can add it again from the bot's install page."
)  # bot/features/home/handlers.py
USER_CACHE_SECONDS = 6 * 3600
# An admin's users.info is read again after this long, and anyone's for an organizer action:
# a demotion in Slack ends the organizer's rights within the minute.
ADMIN_CACHE_SECONDS = 60.0
WORK_DB_SECONDS = 2.0  # the database's share of a command, from its first query
# ... and of a slow one (Command.slow), whose interim answer has already gone: its result may
# come later than 3 s, well within the response_url's 30 minutes.
SLOW_DB_SECONDS = 20.0
FAILED_LOOKUP_SECONDS = 300
UNCERTAIN_CACHE_SECONDS = 2.0
# A failed reply that cannot be queued (the database is away too) is queued again after this,
# up to QUEUE_TRIES times (about five minutes), rather than lost.
QUEUE_RETRY_SECONDS = 5.0
QUEUE_TRIES = 60
# A member's Home is published again this long after a change, once for every change in
# that while: a burst of commands costs one views.publish.
HOME_REFRESH_SECONDS = 2.0
# What a member may type in the bot's DM for a command's name.
DM_ALIASES = {"help": "cohortbot", "?": "cohortbot"}
DM_HELP = (
    "Type a command here without its slash: drill, pipeline list, pipeline add Acme, "
    "leaderboard, settings show. Type help for every command."
)
HOMES_REMEMBERED = 50_000


class _UnusedTokenWarning(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning. Bolt's App reads SLACK_BOT_TOKEN from the
    environment beside the client we give it (which holds the token the settings read, or
    none with OAuth) and warns at every start that it ignores it. The variable stays in the
    environment: hiding it while Bolt's constructor ran (its auth.test included) hid it from
    every other thread of the process too."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
_bolt_log = logging.getLogger("slack_bolt.App")  # Bolt's framework logger (get_bolt_logger)
_bolt_log.addFilter(_UnusedTokenWarning())


class SeenRequests:
    """Keys of requests already taken on: a retried one is acknowledged and dropped.

    Per process; Slack sends a retry to the same URL within minutes, so an hour is plenty."""

    def __init__(self, ttl: float = 3600, size: int = 20_000) -> None:
        self.ttl, self.size = ttl, size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and (
                len(self._seen) > self.size or next(iter(self._seen.values())) < now - self.ttl
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def request_key(body: dict[str, Any]) -> str | None:
    """What identifies one request across Slack's retries."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    return None


def conversation_of(channel_id: str | None, channel_name: str | None = None) -> Conversation:
    if not channel_id:
        # App Home and modals opened there: the member's own space, so answers go by DM.
        return Conversation("dm", "", "app home")
    if channel_id.startswith("D") or channel_name == "directmessage":
        return Conversation("dm", channel_id, channel_name)
    return Conversation("channel", channel_id, channel_name)


@dataclass
class _Known:
    user: User
    until: float
    fetched: float = 0.0


class SlackBot:
    """The Bolt app plus the adapter that delivers what the core answers."""

    def __init__(
        self,
        core: App,
        settings: SlackSettings,
        *,
        client: WebClient | None = None,
        channel_interval: float = 1.0,
        workers: int = 16,
    ) -> None:
        token = settings.bot_token.get_secret_value() if settings.bot_token else None
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
        if not settings.oauth and all(os.environ.get(k) is not None for k in _OAUTH_VARIABLES):
            # Bolt's App would set up an install flow of its own from these two (its file
            # store, its scopes) in place of the bot token: the settings took one as empty.
            raise CannotStart(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but one is empty: set both "
                "for OAuth installs, or neither for one workspace's SLACK_BOT_TOKEN"
            )
        self.core = core
        self.settings = settings
        self.installations: Installations | None = None
        oauth: dict[str, Any] = {}
        if settings.oauth:
            # Many workspaces: each request and each send uses its workspace's stored token.
            cipher = cipher_from(settings)  # refuses to start without a usable key
            token = None
            base = settings.api_base_url
            self.installations = Installations(
                SQLInstallationStore(core.sessions, cipher),
                lambda bot_token: make_client(bot_token, base),
            )
            oauth = {
                "oauth_settings": self._oauth_settings(),
                "authorize": self.installations,
                "user_facing_authorize_error_message": NOT_INSTALLED,
            }
        self.client = client or make_client(token, settings.api_base_url)
        self.adapter = SlackAdapter(
            self.client,
            channel_interval=channel_interval,
            clients=self.installations.client_for if self.installations else None,
            uncertain_keys=self.uncertain_keys,
            rooms=RoomBook(core.sessions, core.clock.now),
        )
        # A row that failed ambiguously waits 30 s or more for its next try, so a list a
        # couple of seconds old is fresh enough.
        self.uncertain_cache_seconds = UNCERTAIN_CACHE_SECONDS
        self.queue_retry_seconds = QUEUE_RETRY_SECONDS
        self._uncertain: tuple[float, set[str]] = (0.0, set())
        self.seen = SharedSeenRequests(core.sessions, core.clock.now)  # across replicas
        self._users: dict[tuple[str, str], _Known] = {}
        self._users_lock = threading.Lock()
        self.admin_cache_seconds = ADMIN_CACHE_SECONDS
        # Members whose Home this process published (it is theirs to keep up), and those
        # with a refresh already on its way.
        self.home_refresh_seconds = HOME_REFRESH_SECONDS
        self._homes: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._homes_due: set[tuple[str, str]] = set()
        self._homes_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack")
        try:
            self.bolt = BoltApp(
                client=self.client,
                signing_secret=secret,
                process_before_response=True,
                listener_executor=self.executor,
                raise_error_for_unhandled_request=False,
                **oauth,
            )
        except BoltError as exc:
            self.executor.shutdown(wait=False)
            refused = exc.__context__
            if isinstance(refused, SlackApiError):  # Bolt's auth.test of the bot token
                error = refused.response.get("error") or "an error"
                raise CannotStart(
                    f"Slack refused SLACK_BOT_TOKEN: auth.test answered {error}"
                ) from None
            raise
        self._register()

    def _oauth_settings(self) -> OAuthSettings:
        s = self.settings
        assert s.client_id and s.client_secret
        return OAuthSettings(
            client_id=s.client_id,
            client_secret=s.client_secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=self.installations.store if self.installations else None,
            state_store=SQLOAuthStateStore(self.core.sessions),
            logger=log,
        )

    # -- wiring ---------------------------------------------------------------------------

    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._drop_retries)
        bolt.command(re.compile(r"^/.+"))(self._after_ack(self._on_command))
        bolt.action(re.compile(r".+"))(self._after_ack(self._on_action))
        # Message shortcuts (a message's menu) and global ones: both open a form by trigger_id,
        # which lives 3 s, so nothing comes before it (`claim=False`, see _after_ack).
        bolt.shortcut(re.compile(r".+"))(self._after_ack(self._on_shortcut, claim=False))
        # A form's work runs before its ack: a refusal keeps the modal open, its message
        # beside the field (response_action errors), and only the ack can say that.
        bolt.view(render.FORM_CALLBACK)(self._on_view)
        bolt.event("app_home_opened")(self._after_ack(self._on_home))
        bolt.event("message")(self._after_ack(self._on_message))
        bolt.event("user_change")(self._after_ack(self._on_user_change))
        bolt.event("app_uninstalled")(self._after_ack(self._on_uninstalled))
        bolt.event("tokens_revoked")(self._after_ack(self._on_uninstalled))

    def dispatch(self, body: str, headers: dict[str, Any], query: str = "") -> BoltResponse:
        return self.bolt.dispatch(BoltRequest(body=body, query=query, headers=headers))

    def acks_at_once(self, body: str) -> bool:
        """True when this request needs nothing but the CPU until its ack: with one
        workspace's token there is no installation to look up, and the only listener with
        work before its ack is a form's (a body that merely mentions one is taken as one)."""
        return self.installations is None and "view_submission" not in body

    def oauth_page(self, path: str, query: str, headers: dict[str, Any]) -> BoltResponse | None:
        """GET /slack/install (the Add to Slack page) and /slack/oauth_redirect (Slack sends
        the installer back here); None when the path is not one of them or OAuth is off."""
        flow = self.bolt.oauth_flow
        if flow is None or self.installations is None:
            return None
        req = BoltRequest(body="", query=query, headers=headers)
        if path == INSTALL_PATH:
            return flow.handle_installation(req)
        if path == REDIRECT_PATH:
            return flow.handle_callback(req)
        return None

    def _drop_retries(
        self, req: BoltRequest, resp: BoltResponse, next: Callable[[], None]
    ) -> BoltResponse | None:
        # Runs after Bolt's signature check, so forged requests never reach the key store.
        # Only this replica's own record is asked here, without a round trip: the shared one
        # is claimed by the work after the ack (`_taken_on`), so the database is off the ack
        # path. A form's work runs before its ack, so a form claims both here.
        key = request_key(req.body)
        form = req.body.get("type") == "view_submission"
        first = self.seen.first_time if form else self.seen.first_here
        if key is not None and not first(key):
            retry = req.headers.get("x-slack-retry-num", ["?"])
            log.info("dropped a repeated request", extra={"key": key, "retry": retry[0]})
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        next()
        return None

    def _after_ack(self, work: Callable[..., None], *, claim: bool = True) -> Callable[..., None]:
        """The listener for `work`: an empty ack at once, on the request's thread, then `work`
        on the worker pool, unless another replica has taken the request on (Slack retries to
        whichever replica it likes, and only one of them may apply it). Not Bolt's lazy
        listeners: before the ack, Bolt deep-copies the request and its context for each
        one, which was most of the ack's cost.

        Without `claim`, the shared record is not asked: for a shortcut, whose work changes
        nothing and whose modal must open within the trigger's 3 s, a claim's round trip
        (its budget, BUDGET in bot/seen.py) would come first. Slack opens one view per
        trigger_id, so a copy on another replica is refused there (`_open_form`)."""
        wants = set(inspect.signature(work).parameters)

        def run(body: dict[str, Any]) -> None:
            key = request_key(body)
            if claim and key is not None and not self.seen.first_everywhere(key):
                log.info("dropped a request another replica took on", extra={"key": key})
                return
            given = {"body": body, "event": body.get("event") or {}}
            try:
                work(**{name: value for name, value in given.items() if name in wants})
            except Exception:
                log.exception("Slack request failed after its ack")

        def listener(ack: Callable[..., None], body: dict[str, Any]) -> None:
            ack()
            self.executor.submit(run, body)

        return listener

    # -- the work after the ack (on the executor) ----------------------------------------

    def _on_command(self, body: dict[str, Any]) -> None:
        handle = SlackHandle(
            team_id=body.get("team_id", ""),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            channel_id=body.get("channel_id"),
        )
        conv = conversation_of(body.get("channel_id"), body.get("channel_name"))

        name = str(body.get("command", "")).lstrip("/").lower()
        args = render.unescape(body.get("text") or "")

        def work() -> Answer:
            organizer = _organizer_command(name, args)
            user = self.user(handle.team_id, body["user_id"], body.get("user_name", ""), organizer)
            inv = Invocation(
                command=name,
                args=args,
                user=user,
                conversation=conv,
                source="slash",
            )
            return self.core.router.handle(inv)

        if not commands.is_slow(name, args):
            self._answer(work, handle, conv, body.get("user_id", ""))
            return
        self._working(handle)
        self._answer(work, handle, conv, body.get("user_id", ""), db_seconds=SLOW_DB_SECONDS)

    def _on_action(self, body: dict[str, Any]) -> None:
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        message = body.get("message") or {}
        handle = SlackHandle(
            team_id=team,
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            channel_id=channel.get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts"),
            original=tuple(message.get("blocks") or ()) if message else None,
        )
        conv = conversation_of(handle.channel_id, channel.get("name"))
        user_id = body["user"]["id"]
        actions = body.get("actions") or []
        custom_id = str((actions[0] if actions else {}).get("value") or "")

        def work() -> Answer:
            organizer = custom_id.startswith(ORGANIZER_ACTIONS)
            user = self.user(team, user_id, body["user"].get("username", ""), organizer)
            return self.core.router.click(user, conv, custom_id)

        self._answer(work, handle, conv, user_id)

    def _on_shortcut(self, body: dict[str, Any]) -> None:
        """A shortcut: from a message's menu (`message_action`, with the message and where it
        is) or from the composer (`shortcut`, with neither): the core answers with a form,
        opened through the trigger_id before it expires (3 s)."""
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
        channel = body.get("channel") or {}
        handle = SlackHandle(
            team_id=team,
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            channel_id=channel.get("id"),
        )
        conv = conversation_of(handle.channel_id, channel.get("name"))
        user_id = str((body.get("user") or {}).get("id") or "")
        name = str(body.get("callback_id") or "")
        shared = body.get("message") if body.get("type") == "message_action" else None
        text = _message_text(shared or {})

        def work() -> Answer:
            user = self.user(team, user_id, (body.get("user") or {}).get("username", ""))
            return self.core.router.shortcut(user, conv, name, text)

        self._answer(work, handle, conv, user_id)

    def _on_view(
        self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """On the request's thread, within the ack's 3 s (the database has WORK_DB_SECONDS):
        a refusal answers `response_action: errors` and nothing is sent; anything else closes
        the modal and its messages go out from the worker pool."""
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except json.JSONDecodeError:
            meta = {}
        conv = conversation_of(meta.get("c"))
        handle = SlackHandle(team_id=team, channel_id=conv.id or None)
        user_id = body["user"]["id"]
        fields = {k: render.unescape(v) for k, v in render.form_values(view["state"]).items()}

        def work() -> Answer:
            user = self.user(team, user_id, body["user"].get("username", ""))
            return self.core.router.submit(
                user, conv, str(meta.get("a", "")), str(meta.get("v", "")), fields
            )

        answer = self._work(work, handle, conv, user_id)
        refused = [o for o in answer.all if o.refusal]
        if refused and view.get("blocks"):
            message = refused[0].reply.text.split(QUOTE_MARK, 1)[0].strip()
            where = render.field_for(message, view["blocks"], refused[0].field)
            ack(response_action="errors", errors={where: render.error_text(message)})
            return
        ack()
        self._submit(lambda: self.send_all(answer, handle, conv))

    def _on_home(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        self._publish_home(body.get("team_id", ""), event["user"], event.get("channel", ""))

    def _publish_home(
        self, team: str, user_id: str, channel: str = "", *, opened: bool = True
    ) -> None:
        user = self.user(team, user_id, "")
        conv = Conversation("dm", channel, "app home")
        # Through the router like a click: one transaction, first contact, friendly errors.
        # A refresh the member did not ask for does not count against their rate.
        answer = self.core.router.click(user, conv, HOME_ACTION, counted=opened)
        replies = [o.reply for o in answer.all]
        if not replies or replies[0].text == SLOW_DOWN:
            return  # a member over their rate keeps the Home they have
        try:
            self.adapter.publish_home(user.user_id, render.home(replies[0]), user.workspace_id)
        except (SlackApiError, SlackClientError, OSError, NotInstalled):
            log.exception("could not publish App Home")
            return
        with self._homes_lock:
            self._homes[(team, user_id)] = None
            self._homes.move_to_end((team, user_id))
            while len(self._homes) > HOMES_REMEMBERED:
                self._homes.popitem(last=False)

    def refresh_home_later(self, team: str, user_id: str) -> None:
        """After a change by a member whose Home was published: publish it again shortly,
        once per burst, on the worker pool (never on an ack's thread)."""
        key = (team, user_id)
        with self._homes_lock:
            if key not in self._homes or key in self._homes_due:
                return
            self._homes_due.add(key)

        def due() -> None:
            with self._homes_lock:
                self._homes_due.discard(key)
            try:
                self._publish_home(team, user_id, opened=False)
            except Exception:
                log.exception("could not refresh App Home")

        timer = threading.Timer(self.home_refresh_seconds, self._submit, args=(due,))
        timer.daemon = True
        timer.start()

    def _submit(self, fn: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # shutting down: published when next opened
            self.executor.submit(fn)

    def home_refresh_pending(self) -> bool:
        with self._homes_lock:
            return bool(self._homes_due)

    def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A member writing in the bot's DM (the Messages tab): a command typed without its
        slash runs as one; anything else gets a short help."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # edits, joins, our own posts: nothing a member asked
        team = str(body.get("team_id") or event.get("team") or "")
        user_id = str(event.get("user") or "")
        channel = str(event.get("channel") or "")
        text = render.unescape(str(event.get("text") or "")).strip()
        if not user_id or not text:
            return
        conv = Conversation("dm", channel, "directmessage")
        handle = SlackHandle(team_id=team, channel_id=channel)
        word, _, rest = text.lstrip("/").partition(" ")
        name = DM_ALIASES.get(word.lower(), word.lower())

        def work() -> Answer:
            user = self.user(team, user_id, "")
            if commands.find(name) is None:
                return Answer((Outbound(DM(user), Reply(DM_HELP)),))
            inv = Invocation(
                command=name, args=rest.strip(), user=user, conversation=conv, source="text"
            )
            return self.core.router.handle(inv)

        if not commands.is_slow(name, rest.strip()):
            self._answer(work, handle, conv, user_id)
            return
        self._working(handle, User("slack", team, user_id, ""))
        self._answer(work, handle, conv, user_id, db_seconds=SLOW_DB_SECONDS)

    def _on_user_change(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A profile changed in Slack: the cached member is re-read from it, and a member who
        never set /settings tz follows a new zone at once (their next drill's time moves)."""
        info = event.get("user") or {}
        team = str(body.get("team_id") or info.get("team_id") or "")
        user_id = str(info.get("id") or "")
        if not user_id:
            return
        with self._users_lock:
            self._users.pop((team, user_id), None)
        user = self.user(team, user_id, "")
        try:
            with self.core.sessions.begin() as session:
                moved = platform_zone_changed(session, user, self.core.clock.now())
        except Exception:
            log.exception("could not follow a member's new zone")
            return
        if moved:
            log.info("a member follows their new Slack zone", extra={"zone": user.timezone})
            self.refresh_home_later(team, user_id)

    def _on_uninstalled(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Drop the workspace's token at once; members' own data stays (see slack_models)."""
        team = str(body.get("team_id") or "")
        log.warning("app uninstalled or tokens revoked", extra={"team": team})
        if self.installations is None:
            return  # single-workspace mode stores no token: the operator holds it
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens were revoked, and we keep none
        enterprise = body.get("enterprise_id") or None
        self.installations.store.delete_bot(enterprise_id=enterprise, team_id=team)
        self.installations.forget(team)
        self.adapter.forget_team(team)
        with self._users_lock:
            for key in [k for k in self._users if k[0] == team]:
                del self._users[key]

    # -- shared ---------------------------------------------------------------------------

    def _answer(
        self,
        work: Callable[[], Answer],
        handle: SlackHandle,
        conv: Conversation,
        user_id: str,
        *,
        db_seconds: float = WORK_DB_SECONDS,
    ) -> None:
        self.send_all(self._work(work, handle, conv, user_id, db_seconds), handle, conv)

    def _working(self, handle: SlackHandle, typed_by: User | None = None) -> None:
        """A slow command's interim answer, before its work starts: the member sees it within
        Slack's 3 s, and the result follows through the same response_url (or, typed in the
        bot's DM, `typed_by`'s DM)."""
        try:
            if handle.response_url:
                self.adapter.respond(handle.response_url, Reply(WORKING))
            elif typed_by is not None:
                self.adapter.send(Outbound(DM(typed_by), Reply(WORKING)), None)
        except Exception as exc:  # the result still comes; only the wait is unexplained
            log.warning("could not say a slow command is under way: %s", exc)

    def _work(
        self,
        work: Callable[[], Answer],
        handle: SlackHandle,
        conv: Conversation,
        user_id: str,
        db_seconds: float = WORK_DB_SECONDS,
    ) -> Answer:
        """The core's answer, or the apology when it failed; a change keeps the Home up."""
        try:
            with deadline(db_seconds):  # a silent database: 'try again' inside 3 s
                answer = work()
        except Exception:
            log.exception("Slack request failed in the core")
            answer = Answer()
            if user_id:
                who = User("slack", handle.team_id, user_id, "")
                where: Target = DM(who) if conv.kind == "dm" else Ephemeral(who, conv)
                answer = Answer((Outbound(where, Reply(SORRY)),))
        if user_id and answer.all and not any(o.refusal for o in answer.all):
            self.refresh_home_later(handle.team_id, user_id)
        return answer

    def send_all(self, answer: Answer, handle: SlackHandle | None, conv: Conversation) -> None:
        """Answer now: the replies through the request's own handle (its response_url, its
        trigger for a form), the rest through the Web API. A message Slack did not take goes
        to the outbox and arrives late, since the change it confirms is already committed.
        Nothing here waits long or re-sends a post that Slack may already have made."""
        for out, via in [
            *((o, handle) for o in answer.replies),
            *((o, None) for o in answer.elsewhere),
        ]:
            # Tags a DM or channel post, so a later try can look for it before posting again.
            out = replace(out, key=uuid.uuid4().hex)
            if isinstance(out.target, InPlace) and not _has_message(via):
                # Pressed on the App Home (a view, no message): the answer comes privately.
                out = replace(out, target=_private(out.target.user, out.target.conversation))
            key = outbox_key(out)
            try:
                wants_modal = out.reply.form is not None and via and via.trigger_id
                if wants_modal and via and self._open_form(out, via, conv):
                    continue
                self.adapter.send(out, via, key=key)
            except SlackApiError as exc:
                resp = exc.response
                error = str(resp.get("error") or "") if resp is not None else ""
                status = resp.status_code if resp is not None else 0
                if status == 429 or error == "ratelimited":
                    self.later(out, key, handle, delay=_retry_after_of(resp))
                elif status >= 500 or error in _TRANSIENT:
                    self.later(out, key, handle)  # an HTML 503 from the load balancer too
                else:
                    log.warning("Slack refused a message: %s", error)
                    self._explain(exc, out, handle)
            except RateLimited as exc:
                self.later(out, key, handle, delay=exc.retry_after)
            except DeliveryError as exc:
                if exc.retryable:
                    self.later(out, key, handle)
                else:
                    log.warning("Slack refused a reply: %s", exc)
            except (SlackClientError, OSError) as exc:
                if not ambiguous(exc):
                    self.later(out, key, handle)
                elif isinstance(out.target, DM | Channel):
                    self.later(out, key, handle, uncertain=True)
                else:
                    # An ephemeral leaves no trace to look up: sending it again could show it
                    # twice, so it is taken as arrived.
                    log.warning("an ephemeral reply may not have arrived: %s", exc)
            except Exception:
                log.exception("Slack delivery failed", extra={"target": type(out.target).__name__})

    def later(
        self,
        out: Outbound,
        key: str,
        handle: SlackHandle | None,
        *,
        delay: float = 0.0,
        uncertain: bool = False,
        tries: int = 1,
    ) -> None:
        """Hand a reply to the durable outbox (any replica sends it), under `key`, the key its
        first try carried. An in-place update becomes a new ephemeral: its message is gone.
        Without the database, this process keeps it and tries again every few seconds."""
        target: Target = out.target
        if isinstance(target, InPlace):
            target = Ephemeral(target.user, target.conversation)
        if isinstance(target, Ephemeral) and not target.conversation.id:
            target = DM(target.user)
        team = out.workspace_id  # the target carries its workspace
        if isinstance(target, Channel):
            who = f"c{target.conversation.id}"
        elif isinstance(target, Room):
            who = f"r{target.key}"
        else:
            who = target.user.user_id
        queued = Outbound(target, out.reply, key=out.key, uncertain=uncertain)
        now = self.core.clock.now()
        try:
            with self.core.sessions.begin() as session:
                workspace = session.scalar(
                    select(Workspace.id).where(
                        Workspace.platform == "slack", Workspace.external_id == team
                    )
                )
                if workspace is None:
                    log.error("a reply for an unknown workspace is lost", extra={"team": team})
                    return
                item = Scheduled(
                    queued,
                    workspace,
                    kind="reply",
                    subject=key,
                    local_date=now.date(),
                    due_at=now + timedelta(seconds=delay),
                    target_key=f"slack:{team}:{who}",
                )
                enqueue(session, [item], now)
            log.info("a reply goes to the outbox", extra={"key": key, "uncertain": uncertain})
        except Exception as exc:
            # Slack and the database failing together (a reply's 5xx during an outage) must
            # not lose a reply whose change is committed: it is late instead.
            if tries >= QUEUE_TRIES:
                log.exception("could not queue a failed reply: it is lost", extra={"key": key})
                return
            log.warning("could not queue a failed reply yet: %s", type(exc).__name__)
            wait = self.queue_retry_seconds
            retry = threading.Timer(
                wait,
                self.later,
                args=(out, key, handle),
                kwargs={
                    "delay": max(0.0, delay - wait),
                    "uncertain": uncertain,
                    "tries": tries + 1,
                },
            )
            retry.daemon = True
            retry.start()

    def uncertain_keys(self) -> set[str]:
        """Keys of queued posts whose last try may have reached Slack, from the outbox that
        every replica shares (the dispatcher keeps each failure's message)."""
        now = time.monotonic()
        until, keys = self._uncertain
        if now < until:
            return keys
        with self.core.sessions() as session:
            rows = session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.payload).where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.last_error.like(UNCERTAIN + "%"),
                )
            ).all()
        keys = set()
        for row_key, payload in rows:
            # As the dispatcher hands it over: with the row's key unless it came with its own.
            out = outbound_from_dict(payload)
            keys.add(outbox_key(out if out.key else replace(out, key=row_key)))
        self._uncertain = (now + self.uncertain_cache_seconds, keys)
        return keys

    def _explain(self, exc: SlackApiError, out: Outbound, handle: SlackHandle | None) -> None:
        """A post the member asked for failed in a way they can fix: tell them, privately."""
        error = exc.response.get("error")
        if not (isinstance(out.target, Channel) and handle and handle.response_url):
            return
        if error not in ("not_in_channel", "channel_not_found", "is_archived"):
            return
        note = Reply(
            "I couldn't post in that channel: invite me first (/invite @Cohortbot), then try again."
        )
        try:
            self.adapter.respond(handle.response_url, note)
        except Exception:
            log.exception("could not explain a failed post")

    def _open_form(self, out: Outbound, handle: SlackHandle, conv: Conversation) -> bool:
        form = out.reply.form
        assert form is not None and handle.trigger_id
        try:
            meta = render.form_metadata(form, conv.id, conv.kind)
            self.adapter.open_form(handle.trigger_id, render.modal(form, meta), handle.team_id)
            return True
        except SlackApiError as exc:
            if exc.response.get("error") == "exchanged_trigger_id":
                # The trigger has opened its view already: this is a copy of the request
                # (a retry another replica took on too), and the member has their form.
                log.info("a copy of a request whose modal is open", extra={"key": out.key})
                return True
            # trigger_ids live 3 seconds; past that the reply's text explains what to do.
            log.warning("could not open a modal: %s", exc)
            return False
        except ValueError as exc:
            log.warning("could not open a modal: %s", exc)
            return False

    def user(self, team_id: str, user_id: str, name_hint: str, organizer: bool = False) -> User:
        """The member as the core sees them: zone and admin flag from users.info, cached;
        an admin's, and anyone's for an organizer action (`organizer`), for a minute at most,
        so that the core may follow the flag both ways (User.admin_checked)."""
        key = (team_id, user_id)
        now = time.monotonic()
        with self._users_lock:
            known = self._users.get(key)
        if known and known.until > now:
            short = known.user.is_admin or organizer
            if not (short and known.user.admin_checked):
                return known.user
            if now - known.fetched < self.admin_cache_seconds:
                return known.user
        try:
            info = self.adapter.client_for(team_id).users_info(user=user_id)["user"]
        except (SlackApiError, SlackClientError, OSError, NotInstalled) as exc:
            log.warning("users.info failed: %s", exc)
            user = User("slack", team_id, user_id, name_hint or user_id)
            with self._users_lock:
                self._users[key] = _Known(user, now + FAILED_LOOKUP_SECONDS)
            return user
        profile = info.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or info.get("real_name")
            or info.get("name")
            or name_hint
            or user_id
        )
        user = User(
            "slack",
            team_id,
            user_id,
            str(name),
            is_admin=bool(info.get("is_admin") or info.get("is_owner")),
            timezone=info.get("tz") or None,
            admin_checked=True,
        )
        with self._users_lock:
            self._users[key] = _Known(user, now + USER_CACHE_SECONDS, now)
        return user

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


ORGANIZER_ACTIONS = ("organizer.",)  # buttons only organizers may press


def _organizer_command(name: str, args: str) -> bool:
    cmd = commands.find(name)
    if cmd is None:
        return False
    if cmd.admin or not cmd.subcommands:
        return cmd.admin
    sub = cmd.sub(args.split(None, 1)[0].lower() if args.strip() else cmd.default or "")
    return bool(sub and sub.admin)


_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_MENTION = re.compile(r"<[@#!][^|>]*(?:\|([^>]*))?>")


def _message_text(message: dict[str, Any]) -> str:
    """A message as plain text for the core: Slack's <url|label> as "label url" (a job board's
    link is often labelled with the job), mentions as their label, entities unescaped. Its
    blocks are read too, for what they show: a bot's or a workflow's post may be nothing but
    blocks. A rich_text block is what the composer made of the message's own text, so the
    text is read only without one. A link preview's (attachment's) title and link come last."""
    blocks = [b for b in message.get("blocks") or [] if isinstance(b, dict)]
    parts: list[Any] = (
        [] if any(b.get("type") == "rich_text" for b in blocks) else [message.get("text")]
    )
    parts += [_blocks_text(blocks)]
    for att in message.get("attachments") or []:
        if isinstance(att, dict):
            keys = ("pretext", "title", "title_link", "text", "from_url")
            parts += [*(att.get(k) for k in keys), _blocks_text(att.get("blocks") or [])]
    text = "\n".join(str(p) for p in parts if p and isinstance(p, str))
    text = _LINK.sub(_link_text, text)
    text = _MENTION.sub(lambda m: m.group(1) or "", text)
    return render.unescape(text)


def _link_text(m: re.Match[str]) -> str:
    url, label = m.group(1), (m.group(2) or "").strip()
    return f"{label} {url}" if label and label != url else url


def _blocks_text(blocks: list[Any]) -> str:
    """The text a member sees in blocks (Block Kit's section, header, context and rich_text),
    a line or more per block; images, buttons and dividers say nothing."""
    lines: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("section", "header"):
            lines.append(_object_text(block.get("text")))
            lines += [_object_text(f) for f in block.get("fields") or []]
        elif kind == "context":
            lines.append(" ".join(_object_text(e) for e in block.get("elements") or []))
        elif kind == "rich_text":
            lines += [_rich_text(e) for e in block.get("elements") or [] if isinstance(e, dict)]
    return "\n".join(line for line in lines if line.strip())


def _object_text(obj: Any) -> str:
    """A text object's text (mrkdwn or plain_text); anything else (an image) is nothing."""
    if isinstance(obj, dict) and obj.get("type") in ("mrkdwn", "plain_text"):
        return str(obj.get("text") or "")
    return ""


def _rich_text(element: dict[str, Any]) -> str:
    """One of a rich_text block's elements as text: a section, quote or preformatted block of
    inline elements, or a list of sections, an item a line."""
    if element.get("type") == "rich_text_list":
        items = [_rich_text(e) for e in element.get("elements") or [] if isinstance(e, dict)]
        return "\n".join(items)
    out: list[str] = []
    for el in element.get("elements") or []:
        if not isinstance(el, dict):
            continue
        match el.get("type"):
            case "text":
                out.append(str(el.get("text") or ""))
            case "link":
                url, label = str(el.get("url") or ""), str(el.get("text") or "").strip()
                out.append(f"{label} {url}" if label and label != url else url)
            case "emoji":
                out.append(f":{el.get('name') or ''}:")
            case "date":
                out.append(str(el.get("fallback") or ""))
            case "broadcast":
                out.append(f"@{el.get('range') or ''}")
            # A user, channel or user group appears by its id only: nothing to read.
    return "".join(out)


def _has_message(handle: SlackHandle | None) -> bool:
    """Did the request come from a message that an in-place answer can replace?"""
    return bool(handle and (handle.response_url or (handle.message_ts and handle.original)))


def _private(user: User, conv: Conversation) -> Target:
    return DM(user) if conv.kind == "dm" or not conv.id else Ephemeral(user, conv)


def _retry_after_of(resp: Any) -> float:
    raw = resp.headers.get("Retry-After") or resp.headers.get("retry-after") if resp else None
    try:
        return float(raw[0] if isinstance(raw, list) else raw) if raw else 1.0
    except ValueError:
        return 1.0


def build_slack(core: App, settings: SlackSettings, **kw: Any) -> SlackBot:
    return SlackBot(core, settings, **kw)
