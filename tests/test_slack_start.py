"""Slack at start-up (issue 16, smaller items): a token Slack refuses ends `cohortbot serve` with
one line naming the variable and exit status 1, not a traceback; and a start with the bot
token in the environment, as operators set it, logs no "`token` will be unused" warning
(Bolt's own fallback to SLACK_BOT_TOKEN beside the client we give it)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.serve import Runtime
from adapters.slack.bolt_app import SlackBot
from bot.app import App
from bot.db import migrate
from bot.db.session import make_engine
from bot.delivery import CannotStart
from tests.cli import run_cohortbot
from tests.helpers import slack_settings
from tests.slack_fake import FakeSlack
from tests.slack_fixtures import served_slack

# Slow: `cohortbot serve` as a subprocess.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    tmp_path: Path, url: str, fake: FakeSlack, **env: str
) -> subprocess.CompletedProcess[str]:
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COHORTBOT_", "SLACK_", "DISCORD_"))
    }
    full |= {
        "COHORTBOT_DATABASE_URL": url,
        "COHORTBOT_HOST": "127.0.0.1",
        "COHORTBOT_PORT": str(_free_port()),
        "SLACK_API_BASE_URL": fake.api_url,
        "SLACK_SIGNING_SECRET": "start-signing-secret",
        **env,
    }
    return run_cohortbot("serve", cwd=tmp_path, env=full)


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeSlack]:
    slack = FakeSlack(errors=dict(request.param)).start()
    try:
        yield slack
    finally:
        slack.stop()


@pytest.mark.parametrize("fake", [{"auth.test": "invalid_auth"}], indirect=True)
def test_a_bot_token_slack_refuses_ends_serve_with_one_line(
    tmp_path: Path, migrated: str, fake: FakeSlack
) -> None:
    proc = _serve(tmp_path, migrated, fake, SLACK_BOT_TOKEN="xoxb-wrong")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        last == "cohortbot: stopped: Slack refused SLACK_BOT_TOKEN: auth.test answered invalid_auth"
    )
    assert [c.method for c in fake.all()] == ["auth.test"]
    assert "serving on" not in proc.stdout


@pytest.mark.parametrize("fake", [{"apps.connections.open": "invalid_auth"}], indirect=True)
def test_an_app_token_slack_refuses_ends_serve_with_one_line(
    tmp_path: Path, migrated: str, fake: FakeSlack
) -> None:
    proc = _serve(
        tmp_path, migrated, fake, SLACK_BOT_TOKEN="xoxb-right", SLACK_APP_TOKEN="xapp-wrong"
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "cohortbot: stopped: Slack refused SLACK_APP_TOKEN (Socket Mode): "
        "apps.connections.open answered invalid_auth"
    )
    assert "serving on" not in proc.stdout
    opened = fake.all("apps.connections.open")
    assert opened and opened[0].headers["Authorization"] == "Bearer xapp-wrong"


@pytest.mark.parametrize("fake", [{"apps.connections.open": "invalid_auth"}], indirect=True)
def test_the_runtime_refuses_to_start_on_an_app_token_slack_refuses(
    app: App, fake: FakeSlack
) -> None:
    slack = slack_settings(
        fake, bot_token=SecretStr("xoxb-right"), app_token=SecretStr("xapp-revoked")
    )
    runtime = Runtime(app, app.settings, port=0, host="127.0.0.1", slack_settings=slack)
    try:
        with pytest.raises(CannotStart, match=r"SLACK_APP_TOKEN.*invalid_auth"):
            runtime.start()
    finally:
        runtime.stop()


@pytest.mark.parametrize("fake", [{}], indirect=True)
@pytest.mark.parametrize("oauth", [False, True], ids=["bot-token", "oauth"])
def test_start_logs_no_unused_token_warning(
    app: App,
    fake: FakeSlack,
    oauth: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As operators deploy it: the variables in the environment, read by the settings.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    extra: dict[str, object] = {"bot_token": SecretStr("xoxb-test")}
    if oauth:
        monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
        monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
        extra = {
            "client_id": "111.222",
            "client_secret": SecretStr("client-secret"),
            "secret_key": SecretStr("A" * 43 + "="),
        }
    caplog.set_level(logging.DEBUG)
    with served_slack(app, fake, **extra) as rig:
        assert rig.runtime.health()[0] == 200
    said = [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")]
    assert not [m for m in said if "unused" in m or "ignored" in m], said
    assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-test"  # left where the operator put it


@pytest.mark.parametrize("fake", [{}], indirect=True)
def test_start_leaves_the_environment_to_every_other_thread(
    app: App, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bolt's App calls auth.test in its constructor: the fake answers on its own thread, as
    # any other thread of the process would read the environment meanwhile.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    during: list[dict[str, str | None]] = []
    answer = fake.answer

    def watching(method: str, body: dict[str, Any], token: str = "") -> Any:
        if method == "auth.test":
            names = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
            during.append({k: os.environ.get(k) for k in names})
        return answer(method, body, token)

    monkeypatch.setattr(fake, "answer", watching)
    with served_slack(app, fake, bot_token=SecretStr("xoxb-test")) as rig:
        assert rig.runtime.health()[0] == 200
    assert during == [{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"}]


@pytest.mark.parametrize("fake", [{}], indirect=True)
def test_an_empty_oauth_variable_beside_a_bot_token_stops_start_in_one_line(
    app: App, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bolt's App reads these two itself, and would set up its own install flow in place of
    # the bot token; the settings took the empty one as unset.
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    settings = slack_settings(fake, bot_token=SecretStr("xoxb-test"))
    assert not settings.oauth
    with pytest.raises(CannotStart, match="SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but"):
        SlackBot(app, settings)
    assert fake.all() == []
