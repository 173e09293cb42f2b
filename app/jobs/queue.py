"""The durable job queue: procrastinate on the application's PostgreSQL database.

Tasks are declared on :data:`queue` (in app/jobs/tasks.py). The database URL is known only once settings
are final (the embedded default learns it at start-up), so the queue is opened on a pool built from the
settings at that moment: :func:`run_worker` for workers, :func:`defer` for code that queues jobs. The
queue's own tables come from migration 0005 (procrastinate's schema.sql for the pinned version), in a
PostgreSQL schema of their own that the queue's connections put on their search_path.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from typing import Any

from procrastinate import App, PsycopgConnector, tasks
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from app.core.config import get_settings
from app.core.db import SESSION_OPTIONS, normalise_url

TASK_MODULES = ["app.jobs.tasks"]
QUEUE_SCHEMA = "procrastinate"  # created by migration 0005
# Every queue connection resolves procrastinate's unqualified tables and functions in its own schema.
CONNECTION_OPTIONS = {"options": f"-c search_path={QUEUE_SCHEMA} {SESSION_OPTIONS}"}

queue = App(connector=PsycopgConnector(), import_paths=TASK_MODULES)


def libpq_url(database_url: str | None = None) -> str:
    """The settings' SQLAlchemy URL as a libpq connection string for procrastinate's psycopg pool."""
    url = database_url or get_settings().database_url
    if not url:
        raise RuntimeError("database_url is not set; start the embedded default first")
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


_deferrer: App | None = None


def _connector(database_url: str | None, max_size: int) -> PsycopgConnector:
    return PsycopgConnector(conninfo=libpq_url(database_url), kwargs=CONNECTION_OPTIONS, min_size=1, max_size=max_size)


def defer(task_name: str, *, queueing_lock: str | None = None, **task_kwargs: Any) -> int:
    """Queue a job by task name from any process (API, CLI, tests); returns the job id. With `queueing_lock`,
    procrastinate refuses a second waiting job of that lock (AlreadyEnqueued).

    Deferring goes through an app of its own, opened once per process with its own pool, so it never shares
    connector state with a worker running in the same process (the embedded default runs one beside the API).
    """
    global _deferrer
    if _deferrer is None:
        app = App(connector=_connector(None, 4))
        app.open()
        atexit.register(app.close)
        _deferrer = app
    job = tasks.configure_task(name=task_name, job_manager=_deferrer.job_manager, queueing_lock=queueing_lock)
    job_id: int = job.defer(**task_kwargs)
    return job_id


def run_worker(
    *, wait: bool = True, concurrency: int = 1, database_url: str | None = None, install_signals: bool | None = None
) -> None:
    """Run a worker (periodic tasks included) until stopped; with wait=False, drain what is due and return."""
    asyncio.run(_work(wait, concurrency, database_url, wait if install_signals is None else install_signals))


async def _work(wait: bool, concurrency: int, database_url: str | None, install_signals: bool) -> None:
    import app.jobs.tasks  # noqa: F401  (registers the tasks)

    pool = AsyncConnectionPool(
        libpq_url(database_url), kwargs=CONNECTION_OPTIONS, min_size=1, max_size=concurrency + 2, open=False
    )
    await pool.open(wait=True)
    try:
        async with queue.open_async(pool):
            await queue.run_worker_async(
                wait=wait,
                concurrency=concurrency,
                install_signal_handlers=install_signals,
                delete_jobs="successful",
            )
    finally:
        await pool.close()
        # procrastinate keeps a pool it was given attached after closing; detach it so a later run can open.
        connector = queue.connector
        assert isinstance(connector, PsycopgConnector)
        connector._async_pool = None
        connector._pool_externally_set = False


class WorkerThread:
    """One worker on a thread of its own, with its own event loop (the embedded default runs it beside the API).

    stop() cancels it, which procrastinate treats as a graceful stop (the job in hand finishes), and waits:
    the database it uses must outlive it.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.ensure_future(_work(True, 1, None, False))
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        asyncio.run(main())

    def stop(self, timeout: float = 30) -> None:
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)
