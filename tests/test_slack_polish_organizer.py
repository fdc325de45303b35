"""Sticky organizer (issue 16): a Slack admin's organizer rights follow Slack's own flag, read
fresh (users.info, cached a minute at most) for every organizer action, so a demotion there
ends them here. Over real HTTP into the served Bolt app, its Web API at the local fake."""

from __future__ import annotations

import pytest

from tests.helpers import slack_run
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only

REFUSED = "Only the cohort's organizers can do that"


def lookups(rig: SlackRig, user: str) -> int:
    return len([c for c in rig.fake.delivered("users.info") if c.body.get("user") == user])


def test_a_demotion_in_slack_ends_organizer_commands_within_the_cache(rig: SlackRig) -> None:
    assert REFUSED not in slack_run(rig, "/cohort members", user="UADMIN").body["text"]
    rig.fake.users["UADMIN"]["is_admin"] = False  # demoted in Slack

    # Within the minute the answer may come from the cache: one users.info so far.
    assert REFUSED not in slack_run(rig, "/cohort members", user="UADMIN").body["text"]
    assert lookups(rig, "UADMIN") == 1

    rig.bot.admin_cache_seconds = 0  # the minute has passed
    assert REFUSED in slack_run(rig, "/cohort members", user="UADMIN").body["text"]
    assert lookups(rig, "UADMIN") == 2
    # An ordinary command afterwards does not bring the rights back.
    slack_run(rig, "/settings show", user="UADMIN")
    assert REFUSED in slack_run(rig, "/cohort members", user="UADMIN").body["text"]


def test_a_promotion_in_slack_counts_at_the_first_organizer_command(rig: SlackRig) -> None:
    rig.bot.admin_cache_seconds = 0
    assert REFUSED in slack_run(rig, "/cohort members", user="U3").body["text"]
    rig.fake.users["U3"] = {"is_admin": True}
    assert REFUSED not in slack_run(rig, "/cohort members", user="U3").body["text"]


def test_members_who_are_not_admins_are_not_looked_up_on_every_command(rig: SlackRig) -> None:
    rig.bot.admin_cache_seconds = 0
    for _ in range(3):
        slack_run(rig, "/settings show", user="U3")
    assert lookups(rig, "U3") == 1
