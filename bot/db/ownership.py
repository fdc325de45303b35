"""Which rows belong to a member: every column with a foreign key to members.id.

`/settings export` and `forget-me` read this from the metadata, so a table added by a later
feature is covered without anyone remembering to add it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Table, delete, select
from sqlalchemy.orm import Session

from bot.db.models import Base


@dataclass(frozen=True)
class OwnedColumn:
    table: Table
    column: Column[Any]


def owned_columns() -> list[OwnedColumn]:
    """Every (table, column) pointing at members.id, children before parents."""
    out: list[OwnedColumn] = []
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == "members":
            continue
        for col in table.columns:
            if any(fk.column.table.name == "members" for fk in col.foreign_keys):
                out.append(OwnedColumn(table, col))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_member(session: Session, member_id: int) -> dict[str, list[dict[str, Any]]]:
    members = Base.metadata.tables["members"]
    data: dict[str, list[dict[str, Any]]] = {}
    row = session.execute(select(members).where(members.c.id == member_id)).mappings().first()
    data["members"] = [{k: _jsonable(v) for k, v in row.items()}] if row else []
    for oc in owned_columns():
        rows = session.execute(select(oc.table).where(oc.column == member_id)).mappings().all()
        if rows:
            data.setdefault(oc.table.name, []).extend(
                {k: _jsonable(v) for k, v in r.items()} for r in rows
            )
    return data


def delete_member(session: Session, member_id: int) -> dict[str, int]:
    """Delete every row that belongs to the member; return the count per table."""
    counts: dict[str, int] = {}
    for oc in owned_columns():
        result = session.execute(delete(oc.table).where(oc.column == member_id))
        n = int(getattr(result, "rowcount", 0) or 0)
        if n:
            counts[oc.table.name] = counts.get(oc.table.name, 0) + n
    members = Base.metadata.tables["members"]
    result = session.execute(delete(members).where(members.c.id == member_id))
    counts["members"] = int(getattr(result, "rowcount", 0) or 0)
    session.expunge_all()
    return counts
