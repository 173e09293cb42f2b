from __future__ import annotations

import hashlib
import html
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from app.appeals.models import Submission
from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.core.storage import get_storage
from tests.appeals.helpers import investigator_with_case, phone_video, photo_png, publish, send
from tests.factories import account, make_unit


@pytest.fixture()
def video(tmp_path: Path) -> bytes:
    return phone_video(tmp_path / "VID_20261204_201500.mp4").read_bytes()


@pytest.fixture()
def limits() -> Iterator[None]:
    before = get_settings()
    try:
        yield
    finally:
        override_settings(
            appeal_max_per_address=before.appeal_max_per_address,
            appeal_max_submissions=before.appeal_max_submissions,
            appeal_max_upload_bytes=before.appeal_max_upload_bytes,
        )


def _stored(submission_id: str) -> Submission:
    with session_factory()() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        return row


def test_appeal_qr_codes_lead_to_the_public_page(client: TestClient) -> None:
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    assert appeal["public_url"].endswith(f"/a/{appeal['slug']}") and appeal["is_open"]
    png = client.get(f"/a/{appeal['slug']}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == [appeal["public_url"]]
    svg = client.get(f"/a/{appeal['slug']}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    page = client.get(f"/a/{appeal['slug']}")  # no account, no cookie: Vietnamese first
    assert page.status_code == 200
    assert "Tìm nhân chứng vụ va chạm" in page.text and "Gửi" in page.text
    assert case["number"] not in page.text  # the public never reads the case number
    assert client.get("/a/khongcoday").status_code == 404


def test_anonymous_upload_is_quarantined_and_seen_only_by_the_case_unit(client: TestClient, video: bytes) -> None:
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    slug = appeal["slug"]
    sent = send(
        client,
        slug,
        video,
        "video/mp4",
        "VID_20261204_201500.mp4",
        X_Taken_At="2026-12-02T20:15:00",
        X_Lat="19.8079",
        X_Lon="105.7770",
    )
    assert sent.status_code == 202, sent.text
    receipt = sent.json()
    assert receipt["sha256"] == hashlib.sha256(video).hexdigest() and receipt["status"] == "quarantined"
    assert set(receipt) == {"reference", "sha256", "size", "received_at", "status"}  # nothing of other uploads
    named = send(
        client,
        slug,
        photo_png(),
        "image/png",
        "anh.png",
        X_Contact_Name="Nguy%E1%BB%85n%20V%C4%83n%20A",
        X_Contact_Phone="0912 345 678",
    )
    assert named.status_code == 202, named.text

    listed = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()
    assert listed["total"] == 2
    told = client.get("/api/v1/notifications", headers=investigator.headers).json()["items"]
    assert [n["kind"] for n in told] == ["appeal_submission", "appeal_submission"]  # the publisher, told twice
    assert "Tìm nhân chứng vụ va chạm" in told[0]["text"] and case["number"] in told[0]["text"]
    by_kind = {s["kind"]: s for s in listed["items"]}
    anonymous, photo = by_kind["video"], by_kind["photo"]
    assert anonymous["anonymous"] and anonymous["status"] == "quarantined"
    assert anonymous["media"]["video_codec"] == "h264" and anonymous["lat"] == pytest.approx(19.8079)
    assert anonymous["taken_at"].startswith("2026-12-02T13:15:00")  # local time read in Asia/Ho_Chi_Minh
    assert photo["contributor_name"] == "Nguyễn Văn A" and photo["media"]["width"] == 64
    stored = get_storage().stat(_stored(anonymous["id"]).object_key, anonymous["version_id"])
    assert stored.legal_hold and stored.retain_until is not None

    # another unit, an auditor, an owner and the public: none of them sees the quarantine
    stranger = account(client, Role.investigator, unit_id=make_unit())
    assert client.get("/api/v1/notifications", headers=stranger.headers).json()["total"] == 0
    for path in (f"/api/v1/appeals/{appeal['id']}/submissions", f"/api/v1/submissions/{anonymous['id']}"):
        assert client.get(path, headers=stranger.headers).status_code == 404
        assert client.get(path).status_code == 401
        assert client.get(path, headers=account(client, Role.auditor).headers).status_code == 403
    assert (
        client.post(f"/api/v1/submissions/{anonymous['id']}/accept", json={}, headers=stranger.headers).status_code
        == 404
    )
    assert client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=stranger.headers).status_code == 404

    accepted = client.post(
        f"/api/v1/submissions/{anonymous['id']}/accept", json={"note": "rõ biển số"}, headers=investigator.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert datetime.fromisoformat(accepted.json()["retain_until"]) > datetime.now(UTC) + timedelta(days=365)
    again = client.post(f"/api/v1/submissions/{anonymous['id']}/accept", json={}, headers=investigator.headers)
    assert again.status_code == 409

    # the accepted video is cut like any original: stream copy, placed by the time the sender stated
    window = {"window_start": "2026-12-02T13:15:00.500000+00:00", "window_end": "2026-12-02T13:15:01.500000+00:00"}
    clip = client.post(f"/api/v1/submissions/{anonymous['id']}/clips", json=window, headers=investigator.headers)
    assert clip.status_code == 201, clip.text
    made = clip.json()
    # a clip of the case like any other: its commands recorded as clips record them (one line each)
    assert made["parent_sha256"] == receipt["sha256"] and made["command"][-1].split()[0] == "ffmpeg"
    assert "-c" in made["command"][-1] and "copy" in made["command"][-1]
    wanted = datetime.fromisoformat(window["window_start"])
    assert datetime.fromisoformat(made["actual_start"]) <= wanted < datetime.fromisoformat(made["actual_end"])
    clip_bytes = httpx.get(
        client.post(
            f"/api/v1/submission-clips/{made['id']}/download-link",
            json={"purpose": "hồ sơ"},
            headers=investigator.headers,
        ).json()["url"]
    ).content
    assert hashlib.sha256(clip_bytes).hexdigest() == made["sha256"]
    again_clip = client.post(f"/api/v1/submissions/{anonymous['id']}/clips", json=window, headers=investigator.headers)
    assert again_clip.json()["id"] == made["id"]
    outside = {"window_start": "2026-12-02T14:00:00+00:00", "window_end": "2026-12-02T14:01:00+00:00"}
    assert (
        client.post(
            f"/api/v1/submissions/{anonymous['id']}/clips", json=outside, headers=investigator.headers
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/submissions/{anonymous['id']}/clips", json=window, headers=stranger.headers).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/submissions/{photo['id']}/clips", json=window, headers=investigator.headers).status_code
        == 409
    )  # a quarantined photo is not cut

    declined = client.post(
        f"/api/v1/submissions/{photo['id']}/decline",
        json={"category": "not_relevant", "reason": "ảnh chụp nơi khác"},
        headers=investigator.headers,
    )
    assert declined.status_code == 200 and declined.json()["legal_hold"] is False
    assert not get_storage().stat(_stored(photo["id"]).object_key, photo["version_id"]).legal_hold

    link = client.post(
        f"/api/v1/submissions/{anonymous['id']}/download-link",
        json={"purpose": "xem xét"},
        headers=investigator.headers,
    )
    assert link.status_code == 200
    events = client.get("/api/v1/custody", params={"case_id": case["id"]}, headers=investigator.headers).json()
    actions = [e["action"] for e in events["items"] if e["object_id"] == anonymous["id"]]
    assert actions == [
        "submission.received",
        "submission.probed",
        "submission.quarantined",
        "submission.accepted",
        "submission.download_link_issued",
    ]
    assert "submission_clip.made" in [e["action"] for e in events["items"] if e["object_id"] == made["id"]]
    assert events["items"][[e["object_id"] for e in events["items"]].index(anonymous["id"])]["actor"].startswith(
        "public:appeal-"
    )


def test_uploads_refused_in_plain_words(client: TestClient, video: bytes, limits: None) -> None:
    investigator, case = investigator_with_case(client)
    slug = publish(client, investigator, case)["slug"]
    no_attest = client.post(
        f"/api/v1/appeals/{slug}/submissions",
        content=video,
        headers={"Content-Type": "video/mp4", "X-Filename": "a.mp4"},
    )
    assert no_attest.status_code == 422 and no_attest.json()["errors"][0]["field"] == "X-Attestation"
    wrong = send(client, slug, b"hello", "text/plain", "a.txt")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "Content-Type"
    fake = send(client, slug, b"\x00" * 4096, "video/mp4", "fake.mp4")
    assert fake.status_code == 422 and "does not play as a video" in fake.json()["errors"][0]["message"]
    fake_photo = send(client, slug, b"GIF89a" + b"\x00" * 100, "image/jpeg", "a.jpg")
    assert fake_photo.status_code == 422
    pin = send(client, slug, video, "video/mp4", "a.mp4", X_Lat="19.8")
    assert pin.status_code == 422 and pin.json()["errors"][0]["field"] == "X-Lon"
    override_settings(appeal_max_upload_bytes=len(video) - 1)
    big = send(client, slug, video, "video/mp4", "a.mp4")
    assert big.status_code == 413 and "MB" in big.json()["detail"]
    with session_factory()() as session:
        from sqlalchemy import func, select

        assert session.scalar(select(func.count()).select_from(Submission).where(Submission.case_id == case["id"])) == 0


def test_quotas_answer_429_in_plain_words(client: TestClient, video: bytes, limits: None) -> None:
    investigator, case = investigator_with_case(client)
    slug = publish(client, investigator, case)["slug"]
    override_settings(appeal_max_per_address=2)
    for _ in range(2):
        assert send(client, slug, photo_png(), "image/png", "a.png").status_code == 202
    third = send(client, slug, photo_png(), "image/png", "a.png")
    assert third.status_code == 429
    assert "Try again tomorrow" in third.json()["detail"] and int(third.headers["Retry-After"]) > 3600
    override_settings(appeal_max_per_address=100, appeal_max_submissions=2)
    full = send(client, slug, photo_png(), "image/png", "a.png")
    assert full.status_code == 429 and "all the footage it can take" in full.json()["detail"]
    # the page words the API's refusals in Vietnamese: its script looks them up in the page's own table
    page = client.get(f"/a/{slug}").text
    table = json.loads(html.unescape(re.search(r'data-messages="([^"]*)"', page).group(1)))  # type: ignore[union-attr]
    assert table[third.json()["detail"]].startswith("Quý vị đã gửi số tệp tối đa")
    assert table[full.json()["detail"]].startswith("Lời kêu gọi này đã nhận đủ")


def test_closed_appeal_takes_nothing(client: TestClient) -> None:
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    closed = client.post(f"/api/v1/appeals/{appeal['id']}/close", headers=investigator.headers)
    assert closed.status_code == 200 and not closed.json()["is_open"]
    late = send(client, appeal["slug"], photo_png(), "image/png", "a.png")
    assert late.status_code == 410 and "closed" in late.json()["detail"]
    assert 'id="appeal-closed"' in client.get(f"/a/{appeal['slug']}").text
    past = client.post(
        f"/api/v1/cases/{case['id']}/appeals",
        headers=investigator.headers,
        json={
            **{k: appeal[k] for k in ("title", "text", "lat", "lon", "radius_m", "window_start", "window_end")},
            "closes_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "closes_at"


def test_cases_are_placed_in_the_province_list(client: TestClient) -> None:
    investigator, _ = investigator_with_case(client)
    listed = client.get("/api/v1/districts", headers=investigator.headers).json()
    seeded = [d for d in listed["items"] if d["province"] == "Thanh Hóa" and d["code"] <= "407"]
    assert len(seeded) == 27 and {"Thành phố Thanh Hóa", "Thị xã Nghi Sơn", "Huyện Mường Lát"} <= {
        d["name"] for d in seeded
    }
    body = {
        "title": "Trộm cắp",
        "offence": "theft",
        "incident_lat": 19.76,
        "incident_lon": 105.9,
        "incident_start": "2026-12-01T10:00:00+07:00",
        "incident_end": "2026-12-01T10:30:00+07:00",
    }
    wrong = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={**body, "number": f"X-{uuid.uuid4().hex[:6]}", "district": "Quận 1"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "district"
    by_code = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={**body, "number": f"X-{uuid.uuid4().hex[:6]}", "district": "399"},
    )
    assert by_code.status_code == 201 and by_code.json()["district"] == "Huyện Hoằng Hóa"
    admin = account(client, Role.admin)
    code = f"T{uuid.uuid4().hex[:6]}"
    made = client.post("/api/v1/districts", headers=admin.headers, json={"code": code, "name": f"Huyện thử {code}"})
    assert made.status_code == 201
    renamed = client.patch(
        f"/api/v1/districts/{code}", headers=admin.headers, json={"name": f"Huyện mới {code}", "active": False}
    )
    assert renamed.status_code == 200 and renamed.json()["active"] is False
    taken = client.post("/api/v1/districts", headers=admin.headers, json={"code": f"{code}x", "name": "Thị xã Bỉm Sơn"})
    assert taken.status_code == 409
    assert (
        client.post("/api/v1/districts", headers=investigator.headers, json={"code": "Z", "name": "Z"}).status_code
        == 403
    )
