"""Mock pairs that meet: "We met" / "We couldn't" on each pair's message, a reminder mid-week
to pairs that pressed neither, a question to pause after two rounds without a meeting, and the
outcomes in mock_meetings for the organizer's digest."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.models import Member
from bot.db.schedule_models import MockMeeting, MockOptIn, MockPair
from bot.features.cohort.meetings import meeting_counts
from bot.types import Button
from tests.scheduling import dms_to, local, only_jobs

BERLIN = "Europe/Berlin"
PEOPLE = ("bob", "carol", "dan", "eve")
WEEK1, WEEK2, WEEK3 = date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)


def _start(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    for name in PEOPLE:
        ws.command(name, "/mock join", where=ws.dm(name))
    only_jobs(ws, "mock-pairing", "mock-checkins")


def _pairs(ws: MemoryWorkspace, week: date) -> list[tuple[int, set[str]]]:
    with ws.app.sessions() as s:
        names: dict[int, str] = dict(s.execute(select(Member.id, Member.display_name)).all())
        return [
            (p.id, {names[m] for m in (p.member_a, p.member_b, p.member_c) if m})
            for p in s.scalars(select(MockPair).where(MockPair.week_start == week))
        ]


def _said(ws: MemoryWorkspace) -> dict[tuple[int, str], tuple[str, bool]]:
    with ws.app.sessions() as s:
        rows = s.execute(
            select(
                MockMeeting.pair_id, Member.display_name, MockMeeting.outcome, MockMeeting.own
            ).join(Member, Member.id == MockMeeting.member_id)
        ).all()
    return {(pid, name): (outcome, own) for pid, name, outcome, own in rows}


def _button(d: Delivery, action: str) -> Button:
    return next(b for b in d.reply.buttons if b.action == action)


def _titled(out: list[Delivery], name: str, words: str) -> list[Delivery]:
    return [d for d in dms_to(out, name) if words in (d.reply.title or "")]


def test_buttons_reminder_only_to_silent_pairs_and_the_counts(ws: MemoryWorkspace) -> None:
    _start(ws)
    out = ws.advance(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    [(p1, one), (p2, two)] = _pairs(ws, WEEK1)
    a, b = sorted(one)
    # Every pairing message carries the pair's two buttons.
    for name in PEOPLE:
        [dm] = _titled(out, name, "Mock interview, week of")
        pid = p1 if name in one else p2
        assert {(x.action, x.value) for x in dm.reply.buttons} == {
            ("mock.met", str(pid)),
            ("mock.missed", str(pid)),
        }
    [dm_a] = _titled(out, a, "Mock interview, week of")
    # Someone from the other pair cannot check in for this one.
    outsider = sorted(two)[0]
    [no] = ws.press(outsider, _button(dm_a, "mock.met"), where=ws.dm(outsider))
    assert "another pair" in no.text and not _said(ws)
    # "We met" from one member counts the pair; a partner's own word wins over it.
    [yes] = ws.press(a, _button(dm_a, "mock.met"), where=ws.dm(a))
    assert f"you and {b} met" in yes.text
    assert _said(ws) == {(p1, a): ("met", True), (p1, b): ("met", False)}

    # Wednesday 12:00 in Berlin: only the pair that pressed neither hears again.
    out = ws.advance(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    assert {n for n in PEOPLE if _titled(out, n, "did you meet")} == two
    for name in two:
        [r] = _titled(out, name, "did you meet")
        assert local(r, BERLIN).strftime("%a %H:%M") == "Wed 12:00"
        assert all(n in r.text for n in two)
        assert _button(r, "mock.missed").value == str(p2)
    # After the reminder, one says they couldn't: the other's row follows until they speak.
    c, d = sorted(two)
    [r] = _titled(out, c, "did you meet")
    ws.press(c, _button(r, "mock.missed"), where=ws.dm(c))
    assert _said(ws)[(p2, d)] == ("not_met", False)
    ws.press(d, _button(r, "mock.met"), where=ws.dm(d))  # pressed in their own copy
    assert _said(ws)[(p2, d)] == ("met", True) and _said(ws)[(p2, c)] == ("not_met", True)
    ws.press(c, _button(r, "mock.missed"), where=ws.dm(c))
    assert _said(ws)[(p2, d)] == ("met", True)  # c's second press does not overwrite d

    with ws.app.sessions() as s:
        counts = meeting_counts(s, 1, WEEK1, WEEK1)
    assert (counts.pairs, counts.met, counts.not_met, counts.silent) == (2, 2, 0, 0)


def test_two_rounds_without_meeting_ask_to_pause(ws: MemoryWorkspace) -> None:
    _start(ws)
    ws.advance(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    [(p1, one), (_p2, two)] = _pairs(ws, WEEK1)
    a = sorted(one)[0]
    ws.press_id(a, f"mock.met|{p1}", where=ws.dm(a))  # week 1: one pair met, one silent

    # Sunday 17:00 of week 1: one round missed is not two.
    out = ws.advance(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    assert not [d for d in out if "Pause mock pairing" in (d.reply.title or "")]

    # Week 2: new pairs, and nobody says anything (the reminder goes to everyone).
    out = ws.advance(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    assert {n for _, g in _pairs(ws, WEEK2) for n in g} == set(PEOPLE)
    assert all(len(_titled(out, n, "did you meet")) == 1 for n in PEOPLE)
    out = ws.advance(datetime(2026, 12, 6, 18, 0, tzinfo=UTC))
    asked = {n for n in PEOPLE if _titled(out, n, "Pause mock pairing")}
    assert asked == two  # silent twice; the week-1 pair that met missed only once
    q = _titled(out, sorted(two)[0], "Pause mock pairing")[0]
    assert local(q, BERLIN).strftime("%a %H:%M") == "Sun 17:00"
    assert "last 2 mock pairings" in q.text

    # One pauses, the other stays: Monday pairs the three who are in.
    pauser, stayer = sorted(two)
    [p] = ws.press(pauser, _button(q, "mock.pause"), where=ws.dm(pauser))
    assert "won't be paired" in p.text
    keep = _titled(out, stayer, "Pause mock pairing")[0]
    [k] = ws.press(stayer, _button(keep, "mock.keep"), where=ws.dm(stayer))
    assert "stay in" in k.text
    ws.advance(datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
    [(_, trio)] = _pairs(ws, WEEK3)
    assert trio == set(PEOPLE) - {pauser}
    with ws.app.sessions() as s:
        opted = set(s.scalars(select(Member.display_name).join(MockOptIn)))
        counts = meeting_counts(s, 1, WEEK1, WEEK2)
    assert opted == set(PEOPLE) - {pauser}
    assert (counts.pairs, counts.met, counts.not_met, counts.silent) == (4, 1, 0, 3)


def test_no_reminder_or_question_without_pairs(ws: MemoryWorkspace) -> None:
    ws.command("alice", f"/cohort setup {BERLIN} 2026-11-23")
    ws.command("bob", "/mock join", where=ws.dm("bob"))  # alone: never paired
    only_jobs(ws, "mock-pairing", "mock-checkins")
    out = ws.advance(datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
    assert out == []
