"""Correcting interviews (issue 12, defect 9): move, cancel, and no silent doubles."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from adapters.memory import MemoryWorkspace
from bot.db.models import Member
from bot.db.pipeline_models import Interview
from bot.db.schedule_models import OutboxMessage
from tests.helpers import text_of as _text


def _interviews(ws: MemoryWorkspace) -> list[tuple[datetime, str | None]]:
    with ws.app.sessions() as s:
        return [(i.at, i.kind) for i in s.scalars(select(Interview).order_by(Interview.at))]


def _queue_thank_you(ws: MemoryWorkspace, name: str = "alice") -> int:
    """A pending thank-you reminder for the member's only interview, as the nudge job leaves
    it in the outbox; returns the interview's id."""
    with ws.app.sessions() as s:
        member = s.scalars(select(Member).where(Member.display_name == name)).one()
        iv = s.scalars(select(Interview).where(Interview.member_id == member.id)).one()
        s.add(
            OutboxMessage(
                dedupe_key=f"test:thank-you:i{iv.id}",
                workspace_id=member.workspace_id,
                member_id=member.id,
                kind="thank-you",
                subject=f"i{iv.id}",
                local_date=date(2026, 11, 25),
                payload={},
                due_at=datetime(2026, 11, 25, 16, 0, tzinfo=UTC),
                status="pending",
                attempts=0,
                next_attempt_at=datetime(2026, 11, 25, 16, 0, tzinfo=UTC),
                created_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            )
        )
        s.commit()
        return iv.id


def _pending_thank_yous(ws: MemoryWorkspace) -> list[str]:
    with ws.app.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage.subject).where(
                    OutboxMessage.kind == "thank-you", OutboxMessage.status == "pending"
                )
            )
        )


def test_booking_again_near_the_same_time_offers_to_move_instead_of_doubling(
    ws: MemoryWorkspace,
) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 14:00 technical")
    out = ws.command("alice", "/pipeline interview acme 2026-11-25 15:00 technical")
    assert "You already have a technical with Acme on Wed 25 Nov 2026, 14:00 (UTC)" in _text(out)
    assert out[0].outbound.refusal
    assert _interviews(ws) == [(datetime(2026, 11, 25, 14, 0, tzinfo=UTC), "technical")]
    move, second = out[0].reply.buttons
    assert (move.label, second.label) == ("Move it", "Add a second one")

    out = ws.press("alice", move)
    assert "Moved the technical with Acme from Wed 25 Nov 2026, 14:00 (UTC) to Wed 25 Nov " in (
        _text(out)
    )
    assert _interviews(ws) == [(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), "technical")]


def test_the_same_booking_twice_is_recorded_once(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 14:00 phone")
    out = ws.command("alice", "/pipeline interview acme 2026-11-25 14:00 phone")
    assert "is already recorded" in _text(out)
    assert len(_interviews(ws)) == 1


def test_a_second_one_can_still_be_added_on_purpose(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 10:00 onsite")
    out = ws.command("alice", "/pipeline interview acme 2026-11-25 13:00 onsite")
    ws.press("alice", out[0].reply.buttons[1])
    assert len(_interviews(ws)) == 2
    # A different kind the same afternoon is a real second interview: no question asked.
    out = ws.command("alice", "/pipeline interview acme 2026-11-25 15:00 manager")
    assert "Noted: manager with Acme" in _text(out)
    assert len(_interviews(ws)) == 3


def test_reschedule_moves_the_interview_and_drops_its_queued_thank_you(
    ws: MemoryWorkspace,
) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 14:00 technical")
    _queue_thank_you(ws)
    out = ws.command("alice", "/pipeline reschedule acme 2026-11-26")
    # A day alone keeps the time of day.
    assert "to Thu 26 Nov 2026, 14:00 (UTC)" in _text(out)
    assert _interviews(ws) == [(datetime(2026, 11, 26, 14, 0, tzinfo=UTC), "technical")]
    assert _pending_thank_yous(ws) == []


def test_cancel_removes_the_interview_and_its_thank_you(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 14:00 technical")
    _queue_thank_you(ws)
    out = ws.command("alice", "/pipeline cancel-interview acme")
    assert "Removed the technical with Acme on Wed 25 Nov 2026, 14:00 (UTC)" in _text(out)
    assert _interviews(ws) == []
    assert _pending_thank_yous(ws) == []
    assert "Interview:" not in _text(out)


def test_several_interviews_ask_which_one_with_buttons(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-20 10:00 phone")
    ws.command("alice", "/pipeline interview acme 2026-11-27 10:00 onsite")
    ws.command("alice", "/pipeline interview acme 2026-11-25 10:00 technical")
    out = ws.command("alice", "/pipeline cancel-interview acme")
    assert "You have 3 interviews with Acme. Which one?" in _text(out)
    labels = [b.label for b in out[0].reply.buttons]
    # Upcoming first, soonest first; then the past.
    assert labels == [
        "technical: Wed 25 Nov 10:00",
        "onsite: Fri 27 Nov 10:00",
        "phone: Fri 20 Nov 10:00",
    ]
    assert len(_interviews(ws)) == 3
    ws.press("alice", out[0].reply.buttons[1])
    assert [k for _, k in _interviews(ws)] == ["phone", "technical"]
    # Naming the kind picks one without asking.
    out = ws.command("alice", "/pipeline reschedule acme 2026-11-26 09:30 kind technical")
    assert "Moved the technical with Acme" in _text(out)


def test_nobody_else_can_press_an_interview_button(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline interview acme 2026-11-25 10:00 phone")
    ws.command("alice", "/pipeline interview acme 2026-11-27 10:00 onsite")
    out = ws.command("alice", "/pipeline cancel-interview acme")
    ws.user("mallory")
    out = ws.press("mallory", out[0].reply.buttons[0])
    assert "isn't for you" in _text(out)
    assert len(_interviews(ws)) == 2
