"""Fixtures: the real core on a real SQLite file and on the machine's real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, inspect, select, text

from adapters.memory import MemoryWorkspace
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.content import Content
from bot.db import migrate
from bot.db.models import Base
from bot.db.session import make_engine
from tests.helpers import builtin_content, slack_in_process, slack_users
from tests.slack_fake import FakeSlack, SlackRig

pytest_plugins = ["tests.discord_fixtures", "tests.slack_fixtures"]

PG_URL = os.environ.get(
    "COHORTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday morning


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (database test) is not reachable: {exc}"


_PG_SKIP: str | bool | None = False


def pg_skip_reason() -> str | None:
    global _PG_SKIP
    if _PG_SKIP is False:
        _PG_SKIP = _pg_available()
    return _PG_SKIP  # type: ignore[return-value]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrations run once per session."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@contextmanager
def private_schema(prefix: str) -> Iterator[str]:
    """A fresh, empty schema on the test database, dropped afterwards; skips the test when
    no PostgreSQL answers."""
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """A private schema on the test database, migrated once; dropped at the end."""
    with private_schema("t") as schema:
        engine = pg_engine(schema)
        migrate.upgrade(engine)
        engine.dispose()
        yield PG_URL, schema


def pg_engine(schema: str, **kw: object) -> Engine:
    # A test database never has to survive a crash of the server: commits that skip the WAL
    # flush are thousands of small transactions cheaper, and read exactly the same.
    return make_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema} -csynchronous_commit=off"}, **kw
    )


_SEQUENCES: dict[str, list[str]] = {}


def truncate_all(engine: Engine) -> None:
    """Every table emptied and every id counter back at 1, as on a fresh database.

    DELETE rather than TRUNCATE: the tables hold a handful of rows between tests, and TRUNCATE
    makes new files for each of ~25 tables (about 0.35 s a test against 10 ms)."""
    with engine.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        if schema not in _SEQUENCES:
            _SEQUENCES[schema] = list(
                conn.exec_driver_sql(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = current_schema()"
                ).scalars()
            )
        sql = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
        sql += [f'ALTER SEQUENCE "{name}" RESTART' for name in _SEQUENCES[schema]]
        conn.exec_driver_sql("; ".join(sql))


# Where the database plays a part (flows that write, the outbox, schema and migrations,
# ownership and forget-me, bulk SQL), a test runs on SQLite and on PostgreSQL. Rendering and
# parsing through an adapter reads and writes the same rows either way: a module or test marked
# `sqlite_only` runs once. COHORTBOT_TEST_ALL_DATABASES=1 runs every test on both again.
ALL_DATABASES = bool(os.environ.get("COHORTBOT_TEST_ALL_DATABASES"))


# The quick loop (`-m "not slow"`) runs on SQLite only: the PostgreSQL run of the same test is
# marked slow and comes with the full run.
POSTGRES = pytest.param("postgres", marks=pytest.mark.slow)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" not in metafunc.fixturenames:
        return
    one = metafunc.definition.get_closest_marker("sqlite_only") and not ALL_DATABASES
    metafunc.parametrize("db", ["sqlite"] if one else ["sqlite", POSTGRES], indirect=True)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores. Much of the suite waits rather than computes
    (subprocesses starting, served HTTP, Retry-After and timeouts waited out), and a third
    worker fills those waits: the whole suite took 4 min 53 s with two workers and 3 min 48 s
    with three on this two-core machine. Since, with three: 2 min 27-29 s; a fourth was no
    steadier (2 min 09 s, then 2 min 39 s, its workers' CPU a quarter more)."""
    return (os.cpu_count() or 1) + 1


# Minutes of work each: `-m "not slow"` (the quick loop) leaves them out with the rest of slow.
SLOW_TOO = ("chaos", "simulation")


# The longest tests, started first: the workers share the rest around them (work stealing).
# Collected in file order, the wheel (then about a minute, now ten seconds) began 3.5 minutes
# into a 4-minute run, and one worker ran it alone at the end.
LONG_FIRST = (
    "tests/test_packaging.py::test_wheel_installs_and_runs_outside_the_checkout",
    "tests/test_organizer_six_weeks.py",
    "tests/test_invariants.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in SLOW_TOO):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))


class SharedPostgres:
    """The worker's schema, one engine for its tests (the schema emptied before each): its
    compiled statements and its connections serve them all. SQLAlchemy keeps the statements it
    compiled per engine: compiling them again for a new engine, and connecting again, in each
    test was a third of what a PostgreSQL test cost. (SQLite keeps an engine per test: each
    test has its own file.)"""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.engine = pg_engine(schema)
        self.retired = 0

    def retire(self) -> None:
        """A new engine for the tests to come: a thread the last test left running may still
        use this one, and must not count among, or write into, the next test's statements."""
        self.engine.dispose()
        self.engine = pg_engine(self.schema)
        self.retired += 1


@pytest.fixture(scope="session")
def shared_pg(pg_schema: tuple[str, str]) -> Iterator[SharedPostgres]:
    shared = SharedPostgres(pg_schema[1])
    yield shared
    shared.engine.dispose()


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(url, engine) for a clean, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
    else:
        url, _schema = request.getfixturevalue("pg_schema")
        shared: SharedPostgres = request.getfixturevalue("shared_pg")
        engine = shared.engine
        truncate_all(engine)
        running = set(threading.enumerate())
        yield url, engine
        if set(threading.enumerate()) - running or engine.pool.checkedout():  # type: ignore[attr-defined]
            shared.retire()


@pytest.fixture
def settings(db: tuple[str, Engine], tmp_path: Path) -> Settings:
    return load_settings(database_url=db[0], export_dir=str(tmp_path / "exports"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(settings: Settings, db: tuple[str, Engine], clock: ManualClock) -> App:
    return build_app(settings, clock, engine=db[1], upgrade=False)


@pytest.fixture
def ws(app: App, clock: ManualClock) -> MemoryWorkspace:
    # The clock jumps from one instant a job declares to the next, as production's scheduler
    # does; tests/test_clock_jumps.py proves it sends what ticking every interval sends.
    # COHORTBOT_TEST_TICK=1 runs every workspace test on the ticking path instead.
    w = MemoryWorkspace(app, clock, jump=not os.environ.get("COHORTBOT_TEST_TICK"))
    w.user("alice", admin=True)
    return w


@pytest.fixture
def slack(app: App) -> Iterator[SlackRig]:
    """The Slack app with a bot token, driven in-process through `SlackBot.dispatch` (signed
    requests into the real Bolt app), its Web API at a local fake. `rig` is the same over the
    served HTTP endpoint, for what only HTTP shows (acks under load, health, the server)."""
    fake = FakeSlack(users=slack_users()).start()
    try:
        with slack_in_process(app, fake, bot_token=SecretStr("xoxb-test")) as rig:
            yield rig
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped content banks, loaded once per module."""
    return builtin_content()


# What every request writes whatever it does, shared between replicas: which requests were
# seen (retry dedupe) and each member's command budget. Not the member's data.
REQUEST_BOOKKEEPING = frozenset({"seen_requests", "member_rates"})


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of members' data, for 'nothing was written' assertions."""
    out: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in REQUEST_BOOKKEEPING:
                continue
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def tables_in(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}
