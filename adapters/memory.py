"""An in-process workspace: members, channels and a clock, running the whole dispatch path
of the core and recording every message it produces. Feature tests and the console use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from adapters.base import describe_target
from bot.app import App
from bot.clock import ManualClock
from bot.delivery import Undeliverable
from bot.jobs import Job
from bot.outbox import Dispatcher, next_due
from bot.types import (
    DM,
    Attachment,
    Button,
    Channel,
    Conversation,
    Ephemeral,
    InPlace,
    Invocation,
    Outbound,
    Reply,
    Room,
    User,
)


@dataclass(frozen=True)
class Delivery:
    at: datetime
    outbound: Outbound

    @property
    def reply(self) -> Reply:
        return self.outbound.reply

    @property
    def label(self) -> str:
        return describe_target(self.outbound.target)

    @property
    def text(self) -> str:
        return self.reply.text

    def seen_by(self, name: str) -> bool:
        """Could member `name` see this message?"""
        t = self.outbound.target
        if isinstance(t, DM | Ephemeral | InPlace):
            return t.user.display_name == name
        if isinstance(t, Room):
            return any(u.display_name == name for u in t.users)
        return isinstance(t, Channel)


class CommandError(Exception):
    pass


@dataclass
class MemoryWorkspace:
    app: App
    clock: ManualClock
    platform: str = "memory"
    workspace_id: str = "W1"
    channel_name: str = "cohort"
    users: dict[str, User] = field(default_factory=dict)
    transcript: list[Delivery] = field(default_factory=list)
    files_dir: Path | None = None
    # Failure simulation, for tests: members whose DMs are closed, and errors to raise next.
    closed_dms: set[str] = field(default_factory=set)
    failures: list[Exception] = field(default_factory=list)
    send_attempts: int = 0
    # Jump the clock from one instant that matters to the next (each job's declared wake-up
    # and the outbox's next due message) instead of ticking every job's interval: what long
    # simulations use; a test proves both send the same messages.
    jump: bool = False
    send_interval: float = 0.0  # no platform's per-recipient pace to keep (bot.delivery)

    def user(self, name: str, admin: bool = False) -> User:
        existing = self.users.get(name)
        if existing is None or (admin and not existing.is_admin):
            existing = User(self.platform, self.workspace_id, f"U-{name}", name, is_admin=admin)
            self.users[name] = existing
        return existing

    def channel(self, name: str | None = None) -> Conversation:
        n = (name or self.channel_name).lstrip("#")
        return Conversation("channel", f"C-{n}", n)

    def dm(self, name: str) -> Conversation:
        return Conversation("dm", f"D-{name}", f"dm-{name}")

    # -- acting as a member ---------------------------------------------------------------

    def command(
        self, name: str, line: str, where: Conversation | None = None, admin: bool = False
    ) -> list[Delivery]:
        """Type a slash command line ("/settings tz Europe/Paris") as member `name`."""
        line = line.strip()
        if not line.startswith("/"):
            raise CommandError("a command starts with /")
        head, _, args = line[1:].partition(" ")
        inv = Invocation(
            command=head.lower(),
            args=args,
            user=self.user(name, admin),
            conversation=where or self.channel(),
        )
        return self._record(self.app.router.handle(inv).all) + self.flush()

    def press(self, name: str, button: Button, where: Conversation | None = None) -> list[Delivery]:
        return self.press_id(name, button.custom_id, where)

    def press_id(
        self, name: str, custom_id: str, where: Conversation | None = None
    ) -> list[Delivery]:
        out = self.app.router.click(self.user(name), where or self.channel(), custom_id).all
        return self._record(out) + self.flush()

    def submit(
        self,
        name: str,
        form: str,
        value: str,
        fields: dict[str, str],
        where: Conversation | None = None,
    ) -> list[Delivery]:
        where = where or self.channel()
        out = self.app.router.submit(self.user(name), where, form, value, fields).all
        return self._record(out) + self.flush()

    def shortcut(
        self, name: str, shortcut: str, text: str = "", where: Conversation | None = None
    ) -> list[Delivery]:
        """A shortcut from a message's menu (`text` is the message) or a global one ("")."""
        where = where or self.channel()
        out = self.app.router.shortcut(self.user(name), where, shortcut, text).all
        return self._record(out) + self.flush()

    # -- the clock ------------------------------------------------------------------------

    def advance(self, to: datetime | timedelta) -> list[Delivery]:
        """Move the clock forward, running every scheduled job that falls due on the way and
        delivering what they queue, each at its own time."""
        start = self.clock.now()
        end = start + to if isinstance(to, timedelta) else to
        if end < start:
            raise CommandError("the clock only moves forward")
        if self.jump:
            return self._jump(start, end)
        recorded: list[Delivery] = []
        for t, jobs in self.app.jobs.schedule(start, end):
            self.clock.set(t)
            self.app.jobs.run_at(t, jobs)
            recorded.extend(self.flush())
        self.clock.set(end)
        recorded.extend(self.flush())
        return recorded

    def _jump(self, start: datetime, end: datetime) -> list[Delivery]:
        runner = self.app.jobs
        # A job that never ran runs at its next tick. One that did sleeps until the wake-up
        # it declares after its last run, asked again now: members may have changed what it
        # would do since; a wake-up already past means at the next tick.
        due: dict[str, tuple[Job, datetime]] = {}
        for j in runner.jobs:
            last = runner.last_run.get(j.name)
            at = j.next_tick(start) if last is None else runner.next_wake(j, last)
            due[j.name] = (j, max(at, j.next_tick(start)))
        recorded = self.flush()
        pending = self._next_pending()
        while True:
            t = min(at for _, at in due.values())
            if pending is not None and self.clock.now() < pending < t:
                t = pending
            if t > end:
                break
            self.clock.set(t)
            ran = [j for j, at in due.values() if at == t]
            if ran:
                runner.run_at(t, ran)
                for j in ran:
                    runner.last_run[j.name] = t
                    due[j.name] = (j, runner.next_wake(j, t))
                pending = self._next_pending()
            if pending is not None and pending <= t:
                recorded.extend(self.flush())
                pending = self._next_pending()
        self.clock.set(end)
        recorded.extend(self.flush())
        return recorded

    def _next_pending(self) -> datetime | None:
        with self.app.sessions() as session:
            return next_due(session)

    def flush(self) -> list[Delivery]:
        """Send everything in the outbox that is due now, through this workspace."""
        before = len(self.transcript)
        Dispatcher(self.app.sessions, self.deliver).drain(self.clock.now())
        return self.transcript[before:]

    def deliver(self, outbound: Outbound) -> None:
        """The adapter's send: record the message, or fail the way a platform would."""
        self.send_attempts += 1
        target = outbound.target
        if isinstance(target, DM) and target.user.display_name in self.closed_dms:
            raise Undeliverable()
        if self.failures:
            raise self.failures.pop(0)
        self._record([outbound])

    # -- output ---------------------------------------------------------------------------

    def _record(self, outbounds: list[Outbound]) -> list[Delivery]:
        now = self.clock.now()
        out = [Delivery(now, o) for o in outbounds]
        self.transcript.extend(out)
        return out

    def save_file(self, file: Attachment) -> Path:
        base = self.files_dir or self.app.settings.export_path
        base.mkdir(parents=True, exist_ok=True)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in file.filename)
        path = base / safe
        path.write_bytes(file.data)
        return path
