"""The cohort: organizer commands, the weekly leaderboard, plan posts and mock pairing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory import MemoryWorkspace
from bot.types import Channel, Ephemeral
from tests.conftest import snapshot
from tests.scheduling import dms_to, local, only_jobs

BERLIN = "Europe/Berlin"


def _cohort(ws: MemoryWorkspace, start: str = "2026-11-23") -> None:
    out = ws.command("alice", f"/cohort setup {BERLIN} {start}")
    assert any(isinstance(d.outbound.target, Channel) for d in out)  # replies come first


@pytest.mark.parametrize(
    "line",
    [
        "/cohort setup Europe/Paris",
        "/cohort schedule leaderboard fri 16:00",
        "/cohort offday add dec 24",
        "/cohort members",
        "/cohort pair now",
        "/cohort preview",
    ],
)
def test_organizer_commands_refuse_members_politely(ws: MemoryWorkspace, line: str) -> None:
    _cohort(ws)
    ws.command("bob", "/settings")
    before = snapshot(ws.app.engine)
    [d] = ws.command("bob", line)
    assert "Only the cohort's organizers can do that" in d.text
    assert isinstance(d.outbound.target, Ephemeral)
    after = snapshot(ws.app.engine)
    after.pop("members"), before.pop("members")  # last_active_at moves; nothing else may
    assert after == before


def test_setup_needs_a_channel_and_a_real_zone(ws: MemoryWorkspace) -> None:
    [d] = ws.command("alice", "/cohort setup", where=ws.dm("alice"))
    assert "channel the cohort uses" in d.text
    [d] = ws.command("alice", "/cohort setup Mars/Base")
    assert "I don't know the time zone" in d.text
    [d] = ws.command("bob", "/leaderboard")
    assert "no cohort here yet" in d.text


def test_weekly_leaderboard_shows_only_what_members_opted_into(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    ws.command("alice", "/cohort schedule leaderboard fri 16:00")
    for name in ("bob", "carol"):
        ws.command(name, "/drill probability")
        ws.command(name, "/drill skip")
        ws.command(name, "/drill rate good")
        ws.command(name, '/pipeline add "Acme Corp" stage interview')
        ws.command(name, '/pipeline interview "Acme Corp" 2026-11-24 10:00')
        [d] = ws.command(name, "/pipeline offer acme deadline 2026-12-04 base 123456 bonus 7890")
        assert "123" in d.text  # the member sees their own figures
    ws.command("carol", "/settings public on")
    only_jobs(ws, "leaderboard")
    out = ws.advance(timedelta(days=7))
    posts = [d for d in out if isinstance(d.outbound.target, Channel)]
    assert len(posts) == 1  # once a week, not once per tick
    post = posts[0]
    assert local(post, BERLIN).strftime("%a %H:%M") == "Fri 16:00"
    text = post.text + " ".join(f.value for f in post.reply.fields)
    assert "bob: 3 points" in text and "carol: 3 points" in text
    assert "carol: 1 application, 1 interview, 1 offer" in text
    assert "bob: 1 application" not in text  # bob did not opt in
    for secret in ("Acme", "123456", "123,456", "7890"):
        assert secret not in text
    assert post.reply.image is not None and post.reply.image.data.startswith(b"\x89PNG")
    # /leaderboard shows the current one to the asker alone.
    [mine] = ws.command("bob", "/leaderboard")
    assert isinstance(mine.outbound.target, Ephemeral) and mine.reply.image is not None
    # The chart is drawn again only when its figures change: never a stale one.
    [again] = ws.command("carol", "/leaderboard")
    assert again.reply.image == mine.reply.image
    ws.command("bob", "/drill probability")
    ws.command("bob", "/drill skip")
    ws.command("bob", "/drill rate good")
    [after] = ws.command("bob", "/leaderboard")
    assert after.reply.image is not None and after.reply.image.data != mine.reply.image.data


def test_default_monday_post_covers_the_week_that_ended(ws: MemoryWorkspace) -> None:
    """Issue 12, defect 2: with no /cohort schedule, Monday's post used to cover the week
    that had just begun ("No drills yet this week") and never showed the drills done."""
    _cohort(ws)
    ws.advance(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # a Wednesday
    for name in ("bob", "carol"):
        ws.command(name, "/drill probability")
        ws.command(name, "/drill skip")
        ws.command(name, "/drill rate good")
    only_jobs(ws, "leaderboard")
    out = ws.advance(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    [post] = [d for d in out if isinstance(d.outbound.target, Channel)]
    assert local(post, BERLIN).strftime("%a %d %H:%M") == "Mon 30 09:00"
    assert post.reply.title == "Leaderboard: week of Mon 23 Nov 2026"
    assert "bob: 3 points, 1 drill" in post.text and "carol: 3 points, 1 drill" in post.text
    assert "No drills" not in post.text
    # The next week's post covers the next week, where nobody drilled: it says so.
    [nxt] = [d for d in ws.advance(timedelta(days=7)) if isinstance(d.outbound.target, Channel)]
    assert nxt.reply.title == "Leaderboard: week of Mon 30 Nov 2026"
    assert "bob:" not in nxt.text and "No drills in these seven days" in nxt.text


def test_weekend_off_days_do_not_break_a_weekday_members_streak_on_the_board(
    ws: MemoryWorkspace,
) -> None:
    """Issue 12, defect 6: streaks counted calendar days, so a weekday-only member's streak
    read 0 on every Monday post."""
    _cohort(ws)
    for day in (25, 26, 27):  # Wednesday to Friday
        ws.advance(datetime(2026, 11, day, 12, 0, tzinfo=UTC))
        ws.command("bob", "/drill probability")
        ws.command("bob", "/drill skip")
        ws.command("bob", "/drill rate good")
    only_jobs(ws, "leaderboard")
    [post] = [
        d
        for d in ws.advance(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
        if isinstance(d.outbound.target, Channel)
    ]
    assert "bob: 9 points, 3 drills, streak 3" in post.text
    [members] = ws.command("alice", "/cohort members")
    assert "bob: 3 drills in 7 days, streak 3" in members.text


def test_plan_posts_when_each_stage_begins(ws: MemoryWorkspace) -> None:
    _cohort(ws, start="2026-11-24")
    only_jobs(ws, "plan-posts")
    content = ws.app.content
    first_two = content.plan[0].days + 1
    out = ws.advance(timedelta(days=first_two))
    posts = [d for d in out if isinstance(d.outbound.target, Channel)]
    assert [p.reply.title for p in posts] == [
        f"Stage 1 of {len(content.plan)} begins: {content.plan[0].name}",
        f"Stage 2 of {len(content.plan)} begins: {content.plan[1].name}",
    ]
    assert all(local(p, BERLIN).hour == 9 for p in posts)
    assert content.plan[0].purpose in posts[0].text
    [plan] = ws.command("bob", "/cohort plan")
    assert "-> 2." in plan.text


def test_mock_pairing_without_repeats_and_a_trio(ws: MemoryWorkspace) -> None:
    ws.clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # a Sunday: too late this week
    _cohort(ws)
    names = ["ann", "ben", "cat", "dan", "eve"]
    for n in names:
        [d] = ws.command(n, "/mock join")
        assert "You're in" in d.text
    only_jobs(ws, "mock-pairing")
    seen: set[frozenset[str]] = set()
    for week in range(2):
        out = ws.advance(timedelta(days=7))
        dms = {n: dms_to(out, n) for n in names}
        assert all(len(v) == 1 for v in dms.values()), week
        groups = set()
        for n, [d] in dms.items():
            assert local(d, BERLIN).strftime("%a %H:%M") == "Mon 09:00"
            partners = [
                p for p in names if p != n and p in d.text.split("practise with")[1].split(".")[0]
            ]
            groups.add(frozenset([n, *partners]))
            assert "When you interview" in d.text and "When they interview you" in d.text
        sizes = sorted(len(g) for g in groups)
        assert sizes == [2, 3]
        pairs = {frozenset((a, b)) for g in groups for a in g for b in g if a < b}
        if week == 1:
            assert len(pairs & seen) <= 1  # a trio of 5 must repeat at most one pair
        seen |= pairs
    [st] = ws.command("ann", "/mock status")
    assert "This week you practise with" in st.text
    ws.command("ann", "/mock leave")
    [st] = ws.command("ann", "/mock status")
    assert "not in the weekly pairing" in st.text


def test_pairing_dms_land_in_each_members_waking_hours_with_a_new_drill_each_week(
    ws: MemoryWorkspace,
) -> None:
    """Issue 12, defect 4: pairing DMs went out at the cohort's Monday 09:00, which is
    00:00-04:00 in the Americas, and suggested the same drill every week."""
    ws.clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    _cohort(ws)
    zones = {
        "ny": "America/New_York",
        "la": "America/Los_Angeles",
        "syd": "Australia/Sydney",
        "kol": "Asia/Kolkata",
    }
    for name, zone in zones.items():
        ws.command(name, f"/settings tz {zone}")
        ws.command(name, "/mock join")
    only_jobs(ws, "mock-pairing")
    asked: dict[str, list[str]] = {n: [] for n in zones}
    for _ in range(3):
        out = ws.advance(timedelta(days=7))
        for name, zone in zones.items():
            [d] = dms_to(out, name)
            assert 9 <= local(d, zone).hour < 20, (name, local(d, zone))
            asked[name].append(d.text.split("When they interview you")[1].split("\n")[0])
    for name, prompts in asked.items():
        assert prompts[0] != prompts[1] != prompts[2], name


def test_members_dashboard_preview_and_offdays(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("carol", "/pipeline add Globex stage applied")
    ws.command("carol", "/settings public on")
    [dash] = ws.command("alice", "/cohort members")
    # The list says who needs attention; pipelines are in a member's detail, by consent.
    assert "- carol: 0 drills in 7 days" in dash.text and "- bob: 0 drills" in dash.text
    assert "Acme" not in dash.text and "Globex" not in dash.text
    [off] = ws.command("alice", "/cohort offday add 2026-11-25")
    assert "Wed 25 Nov 2026 is an off day" in off.text
    [prev] = ws.command("alice", "/cohort preview")
    lines = prev.text.splitlines()
    assert any(line.startswith("Mon 23 Nov") and "daily drill" in line for line in lines)
    assert not any(line.startswith("Wed 25 Nov") and "daily drill" in line for line in lines)
    assert any("leaderboard" in line for line in lines)
    [bad] = ws.command("alice", "/cohort offday add 2020-01-01")
    assert "in the past" in bad.text
    [gone] = ws.command("alice", "/cohort offday remove 2026-11-25")
    assert "normal day again" in gone.text
