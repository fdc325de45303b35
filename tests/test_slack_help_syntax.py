"""Help and hints speak Slack on Slack (issue 16): every command a Slack message names is a slash
command the app's manifest declares, spelled as a member types it in Slack's composer
(`/drill behavioral`), never Discord's mentions (`</drill next:1>`, `track:behavioral`),
Discord's `/cohort-admin`, or the console's own `:help`. Discord's side of the same replies is
tests/test_discord_polish_speak.py."""

from __future__ import annotations

import re

import pytest

from adapters.slack.manifest import slash_commands
from bot import commands
from tests.helpers import slack_run, slack_text
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only

_NAMED = re.compile(r"(?<![\w/<:.])/([a-z][a-z-]*)(?: ([a-z][a-z0-9-]*))?")


def _commands_named(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _NAMED.finditer(text)]


@pytest.mark.parametrize(
    "line",
    [
        "/cohortbot",
        "/cohortbot drill",
        "/cohortbot cohort",
        "/cohortbot pipeline",
        "/drill",
        "/drill answer",
        "/drill nosuch",
        "/pipeline list",
        "/settings show",
        "/settings tz",
        "/letter",
    ],
)
def test_every_command_a_slack_reply_names_is_a_slack_command(slack: SlackRig, line: str) -> None:
    declared = {c["command"] for c in slash_commands("https://bot.example")}
    text = slack_text(slack_run(slack, line))
    named = _commands_named(text)
    assert named or line in ("/drill", "/pipeline list", "/settings show", "/letter")
    for name, word in named:
        assert f"/{name}" in declared, (name, text)
        cmd = commands.find(name)
        assert cmd is not None
        if cmd.subcommands and word and not cmd.sub(word):
            # `/drill behavioral`: the default sub-command takes it, as Slack passes it on.
            assert cmd.default is not None, (name, word, text)
    for discord_only in ("</", "cohort-admin", "track:", "company:", ":help"):
        assert discord_only not in text, (discord_only, text)


def test_the_typed_dm_help_names_commands_as_typed_there(slack: SlackRig) -> None:
    """In the bot's DM a member may type a command without its slash; the help they get names
    Slack's slash commands, which work there too."""
    text = slack_text(slack_run(slack, "/cohortbot", channel="D1"))
    assert "/drill: " in text and "Type /cohortbot &lt;command&gt; for details." in text
