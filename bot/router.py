"""Invocations and button clicks to handlers; every failure becomes a short, friendly reply.

One invocation is one transaction: a handler that raises leaves the database as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import commands, metrics
from bot.clock import Clock
from bot.cohorts import place
from bot.commands import UsageError
from bot.config import Settings
from bot.content import Content, get_content
from bot.dates import AmbiguousDate
from bot.db.models import Member, Workspace
from bot.errors import NotAllowed, UserError
from bot.members import find_member, welcomed
from bot.outbox import reachable_again
from bot.ratelimit import SLOW_DOWN, RateLimiter
from bot.types import (
    ANSWER_LIMIT,
    CUSTOM_ID_LIMIT,
    DM,
    Answer,
    Button,
    Conversation,
    Ephemeral,
    InPlace,
    Invocation,
    Outbound,
    Reply,
    Source,
    User,
)

log = logging.getLogger("cohortbot.router")

Result = Reply | list[Outbound] | None


@dataclass
class Ctx:
    """What a handler gets: the parsed options, the member, a session, and the time."""

    settings: Settings
    content: Content
    session: Session
    now: datetime
    user: User
    conversation: Conversation
    member: Member
    options: dict[str, str] = field(default_factory=dict)
    source: Source = "slash"
    path: str = ""

    @property
    def workspace(self) -> Workspace:
        ws = self.session.get(Workspace, self.member.workspace_id)
        assert ws is not None
        return ws

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.member.settings.timezone)

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)

    def private(self, reply: Reply) -> Outbound:
        """Seen by this member alone: ephemeral in a channel, a plain message in their DM."""
        if self.conversation.kind == "dm":
            return Outbound(DM(self.user), reply)
        return Outbound(Ephemeral(self.user, self.conversation), reply)

    def in_place(self, reply: Reply) -> Outbound:
        """The pressed button's message, replaced by `reply` (what the press did; its spent
        buttons gone); from a command, the usual private answer."""
        if self.source == "button":
            return Outbound(InPlace(self.user, self.conversation), reply)
        return self.private(reply)

    def turn(self, reply: Reply) -> Outbound:
        """The pressed message becomes `reply` whole (another page of the same list); from a
        command, the usual private answer."""
        if self.source == "button":
            return Outbound(InPlace(self.user, self.conversation, whole=True), reply)
        return self.private(reply)

    def arg(self, name: str, default: str = "") -> str:
        return self.options.get(name, default)


Handler = Callable[[Ctx], Result]
ActionHandler = Callable[[Ctx, str], Result]
FormHandler = Callable[[Ctx, str, dict[str, str]], Result]

_HANDLERS: dict[str, Handler] = {}
_ACTIONS: dict[str, ActionHandler] = {}
_FORMS: dict[str, FormHandler] = {}
ShortcutHandler = Callable[[Ctx, str], Result]
_SHORTCUTS: dict[str, ShortcutHandler] = {}


def command(path: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if path not in commands.all_paths():
            raise RuntimeError(f"handler for {path!r}, which the command tree does not declare")
        _HANDLERS[path] = fn
        return fn

    return register


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        _ACTIONS[name] = fn
        return fn

    return register


def form(name: str) -> Callable[[FormHandler], FormHandler]:
    def register(fn: FormHandler) -> FormHandler:
        _FORMS[name] = fn
        return fn

    return register


def shortcut(name: str) -> Callable[[ShortcutHandler], ShortcutHandler]:
    """The handler of a declared shortcut (bot.commands.SHORTCUTS): (ctx, message text)."""

    def register(fn: ShortcutHandler) -> ShortcutHandler:
        if name not in {s.name for s in commands.SHORTCUTS}:
            raise RuntimeError(f"handler for shortcut {name!r}, which no package declares")
        _SHORTCUTS[name] = fn
        return fn

    return register


def registered_paths() -> set[str]:
    return set(_HANDLERS)


def registered_actions() -> set[str]:
    return set(_ACTIONS)


WORKING = "Working on it…"  # the interim answer to a slow command (Command.slow)
SORRY = "Sorry, something went wrong on our side. Nothing was saved; please try again."
BUSY = "The bot can't reach its database right now. Nothing was saved; try again in a moment."


class Router:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        content: Content | None = None,
    ) -> None:
        from bot import features

        features.load_all()
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.content = content or get_content(settings.extra_content_dirs)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, sessions)  # shared on PG

    # -- entry points ---------------------------------------------------------------------

    def handle(self, inv: Invocation) -> Answer:
        """A slash command (or a console line) from a member."""
        return Answer.sort(self._command(inv), inv.user, inv.conversation)

    def click(
        self, user: User, conversation: Conversation, custom_id: str, *, counted: bool = True
    ) -> Answer:
        """A button press; its state is all in `custom_id` (`action|value`). `counted`: False
        for a view an adapter refreshes by itself (an App Home kept up), not the member's."""
        out = self._click(user, conversation, custom_id, counted)
        return Answer.sort(out, user, conversation)

    def submit(
        self,
        user: User,
        conversation: Conversation,
        name: str,
        value: str,
        fields: dict[str, str],
    ) -> Answer:
        """A submitted form (a modal on Slack and Discord)."""
        out = self._submit(user, conversation, name, value, fields)
        return Answer.sort(out, user, conversation)

    def shortcut(self, user: User, conversation: Conversation, name: str, text: str) -> Answer:
        """A shortcut (a message's menu, or Slack's global shortcuts) with the message's text."""
        if throttled := self._throttled(user, conversation):
            return Answer.sort(throttled, user, conversation)
        fn = _SHORTCUTS.get(name)
        if fn is None:
            out = [self._private(user, conversation, Reply("That shortcut isn't available."))]
            return Answer.sort(out, user, conversation)
        limit = max(self.settings.max_arg_length * 2, ANSWER_LIMIT)
        out = self._run(
            user,
            conversation,
            lambda ctx: fn(ctx, text[:limit]),
            source="text",
            path=f"shortcut {name}",
        )
        return Answer.sort(out, user, conversation)

    # -- internals ------------------------------------------------------------------------

    def _command(self, inv: Invocation) -> list[Outbound]:
        if throttled := self._throttled(inv.user, inv.conversation):
            return throttled
        started = time.perf_counter()
        path = inv.command
        try:
            if len(inv.args) > self._args_limit(inv.command):
                problem = (
                    f"That command is {len(inv.args):,} characters long; the limit is "
                    f"{self.settings.max_arg_length:,} per value"
                )
                if _takes_free_text(inv.command, inv.args):
                    raise too_long(problem, inv.args)
                raise UserError(f"{problem}. Nothing was saved.")
            if inv.options is not None:
                parsed = self._structured(inv)
            else:
                parsed = commands.parse(inv.command, inv.args)
            path = parsed.path
            handler = _HANDLERS.get(path)
            if handler is None:
                raise UsageError(f"/{path} isn't available yet.", path)
            opts = {o.name: o for o in parsed.command.options}
            for name, value in parsed.options.items():
                opt = opts.get(name)
                limit = (opt.max_length if opt else None) or self.settings.max_arg_length
                if len(value) > limit:
                    problem = (
                        f"Your {name} is {len(value):,} characters long; the limit is {limit:,}"
                    )
                    # Text the member composed is handed back; a 10 kB company name is not.
                    if opt is not None and opt.free:
                        raise too_long(problem, value)
                    raise UserError(f"{problem}. Nothing was saved.")
            return self._run(
                inv.user,
                inv.conversation,
                _asking_dates(handler, [("c", path)], parsed.options),
                options=parsed.options,
                source=inv.source,
                path=path,
                admin=parsed.command.admin,
            )
        except (UsageError, UserError) as exc:  # refused before any handler ran
            return self._refusal(inv.user, inv.conversation, exc)
        finally:
            elapsed = time.perf_counter() - started
            log.info("command handled", extra={"command": path, "ms": round(elapsed * 1000, 1)})
            metrics.command_handled(path, elapsed)

    def _click(
        self, user: User, conversation: Conversation, custom_id: str, counted: bool = True
    ) -> list[Outbound]:
        if counted and (throttled := self._throttled(user, conversation)):
            return throttled
        name, value = Button.parse(custom_id)
        if name == REDO:
            return self._redo(user, conversation, value)
        fn = _ACTIONS.get(name)
        if fn is None:
            return [self._private(user, conversation, Reply("That button no longer works."))]
        return self._run(
            user,
            conversation,
            lambda ctx: fn(ctx, value),
            source="button",
            path=f"button {name}",
        )

    def _submit(
        self,
        user: User,
        conversation: Conversation,
        name: str,
        value: str,
        fields: dict[str, str],
    ) -> list[Outbound]:
        fn = _FORMS.get(name)
        if fn is None:
            return [self._private(user, conversation, Reply("That form is no longer available."))]
        limit = max(self.settings.max_arg_length * 2, ANSWER_LIMIT)
        for key, text in fields.items():
            if len(text) > limit:
                exc = too_long(
                    f"The {key} field is {len(text):,} characters long; the limit is {limit:,}",
                    text,
                )
                return self._refusal(user, conversation, exc)
        head = [("f", name), ("v", value)]
        return self._run(
            user,
            conversation,
            _asking_dates(lambda ctx: fn(ctx, value, fields), head, fields),
            source="modal",
            path=f"form {name}",
        )

    def _redo(self, user: User, conversation: Conversation, value: str) -> list[Outbound]:
        """A command or form again, as `_asking_dates` wrote it into a button: its options
        checked again like typed ones (a button's id is the member's to forge)."""
        pairs = parse_qsl(value, keep_blank_values=True)
        if not pairs:
            return [self._private(user, conversation, Reply("That button no longer works."))]
        kind, name = pairs[0]
        if kind == "f" and len(pairs) > 1 and pairs[1][0] == "v":
            return self._submit(user, conversation, name, pairs[1][1], dict(pairs[2:]))
        top = commands.find(name.split()[0]) if kind == "c" and name.strip() else None
        leaf = top.sub(name.split()[-1]) if top and top.subcommands else top
        handler = _HANDLERS.get(name)
        if leaf is None or handler is None:
            return [self._private(user, conversation, Reply("That button no longer works."))]
        try:
            options = commands.check_options(leaf, name, dict(pairs[1:]))
        except UsageError as exc:
            return self._refusal(user, conversation, exc)
        return self._run(
            user,
            conversation,
            _asking_dates(handler, [("c", name)], options),
            options=options,
            source="button",
            path=name,
            admin=leaf.admin,
        )

    def _args_limit(self, command: str) -> int:
        """The longest raw text a command may carry: room for its longest value (a long
        answer) plus the other values; refused before any parsing, so parsing stays cheap."""
        cmd = commands.find(command)
        leaves = (cmd.subcommands or (cmd,)) if cmd else ()
        longest = max((o.max_length or 0 for c in leaves for o in c.options), default=0)
        per_value = self.settings.max_arg_length
        return max(per_value * 2, longest + per_value)

    def _structured(self, inv: Invocation) -> commands.ParsedCommand:
        cmd = commands.known(inv.command)
        opts = dict(inv.options or {})
        sub_name = opts.pop("sub", None)
        leaf, path = cmd, cmd.name
        if cmd.subcommands:
            sub = cmd.sub(sub_name or cmd.default or "")
            if sub is None:
                raise UsageError(f"/{cmd.name} needs a sub-command.", cmd.name)
            leaf, path = sub, f"{cmd.name} {sub.name}"
        opts = {k: str(v).strip() for k, v in opts.items() if v is not None}
        return commands.ParsedCommand(path, leaf, commands.check_options(leaf, path, opts))

    def _private(
        self,
        user: User,
        conversation: Conversation,
        reply: Reply,
        *,
        refusal: bool = False,
        field: str = "",
    ) -> Outbound:
        # A refusal is marked, so that adapters and tests can tell it from an answer.
        if conversation.kind == "dm":
            return Outbound(DM(user), reply, refusal=refusal, field=field)
        return Outbound(Ephemeral(user, conversation), reply, refusal=refusal, field=field)

    def _throttled(self, user: User, conversation: Conversation) -> list[Outbound]:
        """The polite "slow down" when the member is over their rate; [] when they are not."""
        if self.limiter.allow(user, self.clock.now()):
            return []
        return [self._private(user, conversation, Reply(SLOW_DOWN))]

    def _refusal(
        self, user: User, conversation: Conversation, exc: UsageError | UserError
    ) -> list[Outbound]:
        if isinstance(exc, UsageError):
            return [self._private(user, conversation, _usage_reply(exc), refusal=True)]
        reply = _error_reply(exc)
        return [self._private(user, conversation, reply, refusal=True, field=exc.field)]

    def _run(
        self,
        user: User,
        conversation: Conversation,
        call: Callable[[Ctx], Result],
        **kwargs: Any,
    ) -> list[Outbound]:
        """`_run_once`, tried a second time when a concurrent first contact collided."""
        path = str(kwargs.get("path", ""))
        try:
            return self._run_once(user, conversation, call, **kwargs)
        except IntegrityError:
            # Two first contacts at once both create the workspace or member row: the loser
            # rolled back; running again finds the row the winner committed.
            log.info("retrying after a concurrent first contact", extra={"command": path})
            try:
                return self._run_once(user, conversation, call, **kwargs)
            except IntegrityError:
                log.exception("handler failed", extra={"command": path})
                return [self._private(user, conversation, Reply(SORRY))]

    def _run_once(
        self,
        user: User,
        conversation: Conversation,
        call: Callable[[Ctx], Result],
        *,
        options: dict[str, str] | None = None,
        source: Source = "slash",
        path: str = "",
        admin: bool = False,
    ) -> list[Outbound]:
        now = self.clock.now()
        session = self.sessions()
        try:
            member, first_contact = find_member(session, user, self.settings, now)
            place(session, member, conversation)  # in a cohort's channel: joins it if in none
            if admin and not member.is_admin:
                raise NotAllowed(
                    "Only the cohort's organizers can do that. Ask one of them if it needs doing."
                )
            ctx = Ctx(
                settings=self.settings,
                content=self.content,
                session=session,
                now=now,
                user=user,
                conversation=conversation,
                member=member,
                options=dict(options or {}),
                source=source,
                path=path,
            )
            result = call(ctx)
            if first_contact:  # told when the first drill comes, so no DM is a surprise
                result = welcomed(result, member, user, now)
            result = reachable_again(session, member, user, result, now)
            session.commit()
        except (UsageError, UserError) as exc:
            session.rollback()  # a refusal writes nothing, whatever the handler did first
            return self._refusal(user, conversation, exc)
        except IntegrityError:
            session.rollback()
            raise
        except OperationalError:
            session.rollback()
            log.exception("database unavailable", extra={"command": path})
            return [self._private(user, conversation, Reply(BUSY))]
        except Exception:
            session.rollback()
            log.exception("handler failed", extra={"command": path})
            return [self._private(user, conversation, Reply(SORRY))]
        finally:
            session.close()
        if result is None:
            return []
        if isinstance(result, Reply):
            return [self._private(user, conversation, result)]
        return list(result)


# A button that runs a command (or submits a form) again with other values: what an ambiguous
# date's question offers, one button per reading, so a press finishes what was asked.
REDO = "redo"


def _asking_dates(
    call: Callable[[Ctx], Result], head: list[tuple[str, str]], values: dict[str, str]
) -> Callable[[Ctx], Result]:
    """`call`, whose ambiguous date (03/04) becomes a question with a button per reading:
    each runs the same command, or submits the same form, with that reading written out."""

    def run(ctx: Ctx) -> Result:
        try:
            return call(ctx)
        except AmbiguousDate as exc:
            buttons = _reading_buttons(exc, head, values)
            if buttons:
                a, b = (exc.label(r) for r in exc.readings)
                raise UserError(
                    f"Did you mean {a} or {b}? Press the one you meant.", buttons, exc.field
                ) from None
            raise

    return run


def _reading_buttons(
    exc: AmbiguousDate, head: list[tuple[str, str]], values: dict[str, str]
) -> tuple[Button, ...]:
    holding = [k for k, v in values.items() if exc.typed and exc.typed in v]
    holding = holding or [k for k, v in values.items() if exc.matched in v]
    if not holding:
        return ()
    out: list[Button] = []
    for reading in exc.readings:
        changed = dict(values)
        changed[holding[0]] = changed[holding[0]].replace(exc.matched, reading.isoformat(), 1)
        value = urlencode(head + [(k, v) for k, v in changed.items() if v])
        if len(REDO) + 1 + len(value) > CUSTOM_ID_LIMIT:
            return ()  # too much to carry: the question says how to type it instead
        out.append(Button(REDO, value, exc.label(reading), "primary"))
    return tuple(out)


def _usage_reply(exc: UsageError) -> Reply:
    if exc.path is None:
        return Reply(
            f"{exc.message} Type /cohortbot to see every command.", title="Unknown command"
        )
    usage = commands.usage(exc.path)
    top = exc.path.split()[0]
    return Reply(
        f"{exc.message}\nUsage: {usage}\nMore: /cohortbot {top}",
        title="That didn't work",
    )


# Typed text quoted back in a refusal, at most: more than any answer a platform takes. The
# renderers clip further where a platform shows less (Discord's 4,096-character description);
# Slack shows it all, in several sections.
QUOTE_BACK_LIMIT = 12_000
QUOTE_MARK = "Here is what you wrote, to copy:"


def _takes_free_text(command: str, args: str) -> bool:
    """Whether the command the text names has free text (an answer, a note) worth handing
    back; read from the first word only, since the text is too long to parse."""
    cmd = commands.find(command)
    if cmd is None:
        return False
    first = args.split(None, 1)[0].lower() if args.strip() else ""
    leaf = (cmd.sub(first) or cmd.sub(cmd.default or "")) if cmd.subcommands else cmd
    return leaf is not None and any(o.free for o in leaf.options)


def too_long(problem: str, typed: str, advice: str = "") -> UserError:
    """A refusal for over-long text that loses nothing: what to do, and the text itself to
    copy (a slash command's text is gone from the member's composer once sent)."""
    shown = typed if len(typed) <= QUOTE_BACK_LIMIT else typed[:QUOTE_BACK_LIMIT] + "…"
    advice = advice or (
        "Shorten it, or send it in two parts; for a drill answer, the Answer button opens a "
        "form that takes the longest answers."
    )
    return UserError(f"{problem}. Nothing was saved. {advice} {QUOTE_MARK}\n\n{shown}")


def _error_reply(exc: UserError) -> Reply:
    return Reply(exc.message, buttons=exc.buttons)
