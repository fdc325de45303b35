"""Streak freezes: one earned for every 7 drill days in a row, at most 2 held; a missed drill
day spends one instead of ending the streak; /drill stats and the leaderboard show them. Days
are the member's own local days, so a DST change moves nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.memory import MemoryWorkspace
from bot.clock import ManualClock
from bot.db.drill_models import PracticeState
from bot.features.drills.practice import (
    FREEZE_CAP,
    Alive,
    bump_streak,
    streak_state,
)
from tests.scheduling import only_jobs

LA = "America/Los_Angeles"  # DST ends Sun 1 Nov 2026, 02:00
BERLIN = "Europe/Berlin"  # DST ends Sun 25 Oct 2026, 03:00
FIRST = date(2026, 10, 19)  # a Monday


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 10, 18, 12, 0, tzinfo=UTC))


def _at(day: date, hhmm: time, zone: str) -> datetime:
    return datetime.combine(day, hhmm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# Late at night in Los Angeles (the next UTC day), just after midnight in Berlin (the UTC day
# before): a streak counted in UTC days would break or double on both sides of the change.
# Each member's stats are read on a day before that day's drill.
WHO = {"lara": (LA, time(23, 30), time(12, 0)), "bert": (BERLIN, time(0, 15), time(0, 5))}


def _drill_on(ws: MemoryWorkspace, name: str, day: date) -> None:
    zone, hhmm, _ = WHO[name]
    ws.advance(_at(day, hhmm, zone))
    for line in ("/drill probability", "/drill skip", "/drill rate good"):
        ws.command(name, line, where=ws.dm(name))


def _stats(ws: MemoryWorkspace, name: str, day: date) -> str:
    zone, _, hhmm = WHO[name]
    ws.advance(_at(day, hhmm, zone))
    [d] = ws.command(name, "/drill stats", where=ws.dm(name))
    return next(f.value for f in d.reply.fields if f.name == "Streak")


@pytest.mark.parametrize("name", list(WHO))
def test_freezes_are_earned_used_and_capped_across_dst(ws: MemoryWorkspace, name: str) -> None:
    zone = WHO[name][0]
    ws.command("alice", f"/cohort setup {zone} 2026-10-19")
    only_jobs(ws, "outbox-prune")  # no scheduled DMs: the member drills on their own
    ws.command(name, f"/settings tz {zone}", where=ws.dm(name))
    ws.command(name, "/settings days everyday", where=ws.dm(name))

    def day(i: int) -> date:
        return FIRST + timedelta(days=i)

    # Three weeks in a row, 19 Oct to 8 Nov: both DST changes (25 Oct, 1 Nov) are inside.
    for i in range(6):
        _drill_on(ws, name, day(i))
    assert _stats(ws, name, day(6)) == "6 days (best 6)"
    _drill_on(ws, name, day(6))
    assert _stats(ws, name, day(7)) == "7 days (best 7) (1 streak freeze)"
    for i in range(7, 14):
        _drill_on(ws, name, day(i))
    assert _stats(ws, name, day(14)) == "14 days (best 14) (2 streak freezes)"
    for i in range(14, 21):
        _drill_on(ws, name, day(i))
    [board] = ws.command(name, "/leaderboard", where=ws.dm(name))
    assert f"{name}: " in board.text and "streak 21 (2 streak freezes)" in board.text
    # Capped: 21 days in a row hold 2, not 3.
    assert _stats(ws, name, day(21)) == "21 days (best 21) (2 streak freezes)"

    # 9 Nov missed: a freeze covers it, and the streak goes on from 10 Nov.
    assert _stats(ws, name, day(22)) == "21 days (best 21) (1 streak freeze)"
    _drill_on(ws, name, day(22))
    assert _stats(ws, name, day(23)) == "22 days (best 22) (1 streak freeze)"
    for i in range(23, 28):
        _drill_on(ws, name, day(i))
    assert _stats(ws, name, day(28)) == "27 days (best 27) (1 streak freeze)"
    _drill_on(ws, name, day(28))  # the seventh day in a row since the missed one
    assert _stats(ws, name, day(29)) == "28 days (best 28) (2 streak freezes)"

    # Three drill days missed with two freezes: both are spent and the streak ends.
    assert _stats(ws, name, day(31)) == "28 days (best 28)"
    assert _stats(ws, name, day(32)) == "0 days (best 28)"
    _drill_on(ws, name, day(32))
    assert _stats(ws, name, day(33)) == "1 day (best 28)"


def test_earning_a_freeze_is_announced_once_a_week(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-10-19")
    only_jobs(ws, "outbox-prune")
    ws.command("bert", f"/settings tz {BERLIN}", where=ws.dm("bert"))
    ws.command("bert", "/settings days everyday", where=ws.dm("bert"))
    said = []
    for i in range(8):
        ws.advance(_at(FIRST + timedelta(days=i), time(0, 15), BERLIN))
        ws.command("bert", "/drill probability", where=ws.dm("bert"))
        ws.command("bert", "/drill skip", where=ws.dm("bert"))
        [d] = ws.command("bert", "/drill rate good", where=ws.dm("bert"))
        said.append("streak freeze" in d.text)
        if i == 6:  # a second drill on the day it was earned says nothing more
            ws.command("bert", "/drill probability", where=ws.dm("bert"))
            ws.command("bert", "/drill skip", where=ws.dm("bert"))
            [again] = ws.command("bert", "/drill rate good", where=ws.dm("bert"))
            assert "Rated Good" in again.text and "streak freeze" not in again.text
    assert said == [False] * 6 + [True, False]


def test_off_days_and_weekends_spend_no_freeze() -> None:
    weekdays = "mon,tue,wed,thu,fri"
    fri, mon, tue, wed = (
        date(2026, 11, 27),
        date(2026, 11, 30),
        date(2026, 12, 1),
        date(2026, 12, 2),
    )
    # A weekday member's weekend, or a cohort off day, is no missed day.
    assert streak_state(9, fri, mon, weekdays, (), 1) == Alive(9, 1)
    assert streak_state(9, fri, wed, weekdays, {mon, tue}, 1) == Alive(9, 1)
    # Monday missed: one freeze spent, and it shows while the streak waits for today.
    assert streak_state(9, fri, tue, weekdays, (), 2) == Alive(9, 1, 1)
    assert streak_state(9, fri, wed, weekdays, (), 1) == Alive(0, 0, 1)


def test_bump_counts_runs_and_caps() -> None:
    state = PracticeState(member_id=1, streak=0, best_streak=0, freezes=0, freeze_run=0)
    first = date(2026, 11, 2)

    def on(i: int) -> tuple[int, int, int]:
        bump_streak(state, first + timedelta(days=i))
        return state.streak, state.freezes, state.freeze_run

    for i in range(9):
        on(i)
    assert on(9) == (10, 1, 3)
    assert on(9) == (10, 1, 3)  # twice on one day counts once
    assert on(11) == (11, 0, 1)  # day 10 missed: the freeze is spent, the run starts over
    for i in range(12, 16):
        on(i)
    assert on(16) == (16, 0, 6)  # not earned at 7 days counted across the missed one
    assert on(17) == (17, 1, 0)
    for i in range(18, 17 + 7 * FREEZE_CAP):
        on(i)
    assert on(17 + 7 * FREEZE_CAP) == (17 + 7 * FREEZE_CAP, FREEZE_CAP, 0)
