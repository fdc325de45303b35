"""/letter: templates filled from the pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.content import LETTER_KINDS, get_content
from bot.db.pipeline_models import Interview, Offer
from bot.features.pipeline import commands as pipeline_commands
from bot.features.pipeline.letters import WEEKEND, business_day, proposed_deadline, render_letter
from bot.types import Ephemeral, InPlace
from tests.conftest import snapshot
from tests.helpers import say


def five_companies(ws: MemoryWorkspace) -> None:
    for line in (
        "/settings tz Europe/Berlin",
        '/pipeline add Acme "ML Engineer" stage onsite',
        '/pipeline add Beta "Data Scientist" stage interview',
        "/pipeline add Cobalt stage screen",
        '/pipeline add Delta "Research Engineer"',
        "/pipeline add Epsilon stage onsite",
        "/pipeline add Faded stage rejected",
        "/pipeline add Someday stage wishlist",
        "/pipeline offer acme deadline 2026-12-04 17:00",
        "/pipeline offer epsilon deadline 2026-12-18 17:00",
    ):
        say(ws, line)


def test_the_command_choices_match_the_content_kinds() -> None:
    assert tuple(LETTER_KINDS) == pipeline_commands.LETTER_KIND_CHOICES


def pages_of(ws: MemoryWorkspace, line: str) -> list[Delivery]:
    """A command's one message and every page after it (Next pressed until there is none)."""
    [d] = ws.command("bob", line)
    shown = [d]
    while nxt := [b for b in shown[-1].reply.buttons if b.label == "Next"]:
        [turned] = ws.press("bob", nxt[0])
        assert isinstance(turned.outbound.target, InPlace)
        shown.append(turned)
    return shown


def test_alternatives_one_letter_per_other_active_company(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    letters = pages_of(ws, "/letter alternatives")
    assert isinstance(letters[0].outbound.target, Ephemeral) and letters[0].seen_by("bob")
    assert all(
        (d.reply.footer or "").startswith(f"Letter {k} of 3. You hold an offer from Acme.")
        for k, d in enumerate(letters, 1)
    )
    assert len(letters) == 3
    companies = {"Beta", "Cobalt", "Delta"}
    for d in letters:
        [company] = [c for c in companies if d.reply.title and d.reply.title.endswith(c)]
        companies.discard(company)
        # It goes to every company: it says what is true of each, not "my first choice".
        assert "I am still very interested in the" in d.text and f"role at {company}" in d.text
        assert "most like to join" not in d.text
        # The offer that sets the pace: Acme's, whose deadline comes first.
        assert "an offer from Acme" in d.text
        assert "by Fri 4 Dec 2026, 17:00 (Europe/Berlin)" in d.text
        assert "Best regards,\nbob" in d.text
        assert {f.name for f in d.reply.fields} == {"When", "How"}
    assert companies == set()
    beta = next(d for d in letters if d.reply.title and d.reply.title.endswith("Beta"))
    assert "Subject: Update on my timeline for the Data Scientist role" in beta.text


def test_alternatives_naming_the_offer_or_one_recipient(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    letters = pages_of(ws, "/letter alternatives epsilon")
    assert len(letters) == 3
    assert all("an offer from Epsilon" in d.text for d in letters)
    [d] = ws.command("bob", "/letter alternatives cobalt")
    assert "at Cobalt" in d.text and not d.reply.buttons
    assert (d.reply.footer or "").startswith("You hold an offer from Acme.")


def test_alternatives_without_an_offer_is_explained(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme")
    [d] = ws.command("bob", "/letter alternatives")
    assert "when you hold an offer" in d.text


def test_thank_you_fills_the_interview_and_can_be_marked_sent(ws: MemoryWorkspace) -> None:
    say(ws, '/pipeline add Acme "ML Engineer" stage interview')
    say(ws, "/pipeline interview acme today 7:00 technical")
    [d] = ws.command("bob", "/letter thank-you")
    assert "Subject: Thank you for the conversation about the ML Engineer role" in d.text
    assert "talk with me on Mon 23 Nov 2026" in d.text
    [sent] = d.reply.buttons
    before = snapshot(ws.app.engine)
    assert "isn't for you" in ws.press("alice", sent)[0].text
    assert snapshot(ws.app.engine) == before
    assert "as sent" in ws.press("bob", sent)[0].text
    with ws.app.sessions() as s:
        interview = s.scalar(select(Interview))
        assert interview is not None and interview.thank_you_sent
        assert interview.thank_you_sent_at == ws.clock.now()


def test_extension_proposes_the_later_deadline_on_a_business_day(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    [d] = ws.command("bob", "/letter extension acme")
    assert "your deadline of Fri 4 Dec 2026, 17:00 (Europe/Berlin)" in d.text
    assert "move the deadline to Fri 18 Dec 2026" in d.text
    # Without a company: the offer with the earliest deadline.
    [d2] = ws.command("bob", "/letter extension")
    assert d2.text == d.text
    [d] = ws.command("bob", "/letter exploding epsilon")
    assert "expires on Fri 18 Dec 2026, 17:00" in d.text
    assert "set the deadline to Fri 25 Dec 2026" in d.text


def test_business_day_skips_the_weekend() -> None:
    from datetime import UTC, datetime

    assert business_day(datetime(2026, 12, 5, tzinfo=UTC)).weekday() == 0  # Sat -> Mon
    assert business_day(datetime(2026, 12, 4, tzinfo=UTC)).day == 4


def test_salary_and_where_else_pick_the_variant_by_stage(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    [d] = ws.command("bob", "/letter salary-expectations cobalt")
    assert "at the start of a process" in (d.reply.title or "")
    [d] = ws.command("bob", "/letter salary-expectations acme")
    assert "at the end of a process" in (d.reply.title or "")
    assert "the process with Acme" in d.text
    out = pages_of(ws, "/letter where-else")
    assert len(out) == 2 and "[company]" in out[0].text and "[brackets]" in out[0].text
    assert [(d.reply.title or "")[:7] for d in out] == ["1 of 2:", "2 of 2:"]


def test_follow_up_goes_to_the_stalest_application(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Quiet")
    ws.clock.advance(timedelta(days=12))
    say(ws, "/pipeline add Fresh")
    [d] = ws.command("bob", "/letter follow-up")
    assert "my application for the [role] role at Quiet" in d.text


def test_motivation_takes_a_company_not_in_the_pipeline(ws: MemoryWorkspace) -> None:
    before = snapshot(ws.app.engine)
    [d] = ws.command("bob", "/letter motivation Hugging Face")
    assert "the problems Hugging Face is working on" in d.text
    after = snapshot(ws.app.engine)
    assert after["pipeline_applications"] == before["pipeline_applications"]


def test_decline_goes_to_everyone_still_waiting(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    say(ws, "/pipeline move epsilon accepted")
    out = pages_of(ws, "/letter decline")
    titles = sorted((d.reply.title or "").rsplit(" to ", 1)[-1] for d in out)
    assert titles == ["Acme", "Beta", "Cobalt", "Delta"]


def test_every_kind_renders_for_a_full_pipeline(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    say(ws, "/pipeline interview acme yesterday 10:00")
    for kind in LETTER_KINDS:
        out = ws.command("bob", f"/letter {kind} acme")
        assert out, kind
        assert all(d.text.startswith(("Subject:", "You hold")) for d in out), (kind, out[0].text)


def test_unknown_company_and_kind(ws: MemoryWorkspace) -> None:
    five_companies(ws)
    [d] = ws.command("bob", "/letter thank-you bet")
    assert d.text.startswith("Subject:")  # a unique prefix
    [d] = ws.command("bob", "/letter thank-you zzz")
    assert "no 'zzz' in your pipeline" in d.text
    [d] = ws.command("bob", "/letter love-letter")
    assert "kind must be one of thank-you" in d.text


def test_render_letter_keeps_values_literal_and_marks_gaps() -> None:
    content = get_content()
    subject, body = render_letter(
        content,
        "thank-you",
        None,
        {"company": "{name} <!channel>", "role": None, "name": "Sam"},
    )
    assert subject == "Thank you for the conversation about the [role] role"
    assert "the [role] role at {name} <!channel>" in body
    assert "[the interview date]" in body and body.endswith("Sam")
    _, late = render_letter(content, "where-else", "late", {"company": "Acme"})
    assert "final stages" in late


@pytest.mark.parametrize("kind", ["extension", "confirm"])
def test_offer_letters_need_an_offer(ws: MemoryWorkspace, kind: str) -> None:
    say(ws, "/pipeline add Acme")
    [d] = ws.command("bob", f"/letter {kind} acme")
    assert "hasn't made you an offer" in d.text
    [d] = ws.command("bob", f"/letter {kind}")
    assert "no open offer" in d.text


def test_confirm_fills_the_offer_from_the_pipeline(ws: MemoryWorkspace) -> None:
    say(ws, '/pipeline add Acme "ML Engineer" stage onsite')
    say(ws, "/pipeline offer Acme deadline 2026-12-09 17:00 base €120,000 equity 0.1% over 4 years")
    [d] = ws.command("bob", "/letter confirm acme")
    assert "- Base salary: 120,000 EUR" in d.text
    assert "- Equity and vesting: 0.1% over 4 years" in d.text
    assert "- Bonus:\n" in d.text  # not given: left for the member to fill in


def test_a_weekend_deadline_letter_asks_for_the_next_business_day(ws: MemoryWorkspace) -> None:
    say(ws, "/settings tz Australia/Sydney")
    say(ws, '/pipeline add Acme "ML Engineer" stage onsite')
    say(ws, "/pipeline offer Acme deadline 2026-12-19 12:00")  # Sat in Sydney, Sat in UTC
    # Sat 19 Dec moves to Mon 21 Dec, the next business day, not a week later.
    [d] = ws.command("bob", "/letter extension acme")
    assert "move the deadline to Mon 21 Dec 2026" not in d.text  # the generic letter: a week on
    with ws.app.sessions() as s:
        offer = s.scalars(select(Offer)).one()
        day = proposed_deadline(offer, [], ws.clock.now(), ZoneInfo("Australia/Sydney"), WEEKEND)
    assert day == date(2026, 12, 21)
