"""A place to talk about a drill: the organizer turns it on with a track, and one drill of it
a day is posted in the cohort channel as a discussion (a thread on the post), at midday in the
cohort's zone, once per local day, never on an off day, until it is turned off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.memory import Delivery, MemoryWorkspace
from bot.features.cohort.talk import talk_drill
from bot.types import Channel
from tests.scheduling import local, only_jobs

BERLIN = "Europe/Berlin"


def _talks(out: list[Delivery]) -> list[Delivery]:
    return [d for d in out if isinstance(d.outbound.target, Channel) and d.outbound.target.thread]


def test_one_drill_a_day_for_discussion_never_on_an_off_day(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    only_jobs(ws, "drill-talk")
    [refused] = ws.command("bob", "/cohort talk on behavioral")
    assert "organizer" in refused.text.lower()
    [which] = ws.command("alice", "/cohort talk on")
    assert "Which drills?" in which.text
    [on] = ws.command("alice", "/cohort talk on behavioral")
    assert "12:00 (Europe/Berlin)" in on.text and "#cohort" in on.text
    ws.command("alice", "/cohort offday add 2026-11-25")

    out = ws.advance(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))
    talks = _talks(out)
    days = [local(d, BERLIN).strftime("%a %H:%M") for d in talks]
    assert days == ["Mon 12:00", "Tue 12:00", "Thu 12:00"]  # Wednesday is off
    for d in talks:
        target = d.outbound.target
        assert isinstance(target, Channel) and target.conversation.id == "C-cohort"
        day = local(d, BERLIN).date()
        drill = talk_drill(ws.app.content, "behavioral", day)
        assert drill is not None and drill.prompt in d.text
        assert target.thread.startswith("Behavioural") and len(target.thread) <= 100
        assert "thread" in d.text
    assert len({d.text for d in talks}) == 3  # a different drill each day

    # Nothing twice: the same day again adds no post.
    assert not _talks(ws.advance(timedelta(hours=1)))
    [off] = ws.command("alice", "/cohort talk off")
    assert "off" in off.text
    assert not _talks(ws.advance(timedelta(days=3)))


def test_turned_on_after_midday_posts_today_at_once(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    only_jobs(ws, "drill-talk")
    ws.advance(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 16:00 in Berlin
    ws.command("alice", "/cohort talk on system-design")
    out = _talks(ws.advance(timedelta(minutes=30)))
    assert len(out) == 1 and "System design" in (out[0].reply.title or "")
