"""A scripted cohort of five members, run through the console for six simulated weeks: every
kind of scheduled message arrives, at the right local time, and none arrives twice.

SQLite only: the same jobs and outbox run on PostgreSQL in test_scheduler, test_nudges and
test_cohort; six weeks of five-minute ticks twice over would double the suite's time."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from adapters.console import Console
from adapters.memory import MemoryWorkspace
from bot.db.schedule_models import OutboxMessage
from bot.jobs import JobRunner, registered_jobs
from bot.types import DM, Channel

# Slow: a cohort lived through six weeks.
pytestmark = pytest.mark.slow

ZONES = {
    "alice": "Europe/Berlin",
    "bob": "America/Los_Angeles",
    "carol": "Asia/Kolkata",
    "dave": "Europe/London",
    "erin": "America/New_York",
}

SCRIPT = """
/cohort setup Europe/Berlin 2026-10-01
/settings tz Europe/Berlin
/mock join
/pipeline add Acme stage applied
/pipeline add Globex stage interview
/pipeline add Initech stage screen
:as bob
/settings tz America/Los_Angeles
/settings public on
/mock join
/pipeline add Hooli stage applied
:as carol
/settings tz Asia/Kolkata
/settings days everyday
/mock join
:as dave
/settings tz Europe/London
/settings pause until 2026-11-30
:as erin
/settings tz America/New_York
/settings drill-time 07:30
/mock join
:clock +2d
:as alice
/pipeline interview Globex 2026-11-25 14:00 technical
/pipeline offer Acme deadline 2026-12-05 17:00 base 95000
:clock +5d
:as carol
/drill
/drill skip
/drill rate good
:as alice
/pipeline offer Globex deadline 2026-12-18 17:00
:clock +7d
:as alice
/pipeline move Globex accepted
:clock +26d
"""


# One long scenario; its rows are the memory workspace's, checked on both databases elsewhere.
@pytest.mark.sqlite_only
def test_six_weeks_of_a_five_member_cohort(ws: MemoryWorkspace) -> None:
    ws.clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # a Sunday, before the first week
    # Every job ticks each quarter hour here (the drill times below are on quarter hours):
    # the same jobs as in production, a third of the ticks of the daily drill's default.
    ws.app.jobs = JobRunner(
        ws.app.sessions,
        ws.app.jobs.env,
        [dc_replace(j, every=timedelta(minutes=15)) for j in registered_jobs()],
    )
    buf = io.StringIO()
    console = Console(ws, buf, user="alice")
    for line in SCRIPT.strip().splitlines():
        assert console.feed(line)
    out = buf.getvalue()
    assert "Traceback" not in out and "went wrong" not in out and "\n! " not in out
    scheduled = [d for d in ws.transcript if d.at > datetime(2026, 11, 22, 12, 0, tzinfo=UTC)]
    scheduled = [d for d in scheduled if isinstance(d.outbound.target, DM | Channel)]

    def zone_of(d):  # type: ignore[no-untyped-def]
        t = d.outbound.target
        return ZoneInfo(ZONES[t.user.display_name] if isinstance(t, DM) else "Europe/Berlin")

    kinds: Counter[str] = Counter()
    for d in scheduled:
        title = d.reply.title or ""
        at = d.at.astimezone(zone_of(d))
        if title.startswith("A new drill") or title.startswith("A review that is due"):
            kinds["drill"] += 1
            who = d.outbound.target.user.display_name  # type: ignore[union-attr]
            expected = (7, 30) if who == "erin" else (9, 0)
            if d.at.date() > datetime(2026, 11, 22).date():  # day one may catch up at once
                assert (at.hour, at.minute) == expected, (who, at)
        elif title.startswith("Leaderboard"):
            kinds["leaderboard"] += 1
            assert at.strftime("%a %H:%M") == "Mon 09:00"
        elif title.startswith("Stage "):
            kinds["plan"] += 1
            assert at.strftime("%H:%M") == "09:00"
        elif title.startswith("Mock interview"):
            # Pairs are made on the cohort's Monday morning; each member hears of theirs in
            # their own waking hours (Los Angeles at 09:00, not at midnight).
            kinds["mock"] += 1
            assert at.strftime("%a") == "Mon" and 9 <= at.hour < 20, at
        else:
            kinds["nudge"] += 1
            assert 9 <= at.hour < 20, (title, at)
    # Every kind of message arrived.
    assert kinds["leaderboard"] == 6
    assert kinds["mock"] == 6 * 4  # four volunteers, six Mondays
    assert kinds["plan"] >= 3  # stages 2, 3 and 4 begin in these weeks
    assert kinds["drill"] > 100
    titles = " | ".join(d.reply.title or "" for d in scheduled)
    texts = "\n".join(d.text for d in scheduled)
    for expected in (
        "Offer deadline in 3 days",
        "Offer deadline in 1 day",
        "Offer deadline today",
        "Your post-offer review",
    ):
        assert expected in titles, expected
    for expected in (
        "tell Globex and ask them",
        "Send a short thank-you",
        "Nothing has moved",
        "falls on a Saturday",  # one request for more time per offer, for its first reason
        "Close the loop with",
    ):
        assert expected in texts, expected
    # Dave paused "until 30 Nov": drills come back on that day (a Monday), not the day after.
    dave_days = {
        d.at.astimezone(ZoneInfo(ZONES["dave"])).date()
        for d in scheduled
        if isinstance(d.outbound.target, DM)
        and d.outbound.target.user.display_name == "dave"
        and (d.reply.title or "").startswith("A ")
    }
    assert min(dave_days) == datetime(2026, 11, 30).date()
    # No message twice: every delivery is unique, and every outbox row was sent once.
    keys = [(repr(d.outbound.target), d.reply.title, d.text) for d in scheduled]
    twice = [k for k, n in Counter(keys).items() if n > 1]
    assert not twice, [(k[0][:60], k[1], k[2][:80]) for k in twice[:3]]
    with ws.app.sessions() as s:
        sent = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    assert sent == len(scheduled)
