"""/settings and /cohortbot through the whole dispatch path, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from adapters.memory import MemoryWorkspace
from bot.db.models import Base, Member, MemberSettings
from bot.db.ownership import owned_columns
from bot.types import DM, Ephemeral
from tests.conftest import snapshot


def test_help_lists_every_command(ws: MemoryWorkspace) -> None:
    from bot import commands

    [d] = ws.command("alice", "/cohortbot")
    for cmd in commands.TREE:
        assert f"/{cmd.name}:" in d.text
    [d] = ws.command("alice", "/cohortbot settings")
    for sub in commands.find("settings").subcommands:  # type: ignore[union-attr]
        assert f"/settings {sub.name}" in d.text


def test_help_for_unknown_command(ws: MemoryWorkspace) -> None:
    [d] = ws.command("alice", "/cohortbot nosuch")
    assert "no command called /nosuch" in d.text


def test_settings_round_trip(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz america/new_york")
    ws.command("bob", "/settings drill-time 7:45")
    ws.command("bob", "/settings days mon,wed,FRI")
    ws.command("bob", "/settings tracks behavioral, probability")
    ws.command("bob", "/settings public on")
    [d] = ws.command("bob", "/settings")
    assert isinstance(d.outbound.target, Ephemeral)
    fields = {f.name: f.value for f in d.reply.fields}
    assert fields["Time zone"] == "America/New_York"
    assert fields["Daily drill"] == "07:45 on mon,wed,fri, active"
    assert fields["Tracks"] == "behavioral, probability"
    assert fields["On the leaderboard"] == "pipeline counts shown"
    # Defaults for someone else are untouched.
    [d] = ws.command("carol", "/settings show")
    fields = {f.name: f.value for f in d.reply.fields}
    assert fields["Time zone"] == "UTC (default)"
    assert fields["Daily drill"] == "09:00 on weekdays, active"
    assert fields["Tracks"] == "all"


def test_days_aliases_and_tracks_all(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/settings days everyday")
    assert "everyday" in d.text
    [d] = ws.command("bob", "/settings days weekdays")
    assert "weekdays" in d.text
    ws.command("bob", "/settings tracks coding")
    [d] = ws.command("bob", "/settings tracks all")
    assert "tracks: all" in d.text


def test_pause_until_and_resume(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz Europe/Paris")
    [d] = ws.command("bob", "/settings pause until 2026-12-05")
    assert "paused until Sat 5 Dec 2026" in d.text
    [d] = ws.command("bob", "/settings pause until 2026-11-01")
    assert "not in the future" in d.text
    [d] = ws.command("bob", "/settings show")
    assert "paused until Sat 5 Dec 2026" in d.text  # the refused pause changed nothing
    [d] = ws.command("bob", "/settings resume")
    assert "resumed" in d.text
    [d] = ws.command("bob", "/settings pause")
    assert "paused" in d.text


def test_zone_near_miss_suggests_and_button_applies(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/settings tz Europe/Berln")
    assert "Did you mean Europe/Berlin" in d.text
    [button] = [b for b in d.reply.buttons if b.value == "Europe/Berlin"]
    [d] = ws.press("bob", button)
    assert "Time zone set to Europe/Berlin" in d.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/settings tz Mars/Base", "I don't know the time zone 'Mars/Base'"),
        ("/settings drill-time 25:99", "'25:99' isn't a time of day"),
        ("/nosuch", "I don't know the command /nosuch"),
        ("/settings nosuch", "/settings has no sub-command 'nosuch'"),
        ("/settings tz", "missing <zone>"),
        ("/settings public maybe", "state must be one of on, off"),
        ("/settings tz @everyone", "I don't know the time zone '@everyone'"),
        ("/settings tracks @everyone", "'@everyone' isn't a track"),
        ("/settings days <!channel>", "isn't a day"),
        ("/settings tz " + "A" * 10_000, "the limit is"),
        ("/settings tracks " + "x" * 10_240, "the limit is"),
        ("/settings pause until banana", "couldn't read 'banana' as a date"),
        ("/settings tz Europe/Berlin extra", "didn't expect 'extra'"),
    ],
)
def test_bad_input_is_explained_and_writes_nothing(
    ws: MemoryWorkspace, line: str, expected: str
) -> None:
    ws.command("bob", "/settings tz Asia/Kolkata")  # bob exists with a real setting
    before = snapshot(ws.app.engine)
    out = ws.command("bob", line)
    assert len(out) == 1
    assert expected in out[0].text
    assert len(out[0].text) < 600  # a short reply, not a dump
    assert "Traceback" not in out[0].text
    assert snapshot(ws.app.engine) == before


def test_bad_input_from_a_new_member_creates_nothing(ws: MemoryWorkspace) -> None:
    before = snapshot(ws.app.engine)
    [d] = ws.command("newcomer", "/settings drill-time 99:00")
    assert "isn't a time of day" in d.text
    assert snapshot(ws.app.engine) == before


def test_replies_are_private(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/settings", where=ws.channel())
    assert isinstance(d.outbound.target, Ephemeral)
    assert not d.seen_by("alice")
    [d] = ws.command("bob", "/settings", where=ws.dm("bob"))
    assert isinstance(d.outbound.target, DM)


def test_export_contains_own_data_only(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz Europe/Berlin")
    ws.command("bob", "/settings tz Asia/Tokyo")
    [d] = ws.command("bob", "/settings export")
    [file] = d.reply.files
    data = json.loads(file.data)
    assert data["tables"]["member_settings"][0]["timezone"] == "Asia/Tokyo"
    assert [m["display_name"] for m in data["tables"]["members"]] == ["bob"]
    assert "Europe/Berlin" not in file.data.decode()


def test_forget_me_leaves_no_row_in_any_table(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz Europe/Berlin")
    ws.command("bob", "/settings tz Asia/Tokyo")
    ws.command("bob", "/settings public on")
    [confirm] = ws.command("bob", "/settings forget-me")
    with ws.app.sessions() as s:
        bob_id = s.scalar(select(Member.id).where(Member.display_name == "bob"))
        assert bob_id is not None
    yes = next(b for b in confirm.reply.buttons if b.action == "settings.forget")
    [done] = ws.press("bob", yes)
    assert "deleted" in done.text and "member_settings 1" in done.text
    with ws.app.engine.connect() as conn:
        for oc in owned_columns():
            n = conn.execute(
                select(func.count()).select_from(oc.table).where(oc.column == bob_id)
            ).scalar_one()
            assert n == 0, oc.table.name
        members = Base.metadata.tables["members"]
        assert (
            conn.execute(
                select(func.count()).select_from(members).where(members.c.id == bob_id)
            ).scalar_one()
            == 0
        )
        # alice is untouched
        assert conn.execute(select(func.count()).select_from(MemberSettings)).scalar_one() == 1


def test_forget_me_button_of_someone_else_is_refused(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz Europe/Berlin")
    [confirm] = ws.command("bob", "/settings forget-me")
    yes = next(b for b in confirm.reply.buttons if b.action == "settings.forget")
    before = snapshot(ws.app.engine)
    [d] = ws.press("alice", yes)  # alice presses a forged/forwarded button holding bob's id
    assert "belongs to someone else" in d.text
    after = snapshot(ws.app.engine)
    assert after["member_settings"] == before["member_settings"]


def test_cancel_forget_me(ws: MemoryWorkspace) -> None:
    [confirm] = ws.command("bob", "/settings forget-me")
    cancel = next(b for b in confirm.reply.buttons if b.action == "settings.keep")
    [d] = ws.press("bob", cancel)
    assert "Nothing was deleted" in d.text


def test_unknown_button(ws: MemoryWorkspace) -> None:
    [d] = ws.press_id("bob", "no.such.action|1")
    assert "no longer works" in d.text


def test_structured_options_like_discord(ws: MemoryWorkspace) -> None:
    from bot.types import Invocation

    inv = Invocation(
        "settings", "", ws.user("bob"), ws.channel(), options={"sub": "tz", "zone": "Asia/Tokyo"}
    )
    [o] = ws.app.router.handle(inv).all
    assert "Asia/Tokyo" in o.reply.text
    inv = Invocation(
        "settings", "", ws.user("bob"), ws.channel(), options={"sub": "public", "state": "maybe"}
    )
    [o] = ws.app.router.handle(inv).all
    assert "must be one of on, off" in o.reply.text
