"""Pages on the platforms (issues 16 and 17), over real HTTP: the served Bolt app against the
fake Slack (a page turned is the press's response_url with replace_original, the whole page,
Block Kit validated by slack_sdk's models) and the real discord.py client against the fake
Discord (a page turned is the component interaction's message update, type 7, within the
embed and component limits the fake enforces). The flows themselves are tested on both
databases in tests/test_pages.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from bot.app import App
from bot.config import Settings, load_settings
from tests.discord_fake import (
    Bot,
    FakeDiscord,
    Person,
    Request,
    callback_of,
    click,
    message_from,
    sends,
    slash,
)
from tests.helpers import slack_run
from tests.slack_fake import Call, SlackRig
from tests.test_pages import seed

pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")
CAROL = Person(102, "carol")


@pytest.fixture
def settings(db: tuple[str, Engine], tmp_path: Path) -> Settings:
    # Turning 36 pages is faster than the per-minute limit allows (tests/test_ratelimit.py).
    return load_settings(database_url=db[0], export_dir=str(tmp_path), rate_limit_per_minute=0)


# -- Slack ------------------------------------------------------------------------------------


def valid(call: Call) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = call.body["blocks"]
    assert len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None, b
        parsed.validate_json()
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
    return blocks


def slack_buttons(call: Call) -> dict[str, str]:
    return {
        e["text"]["text"]: e["value"]
        for b in call.body.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def header(call: Call) -> str:
    return " ".join(b["text"]["text"] for b in call.body["blocks"] if b["type"] == "header")


def press(rig: SlackRig, value: str, **kw: Any) -> Call:
    before = len(rig.fake.messages())
    assert rig.click(value, **kw).status == 200
    return rig.fake.wait_messages(before + 1)[before]


def slack_pages(rig: SlackRig, first: Call, **kw: Any) -> list[Call]:
    shown = [first]
    while "Next" in slack_buttons(shown[-1]):
        turned = press(rig, slack_buttons(shown[-1])["Next"], **kw)
        assert turned.method == "respond" and turned.body["replace_original"] is True
        shown.append(turned)
    return shown


def test_slack_pipeline_list_pages_replace_the_message(rig: SlackRig, app: App) -> None:
    slack_run(rig, "/settings tz Europe/Berlin")
    names = seed(app, "U1", 60)
    first = slack_run(rig, "/pipeline list")
    assert first.method == "respond" and first.body["response_type"] == "ephemeral"
    shown = slack_pages(rig, first)
    n = len(shown)
    seen = ""
    for k, call in enumerate(shown, 1):
        valid(call)
        assert f"page {k} of {n}" in header(call)
        seen += json.dumps(call.body["blocks"])
        print(f"slack page {k}: {len(call.raw):,} bytes, {len(call.body['blocks'])} blocks")
    for name in names:
        assert seen.count(f"- {name} (") == 1, name
    assert "(shortened)" not in seen and "…" not in seen
    assert not rig.fake.refused_blocks
    # Back: Previous gives page 1 again, whole.
    back = press(rig, slack_buttons(shown[1])["Previous"])
    assert back.body["blocks"] == first.body["blocks"]


def test_slack_a_posted_list_in_the_dm_is_replaced_whole(rig: SlackRig, app: App) -> None:
    """In the bot's DM the list is a posted message, which Slack sends with the press: a page
    turned replaces it whole (no old page kept above a divider, as an outcome would be)."""
    slack_run(rig, "/settings tz Europe/Berlin", channel="D1")
    seed(app, "U1", 45)
    first = slack_run(rig, "/pipeline list", channel="D1")
    assert first.method == "chat.postMessage"
    original = {"text": first.body["text"], "blocks": first.body["blocks"]}
    turned = press(rig, slack_buttons(first)["Next"], channel="D1", message=original)
    assert turned.body["replace_original"] is True
    blocks = valid(turned)
    assert "divider" not in [b["type"] for b in blocks]
    assert "page 2 of" in header(turned) and "page 1 of" not in json.dumps(blocks)


def test_slack_a_page_turned_after_the_response_url_is_spent_goes_by_chat_update(
    rig: SlackRig, app: App
) -> None:
    """A posted list whose press's response_url Slack no longer takes: the message itself is
    updated (chat.update on the channel and ts Slack named), with the whole next page."""
    slack_run(rig, "/settings tz Europe/Berlin", channel="D1")
    seed(app, "U1", 45)
    first = slack_run(rig, "/pipeline list", channel="D1")
    original = {"text": first.body["text"], "blocks": first.body["blocks"]}
    rig.fake.response_url_uses = 0  # every response_url answers 404 used_url
    updated = press(rig, slack_buttons(first)["Next"], channel="D1", message=original)
    assert updated.method == "chat.update"
    assert updated.body["channel"] == "D1" and updated.body["ts"] == "1700000000.000001"
    blocks = valid(updated)
    assert "divider" not in [b["type"] for b in blocks]
    assert "page 2 of" in header(updated) and set(slack_buttons(updated)) == {"Previous", "Next"}


def test_slack_a_stranger_cannot_turn_the_page(rig: SlackRig, app: App) -> None:
    slack_run(rig, "/settings tz Europe/Berlin")
    slack_run(rig, "/settings tz Asia/Tokyo", user="U2")
    seed(app, "U1", 45)
    nxt = slack_buttons(slack_run(rig, "/pipeline list"))["Next"]
    refused = press(rig, nxt, user="U2")
    assert refused.body.get("replace_original") is not True
    assert "belong to someone else" in refused.body["text"]
    assert "Company" not in json.dumps(refused.body)


@pytest.mark.slow
def test_slack_offers_and_letters_as_pages(rig: SlackRig, app: App) -> None:
    slack_run(rig, "/settings tz Europe/Berlin")
    names = seed(app, "U1", 36, offers=25, stage="applied")
    offers = slack_pages(rig, slack_run(rig, "/offer compare"))
    cards = json.dumps([valid(c) for c in offers])
    assert len(offers) > 1 and all(f"of {len(offers)}" in header(c) for c in offers)
    for name in names[36:]:
        assert cards.count(f"*{name}") == 1, name  # each offer's card once, on one page

    before = len(rig.fake.messages())
    letters = slack_pages(rig, slack_run(rig, "/letter alternatives"))
    assert len(letters) == 36 and len(rig.fake.messages()) == before + 36  # was 37 posts
    assert not rig.fake.refused_blocks
    for k, call in enumerate(letters, 1):
        blocks = valid(call)
        title = header(call)  # whole: the company named, never clipped
        assert title.startswith(f"{k} of 36: ") and not title.endswith("…")
        assert title.rpartition(" to ")[2] in names
        # The copy-ready letter is whole in its sections, in order (the notification text
        # holds it too, after the title).
        letter = call.body["text"].removeprefix(f"{title}: ")
        assert letter.startswith("Subject: ") and not letter.endswith("…")
        body: list[str] = []
        for b in blocks[1:]:
            if b["type"] != "section" or b["text"]["text"].startswith("*When*"):
                break
            body.append(b["text"]["text"])
        assert "".join(body).replace("\n", "") == letter.replace("\n", "")


# -- Discord ----------------------------------------------------------------------------------


def shown_by(reqs: list[Request]) -> Request:
    """The message an interaction showed: its callback's, or the edit or follow-up after a
    defer on a busy machine."""
    [*_, last] = sends(reqs)
    return last


def discord_buttons(req: Request) -> dict[str, str]:
    return {
        b["label"]: b["custom_id"]
        for row in req.message.get("components", [])
        for b in row["components"]
    }


def embed(req: Request) -> dict[str, Any]:
    [e] = req.message["embeds"]
    return e  # type: ignore[no-any-return]


def discord_pages(bot: Bot, first: Request, who: Person = BOB) -> list[Request]:
    shown = [first]
    while "Next" in discord_buttons(shown[-1]):
        reqs = bot.send(click(who, message_from(shown[-1]), discord_buttons(shown[-1])["Next"]))
        cb = callback_of(reqs)
        assert cb.json["type"] in (6, 7)  # the pressed message updated (after a defer: edited)
        page = shown_by(reqs)
        assert page.method == "PATCH" or page is cb
        shown.append(page)
    return shown


def test_discord_sixty_applications_all_shown_on_pages(
    bot: Bot, fake: FakeDiscord, app: App
) -> None:
    bot.send(slash(BOB, "settings", "tz", {"zone": "Europe/Berlin"}))
    names = seed(app, str(BOB.uid), 60)
    first = shown_by(bot.send(slash(BOB, "pipeline", "list")))
    assert first.ephemeral
    shown = discord_pages(bot, first)
    n = len(shown)
    values = ""
    for k, req in enumerate(shown, 1):
        e = embed(req)
        assert f"page {k} of {n}" in e["title"]
        size = len(e["title"]) + len(e.get("description") or "") + len(e["footer"]["text"])
        size += sum(len(f["name"]) + len(f["value"]) for f in e["fields"])
        print(f"discord page {k}: {len(e['fields'])} fields, {size:,} characters")
        values += "\n".join(f["value"] for f in e["fields"]) + "\n"
    shown_names = [name for name in names if re.search(rf"^- {re.escape(name)} \(", values, re.M)]
    assert shown_names == names  # 60 of 60 (was 22, cut silently)
    assert "…" not in values
    assert not fake.refused_messages


def test_discord_a_stranger_is_refused_and_the_message_stays(bot: Bot, app: App) -> None:
    bot.send(slash(BOB, "settings", "tz", {"zone": "Europe/Berlin"}))
    seed(app, str(BOB.uid), 45)
    first = shown_by(bot.send(slash(BOB, "pipeline", "list")))
    reqs = bot.send(click(CAROL, message_from(first), discord_buttons(first)["Next"]))
    cb = callback_of(reqs)
    assert cb.json["type"] in (4, 6) and not [r for r in reqs if r.method == "PATCH"]
    refusal = shown_by(reqs)
    assert refusal.ephemeral and "belong to someone else" in embed(refusal)["description"]


@pytest.mark.slow
def test_discord_offers_and_letters_all_shown(bot: Bot, fake: FakeDiscord, app: App) -> None:
    bot.send(slash(BOB, "settings", "tz", {"zone": "Europe/Berlin"}))
    names = seed(app, str(BOB.uid), 36, offers=25, stage="applied")
    offers = discord_pages(bot, shown_by(bot.send(slash(BOB, "offer", "compare"))))
    cards = [f["name"].removesuffix(" (leads)") for r in offers for f in embed(r)["fields"]]
    assert sorted(cards) == sorted(names[36:])  # 25 of 25 (was 13)

    reqs = bot.send(slash(BOB, "letter", options={"kind": "alternatives"}))
    assert len(sends(reqs)) == 1  # one message (was 37)
    letters = discord_pages(bot, shown_by(reqs))
    titled = [embed(r)["title"].rpartition(" to ")[2] for r in letters]
    assert sorted(titled) == sorted(names[:36])
    for k, r in enumerate(letters, 1):
        e = embed(r)
        assert e["title"].startswith(f"{k} of 36: ")
        assert e["description"].startswith("Subject: ") and not e["description"].endswith("…")
        assert e["footer"]["text"].startswith(f"Letter {k} of 36. You hold an offer from ")
    assert not fake.refused_messages


def test_discord_fake_refuses_a_message_over_the_limits(fake: FakeDiscord) -> None:
    """The fake answers 400 (50035) as Discord does to what the renderers must never send."""
    from tests.discord_fake import bad_message

    field = {"name": "n", "value": "v" * 1000}
    assert bad_message({"embeds": [{"title": "t", "fields": [field] * 5}]}) is None
    assert "6000" in (bad_message({"embeds": [{"fields": [field] * 7}]}) or "")
    assert "fields" in (
        bad_message({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}) or ""
    )
    assert "description" in (bad_message({"embeds": [{"description": "d" * 4097}]}) or "")
    row = {"type": 1, "components": [{"type": 2, "label": "x", "custom_id": "a"}]}
    assert "rows" in (bad_message({"components": [row] * 6}) or "")
    assert "twice" in (bad_message({"components": [row, row]}) or "")
