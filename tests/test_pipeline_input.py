"""What members type, read exactly (issue 12, defect 13; issue 15, item 1): quotes, signs,
ambiguous dates and pathological amounts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.memory import MemoryWorkspace
from bot.db.pipeline_models import Application, Interview, Offer
from bot.errors import UserError
from bot.features.pipeline.handlers import parse_amount
from tests.conftest import snapshot
from tests.helpers import text_of as _text


def _companies(ws: MemoryWorkspace) -> list[str]:
    with ws.app.sessions() as s:
        return list(s.scalars(select(Application.company).order_by(Application.id)))


def test_escaped_quotes_inside_quotes_are_part_of_the_name(ws: MemoryWorkspace) -> None:
    out = ws.command("alice", r'/pipeline add "Acme \"Quoted\" Inc" "ML Engineer" stage screen')
    assert 'Added Acme "Quoted" Inc (ML Engineer) at screen.' in _text(out)
    ws.command("alice", "/pipeline add \u201cBeta Labs\u201d")  # a phone's curly quotes
    assert _companies(ws) == ['Acme "Quoted" Inc', "Beta Labs"]


def test_an_unclosed_quote_is_refused_and_says_so(ws: MemoryWorkspace) -> None:
    before = snapshot(ws.app.engine)
    out = ws.command("alice", '/pipeline add "Acme Corp stage screen')
    assert "The quote before 'Acme Corp stage screen' is never closed" in _text(out)
    assert out[0].outbound.refusal
    assert snapshot(ws.app.engine) == before
    out = ws.command("alice", '/pipeline add Acme "ML Engineer')
    assert "is never closed" in _text(out)
    assert _companies(ws) == []


def test_free_text_keeps_a_lone_quote_as_typed(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    out = ws.command("alice", '/pipeline note acme \'twas a 5" screen, they said "soon')
    assert "Note saved on Acme" in _text(out)
    with ws.app.sessions() as s:
        assert s.scalar(select(Application.note)) == '\'twas a 5" screen, they said "soon'


def test_negative_amounts_are_refused(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    for amount in ("-5k", "\u22125k", "$-120,000"):
        out = ws.command("alice", f"/pipeline offer acme base {amount}")
        assert "Base can't be negative" in _text(out), amount
    out = ws.command("alice", "/pipeline offer acme bonus -15k")
    assert "Bonus can't be negative" in _text(out)
    with ws.app.sessions() as s:
        assert s.scalars(select(Offer)).all() == []


def test_an_ambiguous_date_is_asked_about_not_guessed(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz Europe/Berlin")
    ws.command("alice", "/pipeline add Acme")
    out = ws.command("alice", "/pipeline interview acme 5/12 14:00")
    # The readings fall in different years (this May is too far back for an interview).
    assert "Did you mean 5 December 2026 or 12 May 2027? Press the one you meant." in _text(out)
    assert [b.label for b in out[0].reply.buttons] == ["5 December 2026", "12 May 2027"]
    out = ws.command("alice", "/pipeline offer acme deadline 03/04")
    assert "Did you mean 3 April or 4 March?" in _text(out)
    with ws.app.sessions() as s:
        assert s.scalars(select(Interview)).all() == []
        assert s.scalars(select(Offer)).all() == []
    # Unambiguous forms are read at once.
    out = ws.command("alice", "/pipeline interview acme 13/12 14:00")
    assert "Sun 13 Dec 2026, 14:00 (Europe/Berlin)" in _text(out)
    out = ws.command("alice", "/pipeline interview acme 5 Dec 10:00")
    assert "Sat 5 Dec 2026, 10:00 (Europe/Berlin)" in _text(out)


def test_parse_amount_is_linear_on_a_long_run_of_spaces() -> None:
    evil = "1" + " " * 1998 + "x"
    started = time.perf_counter()
    for _ in range(10):
        with pytest.raises(UserError):
            parse_amount(evil, "base")
    assert time.perf_counter() - started < 0.1  # the old pattern took seconds per call


def test_the_long_amount_command_answers_quickly(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    started = time.perf_counter()
    out = ws.command("alice", "/pipeline offer Acme base 1" + " " * 1998 + "x")
    elapsed = time.perf_counter() - started
    assert "isn't an amount for base" in _text(out)
    assert elapsed < 1.0  # a generous bound for a shared machine; it takes milliseconds


# -- typed times of day and dates without a year -------------------------------------------
# The clock is tests/conftest.py's START, Mon 23 Nov 2026 08:00 UTC (03:00 in New York).


def _stored_interviews(ws: MemoryWorkspace) -> list[datetime]:
    with ws.app.sessions() as s:
        rows = s.scalars(select(Interview).order_by(Interview.at)).all()
        return [i.at.replace(tzinfo=UTC) for i in rows]


def _in_new_york(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz America/New_York")
    ws.command("alice", "/pipeline add Acme")


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("13pm", "with am or pm the hour goes from 1 to 12"),
        ("0pm", "with am or pm the hour goes from 1 to 12"),
        ("0am", "with am or pm the hour goes from 1 to 12"),
        ("00:30pm", "with am or pm the hour goes from 1 to 12"),
        ("24:00", "the hour goes from 0 to 23"),
        ("9:75", "minutes go from 00 to 59"),
    ],
)
def test_a_form_time_that_is_no_time_of_day_is_refused(
    ws: MemoryWorkspace, typed: str, problem: str
) -> None:
    _in_new_york(ws)
    fields = {"company": "acme", "date": "2026-12-07", "time": typed}
    out = ws.submit("alice", "pipeline.interview", "", fields)
    assert f"{typed!r} isn't a time of day: {problem}" in _text(out)
    assert out[0].outbound.refusal and out[0].outbound.field == "time"
    assert _stored_interviews(ws) == []


@pytest.mark.parametrize(
    ("typed", "local"),
    [("12am", (0, 0)), ("12pm", (12, 0)), ("1pm", (13, 0)), ("9", (9, 0)), ("2.30 pm", (14, 30))],
)
def test_form_times_that_are_times_of_day_are_read_as_typed(
    ws: MemoryWorkspace, typed: str, local: tuple[int, int]
) -> None:
    _in_new_york(ws)
    fields = {"company": "acme", "date": "2026-12-07", "time": typed}
    ws.submit("alice", "pipeline.interview", "", fields)
    at = datetime(2026, 12, 7, *local, tzinfo=ZoneInfo("America/New_York"))
    assert _stored_interviews(ws) == [at.astimezone(UTC)]


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("tomorrow 25:00", "'25:00' isn't a time of day: the hour goes from 0 to 23"),
        ("tomorrow 13pm", "'13pm' isn't a time of day: with am or pm the hour goes from 1 to 12"),
        ("tomorrow 0pm", "'0pm' isn't a time of day: with am or pm the hour goes from 1 to 12"),
        ("dec 7 10:60", "'10:60' isn't a time of day: minutes go from 00 to 59"),
    ],
)
def test_a_command_time_that_is_no_time_of_day_is_refused(
    ws: MemoryWorkspace, typed: str, problem: str
) -> None:
    _in_new_york(ws)
    out = ws.command("alice", f"/pipeline interview acme {typed}")
    assert problem in _text(out) and out[0].outbound.refusal
    assert _stored_interviews(ws) == []
    out = ws.command("alice", f"/pipeline deadline acme {typed}")
    assert problem in _text(out)
    ws.command("alice", "/pipeline interview acme dec 9 10:00")
    out = ws.command("alice", f"/pipeline reschedule acme {typed}")
    assert problem in _text(out)
    with ws.app.sessions() as s:
        assert s.scalars(select(Offer)).all() == []
    nine = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert _stored_interviews(ws) == [nine.astimezone(UTC)]


def test_a_command_time_is_kept_as_typed(ws: MemoryWorkspace) -> None:
    _in_new_york(ws)
    out = ws.command("alice", "/pipeline interview acme tomorrow 1pm kind phone")
    assert "Tue 24 Nov 2026, 13:00 (America/New_York)" in _text(out)
    out = ws.command("alice", "/pipeline interview acme dec 7 12am")
    assert "Mon 7 Dec 2026, 00:00 (America/New_York)" in _text(out)
    # A time read otherwise than typed is refused, saying how it was read.
    out = ws.command("alice", "/pipeline interview acme tomorrow 9:30 utc")
    assert (
        "I read 'tomorrow 9:30 utc' as Tue 24 Nov 2026, 04:30 (America/New_York), not 09:30 as "
        "written. Give the date, then the time in your zone (America/New_York)"
    ) in _text(out)
    # A wall time the clocks skip moves on, as a form's does: 02:30 on 14 March is 03:30.
    out = ws.command("alice", "/pipeline interview acme 2027-03-14 02:30")
    assert "Sun 14 Mar 2027, 03:30 (America/New_York)" in _text(out)
    assert len(_stored_interviews(ws)) == 3


@pytest.mark.parametrize("typed", ["22 nov", "11/22", "Nov 20", "1 oct"])
def test_logging_a_recent_interview_by_a_date_without_its_year_keeps_it_past(
    ws: MemoryWorkspace, typed: str
) -> None:
    _in_new_york(ws)
    fields = {"company": "acme", "date": typed, "time": "10:00"}
    out = ws.submit("alice", "pipeline.interview", "", fields)
    [at] = _stored_interviews(ws)
    assert at.year == 2026 and at < ws.clock.now(), typed
    assert "Send a thank-you within a day" in _text(out) and "Good luck" not in _text(out)
    ws.command("alice", "/pipeline cancel-interview acme")
    out = ws.command("alice", f"/pipeline interview acme {typed} 10:00")
    assert _stored_interviews(ws) == [at], typed
    assert "Send a thank-you within a day" in _text(out)


def test_a_date_without_its_year_further_back_is_next_years(ws: MemoryWorkspace) -> None:
    _in_new_york(ws)
    out = ws.command("alice", "/pipeline interview acme 1 sep 10:00")  # 83 days back
    assert "Wed 1 Sep 2027, 10:00" in _text(out) and "Good luck" in _text(out)
    out = ws.command("alice", "/pipeline interview acme 2026-11-20 10:00")  # a year: as typed
    assert "Fri 20 Nov 2026, 10:00" in _text(out)


def test_a_deadline_without_its_year_is_still_ahead(ws: MemoryWorkspace) -> None:
    _in_new_york(ws)
    out = ws.command("alice", "/pipeline deadline acme 22 nov")
    assert "Deadline: Mon 22 Nov 2027, 17:00 (America/New_York)" in _text(out)
    fields = {"company": "acme", "deadline_date": "Nov 20", "deadline_time": ""}
    out = ws.submit("alice", "pipeline.offer", "", fields)
    assert "Deadline: Sat 20 Nov 2027, 17:00 (America/New_York)" in _text(out)


def test_the_ambiguous_date_question_offers_each_reading_in_its_year(
    ws: MemoryWorkspace,
) -> None:
    _in_new_york(ws)
    ws.clock.set(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))  # Wed 2 Dec, 10:00 in New York
    out = ws.command("alice", "/pipeline interview acme 12/01 14:00")
    question = "Did you mean 12 January 2027 or 1 December 2026 (yesterday)?"
    assert question in _text(out)
    buttons = out[0].reply.buttons
    assert [b.label for b in buttons] == ["12 January 2027", "1 December 2026 (yesterday)"]
    out = ws.press("alice", buttons[1])
    assert "Tue 1 Dec 2026, 14:00" in _text(out) and "Send a thank-you" in _text(out)
    # The form asks the same; a deadline's readings both lie ahead.
    fields = {"company": "acme", "date": "12/01", "time": "9am"}
    out = ws.submit("alice", "pipeline.interview", "", fields)
    assert question in _text(out) and out[0].outbound.field == "date"
    out = ws.command("alice", "/pipeline deadline acme 12/01")
    assert "Did you mean 12 January or 1 December?" in _text(out)
    ws.press("alice", out[0].reply.buttons[1])
    with ws.app.sessions() as s:
        deadline = s.scalars(select(Offer)).one().deadline.replace(tzinfo=UTC)
    assert deadline == datetime(2027, 12, 1, 22, 0, tzinfo=UTC)
