"""The admin's pages against the real database: units, users, and the camera import with per-row errors."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import PASSWORD, make_owner, make_user, web_login


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _sign_in(client: TestClient, role: Role) -> None:
    _, email = make_user(role)
    assert web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303


def test_admin_creates_a_unit_and_a_user_and_sees_a_duplicate_refused_inline(client: TestClient) -> None:
    _sign_in(client, Role.admin)
    page = client.get("/admin/units")
    assert page.status_code == 200 and 'href="/admin/users"' in page.text
    token = _csrf(page.text)
    code = f"CA-{uuid.uuid4().hex[:6]}"
    made = client.post(
        "/admin/units",
        data={"csrf_token": token, "name": "Công an phường Bến Thành", "code": code},
        follow_redirects=False,
    )
    assert made.status_code == 303
    units = client.get(made.headers["location"]).text
    assert f"<td>{code}</td><td>Công an phường Bến Thành</td>" in units
    unit_id = re.search(rf"<td>{code}</td>.*?<code>([0-9a-f-]+)</code>", units, re.S).group(1)  # type: ignore[union-attr]
    again = client.post("/admin/units", data={"csrf_token": token, "name": "Trùng mã", "code": code})
    assert again.status_code == 422 and 'role="alert"' in again.text and code in again.text
    assert 'value="Trùng mã"' in again.text

    email = f"dtv-{uuid.uuid4().hex[:6]}@example.org"
    form = {
        "csrf_token": token,
        "email": email,
        "full_name": "Trần Văn Bình",
        "role": "investigator",
        "unit_id": unit_id,
        "owner_id": "",
        "password": "một mật khẩu đủ dài",
    }
    created = client.post("/admin/users", data=form, follow_redirects=False)
    assert created.status_code == 303
    users = client.get(created.headers["location"]).text
    assert f"Đã tạo người dùng: {email}" in users
    row = rf'<td[^>]*>{re.escape(email)}</td><td[^>]*><a href="/admin/users/[0-9a-f-]+">Trần Văn Bình</a></td>'
    assert re.search(row + "<td[^>]*>điều tra viên</td>", users)
    assert f"Công an phường Bến Thành ({code})" in users
    found = client.get("/admin/users", params={"q": "trần văn"}).text
    assert f">{email}</td>" in found and "Số người dùng tìm thấy" in found
    assert "Đã tạo người dùng" not in client.get("/admin/users?created=nobody@example.org").text
    duplicate = client.post("/admin/users", data={**form, "full_name": "Người khác"})
    assert duplicate.status_code == 422 and 'role="alert"' in duplicate.text and "Đã có người dùng" in duplicate.text
    assert f'value="{email}"' in duplicate.text and 'value="Người khác"' in duplicate.text  # the form is kept
    assert "một mật khẩu đủ dài" not in duplicate.text  # but not the password
    no_unit = client.post("/admin/users", data={**form, "email": f"x-{email}", "unit_id": ""})
    assert no_unit.status_code == 422 and "unit_id" in no_unit.text
    # the new user signs in
    client.cookies.clear()
    signed = web_login(client, data={"email": email, "password": "một mật khẩu đủ dài"}, follow_redirects=False)
    assert signed.status_code == 303


def test_admin_imports_a_csv_and_sees_every_bad_row(client: TestClient) -> None:
    _sign_in(client, Role.admin)
    token = _csrf(client.get("/admin/cameras/import").text)
    owner = make_owner("Trường THCS Lê Lợi", "school")
    tag = uuid.uuid4().hex[:8]
    csv_body = (
        "external_id,owner_id,label,lat,lon,retention_days\n"
        f"{tag}-1,{owner},Cổng trường Lê Lợi,10.78,106.70,14\n"
        f"{tag}-2,{owner},Sân sau,95.0,106.70,14\n"
        f"{tag}-3,{uuid.uuid4()},Chủ lạ,10.78,106.70,14\n"
        f",{owner},Thiếu mã,10.78,106.70,14\n"
        f"{tag}-5,{owner},Hành lang,10.7801,106.7001,30\n"
    )
    files = {"file": ("cameras.csv", csv_body.encode(), "text/csv")}
    result = client.post("/admin/cameras/import", data={"csrf_token": token}, files=files)
    assert result.status_code == 200
    assert 'id="import-created">2<' in result.text and 'id="import-updated">0<' in result.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", result.text)
    assert [(r, f) for r, f, _ in rows] == [("3", "lat"), ("4", "owner_id"), ("5", "external_id")]
    assert all(message.strip() for _, _, message in rows)
    assert rows[1][2] == "Không có chủ camera nào mang mã này."  # per-row errors in the page's language
    again = client.post("/admin/cameras/import", data={"csrf_token": token}, files=files)
    assert 'id="import-created">0<' in again.text and 'id="import-updated">2<' in again.text
    empty = client.post("/admin/cameras/import", data={"csrf_token": token}, files={"file": ("x.csv", b"", "text/csv")})
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    forged = client.post("/admin/cameras/import", data={"csrf_token": "forged"}, files=files)
    assert forged.status_code == 403


def test_admin_pages_refuse_other_roles_and_forms_without_csrf(client: TestClient) -> None:
    for path in ("/admin/users", "/admin/units", "/admin/cameras/import"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    _sign_in(client, Role.investigator)
    token = _csrf(client.get("/cases").text)
    for path in ("/admin/users", "/admin/units", "/admin/cameras/import"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/units", data={"csrf_token": token, "name": "X", "code": "X1"}).status_code == 403
    client.cookies.clear()
    _sign_in(client, Role.admin)
    code = f"N{uuid.uuid4().hex[:6]}"
    missing = client.post("/admin/units", data={"name": "Không có mã CSRF", "code": code})
    assert missing.status_code == 422  # the token is a required field
    forged = client.post("/admin/units", data={"csrf_token": "forged", "name": "Mã CSRF giả", "code": code})
    assert forged.status_code == 403
    forged_user = client.post("/admin/users", data={"csrf_token": "forged", "email": "x@example.org"})
    assert forged_user.status_code == 403
    units = client.get("/admin/units", params={"q": code}).text
    assert "Không có mã CSRF" not in units and "Mã CSRF giả" not in units
