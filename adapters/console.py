"""The console workspace: the same core in a terminal, several members, a channel and a clock.

Lines starting with / are slash commands typed by the current member in the current
conversation; lines starting with : drive the workspace (:as, :in, :press, :clock, :quit).
"""

from __future__ import annotations

import re
import shlex
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from rich.console import Console as RichConsole
from rich.text import Text

from adapters.memory import CommandError, Delivery, MemoryWorkspace
from bot.types import Button, Conversation, Form, FormField, instants

CONSOLE_HELP = """Console commands:
  /command ...        a slash command, typed by the current member (try /cohortbot)
  :as NAME [--admin]  act as another member (created on first use)
  :in #NAME | :in dm  type in a channel, or in your DM with the bot
  :press N            press button N of the latest message that had buttons
  :fill NAME=VALUE .. fill in and submit the latest form (quote a value with spaces)
  :clock              show the simulated time (UTC)
  :clock +3d | +2h | +30m | 2026-12-01T09:00
                      move the clock forward, running every job that falls due
  :help               this list
  :quit               leave"""

_DELTA = re.compile(r"^\+(\d{1,4})\s*([wdhm])$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


class Console:
    def __init__(
        self,
        workspace: MemoryWorkspace,
        out: TextIO | None = None,
        *,
        interactive: bool = False,
        user: str = "alice",
    ) -> None:
        self.ws = workspace
        self.out = out or sys.stdout
        self.interactive = interactive
        self.rich = RichConsole(
            file=self.out,
            force_terminal=interactive,
            no_color=not interactive,
            highlight=False,
            soft_wrap=True,
            emoji=False,
            markup=False,
        )
        self.current = user
        self.ws.user(user, admin=(user == "alice"))
        self.where: Conversation = workspace.channel()
        self.buttons: list[Button] = []
        self.form: Form | None = None  # the latest form shown, until it is submitted

    # -- output ---------------------------------------------------------------------------

    def say(self, text: str, style: str | None = None) -> None:
        self.rich.print(Text(instants(text), style=style or ""))

    def show(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            self._show_one(d)

    def _show_one(self, d: Delivery) -> None:
        r = d.reply
        self.say(d.label, "bold cyan")
        if r.title:
            self.say(r.title, "bold")
        self.say(r.text)
        if r.lead is None:  # else the text already says what the fields do (Reply.lead)
            for f in r.fields:
                self.say(f"  {f.name}: {f.value}")
        if r.footer:
            self.say(r.footer, "dim")
        for file in (r.image, *r.files):
            if file is not None:
                self.say(f"  (file saved: {self.ws.save_file(file)})", "green")
        if r.form is not None:
            self.form = r.form
            self.say(
                "  (on Slack and Discord this opens a form; here, fill it in with :fill, "
                "quoting a value with spaces:)"
            )
            self.say("  :fill " + " ".join(_typed(f) for f in r.form.fields))
        if r.buttons:
            self.buttons = list(r.buttons)
            for i, b in enumerate(r.buttons, 1):
                self.say(f"  [{i}] {b.label}", "yellow")
        self.say("")

    # -- input ----------------------------------------------------------------------------

    def prompt(self) -> str:
        where = f"#{self.where.name}" if self.where.kind == "channel" else "dm"
        return f"{self.current} in {where}> "

    def feed(self, line: str) -> bool:
        """Handle one line; False when the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        try:
            if line.startswith("/"):
                self.show(self.ws.command(self.current, line, self.where, admin=self._is_admin()))
            elif line.startswith(":"):
                return self._meta(line)
            else:
                self.say(
                    "Commands start with / (try /cohortbot); console commands with : (try :help)."
                )
        except CommandError as exc:
            self.say(f"! {exc}", "red")
        return True

    def _is_admin(self) -> bool:
        return self.ws.user(self.current).is_admin

    def _meta(self, line: str) -> bool:
        verb, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        match verb.lower():
            case "quit" | "q" | "exit":
                return False
            case "help":
                self.say(CONSOLE_HELP)
            case "as":
                parts = rest.split()
                if not parts or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", parts[0]):
                    raise CommandError("usage: :as NAME [--admin] (letters, digits, . _ -)")
                self.current = parts[0]
                self.ws.user(self.current, admin="--admin" in parts[1:])
                role = " (organizer)" if self._is_admin() else ""
                self.say(f"You are now {self.current}{role}.", "dim")
            case "in":
                if rest.lower() == "dm":
                    self.where = self.ws.dm(self.current)
                elif re.fullmatch(r"#?[a-z0-9_-]{1,40}", rest.lower()):
                    self.where = self.ws.channel(rest.lower())
                else:
                    raise CommandError("usage: :in #channel or :in dm")
                shown = "your DM" if self.where.kind == "dm" else f"#{self.where.name}"
                self.say(f"Now typing in {shown}.", "dim")
            case "press":
                if not rest.isdigit() or not (1 <= int(rest) <= len(self.buttons)):
                    raise CommandError(
                        f"usage: :press N, with N from 1 to {len(self.buttons)}"
                        if self.buttons
                        else "there is no button to press yet"
                    )
                button = self.buttons[int(rest) - 1]
                self.show(self.ws.press(self.current, button, self.where))
            case "fill":
                self._fill(rest)
            case "clock":
                self._clock(rest)
            case _:
                raise CommandError(f"unknown console command :{verb[:20]} (try :help)")
        return True

    def _fill(self, rest: str) -> None:
        """Submit the latest form with the fields given as NAME=VALUE, the others as shown."""
        form = self.form
        if form is None:
            raise CommandError("there is no form to fill in yet")
        try:
            words = shlex.split(rest)
        except ValueError as exc:
            raise CommandError(f"usage: :fill NAME=VALUE ... ({exc})") from None
        values = {f.name: f.initial for f in form.fields}
        for word in words:
            name, sep, value = word.partition("=")
            if not sep or name not in values:
                names = ", ".join(values)
                raise CommandError(f"{word[:30]!r}: give NAME=VALUE, NAME one of {names}")
            values[name] = value
        out = self.ws.submit(self.current, form.action, form.value, values, self.where)
        if not any(d.outbound.refusal for d in out):
            self.form = None  # submitted, as a modal closes; a refused one stays to correct
        self.show(out)

    def _clock(self, rest: str) -> None:
        now = self.ws.clock.now()
        if not rest:
            self.say(f"It is {now:%a %Y-%m-%d %H:%M} UTC.")
            return
        m = _DELTA.match(rest.replace(" ", ""))
        if m:
            target = now + timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        else:
            try:
                target = datetime.fromisoformat(rest)
            except ValueError:
                raise CommandError(
                    "usage: :clock +3d, +2h, +30m, +1w or 2026-12-01T09:00 (UTC)"
                ) from None
            target = target.replace(tzinfo=UTC) if target.tzinfo is None else target
        if target < now:
            raise CommandError("the clock only moves forward")
        deliveries = self.ws.advance(target)
        for d in deliveries:
            self.say(f"-- {d.at:%a %Y-%m-%d %H:%M} UTC", "dim")
            self._show_one(d)
        self.say(f"It is now {target:%a %Y-%m-%d %H:%M} UTC ({len(deliveries)} messages sent).")

    def run(self, stream: TextIO) -> None:
        if self.interactive:
            self.say(
                "Cohortbot console. Type /cohortbot for commands, :help for the console, "
                ":quit to leave.",
                "dim",
            )
            while True:
                try:
                    line = input(self.prompt())
                except (EOFError, KeyboardInterrupt):
                    self.say("")
                    return
                if not self.feed(line):
                    return
        else:
            for line in stream:
                if not self.feed(line):
                    return


def _typed(f: FormField) -> str:
    """A form's field as :fill takes it: NAME=<what goes there> (a date's or time's format, or
    the label), or the value it holds already; an optional field in brackets."""
    if f.initial:
        shown = f"{f.name}={shlex.quote(f.initial)}"
    else:
        shown = f"{f.name}=<{f.hint if f.kind != 'text' else f.label}>"
    return shown if f.required else f"[{shown}]"
