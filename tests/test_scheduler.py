"""Delivery that does not lose or repeat: the daily drill DM across DST, pauses and off days,
missed jobs after downtime, and platform failures. Controlled clock; no sleeps."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.memory import MemoryWorkspace
from bot.db.models import Member
from bot.db.schedule_models import OutboxMessage
from bot.delivery import DeliveryError, RateLimited
from bot.jobs import Job
from bot.outbox import Scheduled
from tests.scheduling import dms_to, local, only_jobs

ZONES = {"paula": "Europe/Paris", "luis": "America/Los_Angeles", "kiran": "Asia/Kolkata"}


def _members(ws: MemoryWorkspace) -> None:
    for name, zone in ZONES.items():
        ws.command(name, f"/settings tz {zone}")
        ws.command(name, "/settings days everyday")


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (datetime(2026, 10, 21, 12, 0, tzinfo=UTC), 14),  # EU 25 Oct and US 1 Nov (autumn)
        (datetime(2027, 3, 11, 12, 0, tzinfo=UTC), 20),  # US 14 Mar and EU 28 Mar (spring)
    ],
)
def test_daily_drill_at_0900_local_across_dst(
    ws: MemoryWorkspace, start: datetime, days: int
) -> None:
    ws.clock.set(start)
    _members(ws)
    only_jobs(ws, "daily-drill")
    # Whoever is already past 09:00 today gets today's drill at once; then the schedule runs.
    ws.advance(timedelta(minutes=5))
    out = ws.advance(timedelta(days=days))
    for name, zone in ZONES.items():
        dms = dms_to(out, name)
        assert len(dms) == days, (name, len(dms))
        got = [local(d, zone) for d in dms]
        assert all((t.hour, t.minute) == (9, 0) for t in got), (name, got)
        assert len({t.date() for t in got}) == days  # one per local day, every day


def test_not_when_paused_not_on_off_days_not_twice(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/cohort setup Europe/Paris 2026-11-23")
    _members(ws)
    ws.command("paula", "/settings pause until 2026-11-25")
    ws.command("luis", "/settings days mon,wed")
    ws.command("alice", "/cohort offday add 2026-11-26")
    only_jobs(ws, "daily-drill")
    out = ws.advance(timedelta(days=5))  # Mon 23 08:00 UTC .. Sat 28 08:00 UTC
    paula = sorted(local(d, "Europe/Paris").date() for d in dms_to(out, "paula"))
    # "Until the 25th" means back on the 25th (the 26th is an off day).
    assert paula == [date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)]
    luis = [local(d, "America/Los_Angeles").date() for d in dms_to(out, "luis")]
    assert luis == [date(2026, 11, 23), date(2026, 11, 25)]
    kiran = [local(d, "Asia/Kolkata").date() for d in dms_to(out, "kiran")]
    assert date(2026, 11, 26) not in kiran and len(kiran) == len(set(kiran))
    # Running the job again at the same moment queues nothing new.
    before = len(ws.transcript)
    assert ws.app.jobs.run_at(ws.clock.now()) == 0
    ws.flush()
    assert len(ws.transcript) == before


def test_daily_dm_can_be_answered(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz Europe/Paris")
    only_jobs(ws, "daily-drill")
    [dm] = dms_to(ws.advance(timedelta(hours=2)), "bob")
    drill_id = dm.reply.buttons[0].value
    [fb] = ws.command("bob", "/drill skip", where=ws.dm("bob"))
    assert drill_id in (fb.reply.title or "")
    # The next day's DM is a different drill even though this one was never rated.
    [dm2] = dms_to(ws.advance(timedelta(days=1)), "bob")
    assert dm2.reply.buttons[0].value != drill_id


def test_missed_while_down(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz Europe/Paris")
    ws.command("bob", "/pipeline add Acme stage applied")
    ws.command("bob", "/pipeline add Globex stage interview")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-27 17:00")
    only_jobs(ws, "daily-drill", "nudges")
    # The bot is down from Mon 08:00 UTC until Wed 10:00 UTC: no ticks at all.
    ws.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    ws.app.jobs.run_at(ws.clock.now())  # the first tick after start-up
    sent = ws.flush()
    kinds = sorted(d.reply.title or "" for d in sent)
    # Today's drill (09:00 Paris has passed) is still useful; Monday's and Tuesday's are not.
    drills = [d for d in sent if d.reply.title and d.reply.title.startswith("A new drill")]
    assert len(drills) == 1
    # The deadline is Friday: the 3-day reminder is still useful and arrives, saying how long
    # is left when it is sent (2 days and some hours by Wednesday 10:00).
    assert any(t.startswith("Offer deadline in 2 days") for t in kinds), kinds
    with ws.app.sessions() as s:
        n = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "drill")
        )
    assert n == 1


def test_queued_but_expired_is_dropped(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz Europe/Paris")
    only_jobs(ws, "daily-drill")
    ws.failures.extend(DeliveryError("503 from the platform") for _ in range(20))
    ws.advance(timedelta(hours=2))  # queued at 09:00 Paris, fails and retries
    ws.failures.clear()
    ws.clock.set(datetime(2026, 11, 24, 0, 30, tzinfo=UTC))  # after midnight in Paris
    ws.flush()
    with ws.app.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.status == "dropped"
    assert not dms_to(ws.transcript, "bob")


def test_failures_lose_nothing_and_block_nobody(ws: MemoryWorkspace) -> None:
    for name in ("ann", "ben", "cat", "dan"):
        ws.command(name, "/settings tz UTC")
    only_jobs(ws, "daily-drill")
    ws.closed_dms.add("ben")
    ws.failures.extend([DeliveryError("500 internal error"), RateLimited(1.0)])
    out = ws.advance(timedelta(hours=2))  # 09:00 UTC
    got = {d.outbound.target.user.display_name for d in out}  # type: ignore[union-attr]
    assert got == {"ann", "cat", "dan"}  # the 500 and the 429 were retried; ben is closed
    assert all(len(dms_to(out, n)) == 1 for n in ("ann", "cat", "dan"))
    with ws.app.sessions() as s:
        ben = s.scalars(select(Member).where(Member.display_name == "ben")).one()
        assert ben.undeliverable
        statuses = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    assert statuses == {"sent": 3, "undeliverable": 1}
    # Undeliverable members are skipped from now on, without another attempt.
    attempts = ws.send_attempts
    out = ws.advance(timedelta(days=1))
    assert not dms_to(out, "ben") and ws.send_attempts == attempts + 3


def test_outbox_enqueue_is_idempotent(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz UTC")
    only_jobs(ws, "daily-drill")
    t = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert ws.app.jobs.run_at(t) == 1
    assert ws.app.jobs.run_at(t) == 0
    assert ws.app.jobs.run_at(t + timedelta(minutes=5)) == 0


def test_jobs_run_with_the_cycle_collector_paused_and_resume_it(ws: MemoryWorkspace) -> None:
    seen: list[bool] = []

    def looks(now: datetime, session: object, env: object) -> list[Scheduled]:
        seen.append(gc.isenabled())
        return []

    def fails(now: datetime, session: object, env: object) -> list[Scheduled]:
        seen.append(gc.isenabled())
        raise RuntimeError("a job bug")

    jobs = [Job("looks", looks, timedelta(minutes=5)), Job("fails", fails, timedelta(minutes=5))]
    assert gc.isenabled()
    assert ws.app.jobs.run_at(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), jobs) == 0
    assert seen == [False, False]
    assert gc.isenabled()  # back on, even after a job that failed
