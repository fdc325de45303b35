"""Scheduled work. Each job is a pure function of (now, session, env) returning what to send;
the runner puts that into the outbox (idempotently) and only decides when to call the jobs.
Tests and the console call them with a fixed now."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.content import Content
from bot.outbox import Scheduled, enqueue, oldest_finished, prune

log = logging.getLogger("cohortbot.jobs")

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight: ticks align to it


@dataclass(frozen=True)
class JobEnv:
    settings: Settings
    content: Content
    dry_run: bool = False  # /cohort preview: compute, but write nothing


JobFn = Callable[[datetime, Session, JobEnv], list[Scheduled]]
# The earliest instant after `after` at which the job could produce something, given what is
# stored now (None: nothing until the stored state changes). It may be early, never late:
# running a job for nothing costs a tick, skipping one loses a message.
WakeFn = Callable[[datetime, Session, JobEnv], datetime | None]
SOON = timedelta(microseconds=1)  # a wake-up at `after + SOON` means: at the next tick


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    every: timedelta
    wake: WakeFn | None = None

    def next_tick(self, after: datetime) -> datetime:
        """The first tick instant strictly after `after`, aligned to `every` since EPOCH."""
        return EPOCH + ((after - EPOCH) // self.every + 1) * self.every

    def tick_at_or_after(self, when: datetime) -> datetime:
        return self.next_tick(when - timedelta(microseconds=1))

    def ticks(self, after: datetime, until: datetime) -> list[datetime]:
        """Tick instants in (after, until], aligned to multiples of `every` since EPOCH."""
        step = self.every
        first = EPOCH + ((after - EPOCH) // step + 1) * step
        out: list[datetime] = []
        t = first
        while t <= until:
            out.append(t)
            t += step
        return out


_JOBS: dict[str, Job] = {}
_WAKES: dict[str, WakeFn] = {}


def job(name: str, every: timedelta = timedelta(minutes=5)) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        _JOBS[name] = Job(name, fn, every)
        return fn

    return register


def wakes(name: str) -> Callable[[WakeFn], WakeFn]:
    """Declares when job `name` next needs to run, beside the job: a simulated clock can then
    jump from one instant that matters to the next instead of ticking every interval."""

    def register(fn: WakeFn) -> WakeFn:
        _WAKES[name] = fn
        return fn

    return register


def registered_jobs() -> list[Job]:
    return [replace(j, wake=_WAKES.get(j.name, j.wake)) for j in _JOBS.values()]


@contextmanager
def collector_paused() -> Iterator[None]:
    """A fan-out allocates hundreds of thousands of short-lived objects, and on CPython 3.11
    each of its automatic collections re-walks everything still alive: a quarter of a
    100,000-member tick went there. Reference counting still frees as it goes; the cycle
    collector resumes when the job ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class JobRunner:
    """Runs jobs at each of their ticks between two instants, in time order, and enqueues
    what they produce. A failing job is logged and does not stop the others."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        env: JobEnv,
        jobs: list[Job] | None = None,
    ) -> None:
        self.sessions = sessions
        self.env = env
        self._jobs = jobs
        # When each job last ran in this process. A job that never ran here runs at once (a
        # restart catches up: jobs are idempotent and look back over what is still useful).
        self.last_run: dict[str, datetime] = {}

    @property
    def jobs(self) -> list[Job]:
        return self._jobs if self._jobs is not None else registered_jobs()

    def run_at(self, now: datetime, jobs: list[Job] | None = None) -> int:
        """Run the jobs once at `now`; returns how many new messages were queued."""
        queued = 0
        for j in jobs if jobs is not None else self.jobs:
            session = self.sessions()
            try:
                with collector_paused():
                    produced = j.fn(now, session, self.env)
                    queued += enqueue(session, produced, now)
                    session.commit()
            except Exception:
                session.rollback()
                log.exception("job failed", extra={"job": j.name})
            finally:
                session.close()
        return queued

    def next_wake(self, j: Job, after: datetime) -> datetime:
        """The tick at which job `j`, last run at `after`, next needs to run."""
        if j.wake is None:
            return j.next_tick(after)
        with self.sessions() as session:
            when = j.wake(after, session, self.env)
        if when is None:
            return datetime.max.replace(tzinfo=UTC)
        return max(j.tick_at_or_after(when), j.next_tick(after))

    def next_run(self, j: Job, now: datetime) -> datetime:
        """When job `j` is next due, as seen at `now`: at once if it never ran in this process,
        else at the tick it declares after its last run, asked again now (members may have
        changed what it would do since). A wake-up already past means at the next tick."""
        last = self.last_run.get(j.name)
        if last is None:
            return now
        try:
            return self.next_wake(j, last)
        except Exception:
            # The database may be away: try at the next tick rather than never.
            log.exception("wake-up check failed", extra={"job": j.name})
            return j.next_tick(last)

    def run_due(self, now: datetime) -> tuple[int, datetime]:
        """Run every job due at `now`; returns how many messages were queued and when the next
        job is due. Production, the console and the tests all follow this one schedule."""
        due = [j for j in self.jobs if self.next_run(j, now) <= now]
        queued = self.run_at(now, due) if due else 0
        for j in due:
            self.last_run[j.name] = now
        upcoming = min(
            (self.next_run(j, now) for j in self.jobs), default=datetime.max.replace(tzinfo=UTC)
        )
        return queued, upcoming

    def schedule(self, start: datetime, end: datetime) -> list[tuple[datetime, list[Job]]]:
        """Every tick in (start, end] with the jobs due at it, in time order."""
        plan: dict[datetime, list[Job]] = {}
        for j in self.jobs:
            for t in j.ticks(start, end):
                plan.setdefault(t, []).append(j)
        return sorted(plan.items())


@job("outbox-prune", every=timedelta(minutes=30))
def prune_outbox(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    """Delete sent, failed and expired messages older than the retention period: a year of
    daily drills for 2,000 members would otherwise be 732,000 rows. Sends nothing."""
    if not env.dry_run:
        prune(session, now - timedelta(days=env.settings.outbox_retention_days))
    return []


@wakes("outbox-prune")
def next_prune(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """When the oldest finished message passes the retention period (None: nothing to keep
    track of). A backlog larger than one run's share is due again at once."""
    oldest = oldest_finished(session)
    if oldest is None:
        return None
    return max(after + SOON, oldest + timedelta(days=env.settings.outbox_retention_days))
