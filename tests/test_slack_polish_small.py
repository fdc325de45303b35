"""Smaller Slack polish (issue 16): /leaderboard asked again sends its chart to the member's DM
once, not at every ask; a new chart (the board changed) is sent. Over real HTTP."""

from __future__ import annotations

import pytest

from tests.helpers import slack_run
from tests.slack_fake import SlackRig
from tests.test_slack_leaderboard import CHANNEL, practise, setup_cohort, uploads_to

pytestmark = pytest.mark.sqlite_only


def test_the_same_chart_is_uploaded_to_the_dm_once(rig: SlackRig) -> None:
    setup_cohort(rig)
    practise(rig, "U1")
    first = slack_run(rig, "/leaderboard", channel=CHANNEL)
    rig.fake.wait_for(lambda: len(uploads_to(rig, "DU1")) == 1, what="the chart in the DM")
    assert "direct messages" in str(first.body["blocks"])

    again = slack_run(rig, "/leaderboard", channel=CHANNEL)
    assert "sent earlier" in str(again.body["blocks"])
    assert len(uploads_to(rig, "DU1")) == 1

    practise(rig, "U2")  # the board changed: a new chart
    slack_run(rig, "/leaderboard", channel=CHANNEL)
    rig.fake.wait_for(lambda: len(uploads_to(rig, "DU1")) == 2, what="the new chart")
