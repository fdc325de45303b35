"""DMs answered (issue 16): a member writing in the bot's DM (message.im) gets an answer, a
command typed without its slash runs as one, anything else gets a short help; the manifest
asks for that event and its scope, and nothing more. Over real HTTP into the served Bolt app."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from adapters.slack.manifest import manifest
from tests.slack_fake import Call, SlackRig

pytestmark = pytest.mark.sqlite_only

_ids = itertools.count(1)


def write(rig: SlackRig, text: str, user: str = "U1", **extra: Any) -> Call:
    """A message typed in the bot's DM, as Slack's message.im event; waits for the answer."""
    before = len(rig.fake.messages())
    n = next(_ids)
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{user}",
        "user": user,
        "text": text,
        "ts": f"1700000100.{n:06d}",
        **extra,
    }
    assert rig.event(event, event_id=f"Ev-dm-{n}").status == 200
    return rig.fake.wait_messages(before + 1)[before]


def valid(call: Call) -> None:
    for b in call.body["blocks"]:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()


def test_drill_typed_in_the_dm_serves_a_drill_there(rig: SlackRig) -> None:
    answer = write(rig, "drill")
    assert answer.method == "chat.postMessage"
    assert answer.body["channel"] == "DU1"
    assert "drill.answer|" in str(answer.body["blocks"])
    valid(answer)


def test_help_and_a_slash_typed_anyway_are_commands(rig: SlackRig) -> None:
    helped = write(rig, "help")
    assert "/pipeline" in helped.body["text"] and "/drill" in helped.body["text"]
    added = write(rig, '/pipeline add Globex "R&amp;D engineer"')  # Slack escapes typed text
    assert "(R&amp;D engineer)" in added.body["text"]  # read as R&D, escaped once going out
    listed = write(rig, "Pipeline list")
    assert "Globex" in str(listed.body)


def test_anything_else_gets_a_short_help(rig: SlackRig) -> None:
    answer = write(rig, "hello, are you there?")
    assert answer.body["channel"] == "DU1"
    assert answer.body["text"].startswith("Type a command here without its slash")
    assert len(answer.body["text"]) < 300
    valid(answer)


def test_our_own_posts_edits_and_channel_messages_get_no_answer(rig: SlackRig) -> None:
    quiet = [
        {"bot_id": "B1"},
        {"subtype": "message_changed"},
        {"channel_type": "channel", "channel": "C1"},
    ]
    for n, extra in enumerate(quiet):
        event = {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1"}
        event.update({"text": "drill", "ts": f"1700000200.{n:06d}", **extra})
        assert rig.event(event, event_id=f"Ev-quiet-{n}").status == 200
    # A message that is answered, after them: once it is, the quiet ones were long handled.
    answer = write(rig, "help")
    assert rig.fake.messages() == [answer]


def test_manifest_declares_message_im_and_im_history_only() -> None:
    data = manifest("https://bot.example.org")
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert "message.im" in events
    assert not [e for e in events if e.startswith("message.") and e != "message.im"]
    scopes = data["oauth_config"]["scopes"]["bot"]
    assert "im:history" in scopes
    # Never a channel's history; the pairs' group DMs only to look for the bot's own post
    # whose answer was lost (no message.mpim event: what the pair writes there is theirs).
    assert not {"channels:history", "groups:history"} & set(scopes)
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_read_only_enabled"] is False
