"""The admin's registry and account screens against the real database: owners found, created and edited,
cameras edited, a paper consent recorded on an owner's behalf, accounts deactivated and reset from the pages,
and an import that names owners by phone and creates the new ones."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role
from app.core.db import session_factory
from app.registry.models import Camera, Consent, Owner
from tests.factories import PASSWORD, make_camera, make_owner, make_user, sign_in, web_login

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _admin(client: TestClient) -> str:
    _, email = make_user(Role.admin)
    assert web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return _csrf(client.get("/admin/owners").text)


def _visible(html: str) -> str:
    """The page's text outside tags, attributes and the technical-details block."""
    html = re.sub(r"<details class=\"tech\">.*?</details>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_owner_created_found_edited_and_camera_edited(client: TestClient) -> None:
    token = _admin(client)
    tag = uuid.uuid4().hex[:6]
    form = {"csrf_token": token, "name": f"Nhà thuốc Minh Châu {tag}", "kind": "business", "phone": "0903 111 222"}
    made = client.post("/admin/owners", data={**form, "email": "", "address": "12 Lê Lợi"}, follow_redirects=False)
    assert made.status_code == 303
    owner_page = client.get(made.headers["location"])
    assert owner_page.status_code == 200 and f"Nhà thuốc Minh Châu {tag}" in owner_page.text
    assert not UUID_TEXT.search(_visible(owner_page.text))
    found = client.get("/admin/owners", params={"q": tag}).text
    assert f"Nhà thuốc Minh Châu {tag}</a>" in found and "Số chủ camera tìm thấy: 1" in found
    assert "cơ sở kinh doanh" in found
    owner_id = made.headers["location"].split("/")[3].split("?")[0]
    bad = client.post(f"/admin/owners/{owner_id}", data={**form, "kind": "alien"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    edited = client.post(
        f"/admin/owners/{owner_id}", data={**form, "name": f"Nhà thuốc Minh Châu 2 {tag}", "external_id": f"CH-{tag}"}
    )
    assert edited.status_code == 200 and "Đã lưu." in edited.text  # followed the redirect
    with session_factory()() as session:
        owner = session.get(Owner, uuid.UUID(owner_id))
        assert owner is not None and owner.name == f"Nhà thuốc Minh Châu 2 {tag}" and owner.external_id == f"CH-{tag}"

    camera_id = make_camera(uuid.UUID(owner_id), label="Cổng trước")
    page = client.get(f"/admin/owners/{owner_id}").text
    assert f'href="/admin/cameras/{camera_id}"' in page
    camera_page = client.get(f"/admin/cameras/{camera_id}")
    assert camera_page.status_code == 200 and "Cổng trước" in camera_page.text
    fields = {
        "csrf_token": token,
        "label": "Cổng trước (đã dời)",
        "lat": "10,7745",
        "lon": "106.7012",
        "retention_days": "21",
        "direction_deg": "90",
        "programme": "private",
        "status": "active",
    }
    saved = client.post(f"/admin/cameras/{camera_id}", data=fields)
    assert saved.status_code == 200 and "Đã lưu." in saved.text
    with session_factory()() as session:
        camera = session.get(Camera, camera_id)
        assert camera is not None and camera.label == "Cổng trước (đã dời)"
        assert (camera.lat, camera.retention_days, camera.direction_deg) == (10.7745, 21, 90.0)
    wrong = client.post(f"/admin/cameras/{camera_id}", data={**fields, "lat": "95"})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text


def test_paper_consent_recorded_on_the_owners_behalf(client: TestClient) -> None:
    token = _admin(client)
    owner_id = make_owner("Hộ bà Trần Thị Bình")
    make_camera(owner_id, label="Hiên nhà")
    missing = client.post(f"/admin/owners/{owner_id}/consents", data={"csrf_token": token, "signed_on": "2026-03-01"})
    assert missing.status_code == 422 and "Hãy nhập số phiếu" in missing.text
    form = {
        "csrf_token": token,
        "paper_reference": "PĐY-2026-0042",
        "signed_by": "Trần Thị Bình",
        "signed_on": "2026-03-01",
        "scope": "on_request",
        "terms_version": "2025-01",
    }
    done = client.post(f"/admin/owners/{owner_id}/consents", data=form)
    assert done.status_code == 200 and "Đã ghi nhận sự đồng ý." in done.text
    assert "PĐY-2026-0042" in done.text  # in the consent history shown
    with session_factory()() as session:
        consent = session.scalars(select(Consent).where(Consent.owner_id == owner_id)).one()
        assert "PĐY-2026-0042" in consent.legal_basis and "PĐY-2026-0042" in consent.given_by
        assert consent.given_by.startswith("Trần Thị Bình")
        assert consent.valid_from.isoformat().startswith("2026-02-28T17:00")  # 1 March, Vietnam time


def test_user_deactivated_reactivated_and_reset_from_the_pages(client: TestClient) -> None:
    token = _admin(client)
    user_id, email = make_user(Role.investigator)
    bearer = sign_in(client, email)
    users = client.get("/admin/users", params={"q": email}).text
    assert f'href="/admin/users/{user_id}"' in users
    assert '<option value="">Chọn…</option>' in users  # no role chosen by default
    page = client.get(f"/admin/users/{user_id}")
    assert page.status_code == 200 and "Khóa tài khoản" in page.text
    off = client.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": token})
    assert off.status_code == 200 and "Đã khóa tài khoản" in off.text and "Mở lại tài khoản" in off.text
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401
    on = client.post(f"/admin/users/{user_id}/reactivate", data={"csrf_token": token})
    assert on.status_code == 200 and "Đã mở lại tài khoản" in on.text
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401
    reset = client.post(f"/admin/users/{user_id}/password-reset", data={"csrf_token": token})
    assert reset.status_code == 200
    link = re.search(r'id="reset-url" readonly value="([^"]+)"', reset.text)
    assert link is not None and "/reset-password/" in link.group(1)
    assert link.group(1) not in client.get(f"/admin/users/{user_id}").text  # shown once
    path = "/reset-password/" + link.group(1).rsplit("/", 1)[1]
    client.cookies.clear()
    assert (
        client.post(path, data={"password": "mật khẩu mới đủ dài", "confirm": "mật khẩu mới đủ dài"}).status_code == 200
    )
    sign_in(client, email, "mật khẩu mới đủ dài")
    assert (
        client.post(path, data={"password": "lại lần nữa đủ dài", "confirm": "lại lần nữa đủ dài"}).status_code == 410
    )
    # role and unit edits
    client.cookies.clear()
    token = _admin(client)
    edit = client.post(
        f"/admin/users/{user_id}",
        data={"csrf_token": token, "full_name": "Lê Văn Cường", "role": "supervisor", "unit_id": ""},
    )
    assert edit.status_code == 422 and 'role="alert"' in edit.text  # a supervisor needs a unit


def test_import_names_owners_by_phone_and_creates_new_ones(client: TestClient) -> None:
    token = _admin(client)
    page = client.get("/admin/cameras/import").text
    assert "owner_phone" in page and 'href="/admin/cameras/import/template.csv"' in page
    assert page.count('id="import-columns"') == 1 and "<title>Nhập camera ·" in page
    template = client.get("/admin/cameras/import/template.csv")
    assert template.status_code == 200 and "owner_phone" in template.text.splitlines()[0]
    example = client.get("/admin/cameras/import/example.geojson").json()
    assert example["features"][0]["properties"]["owner_phone"]
    tag = uuid.uuid4().hex[:6]
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    other = f"09{uuid.uuid4().int % 10**8:08d}"
    known = make_owner(f"Chủ cũ {tag}")
    with session_factory()() as session, session.begin():
        owner = session.get(Owner, known)
        assert owner is not None
        owner.phone = f"0{tag[:3]}"  # unrelated
    csv_body = (
        "external_id,label,lat,lon,retention_days,owner_phone,owner_name,owner_kind\n"
        f"{tag}-1,Cổng A,10.78,106.70,14,{phone},Tiệm vàng Kim Long {tag},business\n"
        f"{tag}-2,Cổng B,10.781,106.701,14,{phone[:4]} {phone[4:]},,\n"
        f"{tag}-3,Cổng C,10.782,106.702,14,{other},,\n"
        f"{tag}-4,Cổng D,95,106.702,14,{phone},,\n"
        f"{tag}-5,Cổng E,10.782,106.702,14,,,\n"
    )
    files = {"file": ("cameras.csv", csv_body.encode(), "text/csv")}
    result = client.post("/admin/cameras/import", data={"csrf_token": token}, files=files)
    assert result.status_code == 200
    assert 'id="import-created">2<' in result.text and 'id="import-owners">1<' in result.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", result.text)
    assert rows == [
        ("4", "owner_name", "Đây là chủ camera mới: hãy điền owner_name."),
        ("5", "lat", "Giá trị quá lớn; lớn nhất được phép là 90."),
        ("6", "owner_phone", "Hãy ghi chủ camera bằng owner_phone hoặc owner_external_id."),
    ]
    with session_factory()() as session:
        owners = session.scalars(select(Owner).where(Owner.name == f"Tiệm vàng Kim Long {tag}")).all()
        assert len(owners) == 1 and owners[0].kind == "business"
        cameras = session.scalars(select(Camera).where(Camera.external_id.like(f"{tag}-%"))).all()
        assert {c.owner_id for c in cameras} == {owners[0].id}
    again = client.post("/admin/cameras/import", data={"csrf_token": token}, files=files)
    assert 'id="import-updated">2<' in again.text and 'id="import-owners">0<' in again.text
