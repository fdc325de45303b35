"""Which rows belong to a member: every column with a foreign key to members.id.

`/settings export` and `forget-me` read this from the metadata, so a table added by a later
feature is covered without anyone remembering to add it here. Forget-me also takes the member
out of messages stored for others (a leaderboard post, a partner's pairing DM).
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
    """Delete every row that belongs to the member, and every mention of them in messages
    stored for others; return the count per table."""
    from bot.outbox import forget_in_payloads, recipient_of  # the outbox imports the models

    counts: dict[str, int] = {}
    members = Base.metadata.tables["members"]
    workspaces = Base.metadata.tables["workspaces"]
    who = session.execute(
        select(
            members.c.workspace_id,
            members.c.display_name,
            members.c.platform_user_id,
            workspaces.c.platform,
            workspaces.c.external_id,
        )
        .join(workspaces, workspaces.c.id == members.c.workspace_id)
        .where(members.c.id == member_id)
    ).first()
    for oc in owned_columns():
        result = session.execute(delete(oc.table).where(oc.column == member_id))
        n = int(getattr(result, "rowcount", 0) or 0)
        if n:
            counts[oc.table.name] = counts.get(oc.table.name, 0) + n
    if who is not None:
        dm = {
            "type": "dm",
            "user": {"workspace_id": who.external_id, "user_id": who.platform_user_id},
        }
        n = forget_in_payloads(
            session,
            who.workspace_id,
            who.display_name,
            who.platform_user_id,
            recipient_of(dm, who.platform),
        )
        if n:
            counts["outbox"] = counts.get("outbox", 0) + n
    result = session.execute(delete(members).where(members.c.id == member_id))
    counts["members"] = int(getattr(result, "rowcount", 0) or 0)
    session.expunge_all()
    return counts
