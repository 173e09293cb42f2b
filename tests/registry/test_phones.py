"""Phones in one spelling, E.164: owners and units entered through the API, the admin pages and imports are stored as
+84…, shown as people write them, and a text that is no phone number is refused with the field named (in
Vietnamese on the pages)."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role, Unit
from app.auth.permissions import Actor
from app.core import phones
from app.core.db import session_factory
from app.registry import service as registry
from app.registry.models import Owner
from app.registry.schemas import OwnerUpdate
from tests.factories import PASSWORD, account, make_user, web_login


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("0903 123 456", "+84903123456"),
        ("090.312.3456", "+84903123456"),
        ("+84 903-123-456", "+84903123456"),
        ("84903123456", "+84903123456"),
        ("(028) 3829 7001", "+842838297001"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_vietnamese_spellings_become_e164(written: str, stored: str) -> None:
    assert phones.normalise(written) == stored


@pytest.mark.parametrize("written", ["12345", "abc", "0903", "+84 12", "0801234567", "9" * 41])
def test_what_is_no_phone_number_is_refused(written: str) -> None:
    with pytest.raises(phones.PhoneError):
        phones.normalise(written)


def test_display_is_the_national_form_at_home() -> None:
    assert phones.display("+84903123456") == "0903 123 456"
    assert phones.display("+842838297001") == "028 3829 7001"
    assert phones.display(None) is None


def _unique_mobile() -> str:
    return f"0903{uuid.uuid4().int % 10**6:06d}"


def test_owners_and_units_are_stored_in_e164_and_bad_phones_refused(client: TestClient) -> None:
    admin = account(client, Role.admin)
    written = _unique_mobile()
    made = client.post(
        "/api/v1/owners",
        headers=admin.headers,
        json={"name": "Tiệm vàng Kim Ngân", "kind": "business", "phone": f"{written[:4]} {written[4:7]} {written[7:]}"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["phone"] == "+84" + written[1:]
    refused = client.post(
        "/api/v1/owners", headers=admin.headers, json={"name": "X", "kind": "household", "phone": "12345"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "phone"
    with session_factory()() as session, session.begin():
        actor = Actor(kind="user", role=Role.admin, user_id=None)
        changed = registry.update_owner(
            session, actor, uuid.UUID(made.json()["id"]), OwnerUpdate(phone="+84 28 3829 7001")
        )
        assert changed.phone == "+842838297001"
    unit = client.post(
        "/api/v1/units",
        headers=admin.headers,
        json={"name": "Công an phường Hàm Rồng", "code": f"HR{uuid.uuid4().hex[:6]}", "phone": "0237 3852 100"},
    )
    assert unit.status_code == 201, unit.text
    assert unit.json()["phone"] == "+842373852100"
    bad_unit = client.post(
        "/api/v1/units", headers=admin.headers, json={"name": "U", "code": f"U{uuid.uuid4().hex[:6]}", "phone": "12"}
    )
    assert bad_unit.status_code == 422 and bad_unit.json()["errors"][0]["field"] == "phone"


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_admin_pages_refuse_a_bad_phone_in_vietnamese_and_show_stored_ones_as_written(client: TestClient) -> None:
    _, email = make_user(Role.admin)
    assert web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    token = _csrf(client.get("/admin/owners").text)
    tag = uuid.uuid4().hex[:6]
    form = {"csrf_token": token, "name": f"Nhà thuốc An Khang {tag}", "kind": "business", "email": "", "address": ""}
    bad = client.post("/admin/owners", data={**form, "phone": "số nhà 12"})
    assert bad.status_code == 422
    assert "Số điện thoại: hãy ghi số điện thoại, ví dụ 0903 123 456 hoặc +84 903 123 456." in bad.text
    written = _unique_mobile()
    made = client.post("/admin/owners", data={**form, "phone": written}, follow_redirects=False)
    assert made.status_code == 303
    with session_factory()() as session:
        owner = session.scalars(select(Owner).where(Owner.name == f"Nhà thuốc An Khang {tag}")).one()
        assert owner.phone == "+84" + written[1:]
    listed = client.get("/admin/owners", params={"q": tag}).text
    assert f"{written[:4]} {written[4:7]} {written[7:]}" in listed

    units = client.get("/admin/units").text
    unit_token = _csrf(units)
    code = f"TH{tag}"
    saved = client.post(
        "/admin/units",
        data={"csrf_token": unit_token, "name": "Công an phường Đông Vệ", "code": code, "phone": "02373 852 100"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with session_factory()() as session:
        unit = session.scalars(select(Unit).where(Unit.code == code)).one()
        assert unit.phone == "+842373852100"
    shown = client.get("/admin/units", params={"q": code}).text
    assert "0237 3852 100" in re.sub(r"\s+", " ", shown)


def test_an_import_matches_owners_by_any_spelling_and_refuses_a_bad_phone(client: TestClient) -> None:
    admin = account(client, Role.admin)
    tag = uuid.uuid4().hex[:6]
    written = _unique_mobile()
    spaced = f"+84 {written[1:4]} {written[4:7]} {written[7:]}"
    csv_body = (
        "external_id,label,lat,lon,retention_days,owner_phone,owner_name\n"
        f"{tag}-1,Cổng A,10.78,106.70,14,{written},Quán cà phê Hoa Sữa {tag}\n"
        f"{tag}-2,Cổng B,10.781,106.701,14,{spaced},\n"
        f"{tag}-3,Cổng C,10.782,106.702,14,không có,Ông Ba\n"
    )
    result = client.post(
        "/api/v1/cameras/import", content=csv_body.encode(), headers={**admin.headers, "Content-Type": "text/csv"}
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["created"] == 2
    [error] = body["errors"]
    assert error["row"] == 4 and error["field"] == "owner_phone" and error["code"] == "phone_invalid"
    with session_factory()() as session:
        owners = session.scalars(select(Owner).where(Owner.name == f"Quán cà phê Hoa Sữa {tag}")).all()
        assert [o.phone for o in owners] == ["+84" + written[1:]]
