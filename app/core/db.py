"""Engine, sessions and the declarative base. PostgreSQL only.

The ways into the database, and the only ones: `SessionDep` (a request's one transaction), `write_session()`
(one unit of work anywhere else: the CLI, a task, a deliberate transaction of its own), `read_session()` (reads
with nothing to commit), and the async read pool of app.core.reads for the hot read paths. A service takes the
Session it is given; one that needs several short transactions on purpose takes a `UnitOfWork` parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends
from sqlalchemy import DateTime, MetaData, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.core import db_timeouts
from app.core.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # timestamptz everywhere; UUID columns map to the native uuid type by default.
    type_annotation_map = {datetime: DateTime(timezone=True)}


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver whatever the URL names (postgres://, postgresql://)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"DATABASE_URL must point at PostgreSQL, not {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


# Every connection the service opens pins its session to UTC (API.md: times are stored UTC). Without it a server,
# database or role set to a local zone (initdb writes the machine's zone into postgresql.conf) makes PostgreSQL hand
# back timestamptz values, and the times it renders itself (json_agg), in that zone's offset. Only PGTZ in the
# service's own environment still wins: libpq sends it after these options.
SESSION_OPTIONS = "-c TimeZone=UTC"

_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _factory
    if _engine is None:
        settings = get_settings()
        url = settings.database_url
        if not url:
            raise RuntimeError("database_url is not set; start the embedded default first")
        libpq_url = normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
        _engine = create_engine(
            normalise_url(url),
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            # Bounded connects, statements and waits on a server that does not answer (app.core.db_timeouts).
            creator=db_timeouts.sync_connector(libpq_url, settings, SESSION_OPTIONS),
            pool_timeout=settings.database_statement_timeout_seconds or 30,
        )
        _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def dispose_engine() -> None:
    global _engine, _factory
    if _engine is not None:
        _engine.dispose()
    _engine, _factory = None, None


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _factory is not None
    return _factory


def get_session() -> Iterator[Session]:
    """One session and one transaction per request: committed when the handler returns, else rolled back."""
    with session_factory()() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@contextmanager
def write_session() -> Iterator[Session]:
    """One unit of work: a session in one transaction, committed when the block ends, rolled back if it raises."""
    with session_factory()() as session, session.begin():
        yield session


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reads only: nothing is committed; the transaction it began ends with the block."""
    with session_factory()() as session:
        yield session


UnitOfWork = Callable[[], AbstractContextManager[Session]]
"""What a service that runs several transactions of its own is given (`write_session`, or a test's own)."""
