"""Fixtures shared by the Slack tests: the served Bolt app with its Web API at a local fake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import SecretStr

from adapters.serve import Runtime
from adapters.slack import SlackBot
from bot.app import App
from tests.helpers import slack_settings
from tests.slack_fake import FakeSlack, SlackRig


@contextmanager
def served_slack(app: App, fake: FakeSlack, **settings: object) -> Iterator[SlackRig]:
    """The real Bolt app served over HTTP, calling `fake` as Slack's Web API, with the Slack
    `settings` given (a bot token, or the OAuth client and key)."""
    slack = slack_settings(fake, **settings)
    bot = SlackBot(app, slack, channel_interval=0)
    runtime = Runtime(app, app.settings, port=0, host="127.0.0.1", slack=bot)
    runtime.start()
    try:
        yield SlackRig(fake, runtime, bot)
    finally:
        runtime.stop()


@pytest.fixture
def rig(app: App) -> Iterator[SlackRig]:
    fake = FakeSlack(users={"UADMIN": {"is_admin": True}, "U2": {"tz": "Asia/Tokyo"}}).start()
    try:
        with served_slack(app, fake, bot_token=SecretStr("xoxb-test")) as served:
            yield served
    finally:
        fake.stop()
