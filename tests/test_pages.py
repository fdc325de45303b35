"""Long lists as pages (issues 16 and 17), on SQLite and PostgreSQL through the memory workspace:
/pipeline list with 60 applications, /offer compare with 25 offers and /letter alternatives
with 36 companies each come as one message whose Previous/Next buttons replace it with another
page; every page fits every platform; a stranger's press is refused; a list that shrank shows
its last page. The platforms' own payloads are tested in tests/test_pages_platforms.py."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select

from adapters.console import Console
from adapters.memory import Delivery, MemoryWorkspace
from bot.app import App
from bot.config import Settings, load_settings
from bot.db.models import Member
from bot.db.pipeline_models import Application, Offer
from bot.types import Button, Ephemeral, InPlace, Reply
from tests.helpers import say, statements

LONG = "L" * 96  # with its number, the 100 characters a company name may have


@pytest.fixture
def settings(db: tuple[str, Engine], tmp_path: Path) -> Settings:
    # A member turning 36 pages presses faster than the per-minute limit allows; the limit
    # has its own tests (tests/test_ratelimit.py).
    return load_settings(database_url=db[0], export_dir=str(tmp_path), rate_limit_per_minute=0)


def seed(app: App, user_id: str, apps: int, offers: int = 0, *, stage: str = "") -> list[str]:
    """`apps` applications across the stages (some with the longest names and roles a member
    may type, each with a next interview), then `offers` of them at the offer stage with a
    deadline each; the companies, as named."""
    stages = ["wishlist", "applied", "screen", "onsite", "rejected"]
    names: list[str] = []
    with app.sessions.begin() as s:
        member = s.scalar(select(Member).where(Member.platform_user_id == user_id))
        assert member is not None
        now = app.clock.now()
        for i in range(apps + offers):
            long = i % 7 == 3
            company = f"{i:03d} {LONG}" if long else f"Company {i:03d}"
            at_stage = "offer" if i >= apps else stage or stages[i % len(stages)]
            a = Application(
                member_id=member.id,
                company=company,
                company_key=company.casefold(),
                role=("R" * 150) if long else "Engineer",
                stage=at_stage,
                created_at=now - timedelta(days=30),
                applied_at=now - timedelta(days=20),
                stage_changed_at=now - timedelta(days=i % 13, hours=i),
            )
            s.add(a)
            s.flush()
            if at_stage == "offer":
                s.add(
                    Offer(
                        member_id=member.id,
                        application_id=a.id,
                        received_at=now - timedelta(days=2, hours=i),
                        deadline=now + timedelta(days=2 + i % 20, hours=i),
                        base=100_000 + i * 1_000,
                        bonus=5_000,
                        equity=("0.1% over 4 years, one-year cliff, refreshers yearly; " * 2)[:100],
                        currency="EUR",
                        updated_at=now,
                    )
                )
            names.append(company)
    return names


def fits(reply: Reply) -> None:
    """Within every platform, with nothing to shorten: Discord's embed (the tightest: title
    256, description 4,096, 25 fields of 1,024, 6,000 in all, 5 buttons to a row) and Slack's
    header (150) and sections (3,000, one block per full-width field)."""
    assert reply.title is not None and len(reply.title) <= 150
    assert len(reply.card_text) <= 4096
    assert len(reply.fields) <= 25
    assert all(len(f.value) <= 1024 and len(f.name) <= 256 for f in reply.fields)
    total = len(reply.title) + len(reply.card_text) + len(reply.footer or "")
    total += sum(len(f.name) + len(f.value) for f in reply.fields)
    assert total <= 6000, total
    assert len(reply.buttons) <= 5


def one(out: list[Delivery]) -> Delivery:
    assert len(out) == 1, [d.text[:80] for d in out]
    return out[0]


def button(d: Delivery, label: str) -> Button:
    [b] = [b for b in d.reply.buttons if b.label == label]
    return b


def page_of(d: Delivery) -> tuple[int, int]:
    m = re.search(r"page (\d+) of (\d+)", d.reply.title or "")
    assert m, d.reply.title
    return int(m[1]), int(m[2])


def walk(ws: MemoryWorkspace, first: Delivery, who: str = "bob") -> list[Delivery]:
    """Every page from the first, pressing Next until there is none."""
    seen = [first]
    while any(b.label == "Next" for b in seen[-1].reply.buttons):
        turned = one(ws.press(who, button(seen[-1], "Next")))
        assert isinstance(turned.outbound.target, InPlace) and turned.outbound.target.whole
        seen.append(turned)
    return seen


def test_sixty_applications_come_as_pages_that_fit_and_show_each_once(
    ws: MemoryWorkspace, app: App
) -> None:
    say(ws, "/settings tz Europe/Berlin")
    names = seed(app, "U-bob", 60)
    first = one(ws.command("bob", "/pipeline list"))
    assert isinstance(first.outbound.target, Ephemeral)
    assert [b.label for b in first.reply.buttons] == ["Next"]
    shown = walk(ws, first)
    count = len(shown)
    assert count >= 3
    text = ""
    for k, d in enumerate(shown, 1):
        assert page_of(d) == (k, count)
        assert d.reply.title and d.reply.title.startswith("Your pipeline: 60 applications")
        fits(d.reply)
        text += "\n".join(f.value for f in d.reply.fields) + "\n"
    assert [b.label for b in shown[-1].reply.buttons] == ["Previous"]
    for name in names:  # every application on exactly one page, none cut
        assert len(re.findall(rf"^- {re.escape(name)} \(", text, re.M)) == 1, name
    # Stages in their order; one begun on the page before goes on under its name.
    heads = [f.name for d in shown for f in d.reply.fields]
    assert heads[0].startswith("wishlist (12)")
    assert any(h.endswith(", continued") for h in heads)
    # Previous goes back, the same page as before.
    back = one(ws.press("bob", button(shown[1], "Previous")))
    assert back.reply == first.reply


def test_a_stranger_cannot_turn_anothers_pages(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin")
    say(ws, "/settings tz Europe/Paris", who="carol")
    seed(app, "U-bob", 45)
    nxt = button(one(ws.command("bob", "/pipeline list")), "Next")
    refused = one(ws.press("carol", nxt))
    assert refused.outbound.refusal and isinstance(refused.outbound.target, Ephemeral)
    assert "belong to someone else" in refused.text
    assert "Company" not in refused.text
    # Carol's own (empty) list is hers to page; Bob's buttons still work for him.
    assert "page 2 of" in (one(ws.press("bob", nxt)).reply.title or "")
    # A forged value (no owner, not a number) is refused too.
    assert one(ws.press_id("bob", "pipeline.page|x:2:")).outbound.refusal
    # Digits that are not ASCII ("²" passes str.isdigit, not int) are forged values too: a
    # refusal for someone else's owner id, the first page for a page number, never a crash.
    for action in ("pipeline.page", "offer.page", "letter.page"):
        for value in ("²:1:", "١:1:", "99999999999999999999:1:"):
            sent = one(ws.press_id("bob", f"{action}|{value}"))
            assert sent.outbound.refusal and "went wrong" not in sent.text
    bob = app.sessions().scalar(select(Member.id).where(Member.platform_user_id == "U-bob"))
    first = one(ws.press_id("bob", f"pipeline.page|{bob}:²:"))
    assert "page 1 of" in (first.reply.title or "") and not first.outbound.refusal


def test_a_page_past_the_end_of_a_shrunk_list_shows_the_last_page(
    ws: MemoryWorkspace, app: App
) -> None:
    say(ws, "/settings tz Europe/Berlin")
    seed(app, "U-bob", 60)
    pages = walk(ws, one(ws.command("bob", "/pipeline list")))
    last = pages[-2]  # its Next points at the last page
    with app.sessions.begin() as s:
        ids = s.scalars(select(Application.id).order_by(Application.id)).all()
        s.execute(delete(Application).where(Application.id.in_(ids[:35])))
    shrunk = one(ws.press("bob", button(last, "Next")))
    k, n = page_of(shrunk)
    assert k == n == 2 and len(pages) > 2
    assert (shrunk.reply.title or "").startswith("Your pipeline: 25 applications")
    assert [b.label for b in shrunk.reply.buttons] == ["Previous"]
    # Emptied: the press says so in place, without buttons.
    with app.sessions.begin() as s:
        s.execute(delete(Application))
    empty = one(ws.press("bob", button(last, "Next")))
    assert isinstance(empty.outbound.target, InPlace)
    assert "Your pipeline is empty" in empty.text and not empty.reply.buttons


def test_a_short_list_is_one_page_without_buttons(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin")
    seed(app, "U-bob", 5)
    d = one(ws.command("bob", "/pipeline list"))
    assert d.reply.title == "Your pipeline: 5 applications"
    assert not d.reply.buttons


def test_twenty_five_offers_compare_on_pages(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin")
    names = seed(app, "U-bob", 0, offers=25)
    first = one(ws.command("bob", "/offer compare"))
    shown = walk(ws, first)
    assert len(shown) >= 3
    cards: list[str] = []
    for k, d in enumerate(shown, 1):
        assert page_of(d) == (k, len(shown))
        assert (d.reply.title or "").startswith("Your offers: 25")
        fits(d.reply)
        # Which offer leads (of all 25) is said on every page.
        assert "On pay alone" in d.reply.card_text
        cards += [f.name.removesuffix(" (leads)") for f in d.reply.fields]
    assert sorted(cards) == sorted(names)
    assert sum(f.name.endswith("(leads)") for d in shown for f in d.reply.fields) == 1
    # The advice to ask for more time comes with the offer it is about, once each.
    advice = "\n".join(d.reply.card_text for d in shown)
    for d in shown:
        on_page = [f.name.removesuffix(" (leads)") for f in d.reply.fields]
        for line in d.reply.card_text.splitlines()[1:]:
            assert line.split("'s deadline")[0] in on_page
    assert advice.count("/letter extension") >= 20
    refused = one(ws.press("carol", button(first, "Next")))
    assert refused.outbound.refusal


@pytest.mark.slow
def test_alternatives_letters_come_as_one_message_a_letter_a_page(
    ws: MemoryWorkspace, app: App
) -> None:
    say(ws, "/settings tz Europe/Berlin")
    companies = seed(app, "U-bob", 36, offers=1, stage="applied")
    offer_company = companies.pop()
    out = ws.command("bob", "/letter alternatives")
    first = one(out)  # was 37 messages: an intro and a letter per company
    shown = walk(ws, first)
    assert len(shown) == 36
    titled: list[str] = []
    for k, d in enumerate(shown, 1):
        title = d.reply.title or ""
        assert title.startswith(f"{k} of 36: "), title
        company = title.rpartition(" to ")[2]
        titled.append(company)
        footer = d.reply.footer or ""
        assert footer.startswith(f"Letter {k} of 36. You hold an offer from {offer_company}.")
        assert "Only you can see this" in footer
        # The copy-ready letter is whole: the same text as the letter on its own.
        alone = one(ws.command("bob", f"/letter alternatives {company}"))
        assert d.reply.text == alone.reply.text
        assert d.reply.text.startswith("Subject: ") and company in d.reply.text
        fits(d.reply)
    assert sorted(titled) == sorted(companies)
    assert one(ws.press("carol", button(first, "Next"))).outbound.refusal


@pytest.mark.parametrize("kind", ["alternatives", "decline"])
def test_turning_a_page_of_letters_reads_the_pipeline_a_fixed_number_of_times(
    ws: MemoryWorkspace, app: App, kind: str
) -> None:
    """A page turn rebuilds every letter of the message; each once read the whole pipeline
    again to propose its deadline, so 36 letters cost 36 reads a turn."""
    cost: dict[int, int] = {}
    for member, n in (("bob", 4), ("carol", 36)):
        ws.command(member, "/settings tz Europe/Berlin")
        seed(app, f"U-{member}", n, offers=1, stage="applied")
        first = one(ws.command(member, f"/letter {kind}"))
        with statements(app.engine) as ran:
            one(ws.press(member, button(first, "Next")))
        cost[n] = len(ran)
    assert cost[36] == cost[4], cost


def test_letters_follow_the_pipeline_when_a_page_is_turned(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin")
    companies = seed(app, "U-bob", 6, offers=1, stage="applied")
    first = one(ws.command("bob", "/letter alternatives"))
    assert (first.reply.title or "").startswith("1 of 6: ")
    with app.sessions.begin() as s:
        s.execute(delete(Application).where(Application.company.in_(companies[1:5])))
    turned = one(ws.press("bob", button(first, "Next")))
    assert (turned.reply.title or "").startswith("2 of 2: ")
    assert (turned.reply.title or "").rpartition(" to ")[2] in (companies[0], companies[5])
    # Decline: every company still waiting, as pages too.
    declined = one(ws.command("bob", "/letter decline"))
    assert (declined.reply.title or "").startswith("1 of 3: ")


def test_a_single_letter_has_no_page_buttons(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin")
    companies = seed(app, "U-bob", 1, offers=1, stage="applied")
    d = one(ws.command("bob", "/letter alternatives"))
    assert not d.reply.buttons
    assert (d.reply.title or "").endswith(companies[0])
    assert (d.reply.footer or "").startswith(f"You hold an offer from {companies[1]}.")


def test_the_console_shows_the_same_pages(ws: MemoryWorkspace, app: App) -> None:
    say(ws, "/settings tz Europe/Berlin", who="alice")
    seed(app, "U-alice", 60)
    buf = io.StringIO()
    console = Console(ws, buf)
    console.feed("/pipeline list")
    console.feed(":press 1")
    text = buf.getvalue()
    assert "Your pipeline: 60 applications, page 1 of " in text
    assert "[1] Next" in text
    assert "[updated for alice, in #cohort]" in text
    assert "Your pipeline: 60 applications, page 2 of " in text
    assert "[1] Previous" in text and "[2] Next" in text


def test_cohort_members_turn_their_pages_in_place(ws: MemoryWorkspace) -> None:
    """/cohort members (issue 16): its Next and group buttons show the list's other page or
    group in the pressed message; every page fits every platform."""
    ws.command("alice", "/cohort setup Europe/Berlin 2026-11-02")
    for i in range(45):
        ws.command(f"m{i:02d} {'N' * 50}", "/settings")
    first = one(ws.command("alice", "/cohort members"))
    assert isinstance(first.outbound.target, Ephemeral)
    shown = walk(ws, first, who="alice")
    assert len(shown) >= 3
    for k, d in enumerate(shown, 1):
        assert page_of(d) == (k, len(shown))
        fits(d.reply)
    listed = "\n".join(d.reply.text for d in shown)
    assert all(f"- m{i:02d} " in listed for i in range(45))
    group = one(ws.press("alice", button(first, "On track")))
    assert isinstance(group.outbound.target, InPlace) and group.outbound.target.whole
