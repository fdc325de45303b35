"""The digest's daily-drill figures on both databases (issue 18): drills done over daily drills
sent in the week, the four-week trend, and "left the last two daily drills unanswered", as the
members answered them or not. The six-week test asserts the same on SQLite at 40 members; this
one runs the same reads on PostgreSQL too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.memory import Delivery, MemoryWorkspace
from tests.scheduling import dms_to, only_jobs

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday
DAYS = [date(2026, 11, 23) + timedelta(days=i) for i in range(14)]  # two weeks from Monday
ANSWERS = {"ann": DAYS, "ben": DAYS[:3] + DAYS[7:9], "cy": []}  # the days each one drills


def _field(d: Delivery, prefix: str) -> str:
    return next(f.value for f in d.reply.fields if f.name.startswith(prefix))


def test_daily_drill_rates_trend_and_two_unanswered(ws: MemoryWorkspace) -> None:
    ws.clock.set(START)
    ws.user("coach", admin=True)
    ws.command("coach", "/cohort setup Europe/Berlin 2026-11-02")
    ws.command("coach", "/settings tz Europe/Berlin", where=ws.dm("coach"))
    for name in ANSWERS:
        ws.command(name, "/settings tz Europe/Berlin", where=ws.dm(name))
    only_jobs(ws, "daily-drill", "organizer-digest")
    sent: dict[str, set[date]] = {n: set() for n in ANSWERS}
    for day in DAYS:
        # The day's drill has come by noon (on the member's drill days); those who drill that
        # day answer and rate it.
        out = ws.advance(datetime.combine(day, time(12, 0), tzinfo=BERLIN).astimezone(UTC))
        for name in ANSWERS:
            titles = [d.reply.title or "" for d in dms_to(out, name)]
            if any(t.startswith(("A new drill", "A review that is due")) for t in titles):
                sent[name].add(day)
            if day in ANSWERS[name] and day in sent[name]:
                ws.command(name, "/drill answer I would start by asking why", where=ws.dm(name))
                ws.command(name, "/drill rate good", where=ws.dm(name))
    assert all(len(sent[n]) >= 10 for n in ANSWERS), sent  # the default drill days

    out = ws.advance(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    [digest] = [
        d
        for d in dms_to(out, "coach")
        if (d.reply.title or "").startswith("Weekly digest") and d.at.date() == date(2026, 12, 7)
    ]

    def rate(week: set[date]) -> tuple[int, int, str]:
        n = sum(len(days & week) for days in sent.values())
        done = sum(len(sent[name] & set(days) & week) for name, days in ANSWERS.items())
        return done, n, f"{round(100 * done / n)}%"

    done, n, now = rate(set(DAYS[7:]))
    before = rate(set(DAYS[:7]))[2]
    engagement = _field(digest, "Engagement")
    assert f"Daily drills done: {done} of {n} ({now})" in engagement
    # No daily drill before the first week: the two weeks before it have nothing to rate.
    assert f"four weeks: n/a > n/a > {before} > {now}." in engagement
    assert before != now
    assert f"Drills done in all: {done};" in engagement
    attention = dict(line.split(": ", 1) for line in _field(digest, "Needs attention").splitlines())
    assert set(attention) == {"ben", "cy"}
    assert "left the last two daily drills unanswered" in attention["ben"]
    assert "left the last two daily drills unanswered" in attention["cy"]
    assert "no drill yet" in attention["cy"]
    assert _field(digest, "On track") == "1"
