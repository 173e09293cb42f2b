"""The periodic delivery task runs on the real procrastinate queue against the test database."""

from __future__ import annotations

from sqlalchemy import text

from app.core import queue as jobs
from app.core.db import session_factory
from app.jobs import tasks
from app.notifications import service
from app.notifications.models import Notification
from tests.notifications.conftest import Inbox


def test_queue_schema_is_applied_by_migrations(configured: str) -> None:
    with session_factory()() as session:
        tables = set(session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'procrastinate'")).all())
    assert {"procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events"} <= tables


def test_periodic_task_is_registered() -> None:
    assert "notifications.deliver_due" in jobs.queue.tasks
    periodic = [p for p in jobs.queue.periodic_registry.periodic_tasks.values() if p.periodic_id]
    assert any(p.task is tasks.deliver_notifications and p.cron == "* * * * *" for p in periodic)


def test_worker_runs_the_deferred_delivery(smtp_inbox: Inbox) -> None:
    with session_factory()() as session, session.begin():
        session.execute(text("UPDATE notifications SET status = 'failed' WHERE status = 'pending'"))
        queued = service.enqueue(
            session,
            channel="email",
            recipient="owner@example.vn",
            template="request_reminder",
            context={
                "owner_name": "Trần Văn Bình",
                "camera_label": "Camera ngõ 5",
                "window_start": "20:10",
                "window_end": "20:40",
                "overwrite_deadline": "17/03/2026 20:10",
                "link_url": None,
                "link_expires_at": None,
                "reason": "deadline",
                "case_number": "VV-1",
                "unit_name": "Công an phường Hàng Trống",
            },
        )
    jobs.defer(tasks.deliver_notifications.name, timestamp=0)
    jobs.run_worker(wait=False)
    # the worker's periodic tasks may send staff alerts about earlier tests' requests in the same run: count ours
    [message] = [m for m in smtp_inbox.messages if m["To"] == "owner@example.vn"]
    assert message["Subject"] == "Nhắc lại: yêu cầu trích xuất dữ liệu camera – vụ việc VV-1"
    assert "sẽ bị ghi đè lúc 17/03/2026 20:10" in message.get_body(("plain",)).get_content()
    with session_factory()() as session:
        row = session.get(Notification, queued.id)
        assert row is not None and row.status == "sent"


_REMINDER = {
    "owner_name": "Lê Thị Hoa",
    "camera_label": "Camera chợ Bến Thành",
    "window_start": "07:00",
    "window_end": "07:05",
    "overwrite_deadline": "18/03/2026 07:00",
    "link_url": None,
    "link_expires_at": None,
    "reason": "deadline",
    "case_number": "VV-2",
    "unit_name": "Công an phường Bến Thành",
}


def _waiting_delivery_runs() -> int:
    with session_factory()() as session:
        return session.scalar(
            text("SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE task_name = :task AND status = 'todo'"),
            {"task": service.DELIVERY_TASK},
        )


def test_a_committed_message_queues_a_delivery_run_at_once(smtp_inbox: Inbox) -> None:
    """The commit asks the queue for a delivery run (a worker picks it up at once) instead of leaving the message
    for the next minute's run; many messages wait for one run; a rollback asks for none."""
    with session_factory()() as session, session.begin():
        session.execute(text("UPDATE notifications SET status = 'failed' WHERE status = 'pending'"))
    jobs.run_worker(wait=False)  # whatever earlier work left queued and due
    with session_factory()() as session, session.begin():  # runs earlier tests scheduled for later are not this test's
        session.execute(text(f"SET LOCAL search_path TO {jobs.QUEUE_SCHEMA}"))  # the table's triggers need it
        session.execute(
            text("DELETE FROM procrastinate.procrastinate_jobs WHERE task_name = :task AND status = 'todo'"),
            {"task": service.DELIVERY_TASK},
        )
    assert _waiting_delivery_runs() == 0

    with session_factory()() as session, session.begin():
        service.enqueue(
            session, channel="email", recipient="a@example.vn", template="request_reminder", context=_REMINDER
        )
        session.rollback()
    assert _waiting_delivery_runs() == 0

    queued = []
    for recipient in ("b@example.vn", "c@example.vn"):
        with session_factory()() as session, session.begin():
            queued.append(
                service.enqueue(
                    session, channel="email", recipient=recipient, template="request_reminder", context=_REMINDER
                ).id
            )
        assert _waiting_delivery_runs() == 1  # the second commit finds the first run still waiting
    jobs.run_worker(wait=False)
    assert sorted(str(m["To"]) for m in smtp_inbox.messages) == ["b@example.vn", "c@example.vn"]
    with session_factory()() as session:
        assert {session.get(Notification, i).status for i in queued} == {"sent"}  # type: ignore[union-attr]


def test_every_periodic_job_is_registered() -> None:
    from app.core.queue import queue

    periodic = {task.task.name for task in queue.periodic_registry.periodic_tasks.values()}
    assert periodic >= {
        "notifications.deliver_due",
        "requests.expire_unanswered",
        "requests.remind_owners",
        "clips.sweep",
        "custody.checkpoint",
    }


def test_scheduled_checkpoint_signs_only_when_the_log_grew(configured: str) -> None:
    from app.custody.checkpoints import latest_checkpoint
    from app.custody.service import append_event

    first = tasks.checkpoint_custody(timestamp=0)
    assert tasks.checkpoint_custody(timestamp=0) is None  # nothing new since
    with session_factory()() as session, session.begin():
        append_event(session, actor="system:test", action="test.grow")
    grown = tasks.checkpoint_custody(timestamp=0)
    assert grown is not None and (first is None or grown > first)
    with session_factory()() as session:
        latest = latest_checkpoint(session)
        assert latest is not None and latest.tree_size == grown
