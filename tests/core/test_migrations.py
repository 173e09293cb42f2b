from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.core import migrate
from app.models import Base
from tests.services import fresh_database


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(pg_server_url: str) -> None:
    with fresh_database(pg_server_url, migrate=False) as url:
        migrate.upgrade("heads", database_url=url)
        assert {"custody_events", "custody_log_head", "alembic_version"} <= _tables(url)
        migrate.downgrade("base", database_url=url)
        assert _tables(url) == {"alembic_version"}
        migrate.upgrade("heads", database_url=url)
        assert {"custody_events", "custody_log_head"} <= _tables(url)


def test_migrations_match_the_models(database_url: str) -> None:
    """A model changed without a migration shows up here as a difference."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_database_is_postgresql(database_url: str) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None and int(row[0]) >= 150000
