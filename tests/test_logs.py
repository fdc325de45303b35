"""Logs: one JSON object per line with COHORTBOT_LOG_FORMAT=json, and nothing private in them,
even at DEBUG with every third-party logger (slack_sdk, urllib3, discord, sqlalchemy) live.

A representative run goes through Slack over HTTP (signed with a secret, the bot token sent to
the fake Web API), Discord (a token logged in against the fake REST API), the memory workspace
(drill answers, an offer with a base of 123456), the scheduler's dispatch and /metrics; then
every captured line is parsed and grepped for every secret, answer and figure used."""

from __future__ import annotations

import io
import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.runner import DiscordRunner
from adapters.memory import MemoryWorkspace
from bot.app import App
from bot.clock import ManualClock
from bot.db.models import Workspace
from bot.logs import TextFormatter, setup_logging
from tests.cli import run_cohortbot
from tests.discord_fake import FakeDiscord, Person, bounded, discord_at, slash
from tests.slack_fake import FakeSlack, SlackRig, post
from tests.slack_fixtures import served_slack

# Slow: the console and the served front, reading their logs.
pytestmark = pytest.mark.slow

PHRASE = "purple elephant migration saga"
FIGURE = "123456"
SIGNING = "sig-secret-5c1e9b7d4a"
BOT_TOKEN = "xoxb-log-test-token-9d8e7f"
DISCORD_TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"
SECRETS = (PHRASE, FIGURE, "123,456", SIGNING, BOT_TOKEN, DISCORD_TOKEN)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    saved_levels = {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict}
    buf = io.StringIO()
    setup_logging("DEBUG", "json", stream=buf)
    try:
        yield buf
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def assert_clean(text: str) -> list[dict[str, object]]:
    records = []
    for line in text.splitlines():
        records.append(json.loads(line))  # every line is one whole JSON object
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into the logs"
    return records


def test_a_full_flow_logs_json_lines_and_nothing_private(
    app: App, clock: ManualClock, captured: io.StringIO
) -> None:
    # Slack over HTTP: signed requests in, Web API calls with the bot token out.
    fake_slack = FakeSlack().start()
    fake_discord = FakeDiscord().start()
    slack_settings = {
        "bot_token": SecretStr(BOT_TOKEN),
        "signing_secret": SecretStr(SIGNING),
    }
    try:
        with served_slack(app, fake_slack, **slack_settings) as rig:
            for line in (
                "/drill behavioral",
                f"/drill answer {PHRASE}",
                "/settings tz Europe/Paris",
            ):
                ans = post(rig.url, _command_body(rig, line), secret=SIGNING)
                assert ans.status == 200
            fake_slack.wait_messages(3)
            assert any(BOT_TOKEN in c.headers.get("Authorization", "") for c in fake_slack.calls)
            with urllib.request.urlopen(f"{rig.runtime.url}/metrics", timeout=5) as resp:
                assert resp.status == 200

            # Discord: the token logs in against the fake; a command with the answer in it.
            with discord_at(fake_discord):
                runner = DiscordRunner(DiscordAdapter(app))
                runner.start(DISCORD_TOKEN, connect=False, wait=10)
                try:
                    person = Person(4242, "dora")
                    payload = slash(person, "drill", "answer", {"text": PHRASE})
                    runner.feed(payload)
                    assert bounded(lambda: runner.adapter.wait_finished(int(payload["id"]), 0.1))
                finally:
                    runner.stop()

            # The core: answers, an offer with its figure, and an error with member text in it.
            ws = MemoryWorkspace(app, clock)
            for line in (
                "/drill behavioral",
                f"/drill answer {PHRASE}",
                "/pipeline add Acme stage onsite",
                f"/pipeline offer acme deadline 2026-11-30 17:00 base {FIGURE} currency EUR",
                "/offer",
                f"/no-such-command {PHRASE}",
            ):
                ws.command("alice", line)
            with app.sessions() as s:
                row = {
                    "platform": "x",
                    "external_id": "W9",
                    "name": PHRASE,
                    "created_at": clock.now(),
                }
                with pytest.raises(IntegrityError):
                    try:
                        s.execute(insert(Workspace), [row, row])
                    except IntegrityError:
                        logging.getLogger("cohortbot.test").exception("handler failed")
                        raise
    finally:
        fake_slack.stop()
        fake_discord.stop()

    records = assert_clean(captured.getvalue())
    events = [r["event"] for r in records]
    assert "command handled" in events
    handled = [r for r in records if r["event"] == "command handled"]
    assert {r["command"] for r in handled} >= {"drill answer", "pipeline offer"}
    assert all(isinstance(r["ms"], float | int) for r in handled)
    assert any("exc" in r and "[parameters hidden]" in str(r["exc"]) for r in records)
    # Third-party libraries speak only at WARNING and above, whatever our level.
    others = [r for r in records if not str(r["logger"]).startswith("cohortbot")]
    assert all(r["level"] in ("warning", "error", "critical") for r in others), others[:3]


def _command_body(rig: SlackRig, line: str) -> str:
    from urllib.parse import urlencode

    head, _, text = line.partition(" ")
    return urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "channel_name": "cohort",
            "user_id": "U1",
            "user_name": "u1",
            "command": head,
            "text": text,
            "response_url": rig.fake.response_url("U1-C1"),
            "trigger_id": rig.trigger(),
        }
    )


def test_text_format_is_one_line_per_event() -> None:
    record = logging.LogRecord("cohortbot.x", logging.INFO, __file__, 1, "a\nb", None, None)
    record.command = "drill"
    line = TextFormatter().format(record)
    assert "\n" not in line and line.endswith("a\\nb command=drill")


def test_console_run_with_secrets_in_the_environment_logs_nothing_private(
    tmp_path: Path,
) -> None:
    """The real `cohortbot console`, at DEBUG in JSON, with every secret set: stderr (the log)
    holds only JSON lines, and none of the secrets or what the member typed."""
    env = {
        **os.environ,
        "COHORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "COHORTBOT_LOG_LEVEL": "DEBUG",
        "COHORTBOT_LOG_FORMAT": "json",
        "SLACK_SIGNING_SECRET": SIGNING,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_TOKEN": DISCORD_TOKEN,
    }
    env.pop("SLACK_APP_TOKEN", None)
    script = (
        f"/drill behavioral\n/drill answer {PHRASE}\n/pipeline add Acme stage onsite\n"
        f"/pipeline offer acme deadline 2026-11-30 17:00 base {FIGURE}\n:clock +1d\n"
    )
    proc = run_cohortbot(
        "console", "--start", "2026-11-23T08:00", cwd=tmp_path, env=env, input=script
    )
    assert proc.returncode == 0, proc.stderr
    assert FIGURE in proc.stdout.replace(",", "")  # the member sees their own offer
    records = assert_clean(proc.stderr)
    assert any(r["event"] == "command handled" for r in records)
