"""One daily drill per member per local day, whatever the timing (issue 15, item 10): two
replicas that tick together and pick different drills (the member practised in between) used
to queue both, since the outbox's key names the drill. Replica A is paused between its pick
and its first write while replica B runs to the end; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from adapters.memory import MemoryWorkspace
from bot.db import migrate
from bot.db.drill_models import DailyDrill
from bot.db.models import Member
from bot.db.schedule_models import OutboxMessage
from bot.db.session import make_engine
from bot.jobs import JobRunner, registered_jobs
from tests.conftest import pg_engine, private_schema
from tests.scheduling import dms_to

MEMBERS = ("bea", "cem")
TICK = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC: everyone's drill time
TODAY = date(2026, 11, 23)


class PauseBeforeFirstWrite:
    """Holds one thread at its first INSERT (after every read of its run, before any write)
    until released: a replica frozen between its pick and its insert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread: threading.Thread | None = None
        self.paused = threading.Event()
        self.resume = threading.Event()
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() is not self.thread or self.paused.is_set():
            return
        if statement.lstrip().upper().startswith("INSERT"):
            self.paused.set()
            assert self.resume.wait(30), "never released"

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)


def _drills_today(ws: MemoryWorkspace) -> dict[str, list[str]]:
    """The drill of every daily DM each member gets for the rest of the day."""
    out = ws.advance(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    return {
        who: [
            d.reply.buttons[0].value
            for d in dms_to(out, who)
            if d.reply.buttons and d.reply.buttons[0].action == "drill.answer"
        ]
        for who in MEMBERS
    }


@pytest.mark.slow
def test_two_replicas_ticking_together_send_one_drill_a_day(
    ws: MemoryWorkspace, db: tuple[str, Engine]
) -> None:
    for who in MEMBERS:
        ws.command(who, "/drill stats")  # joins at 08:00: today's 09:00 drill is the first
    [daily] = [j for j in registered_jobs() if j.name == "daily-drill"]
    runner = JobRunner(ws.app.sessions, ws.app.jobs.env, [daily])
    ws.app.jobs = runner  # what the workspace runs later: the same job, nothing else
    ws.clock.set(TICK)
    # What replica A is about to pick, from the same state: the job's dry run writes nothing.
    with ws.app.sessions() as s:
        names = dict(s.execute(select(Member.id, Member.display_name)).all())
        planned = {
            names[item.member_id]: item.subject
            for item in daily.fn(TICK, s, replace(runner.env, dry_run=True))
            if item.member_id is not None
        }
    assert set(planned) == set(MEMBERS)
    pause = PauseBeforeFirstWrite(db[1])
    replica_a = threading.Thread(target=runner.run_at, args=(TICK,))
    pause.thread = replica_a
    try:
        replica_a.start()
        assert pause.paused.wait(30), "replica A never reached its first write"
        # While A is frozen after its pick, each member practises that very drill, so that
        # replica B, ticking now, picks another one than A did (never the drill just done).
        for who in MEMBERS:
            ws.command(who, f"/drill next drill {planned[who]}")
            ws.command(who, "/drill skip")
            ws.command(who, "/drill rate good")
        assert runner.run_at(TICK) == len(MEMBERS)
    finally:
        pause.resume.set()
        replica_a.join(30)
        pause.close()
    assert not replica_a.is_alive()
    with ws.app.sessions() as s:
        rows = s.execute(
            select(OutboxMessage.member_id, OutboxMessage.local_date, func.count())
            .where(OutboxMessage.kind == "drill")
            .group_by(OutboxMessage.member_id, OutboxMessage.local_date)
        ).all()
        recorded = dict(s.execute(select(DailyDrill.member_id, DailyDrill.drill_id)).all())
    assert sorted(n for *_, n in rows) == [1] * len(MEMBERS), rows
    # What reaches each member is the drill recorded for the day: one, today.
    got = _drills_today(ws)
    assert all(len(ids) == 1 for ids in got.values()), got
    assert sorted(i for ids in got.values() for i in ids) == sorted(recorded.values())
    assert all(got[who] != [planned[who]] for who in MEMBERS)  # B's picks, not A's


@contextmanager
def _empty_database(kind: str, tmp_path: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with private_schema("mig") as schema:
        engine = pg_engine(schema)
        yield engine
        engine.dispose()


def _queue_old_drills(engine: Engine) -> None:
    """Three daily DMs queued by the old code: one on Friday, two (a race) on Monday."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, platform, external_id, name, created_at) "
                "VALUES (1, 'slack', 'T1', 'w', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO members (id, workspace_id, platform_user_id, display_name, is_admin,"
                " undeliverable, created_at, last_active_at) VALUES (1, 1, 'U1', 'bea', false,"
                " false, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
        for i, (drill, day) in enumerate(
            [("a", "2026-11-20"), ("b", "2026-11-23"), ("c", "2026-11-23")], start=1
        ):
            conn.execute(
                text(
                    "INSERT INTO outbox (id, dedupe_key, workspace_id, member_id, kind, subject,"
                    " local_date, payload, due_at, status, attempts, next_attempt_at,"
                    " created_at) VALUES (:id, :key, 1, 1, 'drill', :drill, :day, '{}',"
                    " '2026-11-20 09:00:00', 'sent', 1, '2026-11-20 09:00:00',"
                    " '2026-11-20 09:00:00')"
                ),
                {"id": i, "key": f"m1|drill|{drill}|{day}", "drill": drill, "day": day},
            )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_migration_carries_queued_drills_over_one_a_day(kind: str, tmp_path: Path) -> None:
    """Daily DMs queued before drill_daily existed are those days' drills: today's is not
    sent again, and where a race already queued two, the first queued stands."""
    with _empty_database(kind, tmp_path) as engine:
        migrate.upgrade(engine, "0007")
        _queue_old_drills(engine)
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    DailyDrill.member_id,
                    DailyDrill.local_date,
                    DailyDrill.drill_id,
                    DailyDrill.outbox_key,
                ).order_by(DailyDrill.local_date)
            ).all()
    assert [tuple(r) for r in rows] == [
        (1, date(2026, 11, 20), "a", "m1|drill|a|2026-11-20"),
        (1, TODAY, "b", "m1|drill|b|2026-11-23"),
    ]
