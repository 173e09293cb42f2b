"""The Zalo/SMS bridge's contract, end to end against a real HTTP receiver: every owner message a self-contained
payload valid against docs/bridge/payload.schema.json (phone in E.164, the text, the link, template parameters within
their limits, its own id), signed with a timestamp the receiver checks; no link token resting in a waiting row;
reminders carrying a fresh link that opens while the old one is refused; signed delivery reports recorded, forged,
stale and replayed ones refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.extractions import reminders
from app.notifications import bridge
from app.notifications import service as notifications
from app.notifications.models import DeliveryAttempt
from app.notifications.webhook import SIGNATURE_HEADER, signature_header, verify_signature
from app.registry import service as registry
from app.registry.schemas import OwnerCreate
from tests.factories import account, give_consent, make_camera, make_unit
from tests.notifications.conftest import WebhookReceiver, webhook_receiver  # noqa: F401 - the real receiver

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "bridge" / "payload.schema.json").read_text())
SECRET = "bridge-shared-secret-" + uuid.uuid4().hex


@pytest.fixture()
def bridged(webhook_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:  # noqa: F811
    previous = get_settings()
    override_settings(notification_webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    try:
        yield webhook_receiver
    finally:
        override_settings(**previous.model_dump())


def _owner_with_phone(phone: str, email: str | None = None) -> uuid.UUID:
    with session_factory()() as session, session.begin():
        body = OwnerCreate(name="Bà Trần Thị Lan Hương, chủ tiệm tạp hóa", kind="business", phone=phone, email=email)
        return registry.create_owner(session, body).id


def _file_two_cameras(client: TestClient, phone: str) -> tuple[Any, str, list[dict[str, Any]]]:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = _owner_with_phone(phone)
    give_consent(owner)
    seed = uuid.uuid4().int
    lat, lon = 12.0 + (seed % 1000) / 1000, 107.0 + (seed // 1000 % 1000) / 1000
    for label, dlat in (("Camera cổng trước nhìn ra đường Trần Hưng Đạo", 0.0), ("Camera sân sau", 0.0005)):
        make_camera(owner, lat + dlat, lon, label=label)
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": "Trộm xe máy",
            "offence": "theft",
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    )
    assert case.status_code == 201, case.text
    filed = client.post(
        f"/api/v1/cases/{case.json()['id']}/area-requests",
        headers=investigator.headers,
        json={
            "lat": lat,
            "lon": lon,
            "radius_m": 200,
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(minutes=2)).isoformat(),
            "purpose": "Xác định đối tượng",
            "legal_basis": "Điều 88 BLTTHS 2015",
        },
    )
    assert filed.status_code == 201, filed.text
    assert len(filed.json()["requests"]) == 2
    return investigator, case.json()["id"], filed.json()["requests"]


def _payloads_to(
    receiver: WebhookReceiver, phone: str, events: tuple[str, ...] = ("request_filed",)
) -> list[tuple[dict[str, Any], dict[str, str], bytes]]:
    found = []
    for hit in receiver.received:
        body = json.loads(hit.body)
        if body["recipient"]["phone"] == phone and body["event"] in events:
            found.append((body, hit.headers, hit.body))
    return found


def _deliver_until(receiver: WebhookReceiver, phone: str, count: int) -> None:
    """Run deliveries until `count` messages reached `phone`: a run sends the oldest due messages first, and in a
    whole-suite run other tests leave a backlog of messages to recipients that are gone (each run reschedules those)."""
    for _ in range(50):
        notifications.deliver_due(session_factory())
        if len(_payloads_to(receiver, phone)) >= count:
            return


def _unique_phone() -> tuple[str, str]:
    """A Vietnamese mobile number as people write it, and its E.164 form."""
    digits = f"{uuid.uuid4().int % 10**7:07d}"
    return f"090 {digits[:3]} {digits[3:]}", f"+8490{digits}"


def test_each_filing_message_is_a_whole_signed_payload_valid_against_the_schema(
    client: TestClient, bridged: WebhookReceiver
) -> None:
    written, e164 = _unique_phone()
    _, _, filed = _file_two_cameras(client, written)
    _deliver_until(bridged, e164, 2)
    hits = _payloads_to(bridged, e164)
    assert len(hits) == 2, "one message per camera, each with its own link"
    ids = set()
    for payload, headers, raw in hits:
        jsonschema.validate(payload, SCHEMA)
        ids.add(payload["message_id"])
        assert payload["event"] == "request_filed" and payload["locale"] == "vi"
        assert payload["recipient"] == {"phone": e164, "name": "Bà Trần Thị Lan Hương, chủ tiệm tạp hóa"}
        assert payload["link"] and payload["link"] in payload["text"]
        assert [link["url"] for link in payload["links"]] == [payload["link"]]
        assert "Kính gửi" in payload["text"] and "Đầu ghi sẽ ghi đè" in payload["text"]
        params = payload["template"]["params"]
        assert payload["template"]["id"] == "footage_request_v1"
        limits = {p.name: p.max_length for p in bridge.TEMPLATES["request_filed"][1]}
        assert set(params) == set(limits) and all(len(v) <= limits[k] for k, v in params.items())
        assert params["owner_name"].endswith("…") and len(params["owner_name"]) == 30  # cut to the ZNS limit
        assert params["link"] == payload["link"]
        # the link opens its own camera's request
        opened = client.get("/api/v1/respond/" + payload["link"].rsplit("/", 1)[1])
        assert opened.status_code == 200 and opened.json()["id"] == payload["links"][0]["request_id"]
        # the signature: timestamped, over "t.body", within the window only
        header = headers[SIGNATURE_HEADER.lower()]
        assert header.startswith("t=") and ",v1=" in header
        assert verify_signature(SECRET, raw, header).ok
        stamp = int(header.split(",")[0][2:])
        late = datetime.fromtimestamp(stamp, UTC) + timedelta(seconds=301)
        assert verify_signature(SECRET, raw, header, now=late).reason == "stale"
        assert verify_signature(SECRET, raw + b" ", header).reason == "mismatch"
        assert verify_signature("another-secret", raw, header).reason == "mismatch"
    assert len(ids) == 2
    assert {p["links"][0]["request_id"] for p, _, _ in hits} == {r["id"] for r in filed}
    # the consent recorded for the owner went to the bridge too, as its receipt
    [(receipt, _, _)] = _payloads_to(bridged, e164, ("consent_receipt",))
    jsonschema.validate(receipt, SCHEMA)
    params = receipt["template"]["params"]
    assert receipt["template"]["id"] == "consent_receipt_v1" and len(params["leaf_hash"]) == 64
    assert params["custody_seq"].isdigit() and receipt["link"] == params["link"]
    assert receipt["link"].endswith(f"/api/v1/custody/receipts/{params['custody_seq']}/{params['leaf_hash']}")


def test_a_waiting_message_holds_no_link_token(client: TestClient, bridged: WebhookReceiver) -> None:
    written, e164 = _unique_phone()
    _, _, filed = _file_two_cameras(client, written)
    ids = [r["id"] for r in filed]
    with session_factory()() as session:
        waiting = (
            session.execute(
                text(
                    "SELECT body || payload::text || secrets::text FROM notifications "
                    "WHERE status = 'pending' AND subject_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": ids},
            )
            .scalars()
            .all()
        )
    assert len(waiting) == 2
    _deliver_until(bridged, e164, 2)
    tokens = [payload["link"].rsplit("/", 1)[1] for payload, _, _ in _payloads_to(bridged, e164)]
    assert len(tokens) == 2
    for row in waiting:
        assert "⟦secret:0⟧" in row  # the token's place, the token itself only sealed
        for token in tokens:
            assert token not in row
    # once sent, nothing of the token is kept, not even sealed
    with session_factory()() as session:
        sent = session.execute(
            text(
                "SELECT secrets::text, body FROM notifications WHERE subject_id = ANY(CAST(:ids AS uuid[])) "
                "AND channel = 'webhook'"
            ),
            {"ids": ids},
        ).all()
    assert all(secrets == "[]" and "[redacted]" in body for secrets, body in sent)


def test_a_reminder_carries_a_fresh_link_and_the_old_one_is_refused(
    client: TestClient, bridged: WebhookReceiver
) -> None:
    written, e164 = _unique_phone()
    _, _, filed = _file_two_cameras(client, written)
    notifications.deliver_due(session_factory())
    first = {p["links"][0]["request_id"]: p["link"] for p, _, _ in _payloads_to(bridged, e164)}
    deadline = datetime.fromisoformat(filed[0]["overwrite_deadline"])
    with session_factory()() as session, session.begin():
        sent = reminders.send_due_reminders(session, now=deadline - timedelta(hours=47))
    assert sent["deadline"] >= 2
    notifications.deliver_due(session_factory())
    reminded = [p for p, _, _ in _payloads_to(bridged, e164, ("request_reminder",))]
    assert len(reminded) == 2
    for payload in reminded:
        jsonschema.validate(payload, SCHEMA)
        assert payload["template"]["id"] == "footage_reminder_v1"
        assert payload["link"] and payload["link"] in payload["text"] and payload["link"] not in first.values()
        assert "các đường dẫn gửi trước không còn dùng được" in payload["text"]
        new = client.get("/api/v1/respond/" + payload["link"].rsplit("/", 1)[1])
        assert new.status_code == 200
        request_id = new.json()["id"]
        old = client.get("/api/v1/respond/" + first[request_id].rsplit("/", 1)[1])
        assert old.status_code == 404


def _report(client: TestClient, body: dict[str, Any], *, secret: str = SECRET, at: datetime | None = None) -> Any:
    raw = json.dumps(body).encode()
    stamp = int((at or datetime.now(UTC)).timestamp())
    return client.post(
        "/api/v1/notifications/delivery-reports",
        content=raw,
        headers={"Content-Type": "application/json", "X-Signature": signature_header(secret, raw, stamp)},
    )


def test_delivery_reports_are_recorded_and_forged_stale_or_replayed_ones_refused(
    client: TestClient, bridged: WebhookReceiver
) -> None:
    written, e164 = _unique_phone()
    _file_two_cameras(client, written)
    notifications.deliver_due(session_factory())
    message_id = _payloads_to(bridged, e164)[0][0]["message_id"]
    seen = datetime.now(UTC).replace(microsecond=0)
    reports = {
        "reports": [
            {"message_id": message_id, "status": "delivered", "at": seen.isoformat(), "channel": "zalo"},
            {"message_id": message_id, "status": "read", "at": (seen + timedelta(minutes=3)).isoformat()},
            {"message_id": str(uuid.uuid4()), "status": "failed", "at": seen.isoformat(), "error": "no Zalo"},
        ]
    }
    answer = _report(client, reports)
    assert answer.status_code == 200, answer.text
    assert [r["recorded"] for r in answer.json()["results"]] == ["recorded", "recorded", "unknown_message"]
    with session_factory()() as session:
        log = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == uuid.UUID(message_id))
            .order_by(DeliveryAttempt.id)
        ).all()
    assert [(a.outcome, a.reported_by) for a in log] == [("sent", None), ("delivered", "bridge"), ("read", "bridge")]
    assert log[1].at == seen and log[1].response == "bridge zalo: delivered"

    # the same body again (a replay inside the window): refused, nothing added
    replay = _report(client, reports)
    assert replay.status_code == 409
    # forged (another secret), stale (signed six minutes ago), unsigned, and a body changed after signing
    late = {"reports": [{"message_id": message_id, "status": "failed", "at": seen.isoformat()}]}
    assert _report(client, late, secret="guessed").status_code == 401
    assert _report(client, late, at=datetime.now(UTC) - timedelta(minutes=6)).status_code == 401
    unsigned = client.post("/api/v1/notifications/delivery-reports", json=late)
    assert unsigned.status_code == 401 and "X-Signature" in unsigned.json()["detail"]
    raw = json.dumps(late).encode()
    header = signature_header(SECRET, raw, int(datetime.now(UTC).timestamp()))
    tampered = raw.replace(b"failed", b"read")
    changed = client.post(
        "/api/v1/notifications/delivery-reports",
        content=tampered,
        headers={"Content-Type": "application/json", "X-Signature": header},
    )
    assert changed.status_code == 401
    with session_factory()() as session:
        count = session.scalar(
            select(text("count(*)"))
            .select_from(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == uuid.UUID(message_id))
        )
    assert count == 3
    # a signed body that is not a report is a 422 naming the field
    bad = _report(client, {"reports": [{"message_id": message_id, "status": "lost", "at": seen.isoformat()}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reports.0.status"
