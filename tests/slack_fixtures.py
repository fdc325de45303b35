"""Fixtures shared by the Slack tests: the served Bolt app with its Web API at a local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from adapters.serve import Runtime
from adapters.slack import SlackBot
from bot.app import App
from tests.slack_fake import SECRET, FakeSlack, SlackRig


@pytest.fixture
def rig(app: App) -> Iterator[SlackRig]:
    fake = FakeSlack(users={"UADMIN": {"is_admin": True}, "U2": {"tz": "Asia/Tokyo"}}).start()
    settings = app.settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test"),
            "slack_signing_secret": SecretStr(SECRET),
            "slack_api_base_url": fake.api_url,
        }
    )
    bot = SlackBot(app, settings, channel_interval=0)
    runtime = Runtime(app, settings, port=0, host="127.0.0.1", slack=bot)
    runtime.start()
    try:
        yield SlackRig(fake, runtime, bot)
    finally:
        runtime.stop()
        fake.stop()
