"""Company autocomplete on Discord: AUTOCOMPLETE interactions built from Discord's payloads go
through the real command tree; the suggestions come back over HTTP to the fake. A member sees
only their own companies; someone the bot has never seen gets nothing and leaves no rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tests.conftest import snapshot
from tests.discord_fake import Bot, Person, callback_of, sends, slash

BOB = Person(101, "bob")
CAROL = Person(102, "carol")
STRANGER = Person(199, "eve")
GUILD = 555
OTHER_GUILD = 556


def _suggest(
    bot: Bot,
    who: Person,
    typed: str,
    command: str = "pipeline",
    sub: str | None = "move",
    option: str = "company",
    **kw: Any,
) -> list[str]:
    """Type `typed` into the option and return the names Discord would show."""
    payload = slash(who, command, sub, {option: typed}, focused=option, **kw)
    bot.runner.feed(payload)
    bot.fake.wait_for("POST", rf"/interactions/{payload['id']}/.*/callback", timeout=10)
    [cb] = bot.fake.matching("POST", rf"/interactions/{payload['id']}/")
    assert cb.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = cb.json["data"]["choices"]
    assert all(c["name"] == c["value"] for c in choices)
    return [c["name"] for c in choices]


def _add(bot: Bot, who: Person, *companies: str, guild_id: int = GUILD) -> None:
    for name in companies:
        cb = callback_of(
            bot.send(slash(who, "pipeline", "add", {"company": name}, guild_id=guild_id))
        )
        assert cb.json["type"] == 4 and cb.ephemeral


def test_each_member_sees_only_their_own_companies(bot: Bot) -> None:
    _add(bot, BOB, "Acme", "Acorn Labs", "Globex")
    _add(bot, CAROL, "Acme Robotics", "Initech")

    assert _suggest(bot, BOB, "ac") == ["Acme", "Acorn Labs"]
    assert _suggest(bot, BOB, "ACO") == ["Acorn Labs"]  # any case
    assert _suggest(bot, BOB, "") == ["Acme", "Acorn Labs", "Globex"]
    assert _suggest(bot, BOB, "init") == []  # Carol's, not Bob's
    assert _suggest(bot, CAROL, "ac") == ["Acme Robotics"]
    assert _suggest(bot, CAROL, "") == ["Acme Robotics", "Initech"]
    # Every option declared with autocomplete="company" gets the same suggestions.
    assert _suggest(bot, BOB, "glo", "letter", None) == ["Globex"]
    assert _suggest(bot, CAROL, "i", "offer", "rate") == ["Initech"]


def test_closed_applications_come_after_the_live_ones(bot: Bot) -> None:
    _add(bot, BOB, "Alpha", "Ample")
    callback_of(bot.send(slash(BOB, "pipeline", "move", {"company": "alpha", "stage": "rejected"})))
    assert _suggest(bot, BOB, "a") == ["Ample", "Alpha"]


def test_servers_are_kept_apart(bot: Bot) -> None:
    _add(bot, BOB, "Acme")
    _add(bot, BOB, "Apex", guild_id=OTHER_GUILD)
    assert _suggest(bot, BOB, "a") == ["Acme"]
    assert _suggest(bot, BOB, "a", guild_id=OTHER_GUILD) == ["Apex"]


def test_unknown_users_get_nothing_and_leave_no_rows(bot: Bot, db: tuple[str, Engine]) -> None:
    _add(bot, BOB, "Acme")
    before = snapshot(db[1])
    assert _suggest(bot, STRANGER, "a") == []
    assert _suggest(bot, BOB, "a", guild_id=OTHER_GUILD) == []  # a server Bob never used
    assert snapshot(db[1]) == before


def test_in_dms_the_home_server_is_used(bot: Bot) -> None:
    _add(bot, BOB, "Acme")
    assert _suggest(bot, BOB, "ac", guild_id=None, channel_id=9001) == ["Acme"]
    assert _suggest(bot, CAROL, "ac", guild_id=None, channel_id=9002) == []


def test_drill_option_suggests_drill_ids_by_id_and_prompt(bot: Bot) -> None:
    """`/drill next drill:` (issue 13: practise a drill by id) suggests ids as they are typed,
    matching the id's start or words of the prompt."""
    found = _suggest(bot, BOB, "prob-two", "drill", "next", "drill")
    assert found[:2] == ["prob-two-aces", "prob-two-cards-same-suit"]  # ids that start so
    by_words = _suggest(bot, BOB, "aces", "drill", "next", "drill")
    assert "prob-two-aces" in by_words
    assert _suggest(bot, BOB, "zzz-no-such", "drill", "next", "drill") == []
    assert len(_suggest(bot, BOB, "", "drill", "next", "drill")) == 25  # Discord's most
    # Served by id: the drill named is the one in front of the member.
    # (On a busy machine the answer may come as a follow-up after a defer: either counts.)
    answers = sends(bot.send(slash(BOB, "drill", "next", {"drill": "prob-two-aces"})))
    assert answers and "prob-two-aces" in str(answers[0].json)
