"""Set-based reads and writes for jobs that touch every member at once.

Why not plain SQLAlchemy here: a 10,000-member tick spent most of its time turning long
IN-lists and multi-row VALUES into SQL text (psycopg re-parses every such statement), not in
the database. PostgreSQL gets one array parameter instead (`= ANY`, `unnest`); SQLite, which
has no such cost, keeps small IN-lists and a driver-level executemany."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, Row, Select, String, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.db.session import is_postgres

SQLITE_CHUNK = 900  # under SQLite's oldest limit of 999 bound variables per statement
PG_SLICE = 5000  # rows per unnest INSERT: past some tens of thousands it grows worse than linear


# The parameter that carries the values of `among`, `rows_among` and `Among`.
AMONG = "among_values"


@lru_cache(maxsize=512)
def _among_clause(column: InstrumentedAttribute[Any], postgres: bool) -> ColumnElement[bool]:
    """`column IN values` with the values as a parameter, built once per column: one
    `= ANY(array)` on PostgreSQL, an expanding IN-list on SQLite."""
    if postgres:
        return column == any_(bindparam(AMONG, type_=ARRAY(column.type)))
    return column.in_(bindparam(AMONG, expanding=True))


def _chunks(session: Session, values: Sequence[Any]) -> Iterator[list[Any]]:
    """The values at once on PostgreSQL, in chunks under SQLite's bound-variable limit."""
    if not values:
        return
    if is_postgres(session.get_bind()):
        yield list(values)
        return
    for start in range(0, len(values), SQLITE_CHUNK):
        yield list(values[start : start + SQLITE_CHUNK])


def among(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]
) -> Iterator[tuple[ColumnElement[bool], dict[str, list[Any]]]]:
    """(WHERE clause, its parameters) pairs that together select `column IN values`, however
    many values there are: one on PostgreSQL, a chunk each on SQLite; nothing for no values.
    The clause is the same for every chunk; only the parameters change."""
    where = _among_clause(column, is_postgres(session.get_bind()))
    for chunk in _chunks(session, values):
        yield where, {AMONG: chunk}


def rows_among(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    column: InstrumentedAttribute[Any],
    values: Sequence[Any],
) -> list[Row[*tuple[Any, ...]]]:
    """The rows of `stmt` restricted to `column IN values`, however many values there are.
    On SQLite the rows come chunk by chunk: an ORDER BY holds within each value, not across."""
    out: list[Row[*tuple[Any, ...]]] = []
    for where, params in among(session, column, values):
        out.extend(session.execute(stmt.where(where), params).all())
    return out


class Among:
    """`rows_among` for a statement that runs at every tick, built once (on both databases)
    rather than at each call: building a statement costs more than running a small one, and
    SQLAlchemy caches the compiled form of a statement object it has seen."""

    def __init__(self, stmt: Select[*tuple[Any, ...]], column: InstrumentedAttribute[Any]):
        self._stmts = {pg: stmt.where(_among_clause(column, pg)) for pg in (False, True)}

    def rows(
        self, session: Session, values: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> list[Row[*tuple[Any, ...]]]:
        """The rows for these values; `params` gives the statement's own named parameters."""
        out: list[Row[*tuple[Any, ...]]] = []
        stmt = self._stmts[is_postgres(session.get_bind())]
        for chunk in _chunks(session, values):
            out.extend(session.execute(stmt, {**(params or {}), AMONG: chunk}).all())
        return out


def insert_new(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str | tuple[str, ...]
) -> int:
    """Insert `rows` (all with the same columns, every column given: Python-side defaults
    are not applied), skipping any whose `key` column (or columns, together) is already
    taken; returns how many were inserted. One statement on PostgreSQL, one executemany on
    SQLite. Values go through each column's own type, so they read back as if the ORM had
    written them."""
    if not rows:
        return 0
    conn = session.connection()
    dialect = conn.dialect
    names = list(rows[0])
    columns = [table.c[n] for n in names]
    encoded = [_encode(table.c[n], [r[n] for r in rows], dialect) for n in names]
    cols = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    target = dialect.identifier_preparer.format_table(table)
    keys = (key,) if isinstance(key, str) else key
    unique = ", ".join(dialect.identifier_preparer.quote(k) for k in keys)
    if dialect.name == "postgresql":
        # unnest turns one array per column back into rows: the statement's text never
        # grows with the number of rows, so the driver parses it once. Binary (%b) arrays
        # skip the per-character quoting that text arrays of JSON would need.
        arrays = ", ".join(
            f"CAST(%(c{i})b AS {_array_of(col, dialect)}[])" for i, col in enumerate(columns)
        )
        sql = (
            f"INSERT INTO {target} ({cols}) SELECT * FROM unnest({arrays}) "  # noqa: S608
            f"ON CONFLICT ({unique}) DO NOTHING"
        )
        # In slices: one statement per 100,000 rows took twenty times as long as 10,000.
        added = 0
        for start in range(0, len(rows), PG_SLICE):
            params = {f"c{i}": v[start : start + PG_SLICE] for i, v in enumerate(encoded)}
            added += int(conn.exec_driver_sql(sql, params).rowcount)
        return added
    marks = ", ".join("?" for _ in names)
    sql = (
        f"INSERT INTO {target} ({cols}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    # sqlite3 sums the rows each execution changed; a skipped conflict changes none.
    result = conn.exec_driver_sql(sql, list(zip(*encoded, strict=True)))
    return int(result.rowcount)


def _array_of(column: Any, dialect: Any) -> str:
    # An explicit cast to VARCHAR(n) would cut an over-long value short without a word;
    # from TEXT, the insert itself refuses it, as an ORM insert would.
    if isinstance(column.type, String):
        return "TEXT"
    return str(column.type.compile(dialect=dialect))


def _encode(column: Any, values: list[Any], dialect: Any) -> list[Any]:
    if isinstance(column.type, JSON):
        # Drivers wrap JSON values in their own adapters, which cannot go inside an array:
        # plain text is what both backends accept (cast to json[] on PostgreSQL).
        return [None if v is None else json.dumps(v) for v in values]
    process = column.type.bind_processor(dialect)
    if process is None:
        return values
    # Jobs repeat the same dates, times and kinds across thousands of rows: encode each once.
    seen: dict[Any, Any] = {}
    out: list[Any] = []
    for v in values:
        try:
            out.append(seen[v])
        except KeyError:
            seen[v] = encoded = process(v)
            out.append(encoded)
        except TypeError:  # unhashable (a JSON payload): encoded every time
            out.append(process(v))
    return out
