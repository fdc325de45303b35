"""The Discord adapter end to end: interactions built from Discord's payloads go through the
real discord.py client and command tree into the core, and everything the bot sends goes over
real HTTP to a local fake of Discord's REST API. On SQLite: the database plays no part in
what Discord sees."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot import commands
from bot.app import App
from bot.db.models import Member
from bot.delivery import DeliveryError, Undeliverable, UnsupportedTarget
from bot.router import SORRY
from bot.types import (
    DM,
    Attachment,
    Channel,
    Conversation,
    Ephemeral,
    InPlace,
    Outbound,
    Reply,
    User,
)
from tests.discord_fake import (
    Bot,
    FakeDiscord,
    Person,
    click,
    dm_channel_id,
    message_from,
    slash,
    submit,
)
from tests.discord_fake import callback_of as _callback
from tests.discord_fake import sends as _sends
from tests.discord_fake import text_of as _text

# Discord's side (payloads, rendering, mentions): the same on either database; the flows'
# rows are checked on both through the memory workspace.
pytestmark = pytest.mark.sqlite_only

BOB = Person(101, "bob")
CAROL = Person(102, "carol")
ORG = Person(100, "alice", admin=True)
GUILD = 555


def _sample(opt: commands.Option) -> tuple[Any, int]:
    if opt.type == "choice":
        return opt.choices[0], 3
    if opt.type == "int":
        return 1, 4
    if opt.autocomplete == "zone":
        return "Europe/Paris", 3
    return "Acme", 3


def _invocations() -> list[tuple[str, str | None, dict[str, Any], dict[str, int]]]:
    out = []
    for cmd in commands.TREE:
        for leaf in cmd.subcommands or (cmd,):
            opts, types = {}, {}
            for o in leaf.options:
                if o.required:
                    opts[o.name], types[o.name] = _sample(o)
            out.append((cmd.name, leaf.name if cmd.subcommands else None, opts, types))
    return out


def test_every_command_answers_privately_with_an_embed(bot: Bot) -> None:
    """Each command of the tree, invoked as Discord would, gets exactly one answer, never a
    crash; what goes to the member is ephemeral, carries an embed and pings nobody."""
    seen = 0
    for name, sub, opts, types in _invocations():
        reqs = bot.send(slash(ORG, name, sub, opts, types=types))
        cb = _callback(reqs)
        where = f"/{name} {sub or ''}"
        assert cb.json["type"] in (4, 5, 9), where
        if cb.json["type"] == 4:
            assert cb.ephemeral, where
            assert cb.message["embeds"][0]["description"], where
        if cb.json["type"] == 9:
            assert cb.json["data"]["components"], where  # a modal with its fields
        for r in _sends(reqs):
            assert r.message["allowed_mentions"] == {"parse": []}, where
            assert SORRY not in _text(r), f"{where} crashed in the core"
        seen += 1
    assert seen == len(commands.all_paths())


def test_settings_by_slash_command_structured_options(bot: Bot, app: App) -> None:
    reqs = bot.send(slash(BOB, "settings", "tz", {"zone": "america/new_york"}))
    cb = _callback(reqs)
    assert cb.json["type"] == 4 and cb.ephemeral
    embed = cb.message["embeds"][0]
    assert embed["title"] == "Your settings"
    assert {"name": "Time zone", "value": "America/New_York", "inline": True} in embed["fields"]
    reqs = bot.send(slash(BOB, "settings", "public", {"state": "on"}))
    assert "pipeline counts" in _text(_callback(reqs))
    with app.sessions() as s:
        member = s.scalar(select(Member).where(Member.platform_user_id == str(BOB.uid)))
        assert member is not None and member.settings.public
        assert member.settings.timezone == "America/New_York"


def test_bad_input_is_a_friendly_private_error_and_pings_nobody(bot: Bot) -> None:
    reqs = bot.send(slash(BOB, "settings", "tz", {"zone": "@everyone"}))
    cb = _callback(reqs)
    assert cb.ephemeral
    text = _text(cb)
    assert "@\u200beveryone" in text and "@everyone" not in text
    assert cb.message["allowed_mentions"] == {"parse": []}


def test_autocomplete_suggests_time_zones(bot: Bot, fake: FakeDiscord) -> None:
    payload = slash(BOB, "settings", "tz", {"zone": "europe/ber"}, focused="zone")
    bot.runner.feed(payload)
    fake.wait_for("POST", rf"/interactions/{payload['id']}/.*/callback", timeout=10)
    [cb] = fake.matching("POST", rf"/interactions/{payload['id']}/")
    assert cb.json == {
        "type": 8,
        "data": {"choices": [{"name": "Europe/Berlin", "value": "Europe/Berlin"}]},
    }


def test_slow_work_is_deferred_then_followed_up(app: App, fake: FakeDiscord) -> None:
    b = Bot(app, fake, defer_after=0.0)
    try:
        reqs = b.send(slash(BOB, "settings", "show"))
    finally:
        b.stop()
    cb = _callback(reqs)
    assert cb.json == {"type": 5, "data": {"flags": 64}}  # "thinking", ephemeral
    [follow] = [r for r in reqs if r.method == "POST" and r.path.startswith("/webhooks/")]
    assert follow.ephemeral
    assert follow.message["embeds"][0]["title"] == "Your settings"
    assert reqs.index(cb) < reqs.index(follow)


def test_button_survives_a_restart_and_refuses_strangers(
    app: App, fake: FakeDiscord, bot: Bot
) -> None:
    reqs = bot.send(slash(BOB, "settings", "forget-me"))
    cb = _callback(reqs)
    row = cb.message["components"][0]["components"]
    forget = row[0]["custom_id"]
    assert forget.startswith("settings.forget|") and row[0]["style"] == 4
    message = message_from(cb)

    # Someone else pressing Bob's button is refused, and nothing is deleted.
    reqs = bot.send(click(CAROL, message, forget))
    assert "belongs to someone else" in _text(_callback(reqs))

    # A brand-new client (a restart) still routes the old message's button to its handler.
    bot.stop()
    again = Bot(app, fake)
    try:
        reqs = again.send(click(BOB, message, forget))
    finally:
        again.stop()
    cb = _callback(reqs)
    # The pressed message itself now says what happened, and its spent buttons are gone.
    assert cb.json["type"] == 7
    assert cb.message["embeds"][0]["title"] == "Your data is gone"
    assert not cb.message.get("components")
    with app.sessions() as s:
        left = s.scalar(
            select(func.count()).select_from(Member).where(Member.platform_user_id == str(BOB.uid))
        )
    assert left == 0


def test_suggestion_button_applies_the_zone(bot: Bot) -> None:
    cb = _callback(bot.send(slash(BOB, "settings", "tz", {"zone": "Europe/Berln"})))
    ids = [b["custom_id"] for b in cb.message["components"][0]["components"]]
    assert "settings.tz|Europe/Berlin" in ids
    button = {"custom_id": "settings.tz|Europe/Berlin"}
    cb = _callback(bot.send(click(BOB, message_from(cb), button["custom_id"])))
    assert "Time zone set to Europe/Berlin" in _text(cb)


@pytest.mark.skipif(commands.find("pipeline") is None, reason="no /pipeline in the tree yet")
def test_form_opens_as_modal_and_submit_reaches_the_core(bot: Bot, app: App) -> None:
    cb = _callback(bot.send(slash(BOB, "pipeline", "add")))
    assert cb.json["type"] == 9
    modal = cb.json["data"]
    inputs = [row["components"][0]["custom_id"] for row in modal["components"]]
    assert "company" in inputs
    cb = _callback(bot.send(submit(BOB, modal["custom_id"], {"company": "Acme", "role": "MLE"})))
    assert cb.json["type"] == 4 and cb.ephemeral
    assert "Acme" in _text(cb) + str(cb.message["embeds"])
    # A modal opened before a restart is still routed by its custom_id.
    cb = _callback(bot.send(slash(BOB, "pipeline", "add")))
    stray = cb.json["data"]["custom_id"]
    bot.stop()
    again = Bot(app, bot.fake)
    try:
        cb = _callback(again.send(submit(BOB, stray, {"company": "Globex"})))
    finally:
        again.stop()
    assert "Globex" in _text(cb) + str(cb.message["embeds"])


def test_dm_commands_use_the_home_server(bot: Bot) -> None:
    dm = dm_channel_id(BOB.uid)
    cb = _callback(bot.send(slash(BOB, "settings", "show", guild_id=None, channel_id=dm)))
    assert "which cohort" in _text(cb)  # never seen in a server yet
    bot.send(slash(BOB, "settings", "tz", {"zone": "Asia/Tokyo"}))
    cb = _callback(bot.send(slash(BOB, "settings", "show", guild_id=None, channel_id=dm)))
    assert not cb.ephemeral  # a DM is already private
    [card] = cb.message["embeds"]
    assert card["title"] == "Your settings" and "description" not in card  # said once
    assert {"name": "Time zone", "value": "Asia/Tokyo", "inline": True} in card["fields"]


# -- deliveries without an interaction (scheduled messages) ------------------------------------


def _user(p: Person) -> User:
    return User("discord", str(GUILD), str(p.uid), p.name)


def test_deliver_dm_channel_and_files(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(
        Outbound(
            DM(_user(BOB)),
            Reply(
                "Your export @here",
                title="Data",
                files=(Attachment("export.json", b'{"a": 1}', "application/json"),),
            ),
        )
    )
    opened = fake.matching("POST", r"^/users/@me/channels$")
    assert opened[-1].json == {"recipient_id": BOB.uid}
    [post] = fake.matching("POST", rf"^/channels/{dm_channel_id(BOB.uid)}/messages$")
    assert post.json["embeds"][0]["description"] == "Your export @\u200bhere"
    assert post.json["allowed_mentions"] == {"parse": []}
    assert post.json["attachments"] == [{"id": 0, "filename": "export.json"}]
    assert [(f["filename"], f["data"]) for f in post.files] == [("export.json", b'{"a": 1}')]

    bot.adapter.deliver(
        Outbound(
            Channel(Conversation("channel", "4242", "cohort"), "discord", str(GUILD)),
            Reply("Leaderboard", image=Attachment("board.png", b"PNG", "image/png")),
        )
    )
    [post] = fake.matching("POST", r"^/channels/4242/messages$")
    assert post.json["embeds"][0]["image"] == {"url": "attachment://board.png"}
    assert post.files[0]["data"] == b"PNG"

    # A private message with no interaction to answer goes by DM.
    bot.adapter.deliver(
        Outbound(Ephemeral(_user(CAROL), Conversation("channel", "4242")), Reply("hi"))
    )
    assert fake.matching("POST", rf"^/channels/{dm_channel_id(CAROL.uid)}/messages$")
    with pytest.raises(UnsupportedTarget):
        bot.adapter.deliver(Outbound(InPlace(_user(BOB), Conversation("channel", "1")), Reply("x")))


def test_rate_limit_is_retried_and_delivered_once(bot: Bot, fake: FakeDiscord) -> None:
    path = r"^/channels/4243/messages$"
    fake.fail(
        "POST",
        path,
        429,
        {"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
        {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"},
    )
    bot.adapter.deliver(
        Outbound(Channel(Conversation("channel", "4243"), "discord", str(GUILD)), Reply("once"))
    )
    attempts = fake.matching("POST", path)
    assert len(attempts) == 2  # the 429, then the one that was delivered
    assert attempts[0].json == attempts[1].json


def test_closed_dms_raise_undeliverable(bot: Bot, fake: FakeDiscord) -> None:
    fake.fail(
        "POST",
        rf"^/channels/{dm_channel_id(CAROL.uid)}/messages$",
        403,
        {"message": "Cannot send messages to this user", "code": 50007},
    )
    with pytest.raises(Undeliverable):
        bot.adapter.deliver(Outbound(DM(_user(CAROL)), Reply("daily drill")))
    fake.fail("POST", r"^/channels/9/messages$", 403, {"message": "Missing Access", "code": 50001})
    with pytest.raises(DeliveryError) as err:
        bot.adapter.deliver(
            Outbound(Channel(Conversation("channel", "9"), "discord", str(GUILD)), Reply("x"))
        )
    assert not isinstance(err.value, Undeliverable) and not err.value.retryable
