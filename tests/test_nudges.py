"""Nudges: the pipeline turned into DMs at the right local time, each once, with Done /
Snooze / Stop and the filled letter; on SQLite and PostgreSQL with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.pipeline_models import Application
from tests.helpers import with_nudges
from tests.scheduling import dms_to, local

PARIS = "Europe/Paris"


def _titles(out: list[Delivery]) -> list[str]:
    return [d.reply.title or "" for d in out]


def _button(d: Delivery, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in d.reply.buttons if b.label == label)


def test_offer_sends_one_alternatives_letter_per_other_company_and_one_reminder(
    ws: MemoryWorkspace,
) -> None:
    with_nudges(ws, PARIS)
    for company in ("Acme", "Globex", "Initech", "Umbrella"):
        ws.command("bob", f"/pipeline add {company} stage applied")
    ws.command("bob", "/pipeline add Hooli stage rejected")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-04 17:00")
    out = dms_to(ws.advance(timedelta(hours=1)), "bob")
    letters = [d for d in out if any(b.action == "nudge.altsent" for b in d.reply.buttons)]
    assert len(letters) == 3
    for d in letters:
        assert "Acme" in d.text
        assert [b.label for b in d.reply.buttons] == ["Sent", "Done", "Snooze 1 day", "Stop these"]
    named = {
        c
        for c in ("Globex", "Initech", "Umbrella")
        for d in letters
        if (d.reply.title or "").endswith(c)
    }
    assert named == {"Globex", "Initech", "Umbrella"}  # never Hooli (rejected), never Acme
    # Mark one as sent; the reminder two days later lists only the other two, once.
    globex = next(d for d in letters if (d.reply.title or "").endswith("Globex"))
    [ok] = ws.press("bob", _button(globex, "Sent"))
    assert "Globex" in ok.text
    out = dms_to(ws.advance(timedelta(days=3)), "bob")
    reminders = [d for d in out if d.reply.title == "Alternatives letters: a reminder"]
    assert len(reminders) == 1
    assert "Initech" in reminders[0].text and "Umbrella" in reminders[0].text
    assert "Globex" not in reminders[0].text
    assert not [d for d in out if any(b.action == "nudge.altsent" for b in d.reply.buttons)]


def test_deadline_reminders_3d_1d_and_morning_of(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage interview")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-30 17:00")  # Monday
    out = dms_to(ws.advance(timedelta(days=8)), "bob")
    got = [(d.reply.title, local(d, PARIS)) for d in out if "deadline" in (d.reply.title or "")]
    assert [t for t, _ in got] == [
        "Offer deadline in 3 days",
        "Offer deadline in 1 day",
        "Offer deadline today",
    ]
    when = [t for _, t in got]
    assert when[0].date() == datetime(2026, 11, 27).date() and when[0].hour == 17
    assert when[1].date() == datetime(2026, 11, 29).date() and when[1].hour == 17
    assert when[2].date() == datetime(2026, 11, 30).date() and when[2].hour == 9
    assert all(9 <= t.hour < 20 for t in when)  # a sensible local hour


def test_weekend_and_exploding_offers(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-28 12:00")  # Sat, within 72 h? no
    ws.command("bob", "/pipeline add Globex stage onsite")
    ws.command("bob", "/pipeline offer Globex deadline 2026-11-24 18:00")  # ~33 h: exploding
    out = dms_to(ws.advance(timedelta(hours=1)), "bob")
    texts = "\n".join(d.text for d in out)
    assert "Acme's deadline falls on a Saturday" in texts
    assert "Globex gives you under 72 hours" in texts
    assert "Acme gives you under 72 hours" not in texts


def test_thank_you_after_the_interview_unless_marked(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage screen")
    ws.command("bob", "/pipeline add Globex stage screen")
    ws.command("bob", "/pipeline interview Acme 2026-11-23 14:00 technical")
    ws.command("bob", "/pipeline interview Globex 2026-11-23 15:00")
    # bob thanks Globex before the bot asks.
    with ws.app.sessions() as s:
        iv = s.scalars(select(Application).where(Application.company == "Globex")).one()
        iv_id = iv.interviews[0].id
    ws.press_id("bob", f"pipeline.thanked|{iv_id}")
    out = dms_to(ws.advance(timedelta(days=2)), "bob")
    thanks = [d for d in out if "thank-you" in d.text]
    assert len(thanks) == 1 and "Acme" in thanks[0].text
    assert local(thanks[0], PARIS).hour == 15  # one hour after a 14:00 interview


def test_stale_application_follow_up(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("bob", "/pipeline add Globex stage applied")
    ws.advance(timedelta(days=5))
    ws.command("bob", "/pipeline move Globex screen")  # Globex moves; Acme stays still
    out = dms_to(ws.advance(timedelta(days=6)), "bob")
    follow = [d for d in out if "Nothing has moved" in d.text]
    assert len(follow) == 1 and "Acme" in follow[0].text
    assert ws.app.settings.stale_days == 10


def test_far_apart_deadlines(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline add Globex stage onsite")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-27 17:00")
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-11 17:00")
    out = dms_to(ws.advance(timedelta(hours=1)), "bob")
    far = [d for d in out if "comes well before" in d.text]
    assert len(far) == 1
    assert "Acme's deadline comes well before Globex's" in far[0].text


def test_accepted_offer_declines_the_rest_then_review(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    for company in ("Acme", "Globex", "Initech"):
        ws.command("bob", f"/pipeline add {company} stage interview")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-04 17:00")
    ws.command("bob", "/pipeline move Acme accepted")
    out = dms_to(ws.advance(timedelta(hours=2)), "bob")
    declines = [d for d in out if any(b.action == "nudge.declined" for b in d.reply.buttons)]
    assert sorted((d.reply.title or "").split(" to ")[-1] for d in declines) == [
        "Globex",
        "Initech",
    ]
    [closed] = ws.press("bob", _button(declines[0], "Sent and close"))
    assert "Closed" in closed.text and "withdrawn" in closed.text
    out = dms_to(ws.advance(timedelta(days=3)), "bob")
    assert [d.reply.title for d in out if d.reply.title == "Your post-offer review"] == [
        "Your post-offer review"
    ]


def test_sensible_hour_snooze_and_stop(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # 23:00 in Paris
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("bob", "/pipeline add Globex stage applied")
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-11 17:00")
    out = dms_to(ws.advance(timedelta(hours=12)), "bob")
    [alt] = [d for d in out if any(b.action == "nudge.altsent" for b in d.reply.buttons)]
    assert local(alt, PARIS).hour == 9  # not at 23:00: next morning
    [snoozed] = ws.press("bob", _button(alt, "Snooze 1 day"))
    assert "Snoozed" in snoozed.text
    again = dms_to(ws.advance(timedelta(days=1)), "bob")
    assert [d.reply.title for d in again if d.reply.title == alt.reply.title] == [alt.reply.title]
    [stop] = ws.press("bob", _button(alt, "Stop these"))
    assert "no more alternatives letters" in stop.text
    ws.command("bob", "/pipeline add Initech stage applied")
    ws.command("bob", "/pipeline offer Initech deadline 2026-12-12 17:00")
    later = dms_to(ws.advance(timedelta(days=1)), "bob")
    assert not [d for d in later if any(b.action == "nudge.altsent" for b in d.reply.buttons)]


def test_nudges_are_private_and_buttons_cannot_be_forged(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("bob", "/pipeline add Globex stage applied")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-04 17:00")
    out = ws.advance(timedelta(hours=1))
    assert out and all(d.seen_by("bob") and not d.seen_by("eve") for d in out)
    alt = next(d for d in out if any(b.action == "nudge.altsent" for b in d.reply.buttons))
    [refused] = ws.press("eve", _button(alt, "Sent"))
    assert "isn't for you" in refused.text
    with ws.app.sessions() as s:
        globex = s.scalars(select(Application).where(Application.company == "Globex")).one()
    [refused] = ws.press_id("eve", f"nudge.declined|{globex.id}")
    assert "isn't for you" in refused.text


def test_a_stopped_kind_is_remembered(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    [r] = ws.press_id("bob", "nudge.stop|follow-up")
    assert "no more follow-up reminders" in r.text
    ws.command("bob", "/pipeline add Acme stage applied")
    assert not [d for d in ws.advance(timedelta(days=12)) if "Nothing has moved" in d.text]
    [bad] = ws.press_id("bob", "nudge.stop|bogus")
    assert "out of date" in bad.text
