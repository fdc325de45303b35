"""What every benchmark shares: databases to run on, bulk loading, timing and the result table."""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db import migrate
from bot.db.session import make_engine

PG_URL = os.environ.get(
    "COHORTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Monday, 18:00 UTC: past 09:00 local in every zone the seeds use, and still Monday in each.
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London")


# -- timing --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): the value at or below which q% of samples lie."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def rss_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in kB, from /proc/self/status."""
    found = {"VmRSS": 0, "VmHWM": 0}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in found:
                found[key] = int(line.split()[1])
    return found["VmRSS"], found["VmHWM"]


# -- databases -----------------------------------------------------------------------------


@dataclass
class Database:
    """One migrated database: a SQLite file or a private PostgreSQL schema."""

    kind: str  # "sqlite" | "postgres"
    url: str
    engine: Engine
    schema: str | None = None

    def app(self) -> App:
        settings = load_settings(database_url=self.url, export_dir=tempfile.gettempdir())
        return build_app(settings, ManualClock(NOW), engine=self.engine, upgrade=False)

    def connect_args(self) -> dict[str, Any]:
        return {"options": f"-csearch_path={self.schema}"} if self.schema else {}


def pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_URL}: {exc}"


class Databases:
    """Creates databases on demand and removes every one of them at the end, even on error."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="cohortbot-bench-"))
        self.schemas: list[str] = []
        self.engines: list[Engine] = []
        self._admin: Engine | None = None

    def new(self, kind: str, name: str) -> Database:
        if kind == "sqlite":
            url = f"sqlite:///{self.tmp / (name + '.db')}"
            engine = make_engine(url)
            migrate.upgrade(engine)
            self.engines.append(engine)
            return Database(kind, url, engine)
        schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        if self._admin is None:
            self._admin = make_engine(PG_URL)
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.schemas.append(schema)
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        migrate.upgrade(engine)
        self.engines.append(engine)
        return Database(kind, PG_URL, engine, schema)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        if self._admin is not None:
            with self._admin.begin() as conn:
                for schema in self.schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            self._admin.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def databases() -> Iterator[Databases]:
    dbs = Databases()
    try:
        yield dbs
    finally:
        dbs.close()


# -- bulk loading --------------------------------------------------------------------------


def _sqlite_value(v: object) -> object:
    # The formats SQLAlchemy's SQLite types write, so the ORM reads these rows back unchanged.
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict | list):
        return json.dumps(v)
    return v


def _pg_value(v: object) -> object:
    if isinstance(v, dict | list):
        return json.dumps(v)
    return v


def bulk_insert(
    engine: Engine, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """Set-based load: COPY on PostgreSQL, one executemany on SQLite. Datetimes are naive UTC,
    as the UTCDateTime column stores them."""
    cols = ", ".join(columns)
    raw = engine.raw_connection()
    n = 0
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([_pg_value(v) for v in row])
                    n += 1
        else:
            marks = ", ".join("?" for _ in columns)
            batch: list[tuple[object, ...]] = []
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= 50_000:
                    cur.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
                n += len(batch)
        cur.close()
        raw.commit()
    finally:
        raw.close()
    return n


def after_load(engine: Engine, tables_with_ids: Iterable[str]) -> None:
    """Move PostgreSQL's id sequences past the loaded ids and gather planner statistics, as
    autovacuum would on a live database. SQLite gets nothing: production never ANALYZEs it."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for t in tables_with_ids:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {t}), 0) + 1, false)"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


# -- results -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the result table."""

    figure: str
    db: str
    measure: str
    value: str
    baseline: str
    ratio: float | None
    floor: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        mark = "" if row.ok is None else (" ok" if row.ok else " MISSED")
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        print(
            f"  [{row.db}] {row.figure}: {row.measure}: {row.value} vs {row.baseline} "
            f"({ratio}){mark}",
            flush=True,
        )

    def table(self) -> str:
        head = "| figure | db | measure | value | baseline | ratio | floor | ok |"
        lines = [head, "|" + "---|" * 8]
        for r in self.rows:
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
            ok = "" if r.ok is None else ("yes" if r.ok else "**no**")
            lines.append(
                f"| {r.figure} | {r.db} | {r.measure} | {r.value} | {r.baseline} | {ratio} "
                f"| {r.floor} | {ok} |"
            )
        return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def save_section(section: str, text_: str, path: Path | None = None) -> None:
    """Replace `section` (a "## ..." heading and what follows it up to the next one) in
    bench/RESULTS.md with `text_`, or add it at the end, keeping every other section."""
    path = path or Path(__file__).resolve().parent / "RESULTS.md"
    doc = path.read_text() if path.exists() else ""
    start = doc.find(section)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text_
    else:
        end = doc.find("\n## ", start + len(section))
        doc = doc[:start] + text_ + ("" if end < 0 else doc[end + 1 :])
    path.write_text(doc.rstrip("\n") + "\n")
