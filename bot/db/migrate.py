"""Running Alembic from inside the installed package (no ini file needed)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from bot.db.session import is_postgres


def migrations_dir() -> Path:
    """Inside the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_data" / "migrations"
    return packaged if packaged.is_dir() else here.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# pg_advisory_xact_lock key for schema upgrades ("coho" in ASCII): any fixed number would do,
# as long as every replica uses the same one.
UPGRADE_LOCK_KEY = 0x636F686F


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade in one transaction. On PostgreSQL it first takes a transaction-scoped advisory
    lock, so replicas starting together run the migrations one after the other: the first
    upgrades, the others wait, then find the schema at head and do nothing. (DDL is
    transactional there, so a replica killed half-way leaves the schema as it was.)"""
    cfg = alembic_config()
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# The scripts on disk do not change under a running process; reading them costs 0.2 s a call.
@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision this version of the bot ships."""
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
