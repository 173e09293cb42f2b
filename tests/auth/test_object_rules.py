"""The object rules beside the role table: the SQL twin selects what the Python rule allows, pages ask the same
role table as the API, and enum columns keep their stored text."""

from __future__ import annotations

import secrets
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from app.auth.models import Role
from app.auth.permissions import Actor, ActorKind, can_see_unit_object, unit_scope
from app.cases.models import Case, CaseStatus
from app.core.db import session_factory
from tests.factories import PASSWORD, account, make_owner, make_unit, make_user, web_login


def _open_case(client: TestClient, headers: dict[str, str]) -> UUID:
    body = {
        "number": f"VV-{secrets.token_hex(4)}",
        "title": "Trộm xe máy",
        "offence": "trộm cắp tài sản",
        "incident_lat": 10.7731,
        "incident_lon": 106.7004,
        "incident_start": "2026-03-13T20:10:00+07:00",
        "incident_end": "2026-03-13T20:40:00+07:00",
    }
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def test_unit_scope_selects_exactly_the_cases_the_object_rule_lets_an_actor_see(client: TestClient) -> None:
    unit_a, unit_b = make_unit(), make_unit()
    in_a = _open_case(client, account(client, Role.investigator, unit_id=unit_a).headers)
    in_b = _open_case(client, account(client, Role.investigator, unit_id=unit_b).headers)
    ids = {in_a, in_b}
    actors = {
        "admin": (Actor(kind=ActorKind.user, role=Role.admin), ids),
        "auditor": (Actor(kind=ActorKind.user, role=Role.auditor), ids),
        "investigator of A": (Actor(kind=ActorKind.user, role=Role.investigator, unit_id=unit_a), {in_a}),
        "supervisor of B": (Actor(kind=ActorKind.user, role=Role.supervisor, unit_id=unit_b), {in_b}),
        "owner": (Actor(kind=ActorKind.user, role=Role.owner, owner_id=uuid4(), unit_id=unit_a), set()),
        "link": (Actor(kind=ActorKind.link, link_id=uuid4(), link_request_id=uuid4()), set()),
        "system": (Actor(kind=ActorKind.system), set()),
    }
    with session_factory()() as session:
        cases = list(session.scalars(select(Case).where(Case.id.in_(ids))))
        for name, (actor, expected) in actors.items():
            in_sql = set(session.scalars(select(Case.id).where(Case.id.in_(ids), unit_scope(actor, Case.unit_id))))
            in_python = {case.id for case in cases if can_see_unit_object(actor, case.unit_id)}
            assert in_sql == in_python == expected, name


def test_pages_ask_the_role_table_as_the_api_does(client: TestClient) -> None:
    """An owner account is refused the case pages (403, as the API answers), not shown an empty list."""
    _, email = make_user(Role.owner, owner_id=make_owner())
    web_login(client, data={"email": email, "password": PASSWORD})
    assert client.get("/cases", follow_redirects=False).status_code == 403
    investigator = account(client, Role.investigator)
    case_id = _open_case(client, investigator.headers)
    assert client.get(f"/cases/{case_id}/cameras.json", follow_redirects=False).status_code == 403
    home = client.get("/owner/requests")
    assert home.status_code == 200
    assert 'href="/cases"' not in home.text and 'href="/owner/ledger"' in home.text  # the menu follows POLICY too
    client.cookies.clear()


def test_status_columns_hold_enums_and_keep_their_text(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    case_id = _open_case(client, investigator.headers)
    with session_factory()() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status is CaseStatus.open
        stored = session.execute(
            text("SELECT status, pg_typeof(status)::text FROM cases WHERE id = :id"), {"id": case_id}
        ).one()
        assert tuple(stored) == ("open", "text")
    with session_factory()() as session, pytest.raises(StatementError, match="not a valid CaseStatus"):
        case = session.get(Case, case_id)
        assert case is not None
        case.status = "reopened"  # type: ignore[assignment]
        session.flush()
