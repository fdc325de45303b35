"""Issue 18, done means: a 40-member cohort lives six simulated weeks in the memory workspace,
and every weekly digest its organizer gets says what the members did, within their consent: a
member who shares nothing is in no pipeline figure, one who shares counts is never named with a
company, and nobody's pay is ever shown.

SQLite only: the same queries run on PostgreSQL in test_organizer_views and the bench."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.drill_models import Review
from bot.types import DM

# Slow: forty members lived through six weeks.
pytestmark = pytest.mark.slow

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday; the first week begins Monday
WEEKS = [date(2026, 11, 23) + timedelta(days=7 * w) for w in range(6)]
PAY = "123457"  # every offer's base pay: it must never reach the organizer

NAMES = [f"m{i:02d}" for i in range(40)]
STEADY = NAMES[0:12]  # answer every daily drill
QUITTERS = NAMES[12:18]  # answer for two weeks, then stop
HARD = NAMES[18:22]  # answer every day and rate it Again
PAUSED = NAMES[22:25]  # pause at once, share nothing
IDLE = NAMES[25:40]  # never answer
OFFERS = ["m01", "m02", "m03", "m04", "m05", "m06"]  # an offer due Tue 15 Dec
ACCEPT = ["m01", "m02", "m03"]


def share_of(name: str) -> str:
    if name in PAUSED:
        return "none"
    return ("none", "counts", "details")[int(name[1:]) % 3]


def companies(name: str) -> tuple[str, str]:
    return f"Firm{name}a", f"Firm{name}b"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN).astimezone(UTC)


def script() -> list[tuple[datetime, str, str]]:
    ev: list[tuple[datetime, str, str]] = []
    day0 = START.date()
    for i, n in enumerate(NAMES):
        t = START + timedelta(minutes=i)
        ev.append((t, n, f"/settings share {share_of(n)}"))
        a, b = companies(n)
        ev.append((t + timedelta(seconds=10), n, f"/pipeline add {a} stage applied"))
        ev.append((t + timedelta(seconds=20), n, f"/pipeline add {b} stage screen"))
        if n in PAUSED:
            ev.append((t + timedelta(seconds=30), n, "/settings pause"))
    for d in range(1, 42):
        day = day0 + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for n in STEADY + HARD + (QUITTERS if day <= WEEKS[1] + timedelta(days=4) else []):
            ev.append((at(day, 10, int(n[1:])), n, "/drill answer I would start by asking why"))
            rating = "again" if n in HARD else "good"
            ev.append((at(day, 10, int(n[1:])) + timedelta(seconds=5), n, f"/drill rate {rating}"))
    for n in OFFERS:
        b = companies(n)[1]
        ev.append(
            (
                at(date(2026, 12, 12), 12),
                n,
                f"/pipeline offer {b} deadline 2026-12-15 17:00 base {PAY}",
            )
        )
    for n in ACCEPT:
        ev.append((at(date(2026, 12, 15), 10), n, f"/pipeline move {companies(n)[1]} accepted"))
    ev.sort(key=lambda e: e[0])
    return ev


def field(d: Delivery, prefix: str) -> str:
    return next(f.value for f in d.reply.fields if f.name.startswith(prefix))


def visible(d: Delivery) -> str:
    """Everything a reader of the message can see: text, fields, buttons, files."""
    r = d.reply
    parts = [r.text, r.title or "", r.footer or "", r.lead or ""]
    parts += [f"{f.name} {f.value}" for f in r.fields]
    parts += [b.label for b in r.buttons]
    parts += [f.data.decode(errors="replace") for f in r.files if f.mime.startswith("text")]
    return "\n".join(parts)


@pytest.mark.sqlite_only
def test_six_weeks_of_digests_say_what_forty_members_did(ws: MemoryWorkspace) -> None:
    ws.clock.set(START - timedelta(hours=1))
    ws.user("coach", admin=True)
    ws.command("coach", "/cohort setup Europe/Berlin 2026-11-02")  # in prep all six weeks
    ws.command("coach", "/settings tz Europe/Berlin", where=ws.dm("coach"))
    rated: Counter[tuple[str, date]] = Counter()  # (member, local day) -> ratings
    again: Counter[date] = Counter()  # Monday of the week -> Again ratings
    for when, name, line in script():
        ws.advance(when)
        out = ws.command(name, line, where=ws.dm(name))
        assert not any(o.outbound.refusal for o in out), (name, line, out[0].text)
        if line.startswith("/drill rate"):
            day = when.astimezone(BERLIN).date()
            rated[(name, day)] += 1
            if line.endswith("again"):
                again[day - timedelta(days=day.weekday())] += 1
    ws.advance(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    with ws.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == sum(rated.values())

    def to(name: str) -> list[Delivery]:
        return [
            d
            for d in ws.transcript
            if isinstance(d.outbound.target, DM) and d.outbound.target.user.display_name == name
        ]

    digests = [d for d in to("coach") if (d.reply.title or "").startswith("Weekly digest")]
    # The Monday after setup brings one about the days before it; then one a week.
    assert [d.at.astimezone(BERLIN).strftime("%a %d %b %H:%M") for d in digests] == [
        f"Mon {w:%d %b} 09:00" for w in [WEEKS[0], *(w + timedelta(days=7) for w in WEEKS)]
    ]
    digests = digests[1:]
    drill_dms = [
        (d.outbound.target.user.display_name, d.at.astimezone(BERLIN).date())  # type: ignore[union-attr]
        for n in NAMES
        for d in to(n)
        if (d.reply.title or "").startswith(("A new drill", "A review that is due"))
    ]
    sharing = [n for n in NAMES if share_of(n) != "none"]
    for week, d in zip(WEEKS, digests, strict=True):
        days = {week + timedelta(days=i) for i in range(7)}
        posted = d.at
        # Drills done: every rating the members gave in that week, by their own calendar.
        done = sum(n for (_, day), n in rated.items() if day in days)
        assert f"Drills done in all: {done};" in field(d, "Engagement")
        sent = [(n, day) for n, day in drill_dms if day in days]
        answered = sum(1 for key in sent if rated[key])
        assert f"Daily drills done: {answered} of {len(sent)}" in field(d, "Engagement")
        assert f"Again/Hard ratings: {again[week]}" in field(d, "Weak spots")
        if again[week]:
            assert "Tracks rated Again/Hard most" in field(d, "Weak spots")
        # Needs attention, with the reasons the members gave.
        today = posted.astimezone(BERLIN).date()
        quiet_quitters = [n for n in QUITTERS if today - date(2026, 12, 4) >= timedelta(days=7)]
        offer_due = [
            n
            for n in OFFERS
            if n in sharing and posted < at(date(2026, 12, 15), 17) <= posted + timedelta(hours=72)
        ]
        expected = set(IDLE) | set(quiet_quitters) | set(offer_due)
        assert f"Needs attention ({len(expected)})" in visible(d)
        listed = re.findall(r"^(m\d\d): (.*)$", field(d, "Needs attention"), re.M)
        assert listed and {n for n, _ in listed} <= expected
        for n, why in listed:
            if n in IDLE:
                assert "no drill yet" in why and "left the last two daily drills" in why
            if n in quiet_quitters:
                assert "no drill in" in why
            if n in offer_due:
                b = companies(n)[1]
                assert "offer is due Tue 15 Dec 2026, 17:00" in why
                assert (b in why) == (share_of(n) == "details")
        assert field(d, "On track") == str(40 - len(expected) - len(PAUSED))
        assert field(d, "Inactive").startswith(f"{len(PAUSED)} ")
        # The funnel counts the applications of those who share, and nobody else's.
        funnel = field(d, "Pipeline")
        offers = sum(1 for n in OFFERS if n in sharing and posted > at(date(2026, 12, 12), 12))
        accepted = sum(1 for n in ACCEPT if n in sharing and posted > at(date(2026, 12, 15), 10))
        assert funnel.startswith(
            f"applied {2 * len(sharing)} > screen {len(sharing)} > "
            f"interview {offers} > onsite {offers} > offer {offers} > accepted {accepted}"
        ), funnel
        assert next(f.name for f in d.reply.fields if f.name.startswith("Pipeline")) == (
            f"Pipeline ({len(sharing)} members share)"
        )
        assert d.reply.image is not None and d.reply.image.data.startswith(b"\x89PNG")
    # The week the offers were due, the coming-up list names the details sharers' companies.
    coming = field(digests[2], "Coming up")
    for n in OFFERS:
        line = next((x for x in coming.splitlines() if f": {n}," in x), "")
        assert bool(line) == (n in sharing), (n, coming)
        assert (companies(n)[1] in line) == (share_of(n) == "details")
    # The live views agree with the digest and keep the same consent.
    lines = ["/cohort members", "/cohort members attention 2", "/cohort export"]
    for line in lines + [f"/cohort member {n}" for n in NAMES]:
        ws.advance(timedelta(seconds=10))  # an organizer reading, not flooding the bot
        [shown] = ws.command("coach", line, where=ws.dm("coach"))
        assert not shown.outbound.refusal, (line, shown.text)
    [ontrack] = ws.press("coach", digests[-1].reply.buttons[0], where=ws.dm("coach"))
    assert set(STEADY + HARD) <= set(ontrack.text.split(", "))
    seen = "\n".join(visible(d) for d in ws.transcript if d.seen_by("coach"))
    assert PAY not in seen and "123,457" not in seen
    for n in NAMES:
        for company in companies(n):
            assert (company in seen) == (share_of(n) == "details"), (n, company)
    csv = next(
        f.data.decode() for d in to("coach") for f in d.reply.files if f.filename.endswith(".csv")
    )
    for row in csv.splitlines()[1:]:
        cells = row.split(",")
        assert (cells[8] == "") == (share_of(cells[1]) == "none"), row
