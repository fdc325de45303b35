"""Production follows the schedule the jobs declare, the same one the console and tests use."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from adapters.serve import start_scheduler
from bot.app import App
from bot.clock import ManualClock
from bot.jobs import Job, JobEnv, JobRunner
from bot.outbox import Scheduled

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2027, 3, 1, 8, 7, tzinfo=UTC)  # not on a quarter hour: the first run catches up


class Counting:
    """A job every 15 minutes whose wake-up says "not before 09:00" until told otherwise."""

    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self.not_before: datetime | None = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def fn(self, now: datetime, _s: Session, _e: JobEnv) -> list[Scheduled]:
        self.runs.append(now)
        return []

    def wake(self, after: datetime, _s: Session, _e: JobEnv) -> datetime | None:
        return self.not_before or after


@pytest.fixture
def counting(app: App) -> Iterator[Counting]:
    c = Counting()
    job = Job("counting", c.fn, timedelta(minutes=15), c.wake)
    app.jobs = JobRunner(app.sessions, app.jobs.env, jobs=[job])
    yield c


def test_run_due_runs_at_start_then_at_declared_ticks_and_wakes(
    app: App, counting: Counting
) -> None:
    runner = app.jobs
    queued, upcoming = runner.run_due(T0)
    assert counting.runs == [T0] and queued == 0
    assert upcoming == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # the wake-up, on a tick
    for minute in range(1, 53):  # a minute-by-minute loop must not run it at 08:15 ... 08:59
        runner.run_due(T0 + timedelta(minutes=minute))
    assert counting.runs == [T0]
    runner.run_due(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    # State changed (a member set an earlier time): asked again, the next tick is honoured.
    counting.not_before = None
    _, upcoming = runner.run_due(datetime(2027, 3, 1, 9, 5, tzinfo=UTC))
    assert upcoming == datetime(2027, 3, 1, 9, 15, tzinfo=UTC)
    runner.run_due(datetime(2027, 3, 1, 9, 15, tzinfo=UTC))
    assert counting.runs == [
        T0,
        datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 1, 9, 15, tzinfo=UTC),
    ]


def _until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


class WatchedClock(ManualClock):
    """Counts how often the jobs loop read the time, so the test knows it went round."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.reads = 0

    def now(self) -> datetime:
        if threading.current_thread().name == "cohortbot-jobs":
            self.reads += 1
        return super().now()

    def seen(self, times: int = 3) -> None:
        target = self.reads + times
        _until(lambda: self.reads >= target)


@pytest.mark.slow
def test_serve_loop_follows_the_declared_schedule_not_a_fixed_tick(
    app: App, counting: Counting
) -> None:
    clock = WatchedClock(T0)
    app.clock = clock
    counting.not_before = None
    stop = threading.Event()
    loop = threading.Thread(
        target=start_scheduler,
        args=(app, {}, stop),
        kwargs={"tick_seconds": 0.02, "dispatch_seconds": 0.02},
        daemon=True,
    )
    loop.start()
    try:
        _until(lambda: len(counting.runs) == 1)
        # Forty simulated minutes in one-minute steps, each seen by several loop rounds.
        for _ in range(40):
            clock.advance(timedelta(minutes=1))
            clock.seen()  # the loop looked at this minute (several times)
        _until(lambda: counting.runs[-1] >= datetime(2027, 3, 1, 8, 45, tzinfo=UTC))
    finally:
        stop.set()
        loop.join(timeout=10)
    assert counting.runs == [
        T0,
        datetime(2027, 3, 1, 8, 15, tzinfo=UTC),
        datetime(2027, 3, 1, 8, 30, tzinfo=UTC),
        datetime(2027, 3, 1, 8, 45, tzinfo=UTC),
    ]
