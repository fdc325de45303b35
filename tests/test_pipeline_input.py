"""What members type, read exactly (issue 12, defect 13; issue 15, item 1): quotes, signs,
ambiguous dates and pathological amounts."""

from __future__ import annotations

import time

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
    assert "Did you mean 5 December or 12 May? Press the one you meant." in _text(out)
    assert [b.label for b in out[0].reply.buttons] == ["5 December", "12 May"]
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
