from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from app.auth import links
from app.auth.models import Role, SecurityEvent, SecurityEventTally
from app.cli import cli
from app.core import clock
from app.core.db import session_factory
from app.core.errors import Conflict, NotFound
from tests.factories import PASSWORD, account, make_unit, make_user, sign_in


def _events(kind: str, email: str) -> list[SecurityEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind, SecurityEvent.email == email))
        )


def test_sign_in_and_me(client: TestClient) -> None:
    unit = make_unit()
    user_id, email = make_user(Role.investigator, unit_id=unit)
    response = client.post("/api/v1/auth/token", data={"username": email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {
        "id": str(user_id),
        "email": email,
        "full_name": "Test investigator",
        "role": "investigator",
        "unit_id": str(unit),
        "owner_id": None,
    }
    assert len(_events("login_success", email)) == 1


def test_wrong_password_is_401_problem_and_recorded(client: TestClient) -> None:
    _, email = make_user(Role.auditor)
    response = client.post("/api/v1/auth/token", data={"username": email, "password": "wrong password!"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert len(_events("login_failure", email)) == 1
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody@example.org", "password": "x" * 12})
    assert unknown.status_code == 401 and unknown.json()["detail"] == response.json()["detail"]


def test_missing_or_bad_token_is_401(client: TestClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


def test_lockout_engages_after_five_failures_and_lifts(configured: str, frozen_clock: clock.FrozenClock) -> None:
    from app.main import create_app

    # A client address of its own, so the address lock-out does not reach other tests.
    client = TestClient(create_app(), client=("192.0.2.55", 40000))
    _, email = make_user(Role.investigator)
    for _ in range(5):
        assert (
            client.post("/api/v1/auth/token", data={"username": email, "password": "nope nope nope"}).status_code == 401
        )
    locked = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "try again" in locked.json()["detail"]
    with session_factory()() as session:
        waiting = session.get(SecurityEventTally, ("login_waiting", "192.0.2.55"))
        assert waiting is not None and waiting.last_email == email
    frozen_clock.advance(minutes=10)
    assert client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).status_code == 429
    # another account from the same address is locked too
    _, other = make_user(Role.investigator)
    assert client.post("/api/v1/auth/token", data={"username": other, "password": PASSWORD}).status_code == 429
    frozen_clock.advance(minutes=6)
    assert client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).status_code == 200


def test_tokens_expire(client: TestClient, frozen_clock: clock.FrozenClock) -> None:
    _, email = make_user(Role.auditor)
    token = sign_in(client, email)
    headers = {"Authorization": f"Bearer {token}"}
    frozen_clock.advance(minutes=14, seconds=59)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    frozen_clock.advance(seconds=2)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_logout_revokes_every_earlier_token(client: TestClient) -> None:
    _, email = make_user(Role.auditor)
    first, second = sign_in(client, email), sign_in(client, email)
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"}).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    third = sign_in(client, email)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {third}"}).status_code == 200


def test_admin_manages_units_and_users(client: TestClient) -> None:
    admin = account(client, Role.admin)
    unit = client.post("/api/v1/units", json={"name": "Đội điều tra quận 1", "code": "Q1-DT"}, headers=admin.headers)
    assert unit.status_code == 201, unit.text
    again = client.post("/api/v1/units", json={"name": "x", "code": "Q1-DT"}, headers=admin.headers)
    assert again.status_code == 409
    no_unit = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"email": "inv@example.org", "password": "long enough pw", "full_name": "A", "role": "investigator"},
    )
    assert no_unit.status_code == 422 and no_unit.json()["errors"][0]["field"] == "unit_id"
    made = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "email": "Inv@Example.org",
            "password": "long enough pw",
            "full_name": "Nguyễn Văn A",
            "role": "investigator",
            "unit_id": unit.json()["id"],
        },
    )
    assert made.status_code == 201 and made.json()["email"] == "inv@example.org"
    assert "password" not in made.text and "password_hash" not in made.text
    short = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"email": "x@example.org", "password": "short", "full_name": "A", "role": "auditor"},
    )
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    owner_without_record = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "email": "o@example.org",
            "password": "long enough pw",
            "full_name": "O",
            "role": "owner",
            "owner_id": str(uuid4()),
        },
    )
    assert owner_without_record.status_code == 422
    assert owner_without_record.json()["errors"][0]["field"] == "owner_id"


def test_non_admin_is_refused_and_the_denial_recorded(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    response = client.post("/api/v1/units", json={"name": "x", "code": "X1"}, headers=investigator.headers)
    assert response.status_code == 403
    denials = _events("permission_denied", investigator.email)
    assert denials and denials[-1].path == "/api/v1/units" and denials[-1].details["action"] == "units.write"


def test_security_trail_is_append_only(client: TestClient) -> None:
    with session_factory()() as session:
        for statement in ("UPDATE security_events SET kind = 'x'", "DELETE FROM security_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement))
            session.rollback()


def test_owner_links_are_single_purpose_and_expire(configured: str, frozen_clock: clock.FrozenClock) -> None:
    request_id = uuid4()
    with session_factory()() as session, session.begin():
        link, token = links.issue(session, request_id, None)
        assert link.token_hash != token and len(link.token_hash) == 64
        assert link.expires_at == datetime(2026, 3, 24, 1, 59, 26, tzinfo=UTC)
    assert links.link_url(token).endswith(f"/respond/{token}")
    with session_factory()() as session, session.begin():
        assert links.resolve(session, token, "10.0.0.7").request_id == request_id
    with session_factory()() as session, session.begin(), pytest.raises(NotFound):
        links.resolve(session, token + "x", "10.0.0.7")
    frozen_clock.advance(days=10)
    with session_factory()() as session, session.begin(), pytest.raises(NotFound):
        links.resolve(session, token, "10.0.0.7")
    # revoked links are refused; a completed link only reads (acting through it is a conflict) until it expires
    with session_factory()() as session, session.begin():
        revoked, revoked_token = links.issue(session, uuid4(), None, ttl=timedelta(days=1))
        links.revoke(session, revoked.id)
    with session_factory()() as session, session.begin(), pytest.raises(NotFound):
        links.resolve(session, revoked_token, "10.0.0.8", read_only=True)
    with session_factory()() as session, session.begin():
        used, used_token = links.issue(session, uuid4(), None, ttl=timedelta(days=1))
        links.complete(session, used.request_id)
    with session_factory()() as session, session.begin(), pytest.raises(Conflict):
        links.resolve(session, used_token, "10.0.0.8")
    with session_factory()() as session, session.begin():
        assert links.resolve(session, used_token, "10.0.0.9", read_only=True).id == used.id
    frozen_clock.advance(days=2)
    with session_factory()() as session, session.begin(), pytest.raises(NotFound):
        links.resolve(session, used_token, "10.0.0.8", read_only=True)
    with session_factory()() as session:
        used = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "owner_link_used")).all()
        refused = {
            tally.client_address: tally
            for tally in session.scalars(
                select(SecurityEventTally).where(SecurityEventTally.kind == "owner_link_refused")
            )
        }
        assert not session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "owner_link_refused")).all()
    assert any(e.client_address == "10.0.0.7" and e.details["request_id"] == str(request_id) for e in used)
    assert any(e.client_address == "10.0.0.9" and e.details.get("read_only") for e in used)
    # refusals are counted per address (unknown + expired from .7; revoked, completed, expired from .8)
    assert refused["10.0.0.7"].count >= 2 and refused["10.0.0.8"].count >= 3
    assert refused["10.0.0.8"].last_details["reason"] == "expired"


def test_create_user_command(configured: str) -> None:
    code = f"CLI{uuid4().hex[:6]}"
    make_unit(code=code)
    result = CliRunner().invoke(
        cli,
        ["create-user", "cli@example.org", "--password", "a long password", "--role", "investigator", "--unit", code],
    )
    assert result.exit_code == 0, result.output
    assert "created investigator cli@example.org" in result.output
    bad = CliRunner().invoke(
        cli, ["create-user", "cli2@example.org", "--password", "a long password", "--role", "chief"]
    )
    assert bad.exit_code == 2
