from __future__ import annotations

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import PASSWORD, make_user, web_login


def test_pages_need_sign_in_and_speak_vietnamese_first(client: TestClient) -> None:
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text


def test_sign_in_sets_an_httponly_cookie_and_language_switches(client: TestClient) -> None:
    _, email = make_user(Role.auditor)
    wrong = web_login(client, data={"email": email, "password": "wrong wrong"})
    assert wrong.status_code == 401 and "Thư điện tử hoặc mật khẩu không đúng" in wrong.text
    done = web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "footage_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = client.get("/")
    assert "Xin chào" in home.text and "kiểm sát viên" in home.text
    client.get("/lang/en")
    english = client.get("/")
    assert "Welcome" in english.text and 'lang="en"' in english.text


def test_logout_form_needs_the_csrf_token(client: TestClient) -> None:
    _, email = make_user(Role.auditor)
    web_login(client, data={"email": email, "password": PASSWORD})
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    page = client.get("/").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).status_code == 303
