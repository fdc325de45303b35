"""The console workspace, run as a person would: the `cohortbot` command with piped input, once
through the installed script in a child process and otherwise its command line in-process."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console import Console
from adapters.memory import MemoryWorkspace
from bot.jobs import Job, JobRunner
from bot.outbox import Scheduled
from bot.types import Channel, Conversation, Outbound, Reply
from tests.cli import Ran, invoke_cohortbot, run_cohortbot, without_platforms

# Slow: each run builds the app on a database of its own; one is a subprocess.
pytestmark = pytest.mark.slow


def console_env(tmp_path: Path, **env: str) -> dict[str, str]:
    return without_platforms(**{"COHORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", **env})


def run_console_process(
    script: str, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The installed script in a child process, `script` piped to it."""
    return run_cohortbot(*args, cwd=tmp_path, env=console_env(tmp_path, **env), input=script)


def run_console(
    monkeypatch: pytest.MonkeyPatch, script: str, tmp_path: Path, *args: str, **env: str
) -> Ran:
    """The same command line in this process, `script` on its stdin."""
    return invoke_cohortbot(
        monkeypatch, *args, cwd=tmp_path, env=console_env(tmp_path, **env), input=script
    )


def blocks(stdout: str) -> list[list[str]]:
    """Messages, each as its lines, starting at each target line such as `[DM to alice]`."""
    out: list[list[str]] = []
    for line in stdout.splitlines():
        if re.fullmatch(r"\[(DM to|only|updated for|#).*\]", line):
            out.append([line])
        elif out and line.strip():
            out[-1].append(line)
    return out


def test_issue_script(tmp_path: Path) -> None:
    script = "/cohortbot\n/settings tz Europe/Berlin\n/settings\n:as bob\n/settings\n"
    proc = run_console_process(script, tmp_path, "console")
    assert proc.returncode == 0, proc.stderr
    msgs = blocks(proc.stdout)
    assert msgs[0][0] == "[only alice sees this, in #cohort]"
    assert "/settings:" in "\n".join(msgs[0])
    assert msgs[1][0] == "[only alice sees this, in #cohort]"
    assert "Time zone set to Europe/Berlin" in "\n".join(msgs[1])
    assert "Time zone Europe/Berlin;" in "\n".join(msgs[2])
    bob = [m for m in msgs if m[0] == "[only bob sees this, in #cohort]"]
    assert len(bob) == 1
    assert "Time zone UTC (default);" in "\n".join(bob[0])
    assert "  Time zone:" not in proc.stdout  # each fact once: the text says what fields do
    assert "\x1b[" not in proc.stdout  # no colour codes when piped
    assert "Traceback" not in proc.stderr


def test_console_start_sets_the_clock_and_rejects_nonsense(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proc = run_console(monkeypatch, ":clock\n", tmp_path, "console", "--start", "2027-03-28T00:30")
    assert proc.returncode == 0, proc.stderr
    assert "Sun 2027-03-28 00:30 UTC" in proc.stdout
    proc = run_console(monkeypatch, "", tmp_path, "console", "--start", "next tuesday")
    assert proc.returncode == 2 and "not an ISO 8601 instant" in proc.stderr


def test_bare_command_opens_console_and_says_how_to_connect(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proc = run_console(monkeypatch, "/cohortbot\n:quit\n/settings\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SLACK_BOT_TOKEN" in proc.stderr and "DISCORD_TOKEN" in proc.stderr
    assert proc.stdout.count("[only alice sees this") == 1  # stopped at :quit


def test_console_meta_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = (
        ":in dm\n/settings\n:in #general\n/settings forget-me\n:press 2\n:press 9\n"
        ":as carol --admin\n:clock\n:clock +2h\n:clock 2000-01-01T00:00\n:bogus\nhello\n"
    )
    # Monday noon: two more hours cross no drill time, so the clock moves in silence.
    proc = run_console(
        monkeypatch, script, tmp_path, "console", "--user", "dave", "--start", "2026-11-23T12:00"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[DM to dave]" in out
    assert "[only dave sees this, in #general]" in out
    assert "Nothing was deleted." in out
    assert "usage: :press N, with N from 1 to 2" in out
    assert "You are now carol (organizer)." in out
    assert "It is now" in out and "(0 messages sent)" in out
    assert "the clock only moves forward" in out
    assert "unknown console command :bogus" in out
    assert "Commands start with /" in out


def test_bad_setting_stops_startup_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proc = run_console(monkeypatch, "", tmp_path, "console", COHORTBOT_STALE_DAYS="abc")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Setting COHORTBOT_STALE_DAYS is invalid")
    proc = run_console(monkeypatch, "", tmp_path, "console", COHORTBOT_DEFAULT_TIMEZONE="Mars/Base")
    assert proc.returncode == 2
    assert "COHORTBOT_DEFAULT_TIMEZONE" in proc.stderr and "Mars/Base" in proc.stderr


def test_clock_runs_jobs_in_order_between_instants(ws: MemoryWorkspace) -> None:
    seen: list[datetime] = []
    channel = Conversation("channel", "C-cohort", "cohort")

    def hourly(now: datetime, session: object, env: object) -> list[Scheduled]:
        seen.append(now)
        if now.hour == 9:
            out = Outbound(Channel(channel, "memory", "W1"), Reply(f"tick {now:%Y-%m-%d %H:%M}"))
            return [Scheduled(out, 1, "tick", "t", now.date(), now, target_key="C-cohort")]
        return []

    ws.app.jobs = JobRunner(
        ws.app.sessions, ws.app.jobs.env, [Job("hourly", hourly, timedelta(hours=1))]
    )
    ws.command("alice", "/settings")  # creates the workspace the messages belong to
    start = ws.clock.now()
    out = ws.advance(timedelta(days=2))
    assert seen == sorted(seen) and len(seen) == 48
    assert [d.text for d in out] == ["tick 2026-11-23 09:00", "tick 2026-11-24 09:00"]
    assert [d.at for d in out] == [start.replace(hour=9) + timedelta(days=i) for i in (0, 1)]
    assert ws.clock.now() == start + timedelta(days=2)
    with pytest.raises(Exception, match="forward"):
        ws.advance(start)


def test_console_prints_clock_deliveries(ws: MemoryWorkspace) -> None:
    import io

    def ping(now: datetime, session: object, env: object) -> list[Scheduled]:
        if now.hour != 12:
            return []
        out = Outbound(Channel(ws.channel(), ws.platform, ws.workspace_id), Reply("ping"))
        return [Scheduled(out, 1, "ping", "p", now.date(), now, target_key="C-cohort")]

    ws.app.jobs = JobRunner(
        ws.app.sessions, ws.app.jobs.env, [Job("ping", ping, timedelta(hours=1))]
    )
    ws.command("alice", "/settings")
    buf = io.StringIO()
    console = Console(ws, buf)
    console.feed(":clock +1d")
    text = buf.getvalue()
    assert "-- Mon 2026-11-23 12:00 UTC" in text and "[#cohort]\nping" in text
    assert "(1 messages sent)" in text


def test_now_is_utc_aware(ws: MemoryWorkspace) -> None:
    assert ws.clock.now().tzinfo is UTC


def test_a_form_opened_by_a_command_is_filled_in_as_the_console_says(
    ws: MemoryWorkspace,
) -> None:
    """What the console prints for a form is a line that works when typed: :fill with the
    form's fields, each NAME=<its format>, optional ones in brackets."""
    import io

    buf = io.StringIO()
    console = Console(ws, buf)
    console.feed("/settings tz Europe/Paris")
    console.feed("/pipeline add Acme")
    console.feed("/pipeline offer")
    [syntax] = [line for line in buf.getvalue().splitlines() if line.startswith("  :fill ")]
    assert syntax == (
        "  :fill company=<Company> [deadline_date=<YYYY-MM-DD, or e.g. 5 Dec>] "
        "[deadline_time=<HH:MM (24h), or e.g. 2:30pm>] [base=<Base salary per year>] "
        "[start=<YYYY-MM-DD, or e.g. 5 Dec>]"
    )
    # A refusal keeps the form, as a modal stays open, and names what is wrong.
    console.feed(":fill company=Acme deadline_date=2026-12-20 base=lots")
    assert "'lots' isn't an amount for base" in buf.getvalue()
    typed = (
        ':fill company=Acme deadline_date=2026-12-20 deadline_time=12:00 base=120k start="4 jan"'
    )
    console.feed(typed)
    text = buf.getvalue()
    assert "Deadline: Sun 20 Dec 2026, 12:00 (Europe/Paris)" in text
    assert "Start date: Mon 4 Jan 2027" in text
    console.feed(":fill company=Acme")  # submitted: the form is gone, as a modal closes
    assert "! there is no form to fill in yet" in buf.getvalue()
    # A form filled in already (the company from the command) shows its value.
    console.feed("/pipeline interview acme")
    assert "  :fill company=acme date=<YYYY-MM-DD, or e.g. 5 Dec> " in buf.getvalue()
    console.feed(":fill bogus=1")
    assert "! 'bogus=1': give NAME=VALUE, NAME one of company, date, time, kind" in buf.getvalue()
    console.feed(':fill date="22 nov" time=10:00 kind=phone')
    assert "Noted: phone with Acme on Sun 22 Nov 2026, 10:00 (Europe/Paris)" in buf.getvalue()
