"""The once-per-request staff alerts keep working however often one connection raises them: the ON CONFLICT
target names its partial index by a literal predicate, which PostgreSQL can match even when the statement runs
on a generic plan (psycopg prepares a statement on its connection after a few executions)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.db import session_factory
from app.notifications.staff import raise_alert
from app.notifications.staff_models import StaffAlertKind
from tests.factories import account
from tests.footage.test_footage import approved_request


def test_a_once_per_request_alert_is_raised_once_on_a_prepared_statement(client: TestClient) -> None:
    investigator, _, request_id, _ = approved_request(client)
    other = account(client, Role.investigator, unit_id=investigator.unit_id)
    raised = []
    with session_factory()() as session, session.begin():
        for attempt in range(8):  # past psycopg's prepare threshold (5) on this one connection
            for who in (investigator, other):
                raised.append(
                    raise_alert(
                        session,
                        user_id=who.id,
                        unit_id=who.unit_id,
                        email=None,
                        locale="vi",
                        kind=StaffAlertKind.deadline_at_risk,
                        request_id=uuid.UUID(request_id),
                        case_id=None,
                        params={"attempt": attempt},
                        link="/requests",
                    )
                )
    assert [r is not None for r in raised] == [True, True] + [False] * 14
