"""The durable job queue: procrastinate on the application's PostgreSQL database.

Tasks are declared on :data:`queue` (in app/jobs/tasks.py). The database URL is known only once settings
are final (the embedded default learns it at start-up), so the queue is opened on a pool built from the
settings at that moment: :func:`run_worker` for workers, :func:`opened` for code that defers jobs. The
queue's own tables come from migration 0005 (procrastinate's schema.sql for the pinned version), in a
PostgreSQL schema of their own that the queue's connections put on their search_path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from procrastinate import App, PsycopgConnector
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy.engine import make_url

from app.core.config import get_settings
from app.core.db import normalise_url

TASK_MODULES = ["app.jobs.tasks"]
QUEUE_SCHEMA = "procrastinate"  # created by migration 0005
# Every queue connection resolves procrastinate's unqualified tables and functions in its own schema.
CONNECTION_OPTIONS = {"options": f"-c search_path={QUEUE_SCHEMA}"}

queue = App(connector=PsycopgConnector(), import_paths=TASK_MODULES)


def libpq_url(database_url: str | None = None) -> str:
    """The settings' SQLAlchemy URL as a libpq connection string for procrastinate's psycopg pool."""
    url = database_url or get_settings().database_url
    if not url:
        raise RuntimeError("database_url is not set; start the embedded default first")
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def opened(database_url: str | None = None) -> Iterator[App]:
    """An app on the settings' database, opened synchronously to defer jobs, closed on exit.

    Each call gets an app of its own (same tasks, fresh connector): procrastinate keeps a closed external pool
    attached to a connector, so reusing the module's app after closing would fail. Defer with :func:`defer`.
    """
    import app.jobs.tasks  # noqa: F401  (registers the tasks)

    fresh = queue.with_connector(PsycopgConnector())
    with (
        ConnectionPool(libpq_url(database_url), kwargs=CONNECTION_OPTIONS, min_size=1, max_size=2, open=True) as pool,
        fresh.open(pool),
    ):
        yield fresh


def defer(app: App, task_name: str, **task_kwargs: Any) -> int:
    """Defer a job through an app from :func:`opened` (the task is looked up by name); returns the job id."""
    from procrastinate import tasks

    job_id: int = tasks.configure_task(name=task_name, job_manager=app.job_manager).defer(**task_kwargs)
    return job_id


def run_worker(
    *, wait: bool = True, concurrency: int = 1, database_url: str | None = None, install_signals: bool | None = None
) -> None:
    """Run a worker (periodic tasks included) until stopped; with wait=False, drain what is due and return."""
    import app.jobs.tasks  # noqa: F401  (registers the tasks)

    async def work() -> None:
        pool = AsyncConnectionPool(
            libpq_url(database_url), kwargs=CONNECTION_OPTIONS, min_size=1, max_size=concurrency + 2, open=False
        )
        await pool.open(wait=True)
        try:
            async with queue.open_async(pool):
                await queue.run_worker_async(
                    wait=wait,
                    concurrency=concurrency,
                    install_signal_handlers=wait if install_signals is None else install_signals,
                    delete_jobs="successful",
                )
        finally:
            await pool.close()

    asyncio.run(work())
