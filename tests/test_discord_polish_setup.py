"""Issue 17, setup checks permissions: `/cohort setup` answers first, and where the bot cannot
post the cohort's messages it says which permission is missing instead of "Done"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.db.models import Cohort
from tests.discord_fake import (
    APP_PERMISSIONS,
    Bot,
    FakeDiscord,
    Person,
    callback_of,
    slash,
    text_of,
)

pytestmark = pytest.mark.sqlite_only

ORG = Person(100, "alice", admin=True)
CHANNEL = 777
SEND, EMBED = 1 << 11, 1 << 14


def test_setup_names_the_missing_permissions_and_sets_nothing_up(
    bot: Bot, fake: FakeDiscord, app: App
) -> None:
    without = APP_PERMISSIONS & ~SEND & ~EMBED
    reqs = bot.send(
        slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}, app_permissions=without)
    )
    cb = callback_of(reqs)
    assert reqs[0] is cb and cb.status == 200  # the answer is the first thing sent
    assert cb.json["type"] == 4 and cb.ephemeral
    text = text_of(cb)
    assert "Send Messages, Embed Links" in text and "Done" not in text
    assert "View Channel" not in text and "Attach Files" not in text
    assert not fake.matching("POST", rf"^/channels/{CHANNEL}/messages$")  # nothing tried
    with app.sessions() as s:
        assert s.scalar(select(Cohort)) is None


def test_a_post_refused_after_setup_is_reported_not_swallowed(bot: Bot, fake: FakeDiscord) -> None:
    """Discord's computed permissions said yes, yet the post got 403 (an overwrite changed
    meanwhile): the organizer hears it in a follow-up, after the answer."""
    fake.fail(
        "POST",
        rf"^/channels/{CHANNEL}/messages$",
        403,
        {"message": "Missing Permissions", "code": 50013},
    )
    reqs = bot.send(slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}))
    cb = callback_of(reqs)
    assert reqs.index(cb) == 0 and cb.status == 200
    follow = [r for r in reqs if r.method == "POST" and r.path.startswith("/webhooks/")]
    assert len(follow) == 1 and follow[0].ephemeral
    assert "could not post in #cohort" in text_of(follow[0])
    assert "Missing Permissions" in text_of(follow[0])


def test_setup_with_every_permission_is_done(bot: Bot, fake: FakeDiscord) -> None:
    reqs = bot.send(slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}))
    assert "Done" in text_of(callback_of(reqs))
    assert fake.matching("POST", rf"^/channels/{CHANNEL}/messages$")
