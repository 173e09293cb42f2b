"""The durable job queue: procrastinate on the application's PostgreSQL database.

Domains defer work by a task name they own (:func:`defer`, :func:`defer_after_commit`) and never import the task
functions. The task table (app/jobs/tasks.py) declares the tasks and their schedules on :data:`queue`; only the
worker entry points import it, before :func:`run_worker` or :class:`WorkerThread`.

The database URL is known only once settings are final (the embedded default learns it at start-up), so the queue
is opened on a pool built from the settings at that moment. The queue's own tables come from migration 0005
(procrastinate's schema.sql for the pinned version), in a PostgreSQL schema of their own that the queue's
connections put on their search_path.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
from typing import Any

from procrastinate import App, PsycopgConnector, tasks
from procrastinate.exceptions import AlreadyEnqueued
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.db import SESSION_OPTIONS, normalise_url

log = logging.getLogger(__name__)

QUEUE_SCHEMA = "procrastinate"  # created by migration 0005
# Every queue connection resolves procrastinate's unqualified tables and functions in its own schema.
CONNECTION_OPTIONS = {"options": f"-c search_path={QUEUE_SCHEMA} {SESSION_OPTIONS}"}
BUILTIN_PREFIX = "procrastinate."  # procrastinate's own tasks, registered on every app

# The task table registers its tasks and schedules here (`@queue.task`, `@queue.periodic`).
queue = App(connector=PsycopgConnector())


def libpq_url(database_url: str | None = None) -> str:
    """The settings' SQLAlchemy URL as a libpq connection string for procrastinate's psycopg pool."""
    url = database_url or get_settings().database_url
    if not url:
        raise RuntimeError("database_url is not set; start the embedded default first")
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


_deferrer: App | None = None
_deferrer_url: str | None = None  # the database the deferrer's pool connects to


def _connector(database_url: str | None, max_size: int) -> PsycopgConnector:
    return PsycopgConnector(conninfo=libpq_url(database_url), kwargs=CONNECTION_OPTIONS, min_size=1, max_size=max_size)


@atexit.register
def _close_deferrer() -> None:
    global _deferrer
    if _deferrer is not None:
        app, _deferrer = _deferrer, None
        app.close()


def defer(task_name: str, *, queueing_lock: str | None = None, **task_kwargs: Any) -> int:
    """Queue a job by task name from any process (API, CLI, tests); returns the job id. With `queueing_lock`,
    procrastinate refuses a second waiting job of that lock (AlreadyEnqueued).

    Deferring goes through an app of its own, opened once per process with its own pool, so it never shares
    connector state with a worker running in the same process (the embedded default runs one beside the API).
    It follows the configured database: when the settings point elsewhere, the old pool is closed and a new one
    opened, so a job is never queued in a database the process no longer uses.
    """
    global _deferrer, _deferrer_url
    url = libpq_url()
    if _deferrer is not None and _deferrer_url != url:
        previous, _deferrer = _deferrer, None
        previous.close()
    if _deferrer is None:
        app = App(connector=_connector(url, 4))
        app.open()
        _deferrer, _deferrer_url = app, url
    job = tasks.configure_task(name=task_name, job_manager=_deferrer.job_manager, queueing_lock=queueing_lock)
    job_id: int = job.defer(**task_kwargs)
    return job_id


# -- jobs asked for by a transaction ----------------------------------------------------------
_AFTER_COMMIT = "queue.defer_after_commit"


def defer_after_commit(
    session: Session, task_name: str, *, queueing_lock: str | None = None, **task_kwargs: Any
) -> None:
    """Queue a job when `session`'s transaction commits: never for one that rolls back, and never before the
    job's worker can read what the transaction wrote. Asking again in the same transaction asks once.

    By then the change is committed and cannot be undone, so a queue that cannot be reached is logged rather than
    raised: this is for work that a periodic run also does, which the job only brings forward. A job already
    waiting under the same `queueing_lock` will do the work, so that refusal is no failure either.
    """
    session.info.setdefault(_AFTER_COMMIT, {})[task_name] = (queueing_lock, task_kwargs)
    # Only sessions that asked listen: a commit that asked for nothing runs no queue code.
    if not event.contains(session, "after_commit", _defer_asked):
        event.listen(session, "after_commit", _defer_asked)
        event.listen(session, "after_rollback", _forget_asked)


def _defer_asked(session: Session) -> None:
    asked: dict[str, tuple[str | None, dict[str, Any]]] = session.info.pop(_AFTER_COMMIT, {})
    for task_name, (queueing_lock, task_kwargs) in asked.items():
        try:
            defer(task_name, queueing_lock=queueing_lock, **task_kwargs)
        except AlreadyEnqueued:
            pass
        except Exception:  # noqa: BLE001 - committed already; the task's periodic run does the work
            log.warning(
                "could not queue %s after a commit; its periodic run will do the work", task_name, exc_info=True
            )


def _forget_asked(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def waiting(session: Session, queueing_lock: str) -> bool:
    """Whether a job of this queueing lock waits in the queue (todo): its work is late, not lost."""
    found = session.execute(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {QUEUE_SCHEMA}.procrastinate_jobs "
            "WHERE queueing_lock = :lock AND status = 'todo')"
        ),
        {"lock": queueing_lock},
    )
    return bool(found.scalar_one())


# -- the worker -------------------------------------------------------------------------------
def run_worker(
    *, wait: bool = True, concurrency: int = 1, database_url: str | None = None, install_signals: bool | None = None
) -> None:
    """Run a worker (periodic tasks included) until stopped; with wait=False, drain what is due and return.
    The task table must be imported first."""
    asyncio.run(_work(wait, concurrency, database_url, wait if install_signals is None else install_signals))


def _ensure_task_table() -> None:
    if not any(not name.startswith((BUILTIN_PREFIX, "builtin:")) for name in queue.tasks):
        raise RuntimeError("no task is registered on the queue: import the task table before starting a worker")


async def _work(wait: bool, concurrency: int, database_url: str | None, install_signals: bool) -> None:
    _ensure_task_table()
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
    the database it uses must outlive it. The task table must be imported before start().
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker", daemon=True)

    def start(self) -> None:
        _ensure_task_table()
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
