"""/cohort preview on Slack (issue 16): it took 19 s for 61 members with nothing shown meanwhile.
The answer within Slack's 3 s is now "Working on it…", the week's summary follows through the
same response_url, and the preview's statements do not grow with the cohort (each job runs at
the moments it declares, set-based, instead of every hour of the week)."""

from __future__ import annotations

import json

from adapters.memory import MemoryWorkspace
from bot.app import App
from bot.clock import ManualClock
from bot.router import WORKING
from tests.helpers import slack_run, statements
from tests.slack_fake import TEAM, Call, SlackRig

ORGANIZER = "UADMIN"  # an admin in the fake's users


def _members(app: App, clock: ManualClock, first: int, last: int) -> None:
    """Slack members of the cohort, each having used the bot once in its channel."""
    ws = MemoryWorkspace(app, clock, platform="slack", workspace_id=TEAM)
    where = ws.channel("cohort")
    for i in range(first, last):
        ws.command(f"m{i:03d}", "/drill behavioral" if i % 2 else "/settings", where=where)


def _preview(slack: SlackRig) -> tuple[Call, Call]:
    before = len(slack.fake.messages())
    answer = slack.command("/cohort preview", user=ORGANIZER, channel="C-cohort")
    assert answer.status == 200 and answer.seconds < 3
    interim, result = slack.fake.wait_messages(before + 2)[before : before + 2]
    return interim, result


def test_preview_answers_at_once_then_with_the_week(
    app: App, clock: ManualClock, slack: SlackRig
) -> None:
    setup = slack_run(
        slack, "/cohort setup Europe/Berlin 2026-11-23", user=ORGANIZER, channel="C-cohort"
    )
    assert setup.ok
    _members(app, clock, 0, 2)
    with statements(app.engine) as few:
        _preview(slack)
    _members(app, clock, 2, 61)

    with statements(app.engine) as many:
        interim, result = _preview(slack)

    # First the interim answer, to the organizer alone, then the summary through the same
    # response_url (Slack allows 5 uses in 30 minutes).
    assert interim.method == result.method == "respond"
    assert interim.path == result.path
    assert interim.body["response_type"] == "ephemeral" and interim.body["text"] == WORKING
    assert result.body["response_type"] == "ephemeral"
    shown = json.dumps(result.body)
    assert "The next 7 days" in shown
    assert "Mon 23 Nov: " in shown and "62 daily drill DM(s)" in shown  # 61 and the organizer
    assert "Messages in all" in shown
    assert not slack.fake.late_acks()
    # Set-based: 59 more members cost no statement more.
    assert len(many) <= len(few), (len(few), len(many))
    assert len(many) < 700


def test_quick_commands_get_no_interim_answer(slack: SlackRig) -> None:
    before = len(slack.fake.messages())
    call = slack_run(slack, "/cohortbot", channel="C-cohort")
    assert WORKING not in json.dumps(call.body)
    assert len(slack.fake.messages()) == before + 1


def test_preview_typed_in_the_bots_dm_says_it_is_under_way_first(
    app: App, clock: ManualClock, slack: SlackRig
) -> None:
    slack_run(slack, "/cohort setup Europe/Berlin 2026-11-23", user=ORGANIZER, channel="C-cohort")
    _members(app, clock, 0, 3)
    before = len(slack.fake.messages())
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{ORGANIZER}",
        "user": ORGANIZER,
        "text": "cohort preview",
        "ts": "1700000100.000001",
    }
    assert slack.event(event, event_id="Ev-preview").status == 200
    interim, result = slack.fake.wait_messages(before + 2)[before : before + 2]
    assert interim.method == result.method == "chat.postMessage"
    assert interim.body["channel"] == result.body["channel"]
    assert interim.body["text"] == WORKING
    assert "The next 7 days" in json.dumps(result.body)
