"""Issue 17, options say their limits: what Discord receives for text lengths, number ranges
and the pipeline's stages, so its client stops a member before the core has to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from bot.features.pipeline.commands import STAGE_CHOICES
from bot.features.pipeline.queries import STAGES
from tests.discord_fake import APP_ID, Bot, FakeDiscord, Person, callback_of, slash, text_of

pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")


def _options(fake: FakeDiscord, tmp_path: Path, env_extra: dict[str, str]) -> Any:
    env = {
        "DISCORD_TOKEN": "t",
        "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json"),
        **env_extra,
    }
    result = CliRunner().invoke(discord_app, ["sync"], env=env)
    assert result.exit_code == 0, result.output
    [put] = fake.matching("PUT", rf"^/applications/{APP_ID}/commands$")
    assert put.status == 200
    by_name = {c["name"]: c for c in put.json}

    def of(command: str, sub: str) -> dict[str, dict[str, Any]]:
        node = next(o for o in by_name[command]["options"] if o["name"] == sub)
        return {o["name"]: o for o in node["options"]}

    return of


def test_options_carry_their_limits(fake: FakeDiscord, tmp_path: Path) -> None:
    of = _options(fake, tmp_path, {"COHORTBOT_MAX_ARG_LENGTH": "300"})
    assert of("offer", "rate")["career"] == {
        "type": 4,
        "name": "career",
        "description": "your score from 1 (poor) to 5 (great)",
        "required": False,
        "min_value": 1,
        "max_value": 5,
    }
    weight = of("offer", "weights")["manager"]
    assert (weight["min_value"], weight["max_value"]) == (0, 5)
    assert of("cohort-admin", "members")["page"]["min_value"] == 1
    assert of("pipeline", "add")["company"]["max_length"] == 300  # the core's per-value limit
    assert of("drill", "answer")["text"]["max_length"] == 4000  # a long answer's own
    zone = of("settings", "tz")["zone"]
    assert zone["autocomplete"] is True and zone["max_length"] == 300


def test_stage_is_a_choice_of_the_fixed_stages(fake: FakeDiscord, tmp_path: Path) -> None:
    assert STAGE_CHOICES == STAGES
    of = _options(fake, tmp_path, {})
    for sub in ("move", "add"):
        stage = of("pipeline", sub)["stage"]
        assert [c["value"] for c in stage["choices"]] == list(STAGES), sub
        assert "max_length" not in stage


def test_a_stage_picked_from_the_choices_moves_the_application(bot: Bot) -> None:
    callback_of(bot.send(slash(BOB, "pipeline", "add", {"company": "Acme"})))
    cb = callback_of(
        bot.send(slash(BOB, "pipeline", "move", {"company": "Acme", "stage": "onsite"}))
    )
    assert "onsite" in text_of(cb).lower()
