"""The models and the Alembic migrations describe the same schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from bot.db import migrate
from bot.db.models import Base
from tests.conftest import tables_in


def test_models_and_migrations_agree(db: tuple[str, Engine]) -> None:
    _, engine = db
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert tables_in(engine) == set(Base.metadata.tables)
    assert migrate.is_up_to_date(engine)


def test_every_member_table_is_found_by_ownership() -> None:
    from bot.db.ownership import owned_columns

    owned = {oc.table.name for oc in owned_columns()}
    for table in Base.metadata.sorted_tables:
        if "member_id" in table.columns:
            assert table.name in owned, f"{table.name}.member_id lacks a foreign key to members"
