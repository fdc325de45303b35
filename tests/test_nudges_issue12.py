"""Issue 12's nudge defects, each reproduced through the workspace: nothing about the other
processes after an accepted offer, queued nudges cancelled when their process closes, a booked
interview is movement, one request for more time per offer, Stop and Snooze reach what is
already queued, and a snoozed deadline reminder counts its days again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.schedule_models import OutboxMessage
from tests.helpers import with_nudges
from tests.scheduling import dms_to, local

PARIS = "Europe/Paris"


def _kind(d: Delivery) -> str:
    """The nudge kind a DM carries, from its Done button ("kind:subject")."""
    done = next((b for b in d.reply.buttons if b.action == "nudge.done"), None)
    return done.value.partition(":")[0] if done is not None else ""


def _night(ws: MemoryWorkspace) -> None:
    """23:00 in Paris: what the job finds now is queued for 09:00, not sent at once."""
    ws.clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))


def _pending(ws: MemoryWorkspace, kind: str) -> list[str]:
    with ws.app.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage.subject).where(
                    OutboxMessage.kind == kind, OutboxMessage.status == "pending"
                )
            )
        )


def test_after_accepting_the_others_get_only_their_decline_letter(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    for company in ("Acme", "Globex", "Initech"):
        ws.command("bob", f"/pipeline add {company} stage interview")
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-04 17:00")
    ws.command("bob", "/pipeline interview Initech 2026-11-24 10:00")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-02 17:00")
    ws.command("bob", "/pipeline move Acme accepted")
    out = dms_to(ws.advance(timedelta(days=14)), "bob")
    assert {_kind(d) for d in out} == {"accepted", "review"}
    declines = [d for d in out if _kind(d) == "accepted"]
    assert sorted((d.reply.title or "").rsplit(" to ", 1)[-1] for d in declines) == [
        "Globex",
        "Initech",
    ]


def test_a_process_reopened_after_accepting_is_nudged_again(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline add Globex stage interview")
    ws.command("bob", "/pipeline move Acme accepted")
    ws.advance(timedelta(days=1))
    ws.command("bob", "/pipeline move Globex onsite")  # the member reopens it
    ws.command("bob", "/pipeline interview Globex 2026-11-25 10:00")
    out = dms_to(ws.advance(timedelta(days=2)), "bob")
    assert [d for d in out if _kind(d) == "thank-you" and "Globex" in d.text]


def test_queued_nudges_about_a_process_are_dropped_when_it_closes(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    _night(ws)
    for company in ("Acme", "Globex", "Initech"):
        ws.command("bob", f"/pipeline add {company} stage applied")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-11 17:00")
    ws.advance(timedelta(minutes=15))
    assert len(_pending(ws, "alternatives")) == 2  # to Globex and Initech, for 09:00
    ws.command("bob", "/pipeline move Globex rejected")
    out = dms_to(ws.advance(timedelta(hours=12)), "bob")
    letters = [d for d in out if _kind(d) == "alternatives"]
    assert [(d.reply.title or "").rsplit(" to ", 1)[-1] for d in letters] == ["Initech"]


def test_queued_nudges_about_a_removed_application_are_dropped(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    _night(ws)
    for company in ("Acme", "Globex", "Initech"):
        ws.command("bob", f"/pipeline add {company} stage applied")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-11 17:00")
    ws.advance(timedelta(minutes=15))
    assert len(_pending(ws, "alternatives")) == 2
    [confirm] = ws.command("bob", "/pipeline remove Globex")
    [yes] = [b for b in confirm.reply.buttons if b.action == "pipeline.remove"]
    ws.press("bob", yes)
    out = dms_to(ws.advance(timedelta(hours=12)), "bob")
    assert all("Globex" not in d.text for d in out)
    assert [
        (d.reply.title or "").rsplit(" to ", 1)[-1] for d in out if _kind(d) == "alternatives"
    ] == ["Initech"]


def test_accepting_drops_what_was_queued_about_the_others(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    _night(ws)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline add Globex stage onsite")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-28 12:00")  # a Saturday
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-18 17:00")
    ws.advance(timedelta(minutes=15))
    assert _pending(ws, "extension")
    ws.command("bob", "/pipeline move Globex accepted")
    out = dms_to(ws.advance(timedelta(days=3)), "bob")
    assert {_kind(d) for d in out} == {"accepted", "review"}
    assert not _pending(ws, "extension")


def test_a_booked_interview_is_movement(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Atlassian stage applied")
    ws.advance(timedelta(days=5))
    ws.command("bob", "/pipeline interview Atlassian 2026-12-06 10:00")  # booked on 28 Nov
    # Day 12 of no stage move, the interview still ahead: nothing is stale.
    quiet = dms_to(ws.advance(timedelta(days=7)), "bob")
    assert not [d for d in quiet if "Nothing has moved" in d.text]
    # The clock restarts from the interview (6 Dec): quiet until 16 Dec, then one follow-up.
    quiet = dms_to(ws.advance(datetime(2026, 12, 15, 20, 0, tzinfo=UTC)), "bob")
    assert not [d for d in quiet if "Nothing has moved" in d.text]
    later = dms_to(ws.advance(timedelta(days=3)), "bob")
    [follow] = [d for d in later if "Nothing has moved" in d.text]
    assert local(follow, PARIS).date() == datetime(2026, 12, 16).date()


def test_one_request_for_more_time_per_offer(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline add Globex stage onsite")
    # Acme: under 72 hours, on a Saturday, and well before Globex's deadline.
    ws.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # Thursday
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-28 12:00")
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-11 17:00")
    out = dms_to(ws.advance(timedelta(days=3)), "bob")
    more_time = [d for d in out if _kind(d) in ("extension", "exploding", "far-apart")]
    more_time += [d for d in out if _kind(d) == "deadline-weekend"]
    [acme] = more_time
    assert "Acme gives you under 72 hours" in acme.text  # the strongest reason leads
    assert "well before Globex's" in acme.text and "Saturday" in acme.text


def test_a_weekend_deadline_moves_to_the_next_business_day(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-19 12:00")  # a Saturday
    out = dms_to(ws.advance(timedelta(hours=2)), "bob")
    [letter] = [d for d in out if _kind(d) == "extension"]
    assert "Acme's deadline falls on a Saturday" in letter.text
    assert "Mon 21 Dec 2026" in letter.text and "28 Dec" not in letter.text
    assert "other conversations" not in letter.text  # its own wording, nothing invented


def test_old_extension_buttons_still_work(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    [r] = ws.press_id("bob", "nudge.stop|exploding")
    assert "Stopped" in r.text
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-25 12:00")
    out = dms_to(ws.advance(timedelta(hours=2)), "bob")
    assert not [d for d in out if _kind(d) == "extension"]


def test_stop_drops_what_is_already_queued(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    _night(ws)
    for company in ("Acme", "Globex", "Initech"):
        ws.command("bob", f"/pipeline add {company} stage applied")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-11 17:00")
    ws.advance(timedelta(minutes=15))
    assert len(_pending(ws, "alternatives")) == 2
    [stop] = ws.press_id("bob", "nudge.stop|alternatives")
    assert "no more alternatives letters" in stop.text
    out = dms_to(ws.advance(timedelta(hours=12)), "bob")
    assert not [d for d in out if _kind(d) == "alternatives"]


def test_snooze_leaves_no_queued_copy(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    _night(ws)
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("bob", "/pipeline add Globex stage applied")
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-11 17:00")
    ws.advance(timedelta(minutes=15))
    [subject] = _pending(ws, "alternatives")
    [r] = ws.press_id("bob", f"nudge.snooze|alternatives:{subject}")
    assert "Snoozed" in r.text
    out = dms_to(ws.advance(timedelta(days=2)), "bob")
    letters = [d for d in out if _kind(d) == "alternatives"]
    assert len(letters) == 1  # the snoozed one, once: not also the copy that was queued
    assert local(letters[0], PARIS).date() == datetime(2026, 11, 24).date() + timedelta(days=1)


def test_a_snoozed_deadline_reminder_counts_the_days_again(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage interview")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-30 17:00")  # Monday
    out = dms_to(ws.advance(datetime(2026, 11, 27, 17, 0, tzinfo=UTC)), "bob")
    [three] = [d for d in out if d.reply.title == "Offer deadline in 3 days"]
    snooze = next(b for b in three.reply.buttons if b.label == "Snooze 1 day")
    ws.press("bob", snooze)
    out = dms_to(ws.advance(timedelta(days=1)), "bob")
    titles = [d.reply.title for d in out]
    assert "Offer deadline in 2 days" in titles and "Offer deadline in 3 days" not in titles


def test_a_snoozed_reminder_that_a_later_one_replaces_is_not_sent(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage interview")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-30 17:00")
    out = dms_to(ws.advance(datetime(2026, 11, 29, 17, 0, tzinfo=UTC)), "bob")
    [one] = [d for d in out if d.reply.title == "Offer deadline in 1 day"]
    ws.press("bob", next(b for b in one.reply.buttons if b.label == "Snooze 1 day"))
    out = dms_to(ws.advance(timedelta(days=1)), "bob")
    # The morning-of reminder says it; the snoozed "1 day" does not come back as a second one.
    assert [d.reply.title for d in out if _kind(d) == "deadline"] == ["Offer deadline today"]


def test_decline_letters_stop_once_closed(ws: MemoryWorkspace) -> None:
    with_nudges(ws, PARIS)
    ws.command("bob", "/pipeline add Acme stage onsite")
    ws.command("bob", "/pipeline add Globex stage onsite")
    ws.command("bob", "/pipeline move Acme accepted")
    out = dms_to(ws.advance(timedelta(hours=2)), "bob")
    [decline] = [d for d in out if _kind(d) == "accepted"]
    ws.press("bob", next(b for b in decline.reply.buttons if b.label == "Sent and close"))
    ws.press("bob", next(b for b in decline.reply.buttons if b.label == "Snooze 1 day"))
    later = dms_to(ws.advance(timedelta(days=8)), "bob")
    assert not [d for d in later if "Globex" in d.text]
