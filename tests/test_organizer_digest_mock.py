"""The organizer's digest counts mock pairs that met over the pairs made (issue 18), from what
the pairs pressed in their rooms ("We met" / "We couldn't"), and names the members of each pair
that did not meet under "Needs attention", with the reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.models import Member
from bot.db.schedule_models import MockPair
from tests.scheduling import dms_to, only_jobs

PEOPLE = ("bob", "carol", "dan", "eve", "fay", "gus")
WEEK1 = date(2026, 11, 23)


def _pairs(ws: MemoryWorkspace) -> list[tuple[int, list[str]]]:
    with ws.app.sessions() as s:
        names: dict[int, str] = dict(s.execute(select(Member.id, Member.display_name)).all())
        return [
            (p.id, sorted(names[m] for m in (p.member_a, p.member_b, p.member_c) if m))
            for p in s.scalars(
                select(MockPair).where(MockPair.week_start == WEEK1).order_by(MockPair.id)
            )
        ]


def _digests_of(out: list[Delivery], day: date) -> list[Delivery]:
    """The digests the organizer got on `day` (the first Monday after setup brings one too)."""
    return [
        d
        for d in dms_to(out, "alice")
        if (d.reply.title or "").startswith("Weekly digest") and d.at.date() == day
    ]


def _field(d: Delivery, prefix: str) -> str:
    return next(f.value for f in d.reply.fields if f.name.startswith(prefix))


def test_the_digest_counts_mock_pairs_met_over_pairs_made(ws: MemoryWorkspace) -> None:
    ws.clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    ws.command("alice", "/cohort setup Europe/Berlin 2026-11-23")
    for name in PEOPLE:
        ws.command(name, "/mock join", where=ws.dm(name))
    only_jobs(ws, "mock-pairing", "mock-checkins", "organizer-digest")
    ws.advance(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    [(met, one), (missed, two), (_, three)] = _pairs(ws)
    ws.press_id(one[0], f"mock.met|{met}", where=ws.dm(one[0]))
    ws.press_id(two[1], f"mock.missed|{missed}", where=ws.dm(two[1]))
    # The third pair says nothing, even after the mid-week reminder.

    out = ws.advance(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    [digest] = _digests_of(out, date(2026, 11, 30))
    engagement = _field(digest, "Engagement")
    assert "Mock pairs met: 1 of 3 (33%); 1 couldn't, 1 said nothing." in engagement
    assert "not counted" not in digest.reply.text.casefold()
    # Nobody drilled, so everyone needs attention for that; the mock reasons are the pairs'.
    attention = dict(line.split(": ", 1) for line in _field(digest, "Needs attention").splitlines())
    mock = {n: [r for r in why.split("; ") if "mock pair" in r] for n, why in attention.items()}
    assert mock == {
        **{n: [] for n in one},
        **{n: ["their mock pair couldn't meet"] for n in two},
        **{n: ["their mock pair did not say they met"] for n in three},
    }


def test_a_week_without_pairs_says_so(ws: MemoryWorkspace) -> None:
    ws.clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    ws.command("alice", "/cohort setup Europe/Berlin 2026-11-23")
    ws.command("bob", "/mock join", where=ws.dm("bob"))  # alone: never paired
    only_jobs(ws, "mock-pairing", "mock-checkins", "organizer-digest")
    out = ws.advance(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    [digest] = _digests_of(out, date(2026, 11, 30))
    assert "Mock pairs: none made that week." in _field(digest, "Engagement")
