"""Block Kit rendering of the neutral Reply: pure, snapshot-tested, everything escaped."""

from __future__ import annotations

import json

from adapters.slack import render
from bot.types import Button, Field, Form, FormField, Reply


def test_full_reply_snapshot() -> None:
    reply = Reply(
        "Your offer from AT&T is in.\nDeadline: Fri 4 Dec",
        title="Offer <recorded>",
        fields=(Field("Base", "120k"), Field("Notes", "a <b> & c", inline=False)),
        buttons=(
            Button("offer.ok", "7", "Looks right", "primary"),
            Button("offer.fix", "7", "Fix it"),
            Button("offer.drop", "7", "Remove", "danger"),
            Button("offer.more", "7", "More", "success"),
        ),
        footer="Only you see this",
        color="#00aa00",
    )
    assert render.message(reply) == {
        "text": "Offer &lt;recorded&gt;: Your offer from AT&amp;T is in.\nDeadline: Fri 4 Dec",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "Offer &lt;recorded&gt;", "emoji": True},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Your offer from AT&amp;T is in.\nDeadline: Fri 4 Dec",
                },
            },
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Base*\n120k"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Notes*\na &lt;b&gt; &amp; c"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Only you see this"}]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "offer.ok|7",
                        "text": {"type": "plain_text", "text": "Looks right", "emoji": True},
                        "value": "offer.ok|7",
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": "offer.fix|7",
                        "text": {"type": "plain_text", "text": "Fix it", "emoji": True},
                        "value": "offer.fix|7",
                    },
                    {
                        "type": "button",
                        "action_id": "offer.drop|7",
                        "text": {"type": "plain_text", "text": "Remove", "emoji": True},
                        "value": "offer.drop|7",
                        "style": "danger",
                    },
                    {
                        "type": "button",
                        "action_id": "offer.more|7",
                        "text": {"type": "plain_text", "text": "More", "emoji": True},
                        "value": "offer.more|7",
                        "style": "primary",
                    },
                ],
            },
        ],
    }


def test_plain_text_reply_is_one_section() -> None:
    assert render.message(Reply("Hello")) == {
        "text": "Hello",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}],
    }


def test_broadcasts_and_mentions_are_defused_everywhere() -> None:
    evil = "<!channel> @everyone @here <@U1> <https://x|y> & co"
    reply = Reply(
        evil,
        title=evil,
        fields=(Field(evil, evil),),
        buttons=(Button("a", "1", evil),),
        footer=evil,
    )
    blob = json.dumps(render.message(reply), ensure_ascii=False)
    for bad in ("<!channel>", "@everyone", "@here", "<@U1>", "<https:"):
        assert bad not in blob
    assert "&lt;!channel&gt;" in blob
    assert render.escape("mail me at bob@here.com") == "mail me at bob@here.com"


def test_limits_are_respected() -> None:
    long = ("word " * 2000).strip()  # 9,999 characters
    reply = Reply(
        long,
        title="T" * 400,
        fields=tuple(Field(f"f{i}", "v") for i in range(23)),
        buttons=tuple(Button("b", str(i), f"B{i}") for i in range(30)),
    )
    blocks = render.blocks(reply)
    assert len(blocks) <= render.BLOCKS_PER_MESSAGE
    assert len(blocks[0]["text"]["text"]) <= render.HEADER_LIMIT
    sections = [b for b in blocks if b["type"] == "section" and "text" in b]
    assert all(len(b["text"]["text"]) <= render.SECTION_LIMIT for b in sections)
    assert " ".join(b["text"]["text"] for b in sections).split() == long.split()
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10, 3]
    assert [len(b["elements"]) for b in blocks if b["type"] == "actions"] == [25, 5]
    assert len(render.fallback_text(Reply("x" * 50_000))) <= render.FALLBACK_LIMIT


def test_duplicate_buttons_get_distinct_action_ids() -> None:
    *_, actions = render.blocks(Reply("?", buttons=(Button("a", "1", "x"), Button("a", "1", "y"))))
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(ids)) == 2
    assert {e["value"] for e in actions["elements"]} == {"a|1"}


def test_form_becomes_a_modal_and_values_come_back() -> None:
    form = Form(
        "pipeline.add",
        "Add an application to your pipeline",
        (
            FormField("company", "Company", max_length=100),
            FormField("notes", "Notes", multiline=True, required=False, placeholder="a & b"),
        ),
        value="x",
    )
    meta = render.form_metadata(form, "C1", "channel")
    view = render.modal(form, meta)
    assert view["callback_id"] == render.FORM_CALLBACK
    assert json.loads(view["private_metadata"]) == {
        "a": "pipeline.add",
        "v": "x",
        "c": "C1",
        "k": "channel",
    }
    assert len(view["title"]["text"]) <= render.MODAL_TITLE_LIMIT
    company, notes = view["blocks"]
    assert company["block_id"] == "company"
    assert company["optional"] is False
    assert company["element"]["max_length"] == 100
    assert notes["optional"] is True
    assert notes["element"]["multiline"] is True
    assert notes["element"]["placeholder"]["text"] == "a &amp; b"
    state = {"values": {"company": {"value": {"value": "Acme"}}, "notes": {"value": {}}}}
    assert render.form_values(state) == {"company": "Acme", "notes": ""}


def test_unescape_undoes_slacks_escaping() -> None:
    assert render.unescape("AT&amp;T &lt;3 &gt;") == "AT&T <3 >"
    assert render.unescape(render.escape("a & <b>")) == "a & <b>"


def test_a_card_whose_text_repeats_its_fields_shows_them_once() -> None:
    """Reply.lead (issue 12, defect 12): the notification keeps the whole text; the blocks show
    the lead and the fields, never a section repeating them."""
    reply = Reply(
        "Moved Acme & Co to onsite.\nStage: onsite\nRole: <ML>",
        title="Acme & Co",
        fields=(Field("Stage", "onsite"), Field("Role", "<ML>")),
        lead="Moved Acme & Co to onsite.",
    )
    assert render.message(reply) == {
        "text": "Acme &amp; Co: Moved Acme &amp; Co to onsite.\nStage: onsite\nRole: &lt;ML&gt;",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "Acme &amp; Co", "emoji": True},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Moved Acme &amp; Co to onsite."},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Stage*\nonsite"},
                    {"type": "mrkdwn", "text": "*Role*\n&lt;ML&gt;"},
                ],
            },
        ],
    }
    # An empty lead: the fields are the whole card.
    bare = Reply("a\nStage: onsite", fields=(Field("Stage", "onsite"),), lead="")
    assert [b["type"] for b in render.blocks(bare)] == ["section"]
    assert "fields" in render.blocks(bare)[0]
