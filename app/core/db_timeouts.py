"""Time limits on the database connections of every pool (the SQLAlchemy engine and the read pool).

PostgreSQL's own `statement_timeout` ends a slow statement, but a server that does not answer at all (frozen,
an unreachable host, a dead disk) never sends that error: the client would wait forever. So each connection
also gives up on its own: a wait for the server longer than the statement timeout (plus a grace that lets a
live server report its own timeout first) closes the connection and raises :class:`DatabaseTimeout`, an
OperationalError, which the API answers as 503 with Retry-After. The pool then replaces the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors
from psycopg.abc import PQGen

from app.core.config import Settings

GRACE_SECONDS = 2.0
_WAIT_INTERVAL = 0.1  # psycopg's own


class DatabaseTimeout(psycopg.OperationalError):
    """The database did not answer within the configured time; the connection was closed."""


def client_deadline(settings: Settings) -> float | None:
    """Seconds after which a connection stops waiting for its server (None: wait as long as it takes)."""
    limit = settings.database_statement_timeout_seconds
    return limit + GRACE_SECONDS if limit else None


def server_options(settings: Settings, base: str) -> str:
    """libpq `options` adding the server-side statement timeout to `base`."""
    limit = settings.database_statement_timeout_seconds
    return f"{base} -c statement_timeout={int(limit * 1000)}" if limit else base


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait on the server (statements, commit, rollback) is bounded."""

    deadline: float | None = None

    def wait(self, gen: PQGen[Any], interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if timeout is not None or self.deadline is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.deadline)
        except errors._WaitTimeout:
            # Mid-statement the connection cannot be reused: close it so the pool drops it.
            self.close()
            raise DatabaseTimeout(f"the database did not answer within {self.deadline:.0f}s") from None


class AsyncDeadlineConnection(psycopg.AsyncConnection[Any]):
    """The read pool's twin of :class:`DeadlineConnection`."""

    deadline: float | None = None

    async def wait(self, gen: PQGen[Any], interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if timeout is not None or self.deadline is None:
            return await super().wait(gen, interval, timeout)
        try:
            return await super().wait(gen, interval, self.deadline)
        except errors._WaitTimeout:
            await self.close()
            raise DatabaseTimeout(f"the database did not answer within {self.deadline:.0f}s") from None


def async_connection_class(settings: Settings) -> type[AsyncDeadlineConnection]:
    """The read pool's connection class, carrying the settings' deadline."""
    return type("ReadPoolConnection", (AsyncDeadlineConnection,), {"deadline": client_deadline(settings)})


def sync_connector(conninfo: str, settings: Settings, options: str) -> Callable[[], DeadlineConnection]:
    """The engine's `creator`: bounded connects (connect_timeout) and bounded waits on the server."""
    deadline = client_deadline(settings)
    connect_timeout = max(1, round(settings.database_connect_timeout_seconds))

    def connect() -> DeadlineConnection:
        conn = DeadlineConnection.connect(
            conninfo, connect_timeout=connect_timeout, options=server_options(settings, options)
        )
        conn.deadline = deadline
        return conn

    return connect
