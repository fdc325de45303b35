"""Defects the invariant simulations found (tests/test_invariants.py), each kept here as a
plain scenario once understood."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory import MemoryWorkspace
from tests.scheduling import dms_to, local, only_jobs

PARIS = "Europe/Paris"


def test_an_evening_deadline_is_announced_once_on_its_day(ws: MemoryWorkspace) -> None:
    """An evening deadline's "1 day" reminder, moved out of the night, arrived on the
    deadline's morning beside the morning-of reminder, both saying "Offer deadline today"."""
    ws.command("bob", f"/settings tz {PARIS}")
    only_jobs(ws, "nudges")
    ws.command("bob", "/pipeline add Acme stage onsite")
    # Monday 09:00 Paris now; the deadline is Friday 22:00, so "1 day before" is Thursday
    # 22:00, too late to send: it would move to Friday 09:00, the deadline's own morning
    # (and "3 days before", Tuesday 22:00, comes on Wednesday morning as "in 2 days").
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-27 22:00")
    out = dms_to(ws.advance(timedelta(days=5)), "bob")
    reminders = [d for d in out if (d.reply.title or "").startswith("Offer deadline")]
    by_day: dict[str, list[str]] = {}
    for d in reminders:
        by_day.setdefault(f"{local(d, PARIS):%a}", []).append(d.reply.title or "")
    assert by_day == {"Wed": ["Offer deadline in 2 days"], "Fri": ["Offer deadline today"]}


def test_two_acceptances_get_one_post_offer_review(ws: MemoryWorkspace) -> None:
    """Two copies of "Your post-offer review" on one day, one per accepted application."""
    ws.command("bob", f"/settings tz {PARIS}")
    only_jobs(ws, "nudges")
    for company in ("Acme", "Globex"):
        ws.command("bob", f"/pipeline add {company} stage onsite")
        ws.command("bob", f"/pipeline offer {company} deadline 2026-12-04 17:00")
    ws.advance(timedelta(hours=2))
    ws.command("bob", "/pipeline move Acme accepted")
    ws.advance(timedelta(hours=1))
    ws.command("bob", "/pipeline move Globex accepted")  # changed their mind, or a slip
    out = dms_to(ws.advance(timedelta(days=4)), "bob")
    reviews = [d for d in out if d.reply.title == "Your post-offer review"]
    assert len(reviews) == 1
