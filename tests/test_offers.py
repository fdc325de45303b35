"""/offer compare, rate and weights, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.memory import MemoryWorkspace
from bot.db.pipeline_models import Offer
from bot.features.pipeline.handlers import parse_amount
from bot.types import Ephemeral
from tests.conftest import snapshot
from tests.helpers import say


def two_offers(ws: MemoryWorkspace) -> None:
    for line in (
        "/settings tz Europe/Berlin",
        "/pipeline add Acme stage onsite",
        "/pipeline add Beta stage onsite",
        "/pipeline add Cobalt",
        "/pipeline offer acme deadline 2026-11-27 17:00 base 110k bonus 10k currency EUR",
        "/pipeline offer beta deadline 2026-12-09 17:00 base €100,000 equity 0.1% over 4 years",
    ):
        say(ws, line)


def test_compare_before_rating_leads_on_pay_and_flags_far_deadlines(ws: MemoryWorkspace) -> None:
    two_offers(ws)
    [d] = ws.command("bob", "/offer")
    assert isinstance(d.outbound.target, Ephemeral)
    assert [f.name for f in d.reply.fields] == ["Acme (leads)", "Beta"]
    assert "On pay alone, Acme leads (120,000 EUR base plus bonus)" in d.text
    assert "base 100,000 EUR; equity 0.1% over 4 years" in d.text
    assert "4 days left" in d.text and "16 days left" in d.text
    assert "Acme's deadline (Fri 27 Nov 2026, 17:00 (Europe/Berlin)) is 12 days before Beta's" in (
        d.text
    )
    assert "/letter extension Acme" in d.text


def test_ratings_and_weights_decide_the_leader(ws: MemoryWorkspace) -> None:
    two_offers(ws)
    say(ws, "/offer rate acme career 3 culture 4 strategy 3 manager 2")
    text = say(ws, "/offer rate beta career 5 culture 3 strategy 4 manager 3")
    assert "Overall 3.8 of 5" in text
    [d] = ws.command("bob", "/offer compare")
    assert "Beta leads with 3.8 of 5 against Acme's 3.0, ahead on career fit" in d.text
    assert "manager and team" in d.text
    say(ws, "/offer weights career 0 culture 5 strategy 0 manager 5")
    [d] = ws.command("bob", "/offer compare")
    assert "Acme leads with 3.0 of 5 against Beta's 3.0" not in d.text
    assert "Acme and Beta are level on your scores (3.0)" in d.text
    say(ws, "/offer weights manager 0")
    [d] = ws.command("bob", "/offer")
    assert "Acme leads with 4.0 of 5 against Beta's 3.0, ahead on culture" in d.text
    assert "Weights: career fit 0, culture 5, strategy and health 0, manager and team 0" in (
        d.reply.footer or ""
    )


def test_rate_opens_a_form_and_buttons(ws: MemoryWorkspace) -> None:
    two_offers(ws)
    [d] = ws.command("bob", "/offer rate acme")
    assert d.reply.form is not None and d.reply.form.action == "offer.rate"
    assert [f.name for f in d.reply.form.fields] == ["career", "culture", "strategy", "manager"]
    assert len(d.reply.buttons) == 20
    four = next(b for b in d.reply.buttons if b.label == "culture 4")
    assert "culture 4" in ws.press("bob", four)[0].text
    before = snapshot(ws.app.engine)
    assert "isn't for you" in ws.press("alice", four)[0].text
    [r] = ws.submit("alice", "offer.rate", d.reply.form.value, {"career": "5"})
    assert "isn't for you" in r.text
    [r] = ws.submit("bob", "offer.rate", d.reply.form.value, {"career": "9", "culture": "3"})
    assert "from 1 to 5" in r.text
    assert snapshot(ws.app.engine) == before
    fields = {"career": "4", "culture": "5", "strategy": "4", "manager": "3"}
    [r] = ws.submit("bob", "offer.rate", d.reply.form.value, fields)
    assert "Overall 4.0 of 5" in r.text
    with ws.app.sessions() as s:
        offer = s.scalar(select(Offer).where(Offer.score_culture == 5))
        assert offer is not None and offer.score_manager == 3


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/offer rate acme career 6", "from 1 to 5"),
        ("/offer rate acme career x", "career must be a whole number"),
        ("/offer rate cobalt career 3", "hasn't made you an offer"),
        ("/offer rate nobody career 3", "no 'nobody' in your pipeline"),
        ("/offer weights career 9", "must be 0 to 5"),
        ("/offer weights career 0 culture 0 strategy 0 manager 0", "must count for something"),
    ],
)
def test_bad_ratings_write_nothing(ws: MemoryWorkspace, line: str, expected: str) -> None:
    two_offers(ws)
    before = snapshot(ws.app.engine)
    [d] = ws.command("bob", line)
    assert expected in d.text
    assert snapshot(ws.app.engine) == before


def test_no_offers_yet(ws: MemoryWorkspace) -> None:
    assert "no open offer yet" in say(ws, "/offer")


def test_a_closed_offer_leaves_the_comparison(ws: MemoryWorkspace) -> None:
    two_offers(ws)
    say(ws, "/pipeline move acme declined")
    [d] = ws.command("bob", "/offer")
    assert [f.name for f in d.reply.fields] == ["Beta"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120000", (120000, None)),
        ("120k", (120000, None)),
        ("$120,000", (120000, "USD")),
        ("1.2m", (1200000, None)),
        ("95 000 EUR", (95000, "EUR")),
        ("£80K", (80000, "GBP")),
    ],
)
def test_amounts(text: str, expected: tuple[int, str | None]) -> None:
    assert parse_amount(text, "base") == expected
