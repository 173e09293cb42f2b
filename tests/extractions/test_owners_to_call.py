"""Owners no message reaches are listed for the investigator to call, with their phone, on the API and the case
page: no email and no bridge, no email and no phone, or every bridge message reported failed; an owner with email
is not listed, nor one whose requests no longer wait on them; another unit does not see the case."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.notifications import service as notifications
from app.notifications.webhook import signature_header
from app.registry import service as registry
from app.registry.schemas import OwnerCreate
from tests.factories import (
    PASSWORD,
    account,
    give_consent,
    make_camera,
    make_unit,
    make_user,
    sign_in,
    web_login,
)
from tests.notifications.conftest import WebhookReceiver, webhook_receiver  # noqa: F401 - the real receiver

SECRET = "to-call-" + uuid.uuid4().hex


def _owner(name: str, phone: str | None, email: str | None) -> uuid.UUID:
    with session_factory()() as session, session.begin():
        return registry.create_owner(session, OwnerCreate(name=name, kind="household", phone=phone, email=email)).id


def _mobile() -> str:
    return f"0912{uuid.uuid4().int % 10**6:06d}"


def _case_with_owners(client: TestClient, owners: list[uuid.UUID]) -> tuple[Any, str, dict[uuid.UUID, str]]:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": "Cướp giật",
            "offence": "robbery",
            "incident_lat": 19.80,
            "incident_lon": 105.78,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    ).json()
    requests = {}
    for index, owner in enumerate(owners):
        give_consent(owner)
        camera = make_camera(
            owner, 19.80 + index / 10000, 105.78, label=f"Camera nhà số {index + 1}", retention_days=3 + index
        )
        filed = client.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers=investigator.headers,
            json={
                "camera_id": str(camera),
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(minutes=2)).isoformat(),
                "purpose": "Xác định đối tượng",
                "legal_basis": "Điều 88 BLTTHS 2015",
            },
        )
        assert filed.status_code == 201, filed.text
        requests[owner] = filed.json()["id"]
    return investigator, case["id"], requests


@pytest.fixture()
def bridged(webhook_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:  # noqa: F811
    previous = get_settings()
    override_settings(notification_webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    try:
        yield webhook_receiver
    finally:
        override_settings(**previous.model_dump())


def test_owners_without_email_or_working_bridge_are_listed_to_call(
    client: TestClient, bridged: WebhookReceiver
) -> None:
    phone_only, phone_failed = _mobile(), _mobile()
    reached = _owner("Bà Lê Thị Mai", phone_only, None)  # the bridge reaches her
    failing = _owner("Ông Phạm Văn Tư", phone_failed, None)  # the bridge reports failed
    nothing = _owner("Ông Hoàng Văn Năm", None, None)  # no email, no phone
    emailed = _owner("Cô Đỗ Thu", None, f"thu-{uuid.uuid4().hex[:6]}@example.vn")
    investigator, case_id, requests = _case_with_owners(client, [reached, failing, nothing, emailed])
    notifications.deliver_due(session_factory())
    sent = {json.loads(h.body)["recipient"]["phone"]: json.loads(h.body)["message_id"] for h in bridged.received}
    failed_id = sent["+84" + phone_failed[1:]]
    raw = json.dumps(
        {
            "reports": [
                {"message_id": failed_id, "status": "failed", "at": datetime.now(UTC).isoformat(), "channel": "sms"}
            ]
        }
    ).encode()
    stamp = int(datetime.now(UTC).timestamp())
    reported = client.post(
        "/api/v1/notifications/delivery-reports",
        content=raw,
        headers={"Content-Type": "application/json", "X-Signature": signature_header(SECRET, raw, stamp)},
    )
    assert reported.status_code == 200, reported.text

    listed = client.get(f"/api/v1/cases/{case_id}/owners-to-call", headers=investigator.headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["owner_name"], r["reason"]) for r in rows] == [
        ("Ông Phạm Văn Tư", "bridge_failed"),
        ("Ông Hoàng Văn Năm", "no_email_no_phone"),
    ]  # soonest overwrite deadline first (retention 4 days, then 5)
    assert rows[0]["phone"] == "+84" + phone_failed[1:]
    assert rows[0]["phone_display"] == f"{phone_failed[:4]} {phone_failed[4:7]} {phone_failed[7:]}"
    assert rows[0]["requests"][0]["request_id"] == requests[failing]
    assert rows[0]["requests"][0]["overwrite_deadline_local"].endswith("+07:00")
    assert rows[1]["phone"] is None

    # another unit's investigator does not see the case
    stranger = account(client, Role.investigator, unit_id=make_unit())
    assert client.get(f"/api/v1/cases/{case_id}/owners-to-call", headers=stranger.headers).status_code == 404

    # the case page lists them too, with a tel: link, in Vietnamese
    signed_in = web_login(client, {"email": investigator.email, "password": PASSWORD}, follow_redirects=False)
    assert signed_in.status_code == 303
    page = client.get(f"/cases/{case_id}").text
    section = page.split('id="owners-to-call"', 1)[1].split("</section>", 1)[0]
    assert "Chủ camera cần gọi điện" in page and "Ông Phạm Văn Tư" in section and "Ông Hoàng Văn Năm" in section
    assert f'href="tel:+84{phone_failed[1:]}"' in section and "tin nhắn Zalo/SMS không đến được" in section
    assert "Bà Lê Thị Mai" not in section and "Cô Đỗ Thu" not in section

    # once the request no longer waits on the owner (cancelled), the owner leaves the list
    cancelled = client.post(
        f"/api/v1/requests/{requests[nothing]}/cancel",
        headers=investigator.headers,
        json={"reason": "đã gọi, không có camera"},
    )
    assert cancelled.status_code == 200, cancelled.text
    after = client.get(f"/api/v1/cases/{case_id}/owners-to-call", headers=investigator.headers).json()
    assert [r["owner_name"] for r in after] == ["Ông Phạm Văn Tư"]


def test_without_a_bridge_every_owner_without_email_is_listed(client: TestClient) -> None:
    previous = get_settings()
    override_settings(notification_webhook_url=None)
    try:
        phone = _mobile()
        owner = _owner("Bà Vũ Thị Sáu", phone, None)
        investigator, case_id, _ = _case_with_owners(client, [owner])
        rows = client.get(f"/api/v1/cases/{case_id}/owners-to-call", headers=investigator.headers).json()
    finally:
        override_settings(**previous.model_dump())
    assert [(r["owner_name"], r["reason"], r["phone"]) for r in rows] == [
        ("Bà Vũ Thị Sáu", "no_email_no_bridge", "+84" + phone[1:])
    ]
    supervisor_id, email = make_user(Role.supervisor, unit_id=investigator.unit_id)
    assert supervisor_id
    token = sign_in(client, email)
    seen = client.get(f"/api/v1/cases/{case_id}/owners-to-call", headers={"Authorization": f"Bearer {token}"})
    assert seen.status_code == 200 and len(seen.json()) == 1
