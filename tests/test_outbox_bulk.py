"""The outbox's set-based paths at fan-out sizes: more rows than one SQLite statement may bind,
re-enqueues that overlap, and rows that read back and send exactly as they were queued."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from bot.app import App
from bot.db.bulk import insert_new, rows_among
from bot.db.schedule_models import OutboxMessage
from bot.members import get_member
from bot.outbox import Dispatcher, Scheduled, enqueue, queued_keys
from bot.types import DM, Button, Outbound, Reply, User

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SHARED = Reply(
    "Prompt with \"quotes\", a back\\slash, {braces}, <!channel> and 'ünïcödé' ✓",
    title="Daily drill",
    buttons=(Button("drill:reveal", "beh-001", "Reveal"),),
)


def _items(app: App, numbers: range) -> list[Scheduled]:
    with app.sessions.begin() as s:
        host = get_member(s, User("memory", "W1", "U-host", "host"), app.settings, NOW)
        ws_id = host.workspace_id
    return [
        Scheduled(
            Outbound(DM(User("memory", "W1", f"U{i}", f"m{i}")), SHARED, key=f"given-{i}"),
            workspace_id=ws_id,
            kind="bulk",
            subject="beh-001",
            local_date=date(2026, 11, 23),
            due_at=NOW + timedelta(minutes=i % 7),
            expires_at=None if i % 2 else NOW + timedelta(hours=16),
            target_key=f"u{i}",
        )
        for i in numbers
    ]


def test_enqueue_counts_only_new_rows_past_statement_limits(app: App) -> None:
    first = _items(app, range(2500))
    with app.sessions.begin() as s:
        assert enqueue(s, first, NOW) == 2500
    # Overlapping with everything already queued: only the 500 new ones count and land.
    with app.sessions.begin() as s:
        assert enqueue(s, _items(app, range(2000, 3000)), NOW) == 500
    with app.sessions.begin() as s:
        assert enqueue(s, _items(app, range(3000)), NOW) == 0
        assert enqueue(s, [], NOW) == 0
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3000
        keys = [i.dedupe_key for i in _items(app, range(2990, 3010))]
        assert queued_keys(s, keys) == set(keys[:10])
        assert len(queued_keys(s, [i.dedupe_key for i in first])) == 2500
        wanted = [i.dedupe_key for i in first] + ["nobody|bulk|x|2026-11-23"]
        stmt = select(OutboxMessage.dedupe_key, OutboxMessage.subject)
        rows = rows_among(s, stmt, OutboxMessage.dedupe_key, wanted)
        assert sorted(k for k, _ in rows) == sorted(wanted[:-1])
        assert rows_among(s, stmt, OutboxMessage.dedupe_key, []) == []


def test_an_over_long_value_is_refused_not_cut_short(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths, for the ORM either")
    with app.sessions() as s, pytest.raises(DataError):
        host = get_member(s, User("memory", "W1", "U-host", "host"), app.settings, NOW)
        row = {
            "dedupe_key": "k",
            "workspace_id": host.workspace_id,
            "member_id": None,
            "kind": "x" * 41,  # String(40)
            "subject": "s",
            "local_date": date(2026, 11, 23),
            "payload": {},
            "due_at": NOW,
            "expires_at": None,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
        insert_new(s, OutboxMessage.__table__, [row], key="dedupe_key")


@pytest.mark.slow
def test_bulk_rows_read_back_and_send_as_queued(app: App) -> None:
    items = _items(app, range(1200))
    with app.sessions.begin() as s:
        enqueue(s, items, NOW)
    with app.sessions() as s:
        rows = {r.dedupe_key: r for r in s.scalars(select(OutboxMessage))}
    for item in (items[0], items[1], items[1199]):
        row = rows[item.dedupe_key]
        assert row.due_at == item.due_at and row.due_at.tzinfo is not None
        assert row.next_attempt_at == item.due_at
        assert row.expires_at == item.expires_at
        assert row.created_at == NOW
        assert (row.status, row.attempts, row.local_date) == ("pending", 0, date(2026, 11, 23))
        assert (row.payload["key"], row.payload["uncertain"]) == (item.outbound.key, False)
    sent: list[Outbound] = []
    report = Dispatcher(app.sessions, sent.append, batch=500).drain(NOW + timedelta(hours=1))
    assert report.sent == 1200 and len(sent) == 1200
    by_user = {o.target.user.user_id: o for o in sent}  # type: ignore[attr-defined]
    assert by_user["U7"].reply == SHARED
    # A key given at enqueue is kept (a reply's first try carried it); the platform comes
    # from the target.
    assert (by_user["U7"].key, by_user["U7"].platform) == ("given-7", "memory")
