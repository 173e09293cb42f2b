"""TOTP two-factor sign-in: required of admins and auditors and, by the unit's flag, of investigators; asked by the
token endpoint (`totp_code`) and by the pages (/login/code, /login/enrol with QR, key and recovery codes once);
recovery codes work once; an admin resets a lost authenticator."""

from __future__ import annotations

import re
import secrets

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth import service as auth
from app.auth import two_factor
from app.auth.models import RecoveryCode, Role, SecurityEvent, User
from app.auth.schemas import UserCreate
from app.core import clock
from app.core.db import session_factory
from tests.factories import PASSWORD, TOTP_SECRETS, account, make_unit, make_user, totp_code, web_login


def _token(client: TestClient, email: str, code: str | None = None) -> object:
    data = {"username": email, "password": PASSWORD}
    if code is not None:
        data["totp_code"] = code
    return client.post("/api/v1/auth/token", data=data)


def _problem(answer: object) -> tuple[int, str]:
    status = answer.status_code  # type: ignore[attr-defined]
    kind = answer.json().get("type", "") if status >= 400 else ""  # type: ignore[attr-defined]
    return status, kind.rsplit("/", 1)[-1]


def _unenrolled(role: Role) -> str:
    """A user of `role` who has not set up an authenticator (unlike the factories' admins and auditors)."""
    email = f"{role.value}-new-{secrets.token_hex(4)}@example.org"
    with session_factory()() as session, session.begin():
        auth.create_user(
            session, UserCreate(email=email, password=PASSWORD, full_name="Người mới", role=role, unit_id=None)
        )
    return email


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_token_flow_asks_for_the_code_and_counts_wrong_codes(client: TestClient) -> None:
    _, email = make_user(Role.auditor)
    assert _problem(_token(client, email)) == (401, "totp-code-required")
    assert _problem(_token(client, email, _wrong(totp_code(email)))) == (401, "totp-code-wrong")
    assert _problem(_token(client, email, totp_code(email))) == (200, "")
    with session_factory()() as session:
        failures = session.scalars(
            select(SecurityEvent).where(SecurityEvent.kind == "login_failure", SecurityEvent.email == email)
        ).all()
    assert [f.details for f in failures] == [{"second_factor": "wrong code"}]
    # the wrong password still fails first, whatever the code
    wrong = client.post("/api/v1/auth/token", data={"username": email, "password": "nope nope", "totp_code": "1"})
    assert _problem(wrong) == (401, "unauthorized")


def test_wrong_codes_make_the_account_wait(configured: str, frozen_clock: clock.FrozenClock) -> None:
    from app.main import create_app

    _, email = make_user(Role.admin)
    client = TestClient(create_app(), client=(f"203.0.113.{secrets.randbelow(200)}-{secrets.token_hex(3)}", 1))
    wrong = _wrong(totp_code(email))
    statuses = [_problem(_token(client, email, wrong))[0] for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_recovery_codes_work_once(client: TestClient) -> None:
    user_id, email = make_user(Role.investigator)
    with session_factory()() as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        codes = two_factor.enrol_with_secret(session, user, pyotp.random_base32())
    assert len(codes) == 10 and len(set(codes)) == 10
    with session_factory()() as session:
        hashes = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)).all()
    assert len(hashes) == 10 and not any(code in h for h in hashes for code in codes)  # hashed, not kept
    assert _problem(_token(client, email, codes[3].upper())) == (200, "")
    assert _problem(_token(client, email, codes[3])) == (401, "totp-code-wrong")
    assert _problem(_token(client, email, codes[4])) == (200, "")


def test_admins_and_auditors_must_enrol_and_a_unit_may_require_it(client: TestClient) -> None:
    for role in (Role.admin, Role.auditor):
        assert _problem(_token(client, _unenrolled(role))) == (403, "totp-enrolment-required")
    admin = account(client, Role.admin)
    unit = make_unit()
    _, investigator = make_user(Role.investigator, unit_id=unit)
    assert _problem(_token(client, investigator)) == (200, "")  # optional by default
    flagged = client.patch(f"/api/v1/units/{unit}", headers=admin.headers, json={"totp_required": True})
    assert flagged.status_code == 200 and flagged.json()["totp_required"] is True
    assert _problem(_token(client, investigator)) == (403, "totp-enrolment-required")
    client.patch(f"/api/v1/units/{unit}", headers=admin.headers, json={"totp_required": False})
    assert _problem(_token(client, investigator)) == (200, "")


def test_admin_reset_revokes_tokens_and_asks_for_a_new_enrolment(client: TestClient) -> None:
    admin = account(client, Role.admin)
    auditor = account(client, Role.auditor)
    assert client.get("/api/v1/me", headers=auditor.headers).status_code == 200
    refused = client.post(f"/api/v1/users/{admin.id}/totp/reset", headers=auditor.headers)
    assert refused.status_code == 403
    reset = client.post(f"/api/v1/users/{auditor.id}/totp/reset", headers=admin.headers)
    assert reset.status_code == 200 and reset.json()["totp_enabled"] is False
    assert client.get("/api/v1/me", headers=auditor.headers).status_code == 401  # its tokens are revoked
    assert _problem(_token(client, auditor.email, totp_code(auditor.email))) == (403, "totp-enrolment-required")
    with session_factory()() as session:
        event = session.scalars(
            select(SecurityEvent).where(SecurityEvent.kind == "totp_reset", SecurityEvent.user_id == auditor.id)
        ).one()
        assert event.details["by"] == str(admin.id) and event.details["was_enrolled"] is True
        assert not session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == auditor.id)).all()


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def test_pages_enrol_then_ask_for_the_code(client: TestClient) -> None:
    email = _unenrolled(Role.auditor)
    first = web_login(
        client, data={"email": email, "password": PASSWORD, "next": "/audit/custody"}, follow_redirects=False
    )
    assert first.status_code == 303 and first.headers["location"].startswith("/login/enrol")
    assert "footage_session" not in first.cookies  # not signed in before the second factor
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    enrol = client.get(first.headers["location"])
    assert enrol.status_code == 200 and "<svg" in enrol.text and "Thiết lập đăng nhập hai lớp" in enrol.text
    key = re.search(r'id="totp-key"[^>]*>([A-Z2-7 ]+)<', enrol.text)
    assert key is not None
    secret = key.group(1).replace(" ", "")
    form = {"csrf_token": _field(enrol.text, "csrf_token"), "next": _field(enrol.text, "next")}
    wrong = client.post("/login/enrol", data={**form, "code": _wrong(pyotp.TOTP(secret).now())})
    assert wrong.status_code == 401 and "Mã không đúng" in wrong.text and secret[:4] in wrong.text
    done = client.post("/login/enrol", data={**form, "code": pyotp.TOTP(secret).at(clock.now())})
    assert done.status_code == 200 and "footage_session" in done.cookies
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(codes) == 10 and 'href="/audit/custody"' in done.text
    assert done.headers["cache-control"] == "no-store"
    assert client.get("/", follow_redirects=False).status_code == 200

    # A new browser: password, then the code page.
    from app.main import create_app

    TOTP_SECRETS[email] = secret
    browser = TestClient(create_app(), client=(f"testclient-{secrets.token_hex(4)}", 50000))
    step = web_login(browser, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert step.status_code == 303 and "footage_session" in step.cookies
    # and with a recovery code instead, once
    other = TestClient(create_app(), client=(f"testclient-{secrets.token_hex(4)}", 50000))
    form_page = other.get("/login")
    answer = other.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": _field(form_page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert answer.headers["location"].startswith("/login/code")
    code_page = other.get(answer.headers["location"])
    assert "Mã xác thực" in code_page.text
    token = _field(code_page.text, "csrf_token")
    forged = other.post("/login/code", data={"code": codes[0], "csrf_token": "x" * 40}, follow_redirects=False)
    assert forged.status_code == 403
    used = other.post("/login/code", data={"code": codes[0], "csrf_token": token}, follow_redirects=False)
    assert used.status_code == 303 and "footage_session" in used.cookies


def test_admin_page_resets_a_users_authenticator(client: TestClient) -> None:
    auditor_id, _ = make_user(Role.auditor)
    _, admin = make_user(Role.admin)
    assert web_login(client, data={"email": admin, "password": PASSWORD}).status_code == 200
    page = client.get(f"/admin/users/{auditor_id}")
    assert "Đăng nhập hai lớp: đang bật" in page.text
    done = client.post(
        f"/admin/users/{auditor_id}/totp-reset",
        data={"csrf_token": _field(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "Đăng nhập hai lớp: chưa thiết lập" in after.text and 'id="totp-reset-form"' not in after.text
    with session_factory()() as session:
        user = session.get(User, auditor_id)
        assert user is not None and user.totp_secret is None and user.totp_enabled_at is None
