"""Engines on PostgreSQL: our timeouts are added to what the database URL says, never instead
of it. A URL naming a schema (`?options=-csearch_path=...`, as a deployment sharing one
database does) must reach that schema: `cohortbot db upgrade` once migrated `public` instead."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.db.session import STATEMENT_TIMEOUT, make_engine
from tests.conftest import PG_URL, private_schema

# Slow: PostgreSQL connection options.
pytestmark = pytest.mark.slow


def test_a_urls_search_path_and_connect_timeout_are_kept_beside_our_timeouts() -> None:
    with private_schema("url") as schema:
        url = make_url(PG_URL).update_query_dict(
            {"options": f"-csearch_path={schema}", "connect_timeout": "7"}
        )
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT current_schema()").scalar_one() == schema
                timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar_one()
                assert timeout == f"{int(STATEMENT_TIMEOUT)}s"
                info = conn.connection.dbapi_connection.info  # type: ignore[union-attr]
                assert info.get_parameters()["connect_timeout"] == "7"
        finally:
            engine.dispose()


def test_the_callers_options_win_over_the_urls() -> None:
    with private_schema("url") as schema:
        url = make_url(PG_URL).update_query_dict({"options": "-csearch_path=public"})
        engine = make_engine(
            url.render_as_string(hide_password=False),
            connect_args={"options": f"-csearch_path={schema}"},
        )
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT current_schema()").scalar_one() == schema
        finally:
            engine.dispose()
