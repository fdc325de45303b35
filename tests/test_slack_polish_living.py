"""Living messages (issue 16): a pressed button's message shows what the press did and loses its
spent buttons (replace_original through the press's response_url), and a spent button pressed
again acts no more. Over real HTTP into the served Bolt app, its Web API at the local fake."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from bot.db.models import Member
from tests.helpers import slack_run
from tests.slack_fake import Call, SlackRig

pytestmark = pytest.mark.sqlite_only


def valid(blocks: list[dict[str, Any]]) -> None:
    """Every block as slack_sdk's models read it, within Block Kit's limits."""
    assert len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None, b
        parsed.validate_json()


def buttons(call: Call) -> dict[str, str]:
    """label -> value of every button in a recorded message."""
    return {
        e["text"]["text"]: e["value"]
        for b in call.body.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def press(rig: SlackRig, value: str, **kw: Any) -> Call:
    before = len(rig.fake.messages())
    assert rig.click(value, **kw).status == 200
    return rig.fake.wait_messages(before + 1)[before]


def members(rig: SlackRig) -> int:
    with rig.runtime.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Member)) or 0)


def test_yes_delete_everything_replaces_the_question_and_cancel_after_it_does_nothing(
    rig: SlackRig,
) -> None:
    asked = slack_run(rig, "/settings forget-me")
    choice = buttons(asked)
    assert set(choice) == {"Yes, delete everything", "Cancel"}

    done = press(rig, choice["Yes, delete everything"])
    assert done.method == "respond"
    assert done.body["replace_original"] is True
    assert "Your data is gone" in done.body["text"]
    assert not [b for b in done.body["blocks"] if b["type"] == "actions"]
    valid(done.body["blocks"])
    assert members(rig) == 0

    # The same message's Cancel, pressed before Slack showed the update: nothing comes back.
    again = press(rig, choice["Cancel"])
    assert "Nothing was deleted" not in again.body["text"]
    assert "already deleted" in again.body["text"]
    assert members(rig) == 0  # no fresh profile made by the stale press


def test_cancel_replaces_the_question_and_the_stale_yes_deletes_nothing(rig: SlackRig) -> None:
    slack_run(rig, "/settings tz Europe/Paris")
    choice = buttons(slack_run(rig, "/settings forget-me"))
    kept = press(rig, choice["Cancel"])
    assert kept.body["replace_original"] is True
    assert kept.body["text"] == "Nothing was deleted."
    assert not buttons(kept)
    stale = press(rig, choice["Yes, delete everything"])
    assert "Done" not in stale.body["text"]
    assert members(rig) == 1


def test_a_posted_message_keeps_what_it_said_without_its_buttons(rig: SlackRig) -> None:
    """Slack sends a posted message's blocks with the press: the replacement keeps them (the
    question stays readable), drops the actions, and adds the outcome below a divider."""
    slack_run(rig, "/pipeline add Globex | Data engineer", channel="D1")
    asked = slack_run(rig, "/pipeline remove Globex", channel="D1")
    choice = buttons(asked)
    original = {"text": asked.body["text"], "blocks": asked.body["blocks"]}
    kept = press(rig, choice["Keep it"], channel="D1", message=original)
    blocks = kept.body["blocks"]
    assert kept.body["replace_original"] is True
    assert kept.body["text"] == "Kept Globex; nothing was deleted."
    assert [b["type"] for b in blocks] == [
        *(b["type"] for b in asked.body["blocks"] if b["type"] != "actions"),
        "divider",
        "section",
    ]
    assert blocks[0] == asked.body["blocks"][0]  # the question's header stays
    valid(blocks)

    # "Yes, delete it" after the application is gone: refused, nothing else removed.
    slack_run(rig, "/pipeline add Initech | SRE", channel="D1")
    gone = press(rig, choice["Yes, delete it"], channel="D1", message=original)
    assert "Deleted" in gone.body["text"]
    again = press(rig, choice["Keep it"], channel="D1", message=original)
    assert "Kept" not in again.body["text"]
    listed = slack_run(rig, "/pipeline list", channel="D1")
    assert "Initech" in listed.body["text"] + str(listed.body["blocks"])


def test_a_rating_replaces_the_rating_buttons_with_its_outcome(rig: SlackRig) -> None:
    slack_run(rig, "/drill next behavioral", channel="D1")
    revealed = slack_run(rig, "/drill skip", channel="D1")
    good = next(v for label, v in buttons(revealed).items() if label.lower().startswith("good"))
    original = {"text": revealed.body["text"], "blocks": revealed.body["blocks"]}
    rated = press(rig, good, channel="D1", message=original)
    assert rated.body["replace_original"] is True
    assert rated.body["text"].startswith("Rated")
    # The rating buttons are spent; the outcome offers the next drill.
    assert not any(v.startswith("drill.rate|") for v in buttons(rated).values())
    assert any(v.startswith("drill.next|") for v in buttons(rated).values())
    assert "The answer to" in str(rated.body["blocks"])  # the feedback is still readable
    valid(rated.body["blocks"])
    twice = press(rig, good, channel="D1", message=original)
    assert "already rated" in twice.body["text"]
    assert twice.body.get("replace_original") is not True


def test_an_in_place_answer_to_a_home_button_comes_by_dm(rig: SlackRig) -> None:
    """A button on the App Home has no message to replace: its answer is a DM."""
    choice = buttons(slack_run(rig, "/settings forget-me"))
    before = len(rig.fake.messages())
    assert rig.home_click(choice["Cancel"]).status == 200
    [dm] = rig.fake.wait_messages(before + 1)[before:]
    assert dm.method == "chat.postMessage"
    assert dm.body["channel"].startswith("D")
    assert dm.body["text"] == "Nothing was deleted."
