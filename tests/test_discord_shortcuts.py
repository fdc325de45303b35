"""Discord's "Add to my pipeline" and its typed dates (issue 17), through the real discord.py
client over real HTTP to the local fake: `cohortbot discord sync` registers a message context
menu (command type 3) that a member may install and use anywhere, like their other commands;
using it on a message (the message comes whole in `data.resolved.messages`) opens the add
modal filled in from it, within Discord's modal limits. Discord has no pickers: a dated form's
fields are text inputs whose placeholder says the format, read in the member's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from adapters.discord.tree import payload
from bot.app import App
from bot.db.pipeline_models import Application, Interview
from tests.discord_fake import (
    APP_ID,
    BOT_DM,
    Bot,
    FakeDiscord,
    Person,
    click,
    message_command,
    message_from,
    posted,
    slash,
    submit,
)
from tests.discord_fake import callback_of as _callback
from tests.discord_fake import text_of as _text

pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")
CAROL = Person(102, "carol")
MENU = "Add to my pipeline"


def _inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["components"][0]["custom_id"]: row["components"][0] for row in modal["components"]}


def test_sync_registers_the_message_menu_installable_by_a_member(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    env = {"DISCORD_TOKEN": "t", "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json")}
    result = CliRunner().invoke(discord_app, ["sync"], env=env)
    assert result.exit_code == 0, result.output
    assert f"+ {MENU}" in result.output
    [put] = fake.matching("PUT", rf"^/applications/{APP_ID}/commands$")
    [menu] = [c for c in put.json if c.get("type") == 3]
    assert menu["name"] == MENU
    assert sorted(menu["integration_types"]) == [0, 1]  # a server's install and a member's own
    assert sorted(menu["contexts"]) == [0, 1, 2]  # servers, the bot's DM, other DMs
    assert "dm_permission" not in menu and not menu.get("description")
    pipeline = next(c for c in put.json if c["name"] == "pipeline")
    assert (menu["integration_types"], menu["contexts"]) == (
        pipeline["integration_types"],
        pipeline["contexts"],
    )
    assert MENU in {c["name"] for c in fake.commands["global"]}  # Discord took it


def test_the_fake_refuses_what_discord_refuses() -> None:
    from tests.discord_fake import _bad_commands

    menu = {"name": MENU, "type": 3, "description": "no"}
    assert _bad_commands([menu], guild=False) == f"bad context menu {MENU!r}"
    many = [{"name": f"Menu {i}", "type": 3} for i in range(6)]
    assert _bad_commands(many, guild=False) == "more than 5 context-menu commands of one type"


JOB = (
    "Anyone interested? Globex is hiring a Senior Backend Engineer (Berlin or remote) "
    "https://jobs.lever.co/globex/4b1e-99 <- my old team, happy to refer"
)


def test_add_to_my_pipeline_opens_the_add_modal_filled_in(bot: Bot, app: App) -> None:
    message = posted(CAROL, JOB)
    cb = _callback(bot.send(message_command(BOB, message)))
    assert cb.json["type"] == 9, cb.json  # the modal is the answer
    modal = cb.json["data"]
    assert bot.fake.refused_modals == []
    fields = _inputs(modal)
    assert fields["company"]["value"] == "Globex"
    assert fields["role"]["value"] == "Senior Backend Engineer"
    assert fields["link"]["value"] == "https://jobs.lever.co/globex/4b1e-99"
    assert "value" not in fields["stage"]
    assert modal["title"] == "Add an application"
    # The member corrects the guess and saves it.
    values = {"company": "Globex GmbH", "role": "Backend Engineer", "link": fields["link"]["value"]}
    cb = _callback(bot.send(submit(BOB, modal["custom_id"], values)))
    assert "Added Globex GmbH (Backend Engineer) at applied." in _text(cb)
    with app.sessions() as s:
        saved = s.scalars(select(Application)).one()
        assert saved.link == "https://jobs.lever.co/globex/4b1e-99"


def test_a_link_preview_is_read_too_and_a_member_install_works_in_dms(bot: Bot) -> None:
    bot.send(slash(BOB, "pipeline", "list"))  # known in the cohort's server first
    embed = {
        "type": "link",
        "url": "https://boards.greenhouse.io/initech/jobs/555",
        "title": "Job Application for Site Reliability Engineer at Initech",
    }
    message = posted(CAROL, "https://boards.greenhouse.io/initech/jobs/555", embeds=[embed])
    payload_ = message_command(BOB, message, guild_id=None, channel_id=4242, context=BOT_DM)
    cb = _callback(bot.send(payload_))
    assert cb.json["type"] == 9
    fields = _inputs(cb.json["data"])
    assert (fields["company"]["value"], fields["role"]["value"]) == (
        "Initech",
        "Site Reliability Engineer",
    )


def test_the_fake_holds_modals_to_discords_limits(bot: Bot) -> None:
    """A modal whose prefilled value is over its max_length, or opened in answer to a modal's
    own submit, is refused as Discord refuses it; the adapter's never are."""
    cb = _callback(bot.send(slash(BOB, "pipeline", "add")))
    good = cb.json["data"]
    bad = {**good, "components": [dict(r) for r in good["components"]]}
    first = dict(bad["components"][0]["components"][0])
    first["value"] = "x" * (first["max_length"] + 1)
    bad["components"][0] = {"type": 1, "components": [first]}
    assert "longer than its max_length" in str(bot.fake._bad_modal("none", bad))
    assert "title must be 1-45" in str(bot.fake._bad_modal("none", {**good, "title": "T" * 46}))
    six = {**good, "components": good["components"] * 2}
    assert "a modal holds 1-5" in str(bot.fake._bad_modal("none", six))
    answered = submit(BOB, good["custom_id"], {"company": "X"})
    bot.fake.open_interaction(answered)
    assert "cannot open a modal" in str(bot.fake._bad_modal(answered["token"], good))


def test_a_dated_form_is_typed_with_its_format_shown(bot: Bot, app: App) -> None:
    bot.send(slash(BOB, "settings", "tz", {"zone": "Europe/Paris"}))
    bot.send(slash(BOB, "pipeline", "add", {"company": "Acme"}))
    cb = _callback(bot.send(slash(BOB, "pipeline", "interview")))
    assert cb.json["type"] == 9
    modal = cb.json["data"]
    assert bot.fake.refused_modals == []
    fields = _inputs(modal)
    assert fields["date"]["placeholder"] == "YYYY-MM-DD, or e.g. 5 Dec"
    assert fields["time"]["placeholder"] == "HH:MM (24h), or e.g. 2:30pm"
    assert all(len(f["label"]) <= 45 for f in fields.values())
    # Typed the way half the cohort writes dates: asked about, with a button per reading.
    typed = {"company": "acme", "date": "03/04", "time": "14:00", "kind": ""}
    cb = _callback(bot.send(submit(BOB, modal["custom_id"], typed)))
    assert "Did you mean 3 April or 4 March?" in _text(cb)
    buttons = [b for row in cb.message["components"] for b in row["components"]]
    assert [b["label"] for b in buttons] == ["3 April", "4 March"]
    cb = _callback(bot.send(click(BOB, message_from(cb), buttons[1]["custom_id"])))
    assert "Thu 4 Mar 2027, 14:00 (Europe/Paris)" in _text(cb)
    with app.sessions() as s:
        iv = s.scalars(select(Interview)).one()
        assert iv.at.replace(tzinfo=UTC) == datetime(2027, 3, 4, 13, 0, tzinfo=UTC)


def test_the_adapters_tree_serves_the_menu(bot: Bot) -> None:
    found = [c for c in payload(bot.adapter.client.tree) if c["name"] == MENU]
    assert [c["type"] for c in found] == [3]
