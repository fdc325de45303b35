"""Issue 17, help speaks Discord: every command a reply names is Discord's real command, a
clickable mention with the id Discord gave it when the commands were synced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from adapters.discord.speak import command_text
from bot.app import App
from tests.discord_fake import Bot, FakeDiscord, Person, callback_of, slash

pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")
IDS = {"drill": 11, "cohort": 12, "cohort-admin": 13, "settings": 14, "cohortbot": 15}


@pytest.fixture
def synced_bot(app: App, fake: FakeDiscord, tmp_path: Path) -> Iterator[Bot]:
    env = {"DISCORD_TOKEN": "t", "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json")}
    result = CliRunner().invoke(discord_app, ["sync"], env=env)
    assert result.exit_code == 0, result.output
    b = Bot(app, fake)
    yield b
    b.stop()


def _ids(fake: FakeDiscord) -> dict[str, str]:
    return {c["name"]: c["id"] for c in fake.commands["global"]}


def test_help_names_commands_as_clickable_mentions(synced_bot: Bot, fake: FakeDiscord) -> None:
    ids = _ids(fake)
    desc = callback_of(synced_bot.send(slash(BOB, "cohortbot")))
    text = desc.message["embeds"][0]["description"]
    assert f"</drill next:{ids['drill']}>" in text  # Discord never runs a bare /drill
    assert f"</cohortbot:{ids['cohortbot']}>" in text
    assert "/drill:" not in text
    cb = callback_of(synced_bot.send(slash(BOB, "cohortbot", None, {"command": "cohort"})))
    text = cb.message["embeds"][0]["description"]
    assert f"</cohort-admin setup:{ids['cohort-admin']}>" in text  # where Discord has it
    assert f"</cohort join:{ids['cohort']}>" in text


def test_hints_use_discord_syntax_and_footers_stay_plain(synced_bot: Bot) -> None:
    cb = callback_of(synced_bot.send(slash(BOB, "settings", "show")))
    footer = cb.message["embeds"][0]["footer"]["text"]
    assert "/settings <what> <value>" in footer and "</" not in footer  # footers show no mentions


def test_command_text_cases() -> None:
    assert (
        command_text("Type /drill behavioral now", IDS)
        == "Type </drill next:11> track:behavioral now"
    )
    assert (
        command_text("or /drill prob-two-aces.", IDS) == "or </drill next:11> drill:prob-two-aces."
    )
    assert (
        command_text("Try /drill answer <your answer>", IDS)
        == "Try </drill answer:11> <your answer>"
    )
    assert command_text("Run /cohort setup first", IDS) == "Run </cohort-admin setup:13> first"
    # Not synced: Discord's names as text.
    assert (
        command_text("Run /cohort setup, then /drill", {})
        == "Run /cohort-admin setup, then /drill next"
    )
    # Not commands: links, paths, unknown names, the reader's placeholder.
    for text in ("see https://x.io/drill", "a/drill", "/nothing here", "/settings <what> <value>"):
        assert command_text(text, IDS) == text
