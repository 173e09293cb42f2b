"""Jobs a transaction asks for (app.core.queue.defer_after_commit) are queued when it commits, on the real
procrastinate tables: never for a rollback, once per transaction, and only sessions that asked listen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.core import queue
from app.core.db import session_factory

TASK = "tests.after_commit"  # deferred by name only: no worker runs it


def _waiting() -> list[dict[str, object]]:
    with session_factory()() as session:
        rows = session.execute(
            text("SELECT args FROM procrastinate.procrastinate_jobs WHERE task_name = :task AND status = 'todo'"),
            {"task": TASK},
        )
        return [row.args for row in rows]


@pytest.fixture()
def no_test_jobs(configured: str) -> Iterator[None]:
    def clear() -> None:
        with session_factory()() as session, session.begin():
            session.execute(text(f"SET LOCAL search_path TO {queue.QUEUE_SCHEMA}"))  # the table's triggers need it
            session.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = :t"), {"t": TASK})

    clear()
    yield
    clear()


def test_a_commit_queues_what_its_transaction_asked_for_once(no_test_jobs: None) -> None:
    with session_factory()() as session:
        with session.begin():
            queue.defer_after_commit(session, TASK, queueing_lock=TASK, n=1)
            queue.defer_after_commit(session, TASK, queueing_lock=TASK, n=2)
            assert _waiting() == []  # nothing before the commit
        assert _waiting() == [{"n": 2}]
        with session.begin():  # the same session's next transaction asked for nothing
            session.execute(text("SELECT 1"))
        assert _waiting() == [{"n": 2}]
    with session_factory()() as session, session.begin():  # a job of that lock already waits: no error, no second
        queue.defer_after_commit(session, TASK, queueing_lock=TASK, n=3)
    assert _waiting() == [{"n": 2}]


def test_a_rollback_queues_nothing(no_test_jobs: None) -> None:
    with session_factory()() as session:
        with session.begin():
            queue.defer_after_commit(session, TASK, n=1)
            session.rollback()
        with session.begin():
            session.execute(text("SELECT 1"))
    assert _waiting() == []


def test_only_sessions_that_asked_listen_for_their_commit(configured: str) -> None:
    assert not event.contains(Session, "after_commit", queue._defer_asked)
    with session_factory()() as plain, session_factory()() as asking, asking.begin():
        queue.defer_after_commit(asking, TASK, n=1)
        assert event.contains(asking, "after_commit", queue._defer_asked)
        assert not event.contains(plain, "after_commit", queue._defer_asked)
        asking.rollback()


def test_deferring_follows_the_configured_database(configured: str, pg_server_url: str) -> None:
    """A job deferred after the settings move to another database lands there, not in the first one the process
    deferred to (tests on databases of their own used to depend on the order they ran in)."""
    from app.core.config import get_settings, override_settings
    from app.core.db import dispose_engine
    from tests.services import fresh_database

    queue.defer(TASK, n="first")  # the deferrer opens on the session's database
    previous = get_settings().database_url
    with fresh_database(pg_server_url) as other:
        override_settings(database_url=other)
        dispose_engine()
        try:
            queue.defer(TASK, n="moved")
            assert _waiting() == [{"n": "moved"}]
        finally:
            override_settings(database_url=previous)
            dispose_engine()
    queue.defer(TASK, n="back")
    assert {"n": "back"} in _waiting() and {"n": "moved"} not in _waiting()
    with session_factory()() as session, session.begin():
        session.execute(text(f"SET LOCAL search_path TO {queue.QUEUE_SCHEMA}"))
        session.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = :t"), {"t": TASK})
