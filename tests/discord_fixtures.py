"""Fixtures shared by the Discord tests: the fake REST API and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app import App
from tests.discord_fake import Bot, FakeDiscord, discord_at


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    f = FakeDiscord().start()
    with discord_at(f):
        yield f
    f.stop()


@pytest.fixture
def bot(app: App, fake: FakeDiscord) -> Iterator[Bot]:
    b = Bot(app, fake)
    yield b
    b.stop()
