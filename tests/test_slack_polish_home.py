"""The App Home keeps up (issue 16): a member whose Home was published sees it published again
(views.publish) after they change something, once per burst of changes, never on the ack's
path. Over real HTTP into the served Bolt app, its Web API at the local fake."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.views import View

from tests.helpers import slack_run, wait_until
from tests.slack_fake import Call, SlackRig

pytestmark = pytest.mark.sqlite_only


def open_home(rig: SlackRig, user: str = "U1") -> Call:
    before = len(rig.fake.delivered("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"}
    assert rig.event(event, event_id=f"Ev-home-{user}-{before}").status == 200
    rig.fake.wait_for(lambda: len(rig.fake.delivered("views.publish")) > before, what="Home")
    return rig.fake.delivered("views.publish")[-1]


def publishes(rig: SlackRig, user: str = "U1") -> list[Call]:
    return [c for c in rig.fake.delivered("views.publish") if c.body["user_id"] == user]


def settled(rig: SlackRig) -> None:
    wait_until(lambda: not rig.bot.home_refresh_pending(), what="the Home refresh")


def valid_home(call: Call) -> str:
    view = call.body["view"]
    View(**view).validate_json()  # slack_sdk's own limits for a Home view
    return json.dumps(view)


def test_home_is_published_again_after_a_change(rig: SlackRig) -> None:
    rig.bot.home_refresh_seconds = 0.05
    first = open_home(rig)
    assert "Globex" not in valid_home(first)

    slack_run(rig, "/pipeline add Globex | Data engineer")
    rig.fake.wait_for(lambda: len(publishes(rig)) == 2, what="the refreshed Home")
    assert "Globex" in valid_home(publishes(rig)[-1])

    slack_run(rig, "/settings tz Europe/Paris")
    rig.fake.wait_for(lambda: len(publishes(rig)) == 3, what="the Home after a setting")
    assert "Times in Europe/Paris" in valid_home(publishes(rig)[-1])


@pytest.mark.slow
def test_a_burst_of_changes_publishes_the_home_once(rig: SlackRig) -> None:
    rig.bot.home_refresh_seconds = 2.0  # longer than the three commands take
    open_home(rig)
    for company in ("Acme", "Initech", "Umbrella"):
        slack_run(rig, f"/pipeline add {company}")
    rig.fake.wait_for(lambda: len(publishes(rig)) >= 2, what="the refreshed Home")
    settled(rig)
    assert len(publishes(rig)) == 2
    home = valid_home(publishes(rig)[-1])
    assert all(c in home for c in ("Acme", "Initech", "Umbrella"))


def test_no_home_published_for_a_member_who_never_opened_it_nor_after_a_refusal(
    rig: SlackRig,
) -> None:
    rig.bot.home_refresh_seconds = 0.05
    slack_run(rig, "/pipeline add Globex", user="U2")
    assert not rig.bot.home_refresh_pending()  # decided before the answer went out
    open_home(rig, "U2")
    slack_run(rig, "/pipeline move Nowhere applied", user="U2")  # refused: nothing changed
    assert not rig.bot.home_refresh_pending()
    assert len(publishes(rig, "U2")) == 1
    assert not publishes(rig, "U1")
