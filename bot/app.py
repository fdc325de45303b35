"""Wiring: settings -> engine -> migrations -> router. Shared by the CLI, adapters and tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content import Content, get_content
from bot.db import migrate
from bot.db.session import make_engine, make_sessionmaker
from bot.jobs import JobEnv, JobRunner
from bot.router import Router


class NotMigrated(Exception):
    pass


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    content: Content
    router: Router
    jobs: JobRunner


def build_app(
    settings: Settings,
    clock: Clock | None = None,
    *,
    engine: Engine | None = None,
    upgrade: bool | None = None,
) -> App:
    """Build the core. SQLite databases are upgraded automatically; PostgreSQL must be upgraded
    deliberately (`cohortbot db upgrade`), so that several replicas never race on a migration."""
    engine = engine or make_engine(settings.database_url)
    if upgrade is None:
        upgrade = make_url(settings.database_url).drivername.startswith("sqlite")
    if upgrade:
        migrate.upgrade(engine)
    elif not migrate.is_up_to_date(engine):
        raise NotMigrated(
            "The database schema is not up to date: run `cohortbot db upgrade` first."
        )
    content = get_content(settings.extra_content_dirs)
    sessions = make_sessionmaker(engine)
    clock = clock or SystemClock()
    router = Router(settings, sessions, clock, content)
    jobs = JobRunner(sessions, JobEnv(settings, content))
    return App(settings, engine, sessions, clock, content, router, jobs)
