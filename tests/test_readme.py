"""The README documents what the code does: every setting, the two commands, CI's command."""

from __future__ import annotations

from pathlib import Path

from adapters.slack.settings import SlackSettings
from bot.config import Settings, _env_name

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for block in (Settings, SlackSettings):  # the core's, and the Slack adapter's own
        for name in block.model_fields:
            assert f"`{_env_name(name, block)}`" in readme, name


def test_readme_opens_with_two_commands_and_ci_runs_the_second() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("```sh")
    install_run, install_test = lines[start + 1], lines[start + 2]
    assert lines[start + 3] == "```"
    assert install_run.endswith("cohortbot")
    assert install_test in (ROOT / ".ci" / "run").read_text()
