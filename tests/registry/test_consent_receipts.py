"""Consent receipts: giving, changing and withdrawing consent each sends the owner a receipt (email through a real
SMTP server, and the bridge) with the terms, scope, validity, custody seq and leaf hash; the Vietnamese PDF reads
back with pdftotext; the public check route and `scripts/verify_bundle.py --receipt` verify the leaf hash; a
withdrawal stops auto-approval at once and emails the investigators of open requests on that camera."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.db import session_factory
from app.notifications import service as notifications
from app.registry import service as registry
from app.registry.schemas import OwnerCreate
from tests.factories import PASSWORD, account, make_camera, make_unit, web_login
from tests.notifications.conftest import Inbox, smtp_inbox  # noqa: F401 - the real SMTP server

ROOT = Path(__file__).resolve().parents[2]


def _owner(email: str) -> uuid.UUID:
    with session_factory()() as session, session.begin():
        body = OwnerCreate(name="Cửa hàng điện thoại Minh Phát", kind="business", email=email, phone="0912 345 678")
        return registry.create_owner(session, body).id


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _to(inbox: Inbox, address: str, subject_start: str) -> list[EmailMessage]:
    return [m for m in inbox.messages if m["To"] == address and str(m["Subject"]).startswith(subject_start)]


def _consent(client: TestClient, owner: Any, camera: uuid.UUID | None, scope: str) -> dict[str, Any]:
    given = client.post(
        f"/api/v1/owners/{owner.owner_id}/consents",
        headers=owner.headers,
        json={
            "camera_id": str(camera) if camera else None,
            "scope": scope,
            "valid_from": "2026-01-01T00:00:00+07:00",
            "valid_until": "2027-12-31T23:59:59+07:00",
            "terms_version": "CAMERA-ANTT-2026-01",
            "legal_basis": "Thỏa thuận tham gia chương trình camera",
        },
    )
    assert given.status_code == 201, given.text
    return dict(given.json())


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_a_consent_receipt_is_emailed_readable_as_a_pdf_and_verifiable(
    client: TestClient,
    smtp_inbox: Inbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    address = f"minhphat-{uuid.uuid4().hex[:6]}@example.vn"
    owner_id = _owner(address)
    owner = account(client, Role.owner, owner_id=owner_id)
    camera = make_camera(owner_id, label="Camera quầy thu ngân")
    consent = _consent(client, owner, camera, "auto_approve")
    notifications.deliver_due(session_factory())
    [mail] = _to(smtp_inbox, address, "Biên nhận")
    text = _text(mail)
    for words in (
        "Chúng tôi đã ghi nhận: Đồng ý.",
        "Áp dụng cho: Camera quầy thu ngân",
        "Phạm vi: Tự động đồng ý mọi đề nghị trích xuất",
        "Hiệu lực: 00:00:00, 01/01/2026 (giờ Việt Nam, UTC+7) → 23:59:59, 31/12/2027 (giờ Việt Nam, UTC+7)",
        "Điều khoản: phiên bản CAMERA-ANTT-2026-01",
    ):
        assert words in text, words
    listed = client.get(f"/api/v1/consents/{consent['id']}/receipts", headers=owner.headers).json()
    [receipt] = listed
    assert receipt["change"] == "given"
    assert f"Số biên nhận trong sổ theo dõi: {receipt['custody_seq']}" in text
    assert f"Mã băm (leaf hash): {receipt['leaf_hash']}" in text
    assert receipt["check_url"] in text.splitlines()

    # the public check: right pair → valid with its proof; a wrong hash or number → 404
    path = receipt["check_url"].split("://", 1)[1].split("/", 1)[1]
    checked = client.get(f"/{path}")
    assert checked.status_code == 200, checked.text
    assert checked.json()["valid"] is True and checked.json()["change"] == "given"
    assert checked.json()["inclusion_proof"]["leaf_hash"] == receipt["leaf_hash"]
    wrong = "0" * 64
    assert client.get(f"/api/v1/custody/receipts/{receipt['custody_seq']}/{wrong}").status_code == 404
    assert client.get(f"/api/v1/custody/receipts/1/{receipt['leaf_hash']}").status_code == 404

    # the PDF, read back as text: Vietnamese, with the terms, scope, validity, seq and leaf hash
    pdf = client.get(
        f"/api/v1/consents/{consent['id']}/receipts/{receipt['custody_seq']}",
        params={"format": "pdf"},
        headers=owner.headers,
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    words = " ".join(_pdf_text(pdf.content, tmp_path).split())
    for expected in (
        "BIÊN NHẬN SỰ ĐỒNG Ý",
        "Cửa hàng điện thoại Minh Phát",
        "Tự động đồng ý mọi đề nghị trích xuất",
        "Camera quầy thu ngân",
        "00:00:00, 01/01/2026 (giờ Việt Nam, UTC+7)",
        "Phiên bản CAMERA-ANTT-2026-01",
        "Chương trình Camera với an ninh trật tự",
        f"Số trong sổ theo dõi {receipt['custody_seq']}",
        receipt["leaf_hash"],
    ):
        assert expected in words, expected

    # the JSON receipt verifies offline; altered, it does not
    made = client.get(
        f"/api/v1/consents/{consent['id']}/receipts/{receipt['custody_seq']}", headers=owner.headers
    ).json()
    saved = tmp_path / "receipt.json"
    saved.write_text(json.dumps(made, ensure_ascii=False))
    script = [sys.executable, str(ROOT / "scripts" / "verify_bundle.py"), "--receipt", str(saved)]
    run = subprocess.run(script, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED" in run.stdout and receipt["leaf_hash"] in run.stdout
    forged = {**made, "consent": {**made["consent"], "scope": "on_request"}}
    saved.write_text(json.dumps(forged, ensure_ascii=False))
    run = subprocess.run(script, capture_output=True, text=True)
    assert run.returncode == 1 and "scope" in run.stdout
    other = {**made, "leaf_hash": "1" * 64}
    saved.write_text(json.dumps(other, ensure_ascii=False))
    assert subprocess.run(script, capture_output=True, text=True).returncode == 1

    # someone else's consent: not found
    stranger = account(client, Role.owner, owner_id=_owner(f"x-{uuid.uuid4().hex[:6]}@example.vn"))
    assert client.get(f"/api/v1/consents/{consent['id']}/receipts", headers=stranger.headers).status_code == 404

    # the owner's page links the PDF (signed in with the session cookie)
    assert (
        web_login(client, data={"email": owner.email, "password": PASSWORD}, follow_redirects=False).status_code == 303
    )
    page = client.get("/owner/cameras").text
    link = f"/owner/consents/{consent['id']}/receipts/{receipt['custody_seq']}.pdf"
    assert f'href="{link}"' in page and "Biên nhận đồng ý" in page
    from_page = client.get(link)
    assert from_page.status_code == 200 and from_page.content[:5] == b"%PDF-"


def test_a_second_consent_is_a_change_and_a_withdrawal_stops_auto_approval_and_tells_investigators(
    client: TestClient,
    smtp_inbox: Inbox,  # noqa: F811
) -> None:
    address = f"owner-{uuid.uuid4().hex[:6]}@example.vn"
    owner_id = _owner(address)
    owner = account(client, Role.owner, owner_id=owner_id)
    seed = uuid.uuid4().int
    lat, lon = 19.7 + (seed % 1000) / 10000, 105.7 + (seed // 1000 % 1000) / 10000
    camera = make_camera(owner_id, lat, lon, label="Camera ngã tư Bà Triệu")
    _consent(client, owner, None, "on_request")
    changed = _consent(client, owner, None, "auto_approve")
    notifications.deliver_due(session_factory())
    receipts = _to(smtp_inbox, address, "Biên nhận")
    assert len(receipts) == 2 and "Chúng tôi đã ghi nhận: Thay đổi sự đồng ý." in _text(receipts[1])

    investigator = account(client, Role.investigator, unit_id=make_unit())
    bystander = account(client, Role.investigator, unit_id=make_unit())
    start = (datetime.now(UTC) - timedelta(hours=6)).replace(microsecond=0)
    number = f"VV-{uuid.uuid4().hex[:6]}"
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": number,
            "title": "Va chạm giao thông",
            "offence": "traffic",
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    ).json()

    def file(minutes: int) -> Any:
        return client.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers=investigator.headers,
            json={
                "camera_id": str(camera),
                "window_start": (start + timedelta(minutes=minutes)).isoformat(),
                "window_end": (start + timedelta(minutes=minutes + 1)).isoformat(),
                "purpose": "Xác định phương tiện",
                "legal_basis": "Điều 88 BLTTHS 2015",
            },
        )

    first = file(0)
    assert first.status_code == 201 and first.json()["status"] == "approved"  # auto-approved under the consent

    withdrawn = client.post(
        f"/api/v1/consents/{changed['id']}/withdraw", headers=owner.headers, json={"reason": "Chuyển nhà"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    # at once: the next filing on that camera is no longer approved by itself
    second = file(10)
    assert second.status_code == 201, second.text
    assert second.json()["status"] == "submitted" and not second.json().get("auto_approved")

    notifications.deliver_due(session_factory())
    [told] = _to(smtp_inbox, investigator.email, "Chủ camera đã rút lại")
    body = _text(told)
    assert number in str(told["Subject"]) and "Cửa hàng điện thoại Minh Phát đã rút lại sự đồng ý" in body
    assert "Lý do: Chuyển nhà" in body and "Camera ngã tư Bà Triệu" in body
    assert f"/requests/{first.json()['id']}" in body
    assert _to(smtp_inbox, bystander.email, "Chủ camera") == []
    receipts = _to(smtp_inbox, address, "Biên nhận")
    assert len(receipts) == 3 and "Chúng tôi đã ghi nhận: Rút lại sự đồng ý." in _text(receipts[2])
    assert "lý do: Chuyển nhà" in _text(receipts[2])
