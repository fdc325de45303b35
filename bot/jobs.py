"""Scheduled work. Each job is a pure function of (now, session, env) returning what to send;
the scheduler only decides when to call it. Tests and the console call it with a fixed now."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.content import Content
from bot.types import Outbound

log = logging.getLogger("cohortbot.jobs")

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight: ticks align to it


@dataclass(frozen=True)
class JobEnv:
    settings: Settings
    content: Content


JobFn = Callable[[datetime, Session, JobEnv], list[Outbound]]


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    every: timedelta

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


def job(name: str, every: timedelta = timedelta(minutes=5)) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        _JOBS[name] = Job(name, fn, every)
        return fn

    return register


def registered_jobs() -> list[Job]:
    return list(_JOBS.values())


Deliver = Callable[[datetime, list[Outbound]], None]


class JobRunner:
    """Runs jobs at each of their ticks between two instants, in time order."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        env: JobEnv,
        jobs: list[Job] | None = None,
    ) -> None:
        self.sessions = sessions
        self.env = env
        self._jobs = jobs

    @property
    def jobs(self) -> list[Job]:
        return self._jobs if self._jobs is not None else registered_jobs()

    def run_at(self, now: datetime, jobs: list[Job] | None = None) -> list[Outbound]:
        out: list[Outbound] = []
        for j in jobs if jobs is not None else self.jobs:
            session = self.sessions()
            try:
                produced = j.fn(now, session, self.env)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("job failed", extra={"job": j.name})
                continue
            finally:
                session.close()
            out.extend(produced)
        return out

    def run_between(self, start: datetime, end: datetime, deliver: Deliver) -> int:
        """Run every tick in (start, end]; hand each tick's messages to `deliver`."""
        schedule: dict[datetime, list[Job]] = {}
        for j in self.jobs:
            for t in j.ticks(start, end):
                schedule.setdefault(t, []).append(j)
        sent = 0
        for t in sorted(schedule):
            produced = self.run_at(t, schedule[t])
            if produced:
                deliver(t, produced)
                sent += len(produced)
        return sent
