"""The leaderboard end to end over Slack: a cohort set up by an admin with /cohort setup,
members practising, `/leaderboard` privately with its chart, and the weekly post through the
scheduler and the outbox into the cohort channel. In-process through `SlackBot.dispatch`, on
SQLite: the board's queries run on both databases in tests/test_cohort.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.app import App
from bot.outbox import Dispatcher
from tests.conftest import START
from tests.helpers import slack_run
from tests.helpers import slack_text as blob
from tests.slack_fake import Call, SlackRig

pytestmark = pytest.mark.sqlite_only

CHANNEL = "C9"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def rig(slack: SlackRig) -> SlackRig:
    return slack


def run(rig: SlackRig, line: str, user: str = "U1", channel: str = CHANNEL) -> Call:
    """One command in the cohort channel, waiting for its answer."""
    return slack_run(rig, line, user, channel)


def channel_posts(rig: SlackRig) -> list[Call]:
    return [c for c in rig.fake.delivered("chat.postMessage") if c.body["channel"] == CHANNEL]


def boards(rig: SlackRig) -> list[Call]:
    return [
        c
        for c in channel_posts(rig)
        if c.body["blocks"][0]["text"]["text"].startswith("Leaderboard")
    ]


def uploads_to(rig: SlackRig, channel: str) -> list[Call]:
    return [
        c
        for c in rig.fake.delivered("files.completeUploadExternal")
        if c.body.get("channel_id") == channel
    ]


def practise(rig: SlackRig, user: str) -> None:
    run(rig, "/drill probability", user)
    run(rig, "/drill skip", user)
    run(rig, "/drill rate good", user)


def setup_cohort(rig: SlackRig) -> None:
    before = len(rig.fake.messages())
    assert rig.command("/cohort setup", user="UADMIN", channel=CHANNEL).status == 200
    msgs = rig.fake.wait_messages(before + 2)[before:]
    [done] = [m for m in msgs if m.method == "respond"]
    assert done.body["response_type"] == "ephemeral"
    assert "Done: #cohort" in done.body["text"]
    assert channel_posts(rig)


def test_cohort_setup_needs_an_admin_and_announces_in_the_channel(rig: SlackRig) -> None:
    refused = run(rig, "/cohort setup", user="U1")
    assert refused.body["response_type"] == "ephemeral"
    assert "organizers" in refused.body["text"]
    assert not channel_posts(rig)
    setup_cohort(rig)
    [post] = channel_posts(rig)
    assert post.body["blocks"][0]["text"]["text"] == "Cohortbot is set up"
    assert "America/New_York" in blob(post)  # the admin's zone, from users.info


def test_leaderboard_command_is_private_with_the_chart_in_the_dm(rig: SlackRig) -> None:
    setup_cohort(rig)
    practise(rig, "U1")
    posts_before = len(channel_posts(rig))
    board = run(rig, "/leaderboard")
    assert board.method == "respond"
    assert board.body["response_type"] == "ephemeral"
    assert board.body["blocks"][0]["text"]["text"].startswith("Leaderboard: week of")
    assert "1. u1: 3 points, 1 drill" in blob(board)
    assert "direct messages" in blob(board)  # files can't be ephemeral: the chart went to DM
    rig.fake.wait_for(lambda: bool(uploads_to(rig, "DU1")), what="the chart in the DM")
    [url] = [
        c
        for c in rig.fake.delivered("files.getUploadURLExternal")
        if c.body["filename"].startswith("leaderboard-")
    ]
    assert url.body["filename"].endswith(".png")
    assert any(c.raw.startswith(PNG) for c in rig.fake.delivered("upload"))
    assert len(channel_posts(rig)) == posts_before  # nothing in the channel
    assert not uploads_to(rig, CHANNEL)


def test_weekly_post_goes_to_the_cohort_channel_through_the_outbox(rig: SlackRig, app: App) -> None:
    setup_cohort(rig)
    practise(rig, "U1")
    practise(rig, "U2")
    run(rig, "/settings public on")
    run(rig, '/pipeline add "Acme Secret Labs"')
    run(rig, "/pipeline offer Acme deadline 2026-12-04 base 123456")
    run(rig, "/pipeline add Globex stage screen", "U2")  # U2 keeps theirs private

    # The cohort posts on Mondays at 09:00 in its zone (America/New_York): 14:00 UTC. The post
    # covers the week that ended, so the drills of Monday 23 November show on the 30th.
    t = datetime(2026, 11, 30, 14, 0, tzinfo=START.tzinfo)
    dispatcher = Dispatcher(app.sessions, rig.bot.adapter.deliver)
    assert app.jobs.run_at(t - timedelta(minutes=1)) >= 0
    dispatcher.drain(t - timedelta(minutes=1))
    assert not boards(rig)  # not before its time
    app.jobs.run_at(t)
    report = dispatcher.drain(t)
    assert report.failed == 0 and report.undeliverable == 0

    [post] = boards(rig)  # beside it, the plan's first stage may be announced too
    assert post.body["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Leaderboard: week of Mon 23 Nov 2026",
            "emoji": True,
        },
    }
    text = blob(post)
    assert "1. u1: 3 points, 1 drill" in text or "1. u2: 3 points, 1 drill" in text
    assert "u1: 1 application, 0 interviews, 1 offer" in text  # shared by choice
    assert "u2: 1 application" not in text  # not shared
    [chart] = uploads_to(rig, CHANNEL)
    assert chart.body["files"][0]["title"].startswith("leaderboard-")
    assert any(c.raw.startswith(PNG) for c in rig.fake.delivered("upload"))
    # Nothing in the channel names a company or a number about pay.
    for call in rig.fake.calls:
        if call.body.get("channel") == CHANNEL or call.body.get("channel_id") == CHANNEL:
            for secret in ("Acme", "Globex", "123456", "123,456"):
                assert secret not in call.text()

    # Another tick, another replica: the week's post is not sent twice.
    app.jobs.run_at(t + timedelta(minutes=15))
    dispatcher.drain(t + timedelta(minutes=15))
    Dispatcher(app.sessions, rig.bot.adapter.deliver).drain(t + timedelta(minutes=30))
    assert len(boards(rig)) == 1
    assert len(uploads_to(rig, CHANNEL)) == 1


def test_weekly_post_to_a_channel_the_bot_left_is_not_retried_forever(
    rig: SlackRig, app: App
) -> None:
    setup_cohort(rig)
    rig.fake.errors["chat.postMessage"] = "not_in_channel"
    t = datetime(2026, 11, 23, 14, 0, tzinfo=START.tzinfo)
    app.jobs.run_at(t)
    report = Dispatcher(app.sessions, rig.bot.adapter.deliver).drain(t)
    assert report.failed >= 1  # permanent: failed at once, no backoff loop
    assert report.undeliverable == 0  # the channel's problem, not a member's
    assert not uploads_to(rig, CHANNEL)
