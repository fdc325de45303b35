"""Several cohorts in one workspace: each with its own channel, organizers, plan, schedule and
leaderboard; a member in one at a time; each organizer sees only their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from adapters.memory import Delivery, MemoryWorkspace
from bot.db import migrate
from bot.db.models import Cohort, Member
from bot.db.session import make_engine
from bot.types import Channel, Conversation
from tests.conftest import PG_URL, pg_engine, private_schema
from tests.scheduling import dms_to, only_jobs

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def _posts_in(out: list[Delivery], channel: Conversation) -> list[Delivery]:
    return [
        d
        for d in out
        if isinstance(d.outbound.target, Channel) and d.outbound.target.conversation == channel
    ]


def _drill(ws: MemoryWorkspace, name: str, where: Conversation | None = None) -> None:
    for line in ("/drill probability", "/drill skip", "/drill rate good"):
        ws.command(name, line, where=where or ws.dm(name))


def _two_cohorts(ws: MemoryWorkspace) -> tuple[Conversation, Conversation]:
    """Cohort 12 (alice, Berlin) with bob and carol; cohort 13 (dora, New York) with erin and
    frank. bob and erin join by using the bot in the channel, carol and frank by /cohort join."""
    c12, c13 = ws.channel("cohort-12"), ws.channel("cohort-13")
    ws.user("dora", admin=True)
    [post] = _posts_in(ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23", where=c12), c12)
    assert "/cohort join" not in post.text  # the workspace's first: everyone is in it
    [post] = _posts_in(ws.command("dora", f"/cohort setup {NEW_YORK} 2026-12-07", where=c13), c13)
    assert "/cohort join here" in post.text
    _drill(ws, "bob", where=c12)
    [d] = ws.command("carol", "/cohort join", where=c12)
    assert "You are in #cohort-12 now" in d.text
    _drill(ws, "carol")
    _drill(ws, "erin", where=c13)
    ws.command("frank", "/cohort join", where=c13)
    _drill(ws, "frank")
    return c12, c13


@pytest.mark.slow
def test_each_organizer_sees_only_their_cohort(ws: MemoryWorkspace) -> None:
    c12, c13 = _two_cohorts(ws)

    # Members: the organizer's own cohort, whichever channel they ask from.
    [a] = ws.command("alice", "/cohort members", where=ws.dm("alice"))
    [d] = ws.command("dora", "/cohort members", where=c13)
    assert "bob" in a.text and "carol" in a.text
    assert "erin" not in a.text and "frank" not in a.text
    assert "erin" in d.text and "frank" in d.text
    assert "bob" not in d.text and "carol" not in d.text
    assert "#cohort-12" in (a.reply.title or "") and "#cohort-13" in (d.reply.title or "")

    # Leaderboards on demand: the asker's cohort.
    [b] = ws.command("bob", "/leaderboard", where=c12)
    [e] = ws.command("erin", "/leaderboard")
    assert "bob: 3 points" in b.text and "carol: 3 points" in b.text and "erin" not in b.text
    assert "erin: 3 points" in e.text and "frank: 3 points" in e.text and "bob" not in e.text

    # Plans: each from its own start date.
    [p12] = ws.command("bob", "/cohort plan")
    [p13] = ws.command("erin", "/cohort plan")
    assert "1. Preparation: Mon 23 Nov 2026" in p12.text and "Mon 7 Dec 2026" not in p12.text
    assert "1. Preparation: Mon 7 Dec 2026" in p13.text and "Mon 23 Nov" not in p13.text

    # Schedules: each organizer changes their own; another cohort's channel is refused.
    [no] = ws.command("alice", "/cohort schedule leaderboard fri 16:00", where=c13)
    assert "another cohort's channel" in no.text and "#cohort-12" in no.text
    ws.command("alice", "/cohort schedule leaderboard fri 16:00", where=c12)
    ws.command("dora", "/cohort schedule leaderboard sat 10:00", where=c13)
    [no] = ws.command("alice", "/cohort setup Europe/Paris", where=c13)
    assert "another cohort's home" in no.text
    for line in ("/cohort pair now", "/cohort offday add dec 24", "/cohort preview"):
        [no] = ws.command("alice", line, where=c13)
        assert "another cohort's channel" in no.text, line

    # Preview: one leaderboard post in the week, and daily drills for their members only.
    [pa] = ws.command("alice", "/cohort preview")
    [pd] = ws.command("dora", "/cohort preview")
    assert pa.text.count("leaderboard post") == 1 and pd.text.count("leaderboard post") == 1
    assert "Fri" in pa.text.split("leaderboard post")[0].splitlines()[-1]
    assert "Sat" in pd.text.split("leaderboard post")[0].splitlines()[-1]

    # The scheduled posts: each channel gets its own cohort's board, at its own time.
    only_jobs(ws, "leaderboard")
    out = ws.advance(timedelta(days=7))
    [p12_post] = _posts_in(out, c12)
    [p13_post] = _posts_in(out, c13)
    assert "bob:" in p12_post.text and "erin" not in p12_post.text
    assert "erin:" in p13_post.text and "bob" not in p13_post.text
    assert p12_post.at < p13_post.at  # Friday 16:00 in Berlin, Saturday 10:00 in New York


def test_digests_and_members_stay_in_their_cohort(ws: MemoryWorkspace) -> None:
    _two_cohorts(ws)
    only_jobs(ws, "organizer-digest")
    out = ws.advance(datetime(2026, 12, 8, 18, 0, tzinfo=UTC))
    alice, dora = dms_to(out, "alice"), dms_to(out, "dora")
    assert alice and dora
    said = " ".join(d.text + " ".join(f.value for f in d.reply.fields) for d in alice + dora)
    assert "bob" in said and "erin" in said  # no drill in 7 days, by the second digest
    for d in alice:
        seen = d.text + " ".join(f.value for f in d.reply.fields)
        assert "erin" not in seen and "frank" not in seen
    for d in dora:
        seen = d.text + " ".join(f.value for f in d.reply.fields)
        assert "bob" not in seen and "carol" not in seen


def test_a_member_is_in_one_cohort_and_moves_by_joining(ws: MemoryWorkspace) -> None:
    c12, c13 = _two_cohorts(ws)
    # A member who first writes by DM is in no cohort while there are two: told where to go.
    [d] = ws.command("gus", "/leaderboard", where=ws.dm("gus"))
    assert "not in a cohort yet" in d.text and "#cohort-12" in d.text and "#cohort-13" in d.text
    [d] = ws.command("gus", "/cohort join", where=ws.dm("gus"))
    assert "in the channel of the cohort" in d.text
    [d] = ws.command("gus", "/mock join", where=ws.dm("gus"))
    assert "not in a cohort yet" in d.text
    # Using the bot in another cohort's channel does not move a member who is in one.
    _drill(ws, "bob", where=c13)
    [d] = ws.command("dora", "/cohort members", where=c13)
    assert "bob" not in d.text
    # /cohort join does, and says what comes along.
    [d] = ws.command("bob", "/cohort join", where=c13)
    assert "You left #cohort-12" in d.text and "streak" in d.text
    [d] = ws.command("bob", "/cohort join", where=c13)
    assert "You are in #cohort-13 now" in d.text and "You left" not in d.text
    [a] = ws.command("alice", "/cohort members")
    [d] = ws.command("dora", "/cohort members")
    assert "bob" not in a.text and "bob" in d.text
    # An organizer who sets up a third channel runs that cohort from then on.
    c14 = ws.channel("cohort-14")
    out = ws.command("alice", f"/cohort setup {BERLIN}", where=c14)
    assert any("instead of #cohort-12" in d.text for d in out)
    [a] = ws.command("alice", "/cohort members")
    assert "carol" not in a.text and "#cohort-14" in (a.reply.title or "")
    with ws.app.sessions() as s:
        assert s.scalar(select(Member.cohort_id).where(Member.display_name == "carol")) == (
            s.scalar(select(Cohort.id).where(Cohort.channel_id == c12.id))
        )


def test_a_single_cohort_workspace_needs_no_join(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings", where=ws.dm("bob"))  # before any cohort exists
    ws.command("alice", f"/cohort setup {BERLIN}")
    [d] = ws.command("carol", "/leaderboard", where=ws.dm("carol"))  # after: joins the one
    assert "not in a cohort" not in d.text
    # Setting it up again changes its zone, and nobody is told to join what they are in.
    out = ws.command("alice", "/cohort setup Europe/Paris")
    assert not any("/cohort join" in d.text for d in out)
    assert any("Europe/Paris" in d.text for d in out)
    [m] = ws.command("alice", "/cohort members")
    assert "bob" in m.text and "carol" in m.text


# -- the migration: existing workspaces keep their one cohort -------------------------------


def _upgrade_with_old_rows(engine: Engine) -> None:
    migrate.upgrade(engine, "0009")
    at = "2026-11-01 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, platform, external_id, created_at) "
                "VALUES (1, 'slack', 'T1', :at), (2, 'slack', 'T2', :at)"
            ),
            {"at": at},
        )
        # Workspace 1: two cohort rows for one channel (two setups at once), a member in
        # each and one in none. Workspace 2: one cohort, a member without it.
        conn.execute(
            text(
                "INSERT INTO cohorts (id, workspace_id, name, channel_id, channel_name, "
                "timezone, leaderboard_weekday, leaderboard_time, created_at) VALUES "
                "(1, 1, 'c', 'C1', 'c', 'UTC', 0, '09:00', :at), "
                "(2, 1, 'c', 'C1', 'c', 'UTC', 0, '09:00', :at), "
                "(3, 2, 'd', 'C2', 'd', 'UTC', 0, '09:00', :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO members (id, workspace_id, cohort_id, platform_user_id, "
                "display_name, is_admin, undeliverable, created_at, last_active_at) VALUES "
                "(1, 1, 1, 'U1', 'a', false, false, :at, :at), "
                "(2, 1, 2, 'U2', 'b', false, false, :at, :at), "
                "(3, 1, NULL, 'U3', 'c', false, false, :at, :at), "
                "(4, 2, NULL, 'U4', 'd', false, false, :at, :at)"
            ),
            {"at": at},
        )
        conn.execute(text("INSERT INTO cohort_offdays (cohort_id, day) VALUES (2, '2026-12-24')"))
        conn.execute(
            text(
                "INSERT INTO drill_practice (member_id, revealed, points, streak, best_streak, "
                "ask_seen) VALUES (1, false, 0, 16, 16, '[]'), (2, false, 0, 9, 9, '[]'), "
                "(3, false, 0, 3, 3, '[]')"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        cohorts = conn.execute(text("SELECT id, workspace_id FROM cohorts ORDER BY id")).all()
        assert [tuple(r) for r in cohorts] == [(1, 1), (3, 2)]
        members = conn.execute(text("SELECT id, cohort_id FROM members ORDER BY id")).all()
        assert [tuple(r) for r in members] == [(1, 1), (2, 1), (3, 1), (4, 3)]
        off = conn.execute(text("SELECT cohort_id FROM cohort_offdays")).scalars().all()
        assert off == [1]
        freezes = conn.execute(
            text("SELECT member_id, freezes, freeze_run FROM drill_practice ORDER BY member_id")
        ).all()
        assert [tuple(r) for r in freezes] == [(1, 2, 2), (2, 1, 2), (3, 0, 3)]


def test_migration_keeps_each_workspace_s_cohort_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _upgrade_with_old_rows(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_migration_keeps_each_workspace_s_cohort_postgres() -> None:
    with private_schema("m") as schema:
        assert PG_URL
        engine = pg_engine(schema)
        try:
            _upgrade_with_old_rows(engine)
        finally:
            engine.dispose()


@pytest.mark.parametrize("line", ["/cohort join", "/leaderboard"])
def test_no_cohort_at_all_is_one_friendly_refusal(ws: MemoryWorkspace, line: str) -> None:
    [d] = ws.command("bob", line)
    assert "no cohort here yet" in d.text
