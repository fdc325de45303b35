"""Issue 17, installs and organizer rights: the exact command JSON Discord receives (over real
HTTP to the fake, which refuses what Discord refuses), a member using their own install in
places the cohort's server never reaches, and organizer rights read from each interaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from adapters.discord.cli import discord_app
from bot.app import App
from bot.db.models import Member, Workspace
from tests.discord_fake import (
    APP_ID,
    PRIVATE_CHANNEL,
    Bot,
    FakeDiscord,
    Person,
    callback_of,
    slash,
    text_of,
)

pytestmark = pytest.mark.sqlite_only

ORG = Person(100, "alice", admin=True)
BOB = Person(101, "bob")
PERSONAL = {
    "drill",
    "ask",
    "pipeline",
    "letter",
    "offer",
    "settings",
    "cohortbot",
    "Add to my pipeline",  # a message's context menu
}
COHORT = {"cohort", "cohort-admin", "leaderboard", "mock"}
MANAGE_SERVER = str(1 << 5)


def _synced(fake: FakeDiscord, tmp_path: Path) -> dict[str, dict[str, object]]:
    env = {"DISCORD_TOKEN": "t", "COHORTBOT_DISCORD_SYNC_STATE": str(tmp_path / "s.json")}
    result = CliRunner().invoke(discord_app, ["sync"], env=env)
    assert result.exit_code == 0, result.output
    [put] = fake.matching("PUT", rf"^/applications/{APP_ID}/commands$")
    assert put.status == 200  # the fake checks contexts, installs and permissions as Discord
    return {c["name"]: c for c in put.json}


def test_member_commands_install_for_a_member_and_work_in_dms(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    sent = _synced(fake, tmp_path)
    assert set(sent) == PERSONAL | COHORT
    for name in PERSONAL:
        assert sent[name]["integration_types"] == [0, 1], name
        assert sent[name]["contexts"] == [0, 1, 2], name
        assert sent[name]["default_member_permissions"] is None, name
    for name in COHORT:
        assert sent[name]["integration_types"] == [0], name
        assert sent[name]["contexts"] == [0], name
    assert all("dm_permission" not in c for c in sent.values())  # deprecated by `contexts`


def test_organizer_sub_commands_are_their_own_command_behind_manage_server(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    sent = _synced(fake, tmp_path)
    admin = sent["cohort-admin"]
    assert admin["default_member_permissions"] == MANAGE_SERVER
    subs = {o["name"] for o in admin["options"]}  # type: ignore[attr-defined]
    assert {"setup", "members", "schedule", "digest"} <= subs and "join" not in subs
    member = {o["name"] for o in sent["cohort"]["options"]}  # type: ignore[attr-defined]
    assert member == {"join", "plan"}
    assert sent["cohort"]["default_member_permissions"] is None
    assert all(
        c["default_member_permissions"] is None for n, c in sent.items() if n != "cohort-admin"
    )


def test_a_demoted_organizer_loses_organizer_commands_at_once(bot: Bot) -> None:
    cb = callback_of(bot.send(slash(ORG, "cohort", "members")))
    assert "Only the cohort's organizers" not in text_of(cb)
    # A server admin gives /cohort-admin to a role, and Alice loses Manage Server and the role:
    # her next interaction carries her permissions now, and the remembered flag yields.
    demoted = Person(ORG.uid, ORG.name, admin=False)
    cb = callback_of(bot.send(slash(demoted, "cohort", "members")))
    assert "Only the cohort's organizers" in text_of(cb)
    cb = callback_of(bot.send(slash(demoted, "cohort", "setup", {"zone": "Europe/Berlin"})))
    assert "Only the cohort's organizers" in text_of(cb)
    # Promoted again: works again, from the same interaction's permissions.
    cb = callback_of(bot.send(slash(ORG, "cohort", "members")))
    assert "Only the cohort's organizers" not in text_of(cb)


def test_own_install_in_a_foreign_server_uses_the_home_cohort_privately(bot: Bot, app: App) -> None:
    callback_of(bot.send(slash(BOB, "settings", "show")))  # in the cohort's server, 555
    reqs = bot.send(slash(BOB, "settings", "show", guild_id=999, user_install=True))
    cb = callback_of(reqs)
    assert cb.json["type"] == 4 and cb.ephemeral
    assert cb.message["embeds"][0]["title"] == "Your settings"
    with app.sessions() as s:
        places = s.scalars(select(Workspace.external_id).where(Workspace.platform == "discord"))
        assert set(places) == {"555"}  # the other server is no cohort
        n = s.scalar(select(func.count()).select_from(Member))
        assert n == 1


def test_own_install_in_a_group_dm_answers_only_the_member(bot: Bot) -> None:
    callback_of(bot.send(slash(BOB, "settings", "show")))
    reqs = bot.send(
        slash(BOB, "settings", "show", guild_id=None, channel_id=4444, context=PRIVATE_CHANNEL)
    )
    cb = callback_of(reqs)
    assert cb.json["type"] == 4 and cb.ephemeral  # the others in that DM see nothing
    # And in the bot's own DM it is an ordinary message, as before.
    cb = callback_of(bot.send(slash(BOB, "settings", "show", guild_id=None, channel_id=4445)))
    assert cb.json["type"] == 4 and not cb.ephemeral
