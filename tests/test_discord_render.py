"""Rendering of Replies as Discord Embeds, Views and Modals, and the generated command tree:
snapshots of exactly what discord.py would send."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands

from adapters.discord.render import (
    FormModal,
    message_kwargs,
    neutralize,
    parse_modal_id,
    to_embed,
    to_view,
    view_components,
)
from adapters.discord.tree import discord_path, payload, populate
from bot import commands
from bot.types import Attachment, Button, Field, Form, FormField, Reply


def test_embed_snapshot() -> None:
    reply = Reply(
        "Your settings, @everyone can't see them.",
        title="Your settings",
        fields=(Field("Time zone", "Europe/Paris"), Field("Tracks", "all", inline=False)),
        footer="Only you can see this.",
        color="#112233",
        image=Attachment("chart 1.png", b"\x89PNG", "image/png"),
    )
    assert to_embed(reply).to_dict() == {
        "title": "Your settings",
        "description": "Your settings, @\u200beveryone can't see them.",
        "color": 0x112233,
        "type": "rich",
        "flags": 0,
        "fields": [
            {"name": "Time zone", "value": "Europe/Paris", "inline": True},
            {"name": "Tracks", "value": "all", "inline": False},
        ],
        "footer": {"text": "Only you can see this."},
        "image": {"url": "attachment://chart_1.png"},
    }


def test_view_snapshot_rows_of_five_and_state_in_custom_id() -> None:
    buttons = tuple(Button("drill.rate", str(i), f"Rate {i}", "primary") for i in range(6))
    reply = Reply("Rate it", buttons=(*buttons, Button("settings.forget", "42", "Go", "danger")))
    comps = view_components(to_view(reply))
    assert [len(row["components"]) for row in comps] == [5, 2]
    assert comps[0]["components"][0] == {
        "type": 2,
        "style": 1,
        "label": "Rate 0",
        "custom_id": "drill.rate|0",
        "disabled": False,
    }
    assert comps[1]["components"][1]["custom_id"] == "settings.forget|42"
    assert comps[1]["components"][1]["style"] == 4
    assert to_view(Reply("no buttons")) is None


def test_view_refuses_what_discord_would_reject() -> None:
    many = tuple(Button("a", str(i)) for i in range(26))
    with pytest.raises(ValueError, match="25"):
        to_view(Reply("x", buttons=many))
    with pytest.raises(ValueError, match="custom_id"):
        to_view(Reply("x", buttons=(Button("a", "1"), Button("a", "1"))))
    with pytest.raises(ValueError):
        Button("a", "x" * 99)  # over Discord's 100-character custom_id


def test_limits_are_clipped_not_rejected() -> None:
    reply = Reply(
        "d" * 5000,
        title="t" * 300,
        fields=tuple(Field(f"f{i}", "v" * 2000) for i in range(30)),
        footer="f" * 3000,
    )
    embed = to_embed(reply)
    data = embed.to_dict()
    assert len(data["title"]) == 256
    assert 0 < len(data["fields"]) <= 25
    assert all(len(f["value"]) <= 1024 for f in data["fields"])
    assert len(embed) <= 6000  # Discord's cap on the whole embed
    assert data["description"].startswith("ddd") and data["description"].endswith("…")
    few = to_embed(Reply("x", fields=tuple(Field(f"f{i}", "v") for i in range(30))))
    assert len(few.fields) == 25


def test_mass_mentions_are_defused_everywhere() -> None:
    assert neutralize("hi @everyone and @HERE") == "hi @\u200beveryone and @\u200bHERE"
    kwargs = message_kwargs(Reply("@here", title="@everyone", fields=(Field("@here", "@here"),)))
    data = kwargs["embed"].to_dict()
    assert "@here" not in str(data) and "@everyone" not in str(data)
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}


def test_files_and_image_become_attachments() -> None:
    reply = Reply(
        "Your data",
        files=(Attachment("export.json", b"{}", "application/json"),),
        image=Attachment("chart.png", b"png", "image/png"),
    )
    files = message_kwargs(reply)["files"]
    assert [f.filename for f in files] == ["export.json", "chart.png"]
    assert files[0].fp.read() == b"{}"


def test_modal_snapshot() -> None:
    form = Form(
        "pipeline.add",
        "Add an application",
        (
            FormField("company", "Company", max_length=80),
            FormField("notes", "Notes", multiline=True, required=False, placeholder="anything"),
        ),
        value="7",
    )

    async def build() -> dict[str, Any]:
        async def handler(*_: Any) -> None:
            return None

        return FormModal(form, handler, nonce="ab12").to_dict()

    data = asyncio.run(build())
    assert data["custom_id"] == "ab12:pipeline.add|7"
    assert parse_modal_id(data["custom_id"]) == ("pipeline.add", "7")
    assert data["title"] == "Add an application"
    inputs = [row["components"][0] for row in data["components"]]
    assert [(i["custom_id"], i["style"], i["required"]) for i in inputs] == [
        ("company", 1, True),
        ("notes", 2, False),
    ]
    assert inputs[0]["max_length"] == 80 and inputs[1]["placeholder"] == "anything"
    assert parse_modal_id("random-hex") is None


def _tree() -> app_commands.CommandTree[Any]:
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)

    async def never(*_: Any) -> None:
        raise AssertionError

    populate(tree, never, {})
    return tree


def test_tree_has_every_command_of_the_core() -> None:
    data = payload(_tree())
    got: set[str] = set()
    for cmd in data:
        subs = [o for o in cmd.get("options", []) if o["type"] == 1]
        name = cmd["name"].removesuffix("-admin")  # organizer sub-commands, split off
        got |= {f"{name} {s['name']}" for s in subs} if subs else {name}
    assert got == set(commands.all_paths())


def test_tree_options_typed_with_choices_and_autocomplete() -> None:
    by_name = {c["name"]: c for c in payload(_tree())}
    settings = {s["name"]: s for s in by_name["settings"]["options"]}
    assert settings["public"]["options"] == [
        {
            "type": 3,
            "name": "state",
            "description": "on or off",
            "required": True,
            "choices": [{"name": "on", "value": "on"}, {"name": "off", "value": "off"}],
        }
    ]
    zone = settings["tz"]["options"][0]
    assert zone["name"] == "zone" and zone["autocomplete"] is True and zone["required"] is True
    # Every option of the core appears with its type, required flag and (when few) choices.
    for cmd in commands.TREE:
        leaves = [(cmd.sub(s.name), s.name) for s in cmd.subcommands] or [(cmd, None)]
        for leaf, sub in leaves:
            assert leaf is not None
            top, _ = discord_path(cmd.name, sub)
            node = by_name[top]
            if sub:
                node = next(o for o in node["options"] if o["name"] == sub)
            opts = {o["name"]: o for o in node.get("options", [])}
            assert set(opts) == {o.name for o in leaf.options}
            for o in leaf.options:
                got = opts[o.name]
                assert got["type"] == (4 if o.type == "int" else 3)
                assert got["required"] == o.required
                if o.type == "choice" and len(o.choices) <= 25:
                    assert [c["value"] for c in got["choices"]] == list(o.choices)
            required = [o["required"] for o in node.get("options", [])]
            assert required == sorted(required, reverse=True)  # required ones first


def test_organizer_commands_hidden_by_default() -> None:
    by_name = {c["name"]: c for c in payload(_tree())}
    for cmd in commands.TREE:
        leaves = cmd.subcommands or (cmd,)
        expected = str(1 << 5) if cmd.admin or all(c.admin for c in leaves) else None
        assert by_name[cmd.name]["default_member_permissions"] == expected
        for leaf in leaves:
            if leaf.admin:  # an organizer sub-command is behind Manage Server on Discord
                top, _ = discord_path(cmd.name, leaf.name if cmd.subcommands else None)
                assert by_name[top]["default_member_permissions"] == str(1 << 5)


def test_a_card_whose_text_repeats_its_fields_shows_them_once() -> None:
    """Reply.lead (issue 12, defect 12): the embed's description is the lead, not the text
    that repeats the fields."""
    reply = Reply(
        "Moved Acme to onsite.\nStage: onsite",
        title="Acme",
        fields=(Field("Stage", "onsite"),),
        lead="Moved Acme to onsite.",
    )
    assert to_embed(reply).to_dict() == {
        "type": "rich",
        "title": "Acme",
        "description": "Moved Acme to onsite.",
        "color": 0x5865F2,
        "fields": [{"name": "Stage", "value": "onsite", "inline": True}],
        "flags": 0,
    }
    bare = to_embed(Reply("Stage: onsite", fields=(Field("Stage", "onsite"),), lead=""))
    assert "description" not in bare.to_dict()
