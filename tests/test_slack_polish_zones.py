"""Zones (issue 16): a member who never set /settings tz follows their Slack profile's zone
(users.info tz) and its changes (the user_change event), at once; one who chose a zone keeps
it; a profile change of someone who is not a member creates nothing. Over real HTTP."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from bot.db.models import Member
from tests.helpers import slack_run, wait_until
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only

_ids = itertools.count(1)


def zone_of(rig: SlackRig, user: str) -> str | None:
    with rig.runtime.core.sessions() as s:
        m = s.scalar(select(Member).where(Member.platform_user_id == user))
        return m.settings.timezone if m else None


def profile_changes(rig: SlackRig, user: str, tz: str) -> None:
    rig.fake.users.setdefault(user, {})["tz"] = tz
    event = {"type": "user_change", "user": {"id": user, "team_id": rig.team, "tz": tz}}
    assert rig.event(event, event_id=f"Ev-user-{next(_ids)}").status == 200


def test_a_member_without_a_chosen_zone_follows_their_slack_profile(rig: SlackRig) -> None:
    slack_run(rig, "/settings show")
    assert zone_of(rig, "U1") == "America/New_York"  # the profile's zone from the start
    profile_changes(rig, "U1", "Europe/Paris")
    wait_until(lambda: zone_of(rig, "U1") == "Europe/Paris", what="the new zone")
    assert "Europe/Paris" in str(slack_run(rig, "/settings show").body["blocks"])


def test_a_chosen_zone_stays_and_strangers_are_not_created(rig: SlackRig) -> None:
    slack_run(rig, "/settings tz Asia/Kolkata", user="U2")
    profile_changes(rig, "U2", "Europe/Paris")
    profile_changes(rig, "U9", "Europe/Paris")
    # Each change re-reads the profile (users.info) before anything is written: once both
    # were re-read and U1's later change has landed, theirs have had their turn.
    slack_run(rig, "/settings show")
    profile_changes(rig, "U1", "Europe/Berlin")
    wait_until(lambda: zone_of(rig, "U1") == "Europe/Berlin", what="U1's new zone")

    def looked_up() -> set[str]:
        return {str(c.body.get("user")) for c in rig.fake.delivered("users.info")}

    wait_until(lambda: {"U2", "U9"} <= looked_up(), what="both profiles re-read")
    assert zone_of(rig, "U2") == "Asia/Kolkata"
    with rig.runtime.core.sessions() as s:
        assert s.scalar(select(func.count()).where(Member.platform_user_id == "U9")) == 0
