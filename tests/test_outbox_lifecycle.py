"""The outbox over a member's life (issue 15): one daily drill per member and local day
whatever two replicas pick (item 10); a member cut off by closed DMs is reachable again when
they use the bot, and told once what they missed (item 12); finished rows are pruned after
the retention period by a registered job, and forget-me takes the member out of messages
stored for others (item 13). Real SQLite and PostgreSQL, a controlled clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from adapters.memory import MemoryWorkspace
from bot.config import load_settings
from bot.db.models import Member
from bot.db.ownership import delete_member
from bot.db.schedule_models import OutboxMessage
from bot.jobs import JobEnv, JobRunner, registered_jobs
from bot.members import get_workspace
from bot.outbox import Scheduled, enqueue
from bot.types import DM, Channel, Conversation, Field, Outbound, Reply, User
from tests.scheduling import dms_to, only_jobs

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _member(ws: MemoryWorkspace, name: str) -> Member:
    with ws.app.sessions() as s:
        return s.scalars(select(Member).where(Member.display_name == name)).one()


# -- item 10 ----------------------------------------------------------------------------


def test_two_replicas_picking_different_drills_queue_one(ws: MemoryWorkspace) -> None:
    """The outbox side: whatever the daily job records, two daily-drill rows for one member
    and local day that name different drills are one row (the key leaves the drill out)."""
    ws.command("bob", "/settings tz UTC")
    bob = _member(ws, "bob")
    user = ws.user("bob")

    def pick(drill: str, day: date) -> Scheduled:
        return Scheduled(
            Outbound(DM(user), Reply(drill)),
            workspace_id=bob.workspace_id,
            kind="drill",
            subject=drill,
            local_date=day,
            due_at=MONDAY_9,
            member_id=bob.id,
        )

    monday = date(2026, 11, 23)
    with ws.app.sessions.begin() as s:
        assert enqueue(s, [pick("beh-001", monday)], MONDAY_9) == 1
    with ws.app.sessions.begin() as s:  # the other replica, which picked another drill
        assert enqueue(s, [pick("sys-002", monday)], MONDAY_9) == 0
        assert enqueue(s, [pick("sys-002", monday + timedelta(days=1))], MONDAY_9) == 1
    with ws.app.sessions() as s:
        rows = s.execute(select(OutboxMessage.subject, OutboxMessage.local_date)).all()
    assert sorted(rows) == [("beh-001", monday), ("sys-002", monday + timedelta(days=1))]


# -- item 12 ----------------------------------------------------------------------------


def test_a_member_cut_off_is_reachable_again_and_told_once(ws: MemoryWorkspace) -> None:
    for name in ("ann", "ben"):
        ws.command(name, "/settings tz UTC")
    only_jobs(ws, "daily-drill")
    ws.closed_dms.add("ben")
    ws.advance(MONDAY_9 + timedelta(minutes=5) - ws.clock.now())
    assert _member(ws, "ben").undeliverable
    out = ws.advance(timedelta(days=1))  # Tuesday: ben is skipped while marked
    assert dms_to(out, "ann") and not dms_to(out, "ben")
    # Ben opens his DMs again and uses a command: the answer says what he missed, once.
    ws.closed_dms.clear()
    first = ws.command("ben", "/settings show")
    assert "you missed 1 daily drill" in first[-1].text
    assert not _member(ws, "ben").undeliverable
    again = ws.command("ben", "/settings show")
    assert all("missed" not in d.text for d in again)
    out = ws.advance(timedelta(days=1))  # Wednesday: ben's drill comes again
    assert len(dms_to(out, "ben")) == 1


def test_a_member_back_after_todays_drill_time_gets_the_next_drill_not_todays_late(
    ws: MemoryWorkspace,
) -> None:
    """Ann's drill at 10:00 runs the daily job after ben is back at 9:05: his Tuesday drill
    (skipped at 9:00 while he was cut off) must not come then, an hour late; Wednesday's does."""
    for name in ("ann", "ben"):
        ws.command(name, "/settings tz UTC")
    ws.command("ann", "/settings drill-time 10:00")
    only_jobs(ws, "daily-drill")
    ws.closed_dms.add("ben")
    ws.advance(MONDAY_9 + timedelta(days=1, minutes=5) - ws.clock.now())
    ws.closed_dms.clear()
    assert "you missed 1 daily drill" in ws.command("ben", "/settings show")[-1].text
    wednesday_9 = MONDAY_9 + timedelta(days=2)
    out = ws.advance(wednesday_9 - timedelta(minutes=1) - ws.clock.now())
    assert dms_to(out, "ann") and not dms_to(out, "ben")
    out = ws.advance(timedelta(minutes=6))
    assert len(dms_to(out, "ben")) == 1


def test_a_member_back_before_todays_drill_time_gets_todays_drill(ws: MemoryWorkspace) -> None:
    ws.command("ben", "/settings tz UTC")
    only_jobs(ws, "daily-drill")
    ws.closed_dms.add("ben")
    ws.advance(MONDAY_9 + timedelta(minutes=5) - ws.clock.now())
    assert _member(ws, "ben").undeliverable
    ws.clock.set(MONDAY_9 + timedelta(hours=23))  # Tuesday 8:00, before his drill time
    ws.closed_dms.clear()
    ws.command("ben", "/settings show")
    out = ws.advance(timedelta(hours=1, minutes=5))
    assert len(dms_to(out, "ben")) == 1


def test_a_still_useful_message_is_sent_when_the_member_is_back(ws: MemoryWorkspace) -> None:
    ws.command("ben", "/settings tz UTC")
    only_jobs(ws, "daily-drill")
    ws.closed_dms.add("ben")
    ws.advance(MONDAY_9 + timedelta(minutes=5) - ws.clock.now())
    assert _member(ws, "ben").undeliverable
    ws.closed_dms.clear()
    ws.clock.set(MONDAY_9 + timedelta(hours=2))  # today's drill is still today's
    out = ws.command("ben", "/settings show")
    assert "on their way" in out[0].text
    assert len(dms_to(out, "ben")) == 1  # today's drill, delivered by the flush


# -- item 13 ----------------------------------------------------------------------------


def _row(ws_id: int, key: str, status: str, created: datetime) -> Scheduled:
    user = User("memory", "W1", f"U-{key}", key)
    return Scheduled(
        Outbound(DM(user), Reply(key)),
        workspace_id=ws_id,
        kind="test",
        subject=f"{key}-{status}",
        local_date=created.date(),
        due_at=created,
        target_key=f"{key}-{status}",
    )


def test_finished_rows_are_pruned_after_the_retention_by_a_registered_job(
    ws: MemoryWorkspace,
) -> None:
    (prune_job,) = [j for j in registered_jobs() if j.name == "outbox-prune"]
    settings = load_settings(database_url=ws.app.settings.database_url, outbox_retention_days=30)
    runner = JobRunner(ws.app.sessions, JobEnv(settings, ws.app.jobs.env.content), [prune_job])
    now = MONDAY_9
    with ws.app.sessions.begin() as s:
        ws_id = get_workspace(s, "memory", "W1", now).id
        for age, status in [
            (40, "sent"),
            (40, "failed"),
            (40, "dropped"),
            (40, "pending"),
            (20, "sent"),
            (31, "undeliverable"),
        ]:
            created = now - timedelta(days=age)
            enqueue(s, [_row(ws_id, f"d{age}", status, created)], created)
        for row in s.scalars(select(OutboxMessage)):
            row.status = row.subject.split("-")[1]
    # When it next needs to run: when the oldest finished row passes 30 days, i.e. now.
    assert runner.next_wake(prune_job, now - timedelta(minutes=1)) <= now
    runner.run_at(now)
    with ws.app.sessions() as s:
        left = sorted(s.scalars(select(OutboxMessage.subject)))
    assert left == ["d20-sent", "d40-pending"]  # pending rows are never pruned
    later = runner.next_wake(prune_job, now)
    assert now + timedelta(days=9) < later <= now + timedelta(days=10, minutes=30)


def test_forget_me_removes_the_member_from_every_stored_payload(ws: MemoryWorkspace) -> None:
    for name in ("Zoë", "ann"):
        ws.command(name, "/settings show")
    zoe, ann = _member(ws, "Zoë"), _member(ws, "ann")
    now = ws.clock.now()
    board = Reply(
        "1. ann: 12 points, 3 drills, streak 2\n2. Zoë: 10 points, 2 drills, streak 1\n\n"
        "The cohort: 5 drills by 2 members.",
        title="Leaderboard",
        fields=(Field("Job hunt (shared by choice)", "Zoë: 4 applications"),),
    )
    pairing = Reply(
        "This week you practise with Zoë. Agree on a 45-minute slot by DM.\n"
        "When you interview Zoë (behavioural): tell me about a conflict.\n"
        "Take turns: 20 minutes each.",
        title="Mock interview",
    )
    items = [
        Scheduled(
            Outbound(Channel(Conversation("channel", "C-cohort", "cohort"), "memory", "W1"), board),
            workspace_id=zoe.workspace_id,
            kind="leaderboard",
            subject="weekly",
            local_date=date(2026, 11, 23),
            due_at=now,
            target_key="c1",
        ),
        Scheduled(
            Outbound(DM(User("memory", "W1", "U-ann", "ann")), pairing),
            workspace_id=ann.workspace_id,
            kind="mock",
            subject="week",
            local_date=date(2026, 11, 23),
            due_at=now,
            member_id=ann.id,
        ),
    ]
    with ws.app.sessions.begin() as s:
        enqueue(s, items, now)
        # One was already sent: history is scrubbed too.
        s.execute(
            OutboxMessage.__table__.update()
            .where(OutboxMessage.kind == "leaderboard")
            .values(status="sent")
        )
    with ws.app.sessions.begin() as s:
        counts = delete_member(s, zoe.id)
    assert counts["outbox"] == 2
    with ws.app.sessions() as s:
        payloads = {r.kind: r.payload for r in s.scalars(select(OutboxMessage))}
    text = json.dumps(payloads, ensure_ascii=False)
    assert "Zoë" not in text and "Zo\\u00eb" not in json.dumps(payloads)
    board_reply = payloads["leaderboard"]["reply"]
    assert board_reply["text"].startswith("1. ann: 12 points")  # others stay as they were
    assert "10 points" not in board_reply["text"] and board_reply["fields"] == []
    assert payloads["mock"]["reply"]["text"] == "Take turns: 20 minutes each."
