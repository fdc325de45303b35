"""Issue 17, times in channel posts: the core marks a moment once (bot.types.instant) and each
platform shows it its own way; on Discord a timestamp each reader sees in their own zone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from adapters.slack.render import escape
from bot.app import App
from bot.cohorts import all_cohorts
from bot.features.cohort.leaderboard import with_next_board
from bot.features.cohort.plan import dated_plan, stage_post
from bot.types import Channel, Conversation, Outbound, Reply, instant, instants
from tests.discord_fake import Bot, FakeDiscord, Person, callback_of, slash

pytestmark = pytest.mark.sqlite_only

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_stage_post_counts_down_to_the_stage_end_on_discord(
    bot: Bot, fake: FakeDiscord, app: App
) -> None:
    first = dated_plan(app.content, date(2026, 12, 7))[0]
    reply = stage_post(first, 10, BERLIN)
    bot.adapter.deliver(
        Outbound(Channel(Conversation("channel", "4242", "cohort"), "discord", "555"), reply)
    )
    [post] = fake.matching("POST", r"^/channels/4242/messages$")
    desc = post.json["embeds"][0]["description"]
    end = datetime.combine(first.end, datetime.min.time(), BERLIN).timestamp() + 86400
    assert f"It ends <t:{int(end)}:R>." in desc  # midnight after the last day, Berlin time
    assert "\u2063" not in str(post.json)  # no marker left anywhere


def test_each_platform_shows_a_moment_its_own_way() -> None:
    at = datetime(2026, 12, 24, 18, 0, tzinfo=ZoneInfo("UTC"))
    text = f"Pairs are made {instant(at, 'Dec 24 18:00 UTC')} & posted."
    assert instants(text) == "Pairs are made Dec 24 18:00 UTC & posted."  # console, memory
    assert escape(text) == (
        "Pairs are made <!date^1798135200^{date_short_pretty} {time}|Dec 24 18:00 UTC> "
        "&amp; posted."
    )
    soon = instant(at, "on Dec 24", "R")
    assert escape(soon) == "<!date^1798135200^{ago}|on Dec 24>"


def test_a_stage_post_without_a_zone_is_unchanged(app: App) -> None:
    first = dated_plan(app.content, date(2026, 12, 7))[0]
    assert "\u2063" not in stage_post(first, 10).text


def test_the_leaderboard_post_says_when_the_next_board_comes(
    bot: Bot, fake: FakeDiscord, app: App
) -> None:
    org = Person(100, "alice", admin=True)
    callback_of(bot.send(slash(org, "cohort", "setup", {"zone": "Europe/Berlin"})))
    with app.sessions() as s:
        [c] = all_cohorts(s)
    monday = date(2026, 12, 7)
    reply = with_next_board(Reply("Top of the week"), c, monday)
    assert "Next board: " in instants(reply.text) and "(Europe/Berlin)" in instants(reply.text)
    bot.adapter.deliver(Outbound(c.channel, reply))  # type: ignore[arg-type]
    [*_, post] = fake.matching("POST", r"^/channels/777/messages$")
    at = int(
        datetime.combine(
            date(2026, 12, 14), time.fromisoformat(c.leaderboard_time), c.tz
        ).timestamp()
    )
    desc = post.json["embeds"][0]["description"]
    assert desc.endswith(f"Next board: <t:{at}:F> (<t:{at}:R>).")
