"""Admin account actions against the real database: deactivation refuses every token at once, reactivation
does not revive them, and a password-reset link sets a password once, and never after it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.auth.models import Role, SecurityEvent
from app.cli import cli
from app.core import clock
from app.core.db import session_factory
from app.notifications.models import Notification
from tests.factories import PASSWORD, account, sign_in

NEW_PASSWORD = "mật khẩu mới đủ dài 2026"


def _events(email: str) -> list[str]:
    with session_factory()() as session:
        return list(
            session.scalars(select(SecurityEvent.kind).where(SecurityEvent.email == email).order_by(SecurityEvent.id))
        )


def test_deactivate_refuses_tokens_and_reactivation_does_not_revive_them(client: TestClient) -> None:
    admin = account(client, Role.admin)
    officer = account(client, Role.investigator)
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 200
    other = account(client, Role.auditor)
    refused = client.post(f"/api/v1/users/{officer.id}/deactivate", headers=other.headers)
    assert refused.status_code == 403

    off = client.post(f"/api/v1/users/{officer.id}/deactivate", headers=admin.headers)
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 401
    login = client.post("/api/v1/auth/token", data={"username": officer.email, "password": PASSWORD})
    assert login.status_code == 401
    assert client.post(f"/api/v1/users/{officer.id}/deactivate", headers=admin.headers).status_code == 409
    assert client.post(f"/api/v1/users/{admin.id}/deactivate", headers=admin.headers).status_code == 422

    on = client.post(f"/api/v1/users/{officer.id}/reactivate", headers=admin.headers)
    assert on.status_code == 200 and on.json()["is_active"] is True
    # the token from before the deactivation stays dead; a new sign-in works
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 401
    fresh = sign_in(client, officer.email)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    kinds = _events(officer.email)
    assert "user_deactivated" in kinds and "user_reactivated" in kinds
    # every change went through the custody log, so verification finds the user's row as the log says
    edited = client.patch(f"/api/v1/users/{officer.id}", headers=admin.headers, json={"role": "supervisor"})
    assert edited.status_code == 200 and edited.json()["role"] == "supervisor"
    verified = client.post("/api/v1/custody/verify", headers=admin.headers).json()
    assert not [p for p in verified["problems"] if str(officer.id) in str(p)], verified["problems"]


def test_reset_link_sets_a_password_once(client: TestClient) -> None:
    admin = account(client, Role.admin)
    officer = account(client, Role.supervisor)
    made = client.post(f"/api/v1/users/{officer.id}/password-reset", headers=admin.headers)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    token = url.rsplit("/", 1)[1]
    path = "/reset-password/" + token
    # the link is emailed to the user
    with session_factory()() as session:
        sent = session.scalars(
            select(Notification).where(
                Notification.recipient == officer.email, Notification.template == "password_reset"
            )
        ).all()
    assert len(sent) == 1
    # a reset link is not an access token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    page = client.get(path)
    assert page.status_code == 200 and officer.email in page.text
    mismatch = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "Hai mật khẩu không giống nhau" in mismatch.text
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and 'id="reset-done"' in done.text
    # signed out everywhere, the new password works, the old one does not
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 401
    sign_in(client, officer.email, NEW_PASSWORD)
    old = client.post("/api/v1/auth/token", data={"username": officer.email, "password": PASSWORD})
    assert old.status_code == 401
    # second use refused
    again = client.post(path, data={"password": "một mật khẩu khác nữa", "confirm": "một mật khẩu khác nữa"})
    assert again.status_code == 410 and 'id="reset-invalid"' in again.text
    assert client.get(path).status_code == 410
    sign_in(client, officer.email, NEW_PASSWORD)
    kinds = _events(officer.email)
    assert "password_reset_issued" in kinds and "password_reset_done" in kinds


def test_expired_reset_link_is_refused(client: TestClient) -> None:
    admin = account(client, Role.admin)
    officer = account(client, Role.auditor)
    frozen = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(frozen)
    try:
        url = client.post(f"/api/v1/users/{officer.id}/password-reset", headers=admin.headers).json()["url"]
        path = "/reset-password/" + url.rsplit("/", 1)[1]
        assert client.get(path).status_code == 200
        frozen.current += timedelta(hours=24, seconds=1)
        assert client.get(path).status_code == 410
        late = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert late.status_code == 410
    finally:
        clock.set_clock(None)
    sign_in(client, officer.email)  # the password is unchanged


def test_reset_refused_for_a_deactivated_account_and_cli_commands(client: TestClient) -> None:
    admin = account(client, Role.admin)
    officer = account(client, Role.investigator)
    runner = CliRunner()
    off = runner.invoke(cli, ["deactivate-user", officer.email])
    assert off.exit_code == 0, off.output
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 401
    assert client.post(f"/api/v1/users/{officer.id}/password-reset", headers=admin.headers).status_code == 409
    assert runner.invoke(cli, ["reset-password", officer.email]).exit_code == 2
    on = runner.invoke(cli, ["reactivate-user", officer.email])
    assert on.exit_code == 0, on.output
    reset = runner.invoke(cli, ["reset-password", officer.email])
    assert reset.exit_code == 0, reset.output
    link = next(line.strip() for line in reset.output.splitlines() if "/reset-password/" in line)
    path = "/reset-password/" + link.rsplit("/", 1)[1]
    assert client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 200
    sign_in(client, officer.email, NEW_PASSWORD)
    assert runner.invoke(cli, ["deactivate-user", "nobody@example.org"]).exit_code == 2
