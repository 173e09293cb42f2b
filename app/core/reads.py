"""The read pool: the hot read paths answer from one statement each on an asyncio psycopg pool.

Why beside the Session (app.core.db): an investigator's reads — the token check on every call, a request's
detail, the request list, the coverage search — are most of the traffic. Through a sync Session each pays a
thread hop in and out of the event loop, an ORM load, and `BEGIN`/`COMMIT` round trips; here a read is one
statement, in autocommit (a single statement sees one snapshot), awaited on the event loop. Measured in
docs/BENCHMARKS.md ("Read paths under load").

The statements are SQLAlchemy Core built once with named bind parameters (so the same statement also runs
through a Session where a page needs it) and compiled once for psycopg. Writes, and anything that needs a
transaction, keep the Session.

A dropped connection (the database restarted) fails the statement once; the pool then checks its idle
connections, drops the broken ones, and the statement is tried again — the read is idempotent.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql import psycopg as sa_psycopg
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from app.core import db_timeouts
from app.core.config import get_settings
from app.core.db import SESSION_OPTIONS

_DIALECT = sa_psycopg.dialect()  # type: ignore[no-untyped-call]
ReadPool = AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]
# One pool per event loop (a pool's connections belong to the loop that opened them): the service runs one loop,
# but a process may serve from several at once (the tests' in-process clients beside a served app).
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[ReadPool, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Statement:
    """A Core statement and its psycopg text, compiled once. Run it with `fetch_all` / `fetch_one` (async) or
    hand `.core` to a Session."""

    core: Executable
    sql: str
    constants: Mapping[str, Any] = field(default_factory=dict)

    def parameters(self, params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The caller's parameters plus the statement's own constants (literals in the Core expression)."""
        if not self.constants:
            return params
        return {**self.constants, **params} if params else self.constants


def prepare(statement: Executable) -> Statement:
    """Compile a Core statement built with `bindparam(...)` names for psycopg's `%(name)s` parameters.

    Literal values in the expression (`x / 2`, `func.least(1.0, ...)`) compile to parameters too; their values
    are kept with the statement and sent with every execution."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    constants = {name: value for name, value in compiled.params.items() if not compiled.binds[name].required}
    return Statement(core=statement, sql=str(compiled), constants=constants)


@lru_cache(maxsize=4)
def _connection_url(url: str | None) -> str:
    """The libpq form of the configured URL (parsed once per URL: every read asks for it)."""
    if not url:
        raise RuntimeError("database_url is not set; start the embedded default first")
    from app.core.db import normalise_url

    # psycopg takes the libpq form of the URL; the SQLAlchemy driver name is not part of it.
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


async def _get_pool() -> ReadPool:
    url = _connection_url(get_settings().database_url)
    loop = asyncio.get_running_loop()
    held = _pools.get(loop)
    if held is not None and held[1] != url:
        await close()
        held = None
    if held is None:
        settings = get_settings()
        pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]] = AsyncConnectionPool(
            url,
            min_size=2,
            max_size=settings.read_pool_size,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": db_timeouts.server_options(settings, SESSION_OPTIONS),
                "connect_timeout": max(1, round(settings.database_connect_timeout_seconds)),
            },
            # Waits on a server that does not answer are bounded too (app.core.db_timeouts).
            connection_class=db_timeouts.async_connection_class(settings),
            open=False,
            timeout=2,  # waiting longer for a connection than a client would: answer 503 instead
            name="reads",
        )
        await pool.open()
        held = _pools[loop] = (pool, url)
    return held[0]


async def close() -> None:
    """Close this loop's pool (the app's shutdown; a change of database in the tests)."""
    held = _pools.pop(asyncio.get_running_loop(), None)
    if held is not None:
        await held[0].close()


async def fetch_all(statement: Statement, params: Mapping[str, Any] | None = None) -> Sequence[DictRow]:
    """Every row of one statement, as dicts. Rows come in binary format: uuid, timestamptz and float columns
    load with less work than from their text."""
    pool = await _get_pool()
    try:
        async with pool.connection() as conn:
            return await (await conn.execute(statement.sql, statement.parameters(params), binary=True)).fetchall()
    except db_timeouts.DatabaseTimeout:
        raise  # the server does not answer: trying again would only double the wait
    except psycopg.OperationalError:
        # The connection was lost (a restart): drop every broken idle connection, then once more.
        await pool.check()
        async with pool.connection() as conn:
            return await (await conn.execute(statement.sql, statement.parameters(params), binary=True)).fetchall()


async def fetch_one(statement: Statement, params: Mapping[str, Any] | None = None) -> DictRow | None:
    """The first row of one statement, or None."""
    rows = await fetch_all(statement, params)
    return rows[0] if rows else None
