"""The daily drill as a member lives it over days and weeks (issue 12): drills rotate and a
review is called one, the first drill is the next one due, streaks count the member's own
drill days, a pause applies to what is queued, and a stale "delete everything" deletes
nothing. Controlled clock, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.models import Member
from bot.db.schedule_models import OutboxMessage
from bot.features.drills.practice import streak_alive
from tests.conftest import snapshot
from tests.scheduling import dms_to, local, only_jobs

BERLIN = "Europe/Berlin"


def _drill_dms(out: list[Delivery], who: str) -> list[Delivery]:
    return [
        d
        for d in dms_to(out, who)
        if d.reply.buttons and d.reply.buttons[0].action == "drill.answer"
    ]


def _answer_todays(ws: MemoryWorkspace, who: str) -> None:
    ws.command(who, "/drill skip", where=ws.dm(who))
    [rated] = ws.command(who, "/drill rate good", where=ws.dm(who))
    assert rated.text.startswith("Rated Good"), rated.text


def test_an_unanswered_drill_rotates_and_a_review_is_called_a_review(
    ws: MemoryWorkspace,
) -> None:
    # Defect 1: answered on 8 and 9 March, then silence; the same due review came every
    # weekday from 11 to 26 March, titled "A new drill". Run on past the EU DST change.
    ws.clock.set(datetime(2027, 3, 8, 5, 0, tzinfo=UTC))
    ws.command("bea", f"/settings tz {BERLIN}")
    ws.command("bea", "/settings drill-time 08:00")
    only_jobs(ws, "daily-drill")
    answered: list[str] = []
    for day in (8, 9):
        [dm] = _drill_dms(ws.advance(datetime(2027, 3, day, 7, 5, tzinfo=UTC)), "bea")
        answered.append(dm.reply.buttons[0].value)
        _answer_todays(ws, "bea")
    out = _drill_dms(ws.advance(datetime(2027, 4, 2, 12, 0, tzinfo=UTC)), "bea")
    days = [local(d, BERLIN).date() for d in out]
    weekdays = [date(2027, 3, 10) + timedelta(days=i) for i in range(24)]
    assert days == [d for d in weekdays if d.weekday() < 5]  # one every weekday, none lost
    # 08:00 in Berlin on both sides of 28 March.
    assert {(local(d, BERLIN).hour, local(d, BERLIN).minute) for d in out} == {(8, 0)}
    ids = [d.reply.buttons[0].value for d in out]
    assert all(a != b for a, b in itertools.pairwise(ids)), ids  # no day repeats
    # An unanswered drill does not come back for a while: no drill twice within a week.
    for i, drill_id in enumerate(ids):
        assert drill_id not in ids[i + 1 : i + 6], (drill_id, ids)
    # The answered drills come due again: as reviews, and called so.
    reviews = [d for d in out if d.reply.buttons[0].value in answered]
    assert reviews, ids
    assert all((d.reply.title or "").startswith("A review that is due") for d in reviews)
    assert all((d.reply.title or "").startswith("A new drill") for d in out if d not in reviews)


def test_joining_after_drill_time_waits_for_the_next_one_and_is_told(
    ws: MemoryWorkspace,
) -> None:
    # Defect 5: joined at 21:05 local, "Good morning: your daily drill" came at once.
    ws.clock.set(datetime(2026, 11, 23, 20, 5, tzinfo=UTC))  # Mon 21:05 in Berlin
    only_jobs(ws, "daily-drill")
    [first] = ws.command("bob", "/drill stats")
    assert "Welcome! Your first daily drill comes Tue 24 Nov at 09:00 your time (UTC)." in (
        first.text
    )
    assert "/settings drill-time" in first.text and "/settings tz" in first.text
    [again] = ws.command("bob", "/drill stats")
    assert "Welcome" not in again.text  # only the very first interaction
    ws.command("bob", f"/settings tz {BERLIN}")
    # Opening Home first is a first contact too: welcomed, no DM before the drill time.
    [home] = ws.press_id("carol", "home.show|")
    assert "Welcome! Your first daily drill comes Tue 24 Nov at 09:00" in home.text
    out = ws.advance(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    [bob] = _drill_dms(out, "bob")
    assert (local(bob, BERLIN).date(), local(bob, BERLIN).hour) == (date(2026, 11, 24), 9)
    [carol] = _drill_dms(out, "carol")
    assert carol.at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_moving_the_drill_time_past_now_starts_tomorrow(ws: MemoryWorkspace) -> None:
    ws.clock.set(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    ws.command("bob", f"/settings tz {BERLIN}")
    ws.command("bob", "/settings drill-time 22:00")
    ws.command("bob", "/settings days tue,wed")
    only_jobs(ws, "daily-drill")
    ws.advance(datetime(2026, 11, 24, 19, 0, tzinfo=UTC))  # Tue 20:00 in Berlin, no drill yet
    # 18:00 has passed today: the first drill at the new time is tomorrow's, not one now.
    ws.command("bob", "/settings drill-time 18:00")
    assert not _drill_dms(ws.advance(timedelta(hours=3)), "bob")
    out = _drill_dms(ws.advance(datetime(2026, 11, 26, 0, 0, tzinfo=UTC)), "bob")
    assert [d.at for d in out] == [datetime(2026, 11, 25, 17, 0, tzinfo=UTC)]  # 18:00 Berlin


def _streak(ws: MemoryWorkspace, who: str) -> str:
    [d] = ws.command(who, "/drill stats")
    return {f.name: f.value for f in d.reply.fields}["Streak"]


def _drill_once(ws: MemoryWorkspace, who: str) -> None:
    ws.command(who, "/drill")
    ws.command(who, "/drill skip")
    ws.command(who, "/drill rate good")


def test_a_streak_counts_the_members_drill_days(ws: MemoryWorkspace) -> None:
    # Defect 6: a weekday member showed streak 0 after every weekend.
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    ws.command("bob", f"/settings tz {BERLIN}")
    ws.command("alice", "/cohort offday add 2026-12-01")  # a Tuesday
    for day in (26, 27):  # Thu, Fri
        ws.clock.set(datetime(2026, 11, day, 10, 0, tzinfo=UTC))
        _drill_once(ws, "bob")
    ws.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # Monday, before drilling
    assert _streak(ws, "bob").startswith("2 days")
    _drill_once(ws, "bob")
    assert _streak(ws, "bob").startswith("3 days")
    ws.clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # Wed: Tuesday was an off day
    assert _streak(ws, "bob").startswith("3 days")
    _drill_once(ws, "bob")
    assert _streak(ws, "bob").startswith("4 days")
    # A paused stretch does not break it either; resuming on Tuesday 8 Dec.
    ws.command("bob", "/settings pause until 2026-12-08")
    ws.clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    assert _streak(ws, "bob").startswith("4 days")
    _drill_once(ws, "bob")
    assert _streak(ws, "bob").startswith("5 days")
    # A missed drill day does: nothing on Wed 9 Dec, seen on Thursday.
    ws.clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=UTC))
    assert _streak(ws, "bob").startswith("0 days")


def test_streak_alive_is_what_the_leaderboard_calls() -> None:
    weekdays = "mon,tue,wed,thu,fri"
    fri, sat, mon, tue = (
        date(2026, 11, 27),
        date(2026, 11, 28),
        date(2026, 11, 30),
        date(2026, 12, 1),
    )
    assert streak_alive(3, fri, mon, weekdays) == 3
    assert streak_alive(3, fri, sat, weekdays) == 3
    assert streak_alive(3, fri, tue, weekdays) == 0  # Monday was missed
    assert streak_alive(3, fri, tue, weekdays, skip={mon}) == 3  # unless it was an off day
    assert streak_alive(3, fri, mon, "mon,tue,wed,thu,fri,sat,sun") == 0
    assert streak_alive(3, None, mon, weekdays) == 0


def test_pause_drops_queued_drills_and_until_monday_resumes_monday(
    ws: MemoryWorkspace,
) -> None:
    ws.clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))  # Wednesday
    ws.command("bob", f"/settings tz {BERLIN}")
    only_jobs(ws, "daily-drill")
    # Today's drill is queued (not yet sent) when bob pauses: it must not go out.
    assert ws.app.jobs.run_at(datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == 1
    ws.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    [d] = ws.command("bob", "/settings pause until next monday")
    assert "resume on Mon 30 Nov 2026" in d.text, d.text
    [d] = ws.command("bob", "/settings show")
    assert "paused until Mon 30 Nov 2026" in d.text
    out = _drill_dms(ws.advance(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)), "bob")
    assert [local(x, BERLIN).date() for x in out] == [date(2026, 11, 30), date(2026, 12, 1)]
    with ws.app.sessions() as s:
        dropped = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "drill", OutboxMessage.status == "dropped")
        )
    assert dropped == 1


def test_a_stale_yes_deletes_nothing_and_cancel_after_delete_says_so(
    ws: MemoryWorkspace,
) -> None:
    ws.command("bob", "/settings public on")
    ws.clock.advance(timedelta(seconds=5))
    [first] = ws.command("bob", "/settings forget-me")
    yes = next(b for b in first.reply.buttons if b.action == "settings.forget")
    cancel = next(b for b in first.reply.buttons if b.action == "settings.keep")
    [d] = ws.press("bob", cancel)
    assert "Nothing was deleted" in d.text
    before = snapshot(ws.app.engine)
    [d] = ws.press("bob", yes)  # the old Yes, after Cancel
    assert "Nothing was deleted" in d.text and "out of date" in d.text
    assert snapshot(ws.app.engine) == before
    # Asking again makes a new Yes; the one before it stays stale.
    ws.clock.advance(timedelta(seconds=30))
    [second] = ws.command("bob", "/settings forget-me")
    yes2 = next(b for b in second.reply.buttons if b.action == "settings.forget")
    cancel2 = next(b for b in second.reply.buttons if b.action == "settings.keep")
    assert yes2 != yes
    [d] = ws.press("bob", yes)
    assert "out of date" in d.text
    [d] = ws.press("bob", yes2)
    assert "deleted" in d.text and "Nothing" not in d.text
    # Cancel on the same message after deleting: no fresh profile, nothing misleading.
    [d] = ws.press("bob", cancel2)
    assert "nothing to cancel" in d.text.lower() and "already deleted" in d.text
    [d] = ws.press("bob", yes2)
    assert "already deleted" in d.text
    with ws.app.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(Member).where(Member.display_name == "bob"))
            == 0
        )
